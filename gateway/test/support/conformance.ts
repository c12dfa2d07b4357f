import type { ServerFrame } from '@orders/contract';
import {
  type Cursor,
  computeEffect,
  type Filter,
  type FilterInput,
  matches,
  parseClientFrame,
  parseCursor,
  splitStreamId,
  toFilter,
} from '@orders/contract';
import type { Order } from '@orders/drizzle';

/**
 * Checks one socket's frames against PROTOCOL.md as they arrive, both directions, so a
 * repeated, reordered or misplaced frame is caught even where a client's merge would hide it.
 * The first violation is kept with the frames around it; later ones are counted only.
 */

/** Whose data a socket may see: read from its token, the way the gateway reads it. */
export type Scope = { role: 'staff' } | { role: 'customer'; customer: string };

type Phase =
  /** Subscribe sent, nothing answered yet. */
  | 'requested'
  /** Snapshot chunks expected (after a subscribe without cursor, or a reset). */
  | 'snapshot'
  /** Snapshot done or resumed from a cursor: replayed changes, then `live`. */
  | 'replay'
  | 'live';

interface SubState {
  phase: Phase;
  filter: Filter;
  /** Whether the current load started from the client's cursor (no snapshot since). */
  fromCursor: boolean;
  /** Highest version per order since the last snapshot began. */
  versions: Map<number, number>;
  /** Orders in the client's view since the last snapshot began (unknown when resumed from a cursor). */
  held: Set<number>;
  delivered: Set<string>;
  /** Rows of the snapshot being received, to spot repeats and order across chunks. */
  snapshotIds: Set<number>;
  lastSnapshotId: number;
  snapshotCursor: string | undefined;
  /**
   * Last cursor seen for this subscription: epoch and stream id, one per shard group. A
   * subscribe with a cursor starts from that cursor: what is replayed after it comes after it.
   */
  cursor: Cursor[] | undefined;
  unsubscribing: boolean;
  /** A subscribe for the same id sent after `unsubscribe`, served once `unsubscribed` arrives. */
  next: Request | undefined;
  /** Subscribes sent again under this id while it runs: each is refused without ending it. */
  duplicates: number;
}

/** What a subscribe asks for: its filter as the gateway scopes it, and where it resumes. */
interface Request {
  filter: Filter;
  fromCursor: boolean;
  cursor: Cursor[] | undefined;
}

const HISTORY = 40;

export class ConformanceChecker {
  readonly name: string;
  readonly scope: Scope;
  #subs = new Map<string, SubState>();
  /** Subscriptions that ended: any frame for them is a violation until subscribed again. */
  #ended = new Set<string>();
  #history: string[] = [];
  #welcomed = false;
  #batching = false;
  #violation: string | undefined;
  #violations = 0;
  reported = false;

  constructor(name: string, scope: Scope) {
    this.name = name;
    this.scope = scope;
  }

  get violation(): string | undefined {
    return this.#violation;
  }

