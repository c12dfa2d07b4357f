import type { Effect } from '@orders/contract';
import type { StreamChange } from '@orders/contract/redis';
import { EncodedFrame } from './encoded-frame.ts';

/** What a `change` frame says of the change itself, whoever receives it. */
export type ChangeContent = Pick<StreamChange, 'op' | 'row' | 'before' | 'committedAt'>;

/**
 * The part of a `change` frame that depends on the change alone, serialized once per event and
 * shared by every frame of it (see {@link changeFrame}).
 */
export function changeBody(change: ChangeContent): string {
  return `"op":"${change.op}","row":${JSON.stringify(change.row)},"before":${JSON.stringify(change.before)},"committedAt":${change.committedAt}`;
}

/** The one encoder of `change` frames: a subscription's frame around a body from {@link changeBody}. */
export function changeFrame(sub: string, effect: Effect, cursor: string, body: string): EncodedFrame {
  return new EncodedFrame(
    `{"type":"change","sub":${JSON.stringify(sub)},"effect":"${effect}","cursor":${JSON.stringify(cursor)},${body}}`,
  );
}
