import type { ResetReason, ServerFrame } from '@orders/contract';
import {
  type Cursor,
  type Order,
  parseClientFrame,
  parseCursor,
  splitStreamId,
  UNBOUNDED_FENCE,
} from '@orders/contract';
import { expectedEffectOn, inFilter, type ReferenceFilter, type Scope, scopeFilter } from './effect.ts';
import { closeMeanings, closesOf, type FaultDeclaration, ordinaryCloses, resetsOf } from './faults.ts';
import { frameProblem } from './frames.ts';

export type { Scope } from './effect.ts';
export { everyResetReason, type Fault, type FaultDeclaration } from './faults.ts';

/**
 * Checks one socket's frames against PROTOCOL.md as they arrive, both directions, so a
 * repeated, reordered or misplaced frame is caught even where a client's merge would hide it:
 * every field's format, order, versions, cursors and their epochs, effects (by its own
 * reference, conformance-effect.ts), scoping, and resets and closes against the faults the
 * test declared (conformance-faults.ts). The first violation is kept with the frames around
 * it; later ones are counted only.
 */

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
  filter: ReferenceFilter;
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
  /** After a reset the next cursor may belong to another history (epochs, number of groups). */
  rebase: boolean;
  /** Resumed from a bare stream id: nothing but `reset` may come first [P31]. */
  mustReset: boolean;
  unsubscribing: boolean;
  /** A subscribe for the same id sent after `unsubscribe`, served once `unsubscribed` arrives. */
  next: Request | undefined;
  /** Subscribes sent again under this id while it runs: each is refused without ending it. */
  duplicates: number;
}

/** What a subscribe asks for: its filter as the gateway scopes it, and where it resumes. */
interface Request {
  filter: ReferenceFilter;
  fromCursor: boolean;
  cursor: Cursor[] | undefined;
  legacy: boolean;
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
  /** The client closed the socket itself: whatever code the close carries is its own. */
  #closedByClient = false;
  #lastServerFrame: { type?: unknown; code?: unknown } | undefined;
  readonly #declared: FaultDeclaration[] = [];
  #violation: string | undefined;
  #violations = 0;
  reported = false;

  constructor(name: string, scope: Scope) {
    this.name = name;
    this.scope = scope;
  }