  /** Throws the first violation, with the frames that led to it. */
  assertClean(): void {
    if (this.#violation === undefined) return;
    this.reported = true;
    throw new Error(`${this.#violation}\n(${this.#violations} violation(s) on this socket so far)`);
  }

  /** A frame the client sent (text as written to the socket). */
  onClientText(text: string): void {
    this.#remember('→', text);
    if (text.includes('"options"')) {
      const parsed = parseClientFrame(text);
      // Once asked for, batches may keep coming until the gateway has read a later `false`.
      if (parsed.ok && parsed.frame.type === 'options' && parsed.frame.changes === true)
        this.#batching = true;
      return;
    }
    // Only (un)subscribe frames change what may arrive; skipping the rest keeps floods cheap.
    if (!text.includes('subscribe')) return;
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return;
    const frame = parsed.frame;
    if (frame.type === 'subscribe') {
      const scoped = this.#scopedFilter(frame.filter);
      const existing = this.#subs.get(frame.sub);
      if (scoped === 'forbidden') return; // refused: any data for it is a leak
      const resume = frame.cursor === undefined ? undefined : parseCursor(frame.cursor);
      const request: Request = {
        filter: toFilter(scoped),
        fromCursor: frame.cursor !== undefined,
        cursor: resume === undefined ? undefined : cursorList(resume),
      };
      if (existing === undefined) {
        this.#ended.delete(frame.sub);
        this.#subs.set(frame.sub, newSub(request));
      } else if (existing.unsubscribing) {
        existing.next = request;
      } else {
        // A duplicate id: refused, and the existing subscription carries on, loaded or not.
        existing.duplicates++;
      }
    } else if (frame.type === 'unsubscribe') {
      const existing = this.#subs.get(frame.sub);
      if (existing !== undefined) {
        existing.unsubscribing = true;
        existing.next = undefined;
      }
    }
  }

  /** A frame the gateway sent. */
  onServerText(text: string): void {
    this.#remember('←', text);
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      this.#fail('a frame that is not JSON');
      return;
    }
    if (!this.#welcomed) {
      if (frame.type !== 'welcome') this.#fail(`${frame.type} before welcome`);
      this.#welcomed = true;
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.#fail('a second welcome');
        return;
      case 'changes':
        this.#onChanges(frame);
        return;
      case 'snapshot':
      case 'change':
      case 'live':
      case 'reset':
      case 'unsubscribed':
        this.#onSubFrame(frame);
        return;
      case 'error':
        this.#onError(frame.code, frame.sub);
        return;
      case 'pong':
        this.#onPong(frame.cursors ?? {});
        return;
      case 'authed':
        return;
      default:
        this.#fail(`unknown frame type ${(frame as { type: unknown }).type}`);
    }
  }

