import type { Cursor } from '@orders/contract';
import { fenceCursor, formatCursor, formatCursorVector, ORIGIN_ID, splitStreamId } from '@orders/contract';
import type { DispatchClock } from './dispatch-clock.ts';
import type { SourceProgress } from './source-progress.ts';

const DECIMAL = /^\d+$/;

/**
 * Where a subscription stands, as its client's cursor tells it: per shard group a history epoch
 * and a stream id, and the fence of the snapshot the client's view came from. A live
 * subscription that the hub passed over for an event counts as brought up to it (the hub's
 * dispatch clock), so quiet subscriptions keep fresh cursors.
 */
export abstract class SubscriptionCursor {
  /** Per shard group (one without shard groups): the position and its numeric parts. */
  readonly #positions: string[];
  readonly #positionMs: number[];
  readonly #positionSeq: number[];
  /** Per shard group, the history epoch its position belongs to; empty until a snapshot or cursor sets it. */
  readonly epochs: string[];
  /** See {@link fence}. */
  #fence: bigint | undefined;
  /** Whether the subscription read the snapshot its fence comes from (and so judges changes exactly). */
  #fenceJudged = false;

  constructor(
    /** Shard groups of the gateway: one position (and epoch) per group. */
    readonly groups = 1,
  ) {
    this.#positions = Array.from({ length: groups }, () => ORIGIN_ID);
    this.#positionMs = Array.from({ length: groups }, () => 0);
    this.#positionSeq = Array.from({ length: groups }, () => 0);
    this.epochs = Array.from({ length: groups }, () => '');
  }

  /** Whether the subscription is live: only then does it follow the hub's clock and lose its fence. */
  protected abstract get live(): boolean;

  /** The epoch of the first (without shard groups: the only) group. */
  get epoch(): string {
    return this.epochs[0] ?? '';
  }

  set epoch(epoch: string) {
    this.epochs[0] = epoch;
  }

  /**
   * Per shard group, the hub's last offered event; set when the hub indexes this subscription.
   * The index passes over events that cannot concern it, so a live subscription counts as
   * brought up to each group's last event.
   */
  clocks: readonly DispatchClock[] | undefined;

  /** Shared by the hub's index: how far dispatched changes reach into the WAL. */
  progress: SourceProgress | undefined;

  #catchUp(group: number): void {
    const clock = this.clocks?.[group];
    if (clock === undefined || !this.live || clock.epoch !== this.epochs[group]) return;
    const ms = this.#positionMs[group] ?? 0;
    if (clock.ms > ms || (clock.ms === ms && clock.seq > (this.#positionSeq[group] ?? 0))) {
      this.setPosition(group, clock.id);
    }
  }

  /** Stream position this subscriber has been brought up to (sent or filtered out), in the first group. */
  get position(): string {
    return this.positionOf(0);
  }

  set position(id: string) {
    this.setPosition(0, id);
  }

  /** The position in shard group `group`. */
  positionOf(group: number): string {
    this.#catchUp(group);
    return this.#positions[group] ?? ORIGIN_ID;
  }

  setPosition(group: number, id: string): void {
    const [ms, seq] = splitStreamId(id);
    this.#moveTo(group, id, ms, seq);
  }

  /** Every group's epoch and position at once (a client's cursor, or the heads before a snapshot). */
  setPositions(positions: readonly Cursor[]): void {
    if (positions.length !== this.groups) throw new Error('one position per shard group');
    for (const [group, { epoch, id }] of positions.entries()) {
      this.epochs[group] = epoch;
      this.setPosition(group, id);
    }
  }

  /** Whether the entry `ms-seq` of `group` is at or before the position: the subscriber has it. */
  protected passed(group: number, ms: number, seq: number): boolean {
    const positionMs = this.#positionMs[group] ?? 0;
    return ms < positionMs || (ms === positionMs && seq <= (this.#positionSeq[group] ?? 0));
  }

  /** Moves the position of `group` to the entry `id` (`ms-seq`, already parsed). */
  protected advance(group: number, id: string, ms: number, seq: number): void {
    this.#moveTo(group, id, ms, seq);
  }

  #moveTo(group: number, id: string, ms: number, seq: number): void {
    this.#positions[group] = id;
    this.#positionMs[group] = ms;
    this.#positionSeq[group] = seq;
  }

  /**
   * The position as the client sees it: `<epoch>.<id>`, or one of those per shard group, and
   * the {@link fence} while there is one.
   */
  get cursor(): string {
    const fence = this.fence;
    if (this.groups === 1) return fenceCursor(formatCursor(this.epoch, this.positionOf(0)), fence);
    for (let group = 0; group < this.groups; group++) this.#catchUp(group);
    return fenceCursor(
      formatCursorVector(this.#positions.map((id, group) => ({ epoch: this.epochs[group] ?? '', id }))),
      fence,
    );
  }

  /**
   * The WAL position the client's snapshot was read before, while history after this
   * subscription's position may still hold changes written before it: history lags behind
   * PostgreSQL, so such a change may already be in the client's view. The subscription that
   * read the snapshot tells those apart exactly (its pages' visibility, `KnownVersions`); a
   * subscription resumed from the cursor elsewhere has only the fence and answers any change
   * before it with `reset`. Cursors carry it until every Kafka partition has delivered a change
   * past it ({@link SourceProgress}) while this subscription is live: nothing older can come.
   */
  get fence(): bigint | undefined {
    const fence = this.#fence;
    if (fence !== undefined && this.live && this.progress !== undefined && fence <= this.progress.settled)
      this.#fence = undefined;
    return this.#fence;
  }

  /**
   * Sets the fence: from the snapshot this subscription read (`judged`: its pages tell what the
   * snapshot showed), or from the client's cursor (`judged` false: every change before it resets).
   */
  fenceAt(fence: bigint | undefined, judged: boolean): void {
    this.#fence = fence;
    this.#fenceJudged = judged;
  }

  /**
   * Whether a change written at `lsn` (decimal; anything else is unknown) must not be sent
   * because the client's view may already show it and this subscription cannot tell.
   */
  protected beforeUnjudgedFence(lsn: string): boolean {
    if (this.#fenceJudged) return false;
    const fence = this.fence;
    return fence !== undefined && (!DECIMAL.test(lsn) || BigInt(lsn) < fence);
  }
}