  /**
   * A fault this socket may meet (see conformance-faults.ts): with none declared, every reset
   * and every close beyond a shutdown or a lost connection is a violation.
   */
  expectFaults(declaration: FaultDeclaration): void {
    this.#declared.push(declaration);
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
      const scoped = scopeFilter(this.scope, frame.filter);
      const existing = this.#subs.get(frame.sub);
      if (scoped === 'forbidden') return; // refused: any data for it is a leak
      const resume = frame.cursor === undefined ? undefined : parseCursor(frame.cursor);
      const request: Request = {
        filter: scoped,
        fromCursor: frame.cursor !== undefined,
        cursor: resume === undefined ? undefined : cursorList(resume),
        legacy: resume?.kind === 'legacy',
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.#fail('a frame that is not JSON');
      return;
    }
    const problem = frameProblem(parsed);
    if (problem !== undefined) {
      this.#fail(problem);
      return;
    }
    const frame = parsed as ServerFrame;
    this.#lastServerFrame = frame;
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

  /** The client is closing (or terminating) the socket; the close that follows is its own. */
  onClientClose(): void {
    this.#closedByClient = true;
  }

  /**
   * The socket closed with `code` (1006 when no close frame came). A close the gateway chose
   * must be one PROTOCOL.md lists, with its documented reason and error frame, and, beyond a
   * shutdown or a lost connection, one a fault the test declared calls for.
   */
  onClose(code: number, reason: string): void {
    this.#remember('×', `close ${code} ${JSON.stringify(reason)}`);
    if (this.#closedByClient) return;
    const meaning = closeMeanings[code];
    if (meaning === undefined) {
      this.#fail(`closed with ${code} (${JSON.stringify(reason)}), a code PROTOCOL.md does not list`);
      return;
    }
    if (meaning.reasons !== undefined && !meaning.reasons.includes(reason))
      this.#fail(
        `closed with ${code} and reason ${JSON.stringify(reason)}, not ${meaning.reasons.join(' or ')}`,
      );
    const last = this.#lastServerFrame;
    if (meaning.error !== undefined && (last?.type !== 'error' || last.code !== meaning.error))
      this.#fail(`closed with ${code} without the ${meaning.error} error frame that comes before it`);
    const allowed = new Set([...ordinaryCloses, ...this.#declared.flatMap(closesOf)]);
    if (!allowed.has(code))
      this.#fail(
        `closed with ${code} (${JSON.stringify(reason)}), but the test declared no fault that calls for it`,
      );
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
    if (sub.mustReset && frame.type !== 'reset')
      this.#fail(`${frame.type} for ${frame.sub}, resumed from a cursor without epoch, before its reset`);
    switch (frame.type) {
      case 'reset':
        this.#checkReset(frame.sub, sub, frame.reason);
        sub.phase = 'snapshot';
        sub.fromCursor = false;
        sub.versions.clear();
        sub.held.clear();
        sub.delivered.clear();
        sub.snapshotIds.clear();
        sub.lastSnapshotId = 0;
        sub.snapshotCursor = undefined;
        sub.rebase = true;
        sub.mustReset = false;
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
    // Nothing bounds what an unfinished snapshot shows: its cursor fences every change.
    if (fenceOf(frame.cursor) !== UNBOUNDED_FENCE)
      this.#fail(`snapshot cursor ${frame.cursor} of ${name} lacks the highest fence @${UNBOUNDED_FENCE}`);
    if (sub.snapshotCursor === undefined) this.#advance(name, sub, frame.cursor, false);
    sub.snapshotCursor = frame.cursor;
    if (frame.rows.length === 0 && !frame.done)
      this.#fail(`an empty snapshot chunk for ${name} that is not done`);
    for (const row of frame.rows) {
      this.#checkScope(row, `snapshot row of ${name}`);
      if (sub.snapshotIds.has(row.id)) this.#fail(`order ${row.id} twice in the snapshot of ${name}`);
      else if (row.id < sub.lastSnapshotId)
        this.#fail(`snapshot of ${name} not ordered by id: ${row.id} after ${sub.lastSnapshotId}`);
      if (!inFilter(sub.filter, row)) this.#fail(`snapshot row ${row.id} of ${name} is outside its filter`);
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
    const expected = expectedEffectOn(this.scope, sub.filter, frame);
    if (expected === effect) return;
    // Without a before image (an update, or a delete that carried only the key) the row
    // cannot say: only the subscriptions holding the order are told, a resumed one is reset.
    if (expected === 'remove-if-held' && effect === 'remove') {
      if (sub.fromCursor)
        this.#fail(`change ${key} for ${name}: a remove without a before image after a cursor, not a reset`);
      else if (!held)
        this.#fail(`change ${key} for ${name}: a remove without a before image of an order it does not hold`);
      // A key-only delete carries the version the subscriber holds, so applying by version takes it.
      else if (op === 'delete' && previous !== undefined && row.version !== previous)
        this.#fail(
          `change ${key} for ${name}: a key-only delete at v${row.version}, the view holds v${previous}`,
        );
      return;
    }
    this.#fail(
      `change ${key} for ${name} has effect ${effect}, its filter says ${expected === 'none' ? 'not sent' : expected}`,
    );
  }

  /** A reset must have a cause the test declared, and a reason that fits where it comes. */
  #checkReset(name: string, sub: SubState, reason: ResetReason): void {
    const allowed = new Set(
      this.#declared.filter((d) => d.sub === undefined || d.sub === name).flatMap(resetsOf),
    );
    if (!allowed.has(reason))
      this.#fail(
        `reset (${reason}) of ${name}, but the test declared ${
          allowed.size === 0
            ? 'no fault that calls for a reset'
            : `faults that call for ${[...allowed].join(', ')} only`
        }`,
      );
    // `cursor_expired` judges the cursor the client brought: a subscription that took a
    // snapshot since has none. `cursor_unknown` judges any position the subscription holds,
    // its own included: a gateway refilling it from a history that went back in time (Redis
    // restored from an older copy, before the worker replaced the epoch) finds that position
    // newer than anything history holds. Before its first cursor a subscription has no position.
    if (reason === 'cursor_expired' && !sub.fromCursor)
      this.#fail(`reset (${reason}) of ${name}, which did not resume from a cursor`);
    if (reason === 'cursor_unknown' && !sub.fromCursor && sub.cursor === undefined)
      this.#fail(`reset (${reason}) of ${name}, which held no position yet`);
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
   * this holds position by position (a change moves exactly one group's). Epochs and the
   * number of groups change only across a reset; a fence may come and go.
   */
  #advance(name: string, sub: SubState, text: string, strictly: boolean): void {
    const positions = cursorList(parseCursor(text));
    if (positions === undefined) {
      this.#fail(`cursor ${text} of ${name} is not <epoch>.<stream id> (one per shard group)`);
      return;
    }
    const last = sub.cursor;
    const rebase = sub.rebase;
    sub.cursor = positions;
    sub.rebase = false;
    if (last === undefined) return;
    if (!rebase) {
      if (last.length !== positions.length) {
        this.#fail(
          `cursor of ${name} went from ${last.length} to ${positions.length} shard groups without a reset`,
        );
        return;
      }
      for (const [group, { epoch }] of positions.entries()) {
        const before = last[group]?.epoch;
        if (before !== epoch) {
          this.#fail(
            `cursor of ${name} went from epoch ${before} to ${epoch} without a reset (group ${group})`,
          );
          return;
        }
      }
    }
    if (last.length !== positions.length) return;
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

function newSub({ filter, fromCursor, cursor, legacy }: Request): SubState {
  return {
    rebase: false,
    mustReset: legacy,
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

function fenceOf(cursor: string): bigint | undefined {
  const parsed = parseCursor(cursor);
  return parsed.kind === 'cursor' || parsed.kind === 'vector' ? parsed.fence : undefined;
}

/** The positions of a cursor with epochs, one per shard group; undefined for anything else. */
function cursorList(parsed: ReturnType<typeof parseCursor>): Cursor[] | undefined {
  if (parsed.kind === 'cursor') return [parsed.cursor];
  if (parsed.kind === 'vector') return parsed.cursors;
  return undefined;
}