  /** A batch is allowed only after the client asked for one; it holds at least two change frames, checked one by one. */
  #onChanges(frame: Extract<ServerFrame, { type: 'changes' }>): void {
    if (!this.#batching) {
      this.#fail('a changes frame on a socket that did not ask for batches');
      return;
    }
    if (!Array.isArray(frame.changes) || frame.changes.length < 2) {
      this.#fail('a changes frame with fewer than two changes (a lone change goes alone)');
      return;
    }
    for (const change of frame.changes) {
      if (change.type !== 'change') {
        this.#fail(`a ${String(change.type)} frame inside changes`);
        return;
      }
      this.#onSubFrame(change);
    }
  }

  #onSubFrame(frame: Extract<ServerFrame, { sub: string }>): void {
    const sub = this.#subs.get(frame.sub);
    if (sub === undefined) {
      this.#fail(
        this.#ended.has(frame.sub)
          ? `${frame.type} for ${frame.sub} after it ended`
          : `${frame.type} for ${frame.sub}, which was never subscribed`,
      );
      return;
    }
    if (frame.type === 'unsubscribed') {
      if (!sub.unsubscribing) this.#fail(`unsubscribed for ${frame.sub} without unsubscribe`);
      if (sub.next === undefined) this.#end(frame.sub);
      else this.#subs.set(frame.sub, newSub(sub.next));
      return;
    }
    if (sub.phase === 'requested') sub.phase = sub.fromCursor ? 'replay' : 'snapshot';
    switch (frame.type) {
      case 'reset':
        sub.phase = 'snapshot';
        sub.fromCursor = false;
        sub.versions.clear();
        sub.held.clear();
        sub.delivered.clear();
        sub.snapshotIds.clear();
        sub.lastSnapshotId = 0;
        sub.snapshotCursor = undefined;
        // The client's cursor was newer than history: the snapshot's cursor is older than it.
        if (frame.reason === 'cursor_unknown') sub.cursor = undefined;
        return;
      case 'snapshot':
        this.#onSnapshot(frame.sub, sub, frame);
        return;
      case 'change':
        this.#onChange(frame.sub, sub, frame);
        return;
      case 'live':
        if (sub.phase === 'snapshot') {
          this.#fail(`live for ${frame.sub} before its snapshot was done`);
          return;
        }
        if (sub.phase === 'replay' && frame.recovered !== sub.fromCursor)
          this.#fail(
            `live for ${frame.sub} says recovered:${frame.recovered} after ${sub.fromCursor ? 'a cursor' : 'a snapshot'}`,
          );
        if (sub.phase === 'live' && !frame.recovered)
          this.#fail(`a second live for ${frame.sub} without a reset claims recovered:false`);
        this.#advance(frame.sub, sub, frame.cursor, false);
        sub.phase = 'live';
        return;
    }
  }

  #onSnapshot(name: string, sub: SubState, frame: Extract<ServerFrame, { type: 'snapshot' }>): void {
    if (sub.phase !== 'snapshot') {
      this.#fail(
        `snapshot for ${name} while ${sub.phase} (a snapshot only follows subscribe without cursor, or reset)`,
      );
      return;
    }
    if (sub.snapshotCursor !== undefined && frame.cursor !== sub.snapshotCursor)
      this.#fail(`snapshot chunks of ${name} carry different cursors`);
    if (sub.snapshotCursor === undefined) this.#advance(name, sub, frame.cursor, false);
    sub.snapshotCursor = frame.cursor;
    if (frame.rows.length === 0 && !frame.done)
      this.#fail(`an empty snapshot chunk for ${name} that is not done`);
    for (const row of frame.rows) {
      this.#checkScope(row, `snapshot row of ${name}`);
      if (sub.snapshotIds.has(row.id)) this.#fail(`order ${row.id} twice in the snapshot of ${name}`);
      else if (row.id < sub.lastSnapshotId)
        this.#fail(`snapshot of ${name} not ordered by id: ${row.id} after ${sub.lastSnapshotId}`);
      if (!matches(sub.filter, row)) this.#fail(`snapshot row ${row.id} of ${name} is outside its filter`);
      sub.snapshotIds.add(row.id);
      sub.lastSnapshotId = row.id;
      sub.versions.set(row.id, row.version);
      sub.held.add(row.id);
    }
    if (frame.done) {
      sub.phase = 'replay';
      sub.snapshotIds.clear();
      sub.lastSnapshotId = 0;
      sub.snapshotCursor = undefined;
    }
  }

  #onChange(name: string, sub: SubState, frame: Extract<ServerFrame, { type: 'change' }>): void {
    const { op, row, before, effect } = frame;
    const key = `${op} ${row.id} v${row.version}`;
    if (sub.phase === 'snapshot') this.#fail(`change ${key} for ${name} before its snapshot was done`);
    if (sub.delivered.has(key)) this.#fail(`change ${key} sent twice to ${name}`);
    sub.delivered.add(key);
    const previous = sub.versions.get(row.id);
    if (previous !== undefined && (op === 'delete' ? row.version < previous : row.version <= previous))
      this.#fail(`change ${key} for ${name} after v${previous}: versions must rise`);
    sub.versions.set(row.id, row.version);
    this.#advance(name, sub, frame.cursor, true);
    this.#checkScope(row, `change ${key} row of ${name}`);
    if (before !== null) this.#checkScope(before, `change ${key} before of ${name}`);
    const held = sub.held.has(row.id);
    if (effect === 'upsert') sub.held.add(row.id);
    else sub.held.delete(row.id);
    const expected = computeEffect(sub.filter, { op, row, before });
    if (expected === effect) return;
    // Without a before image (an update, or a delete that carried only the key) the row
    // cannot say: only the subscriptions holding the order are told, a resumed one is reset.
    if (before === null && op !== 'insert' && effect === 'remove') {
      if (sub.fromCursor)
        this.#fail(`change ${key} for ${name}: a remove without a before image after a cursor, not a reset`);
      else if (!held)
        this.#fail(`change ${key} for ${name}: a remove without a before image of an order it does not hold`);
      return;
    }
    // A customer's order reassigned away: the row is what they last saw (their name, old
    // product and status) at the new version, so the filter still matches it.
    const redactedAway =
      this.scope.role === 'customer' &&
      op === 'update' &&
      effect === 'remove' &&
      before !== null &&
      row.customerName === before.customerName &&
      row.productName === before.productName &&
      row.status === before.status;
    if (!redactedAway)
      this.#fail(`change ${key} for ${name} has effect ${effect}, its filter says ${expected ?? 'not sent'}`);
  }

  #onError(code: string, name: string | undefined): void {
    if (name === undefined) return;
    const sub = this.#subs.get(name);
    if (sub === undefined) return;
    // A refused subscribe ends it before any data; `internal` ends a running one. Other errors
    // naming a running subscription (a duplicate id) leave it alone.
    if (code !== 'internal' && sub.duplicates > 0) {
      sub.duplicates--;
      return;
    }
    if (code === 'internal' || (sub.phase === 'requested' && !sub.unsubscribing)) this.#end(name);
  }

  #onPong(cursors: Record<string, string>): void {
    for (const [name, cursor] of Object.entries(cursors)) {
      const sub = this.#subs.get(name);
      if (sub === undefined || sub.phase !== 'live') {
        this.#fail(`pong names ${name}, which is not a live subscription`);
        continue;
      }
      this.#advance(name, sub, cursor, false);
    }
  }

  /**
   * Cursors never go backwards within an epoch; change cursors strictly rise. With shard groups
   * this holds position by position (a change moves exactly one group's).
   */
  #advance(name: string, sub: SubState, text: string, strictly: boolean): void {
    const positions = cursorList(parseCursor(text));
    if (positions === undefined) {
      this.#fail(`cursor ${text} of ${name} is not <epoch>.<stream id> (one per shard group)`);
      return;
    }
    const last = sub.cursor;
    sub.cursor = positions;
    if (last === undefined || last.length !== positions.length) return;
    let rose = false;
    let comparable = false;
    for (const [group, { epoch, id }] of positions.entries()) {
      const before = last[group];
      if (before === undefined || before.epoch !== epoch) continue;
      comparable = true;
      const order = compareStreamIds(id, before.id);
      if (order < 0) this.#fail(`cursor of ${name} went from ${before.id} to ${id}`);
      if (order > 0) rose = true;
    }
    if (strictly && comparable && !rose) this.#fail(`cursor of ${name} did not rise past ${text}`);
  }

  #checkScope(order: Order, where: string): void {
    if (this.scope.role === 'customer' && order.customerName !== this.scope.customer)
      this.#fail(`${where}: order ${order.id} of ${order.customerName} shown to ${this.scope.customer}`);
  }

  /** The filter the gateway applies, or `forbidden` when it refuses it (another customer). */
  #scopedFilter(filter: FilterInput | undefined): FilterInput | undefined | 'forbidden' {
    if (this.scope.role === 'staff') return filter;
    if (filter?.customer !== undefined && filter.customer !== this.scope.customer) return 'forbidden';
    return { ...filter, customer: this.scope.customer };
  }

  #end(name: string): void {
    this.#subs.delete(name);
    this.#ended.add(name);
  }

  #remember(direction: string, text: string): void {
    this.#history.push(`${direction} ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`);
    if (this.#history.length > HISTORY) this.#history.shift();
  }

  #fail(what: string): void {
    this.#violations++;
    if (this.#violation !== undefined) return;
    this.#violation = `protocol violation on ${this.name}: ${what}\nlast frames (→ sent, ← received):\n${this.#history.join('\n')}`;
  }
}

function newSub({ filter, fromCursor, cursor }: Request): SubState {
  return {
    duplicates: 0,
    phase: 'requested',
    filter,
    fromCursor,
    versions: new Map(),
    held: new Set(),
    delivered: new Set(),
    snapshotIds: new Set(),
    lastSnapshotId: 0,
    snapshotCursor: undefined,
    cursor,
    unsubscribing: false,
    next: undefined,
  };
}

/** Negative when stream id a is older than b, zero when equal: numeric order, not string order. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = splitStreamId(a);
  const [bMs, bSeq] = splitStreamId(b);
  return aMs === bMs ? aSeq - bSeq : aMs - bMs;
}

/** The positions of a cursor with epochs, one per shard group; undefined for anything else. */
function cursorList(parsed: ReturnType<typeof parseCursor>): Cursor[] | undefined {
  if (parsed.kind === 'cursor') return [parsed.cursor];
  if (parsed.kind === 'vector') return parsed.cursors;
  return undefined;
}
