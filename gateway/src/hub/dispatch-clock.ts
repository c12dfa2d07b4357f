/**
 * The last event the hub offered from one shard group's stream, in the history of `epoch`. A
 * subscription the index passed over for it was not concerned, so a live one may take this as
 * its position in that group.
 */
export interface DispatchClock {
  epoch: string;
  id: string;
  ms: number;
  seq: number;
}
