/**
 * Redis stream ids ("<ms>-<seq>") are the clients' cursors. They are compared numerically,
 * never as strings: "9-0" is older than "10-0".
 */
const STREAM_ID = /^(\d{1,16})-(\d{1,16})$/;

/** The position before every entry; a snapshot of an empty history carries it as cursor. */
export const ORIGIN_ID = '0-0';

export function isStreamId(value: string): boolean {
  return STREAM_ID.test(value);
}

/** Numeric parts of an id, for hot paths that compare one id against many positions. */
export function splitStreamId(id: string): [ms: number, seq: number] {
  return split(id);
}

function split(id: string): [number, number] {
  const dash = id.indexOf('-');
  if (dash < 0) return [Number(id), 0];
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
