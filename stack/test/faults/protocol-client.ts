/**
 * A wire-protocol-v1 client written from gateway/PROTOCOL.md alone (none of the project's
 * client code): one subscription, every frame recorded, a view kept by applying frames
 * literally (upsert sets, remove deletes, reset drops everything), and on any close a
 * reconnect to the next gateway with the last cursor. It also records every breach of the
 * protocol's promises it can see from the outside: every socket's frames go through the
 * same frame-level conformance checker the gateway's own integration tests use, and the
 * client adds what only shows across sockets (resumes from a cursor).
 */
import type { Order } from '@orders/drizzle';
import { ConformanceChecker, everyResetReason } from '@orders/test-harness';
import WebSocket from 'ws';
import { type ChangeFrame, type Filter, type ServerFrame, serverFrameSchema } from './server-frames.ts';

const knownTypes = new Set([
  'welcome',
  'snapshot',
  'change',
  'live',
  'reset',
  'error',
  'pong',
  'unsubscribed',
]);

export interface ClientOptions {
  name: string;
  /** ws:// URLs; the client starts on the first and moves on to the next on every reconnect. */
  gateways: () => string[];
  token: string;
  filter?: Filter;
  /** The customer a customer-role token is scoped to; absent for a staff token. */
  customer?: string;
}

export interface Violations {
  /** The same (op, id, version) change twice within one reset-free run of the subscription. */
  duplicates: string[];
  /** A change not newer than what the subscription already gave for that order. */
  notNewer: string[];
  /** Unfiltered only: an order's version jumped (a change in between never arrived). */
  gaps: string[];
  /** A snapshot on a subscription resumed from a cursor, without a `reset` first. */
  unannouncedSnapshots: number;
  /** Frames that failed validation, and `error` frames refusing the client's input. */
  bad: string[];
}

export class ProtocolClient {
  readonly frames: { at: number; gateway: string; frame: ServerFrame }[] = [];
  readonly view = new Map<number, Order>();
  readonly resets: { at: number; reason: string }[] = [];
  readonly violations: Violations = {
    duplicates: [],
    notNewer: [],
    gaps: [],
    unannouncedSnapshots: 0,
    bad: [],
  };
  cursor: string | undefined;
  reconnects = 0;
  unknownFrames = 0;
  recoverableErrors = 0;

  private socket: WebSocket | undefined;
  /** One checker per socket opened, in order; each sees every frame of its socket, both ways. */
  private readonly checkers = new Map<WebSocket, ConformanceChecker>();
  private gatewayIndex = 0;
  private attempts = 0;
  private away = false;
  private closed = false;
  /** Per reset-free run: changes seen, and the newest version known per order. */
  private seen = new Set<string>();
  private known = new Map<number, number>();
  private liveInSegment = false;
  private snapshotAllowed = true;
  private snapshotFilling = false;
  private readonly sub = 's1';

  constructor(private readonly options: ClientOptions) {}

  get name(): string {
    return this.options.name;
  }

  get filter(): Filter | undefined {
    return this.options.filter;
  }

  /** What the client may see, whatever it asks: the rows its view must equal are these. */
  get scope(): Filter | undefined {
    const { filter, customer } = this.options;
    return customer === undefined ? filter : { ...filter, customer };
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** The first protocol violation of every socket that had one, with the frames before it. */
  conformanceViolations(): string[] {
    return [...this.checkers.values()].flatMap((c) => c.violation ?? []);
  }

  changeFrames(): ChangeFrame[] {
    return this.frames.flatMap(({ frame }) => (frame.type === 'change' ? [frame] : []));
  }

  /** Opens a socket and subscribes (with the cursor if one is held); resolves once open. */
  async connect(): Promise<void> {
    this.away = false;
    await this.openAny();
  }

  /** Tries the gateways in turn until one opens; a newer call supersedes an older one. */
  private async openAny(): Promise<void> {
    const attemptOf = ++this.attempts;
    for (let attempt = 0; ; attempt++) {
      if (attemptOf !== this.attempts) return;
      const urls = this.options.gateways();
      const url = urls[this.gatewayIndex % urls.length] ?? '';
      this.gatewayIndex++;
      try {
        await this.open(url);
        return;
      } catch {
        if (this.closed || this.away || this.socket !== undefined) return;
        // A frozen or restarting gateway: try the next one after a short pause.
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * (attempt + 1))));
      }
    }
  }

  /** Leaves like a closed laptop: the socket goes, the cursor stays for a later connect(). */
  async disconnect(): Promise<void> {
    this.away = true;
    await this.closeSocket();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.closeSocket();
  }

  private async closeSocket(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const gone = new Promise((r) => socket.once('close', r));
    socket.terminate();
    await gone;
  }

  private open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, {
        headers: { authorization: `Bearer ${this.options.token}` },
        handshakeTimeout: 5000,
      });
      let opened = false;
      // The checker judges order, versions and effects, and with a customer token also that
      // no other customer's order is shown.
      const { customer } = this.options;
      const checker = new ConformanceChecker(
        `${this.name} socket ${this.checkers.size + 1} to ${url}`,
        customer === undefined ? { role: 'staff' } : { role: 'customer', customer },
      );
      // Which resets each fault may cause is the case's to say (`resets`, `resetReasons` in checks.ts).
      checker.expectFaults({ reasons: everyResetReason });
      this.checkers.set(socket, checker);
      socket.on('open', () => {
        // One socket at a time: two would mean two subscriptions and double deliveries.
        if (this.closed || this.away || this.socket !== undefined) {
          socket.terminate();
          return;
        }
        opened = true;
        this.socket = socket;
        this.subscribe();
        resolve();
      });
      socket.on('message', (data: WebSocket.RawData) => {
        const text = String(data);
        checker.onServerText(text);
        this.receive(url, text);
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (!opened) {
          reject(new Error(`could not open ${url}`));
          return;
        }
        if (this.socket === socket) this.socket = undefined;
        if (this.closed || this.away) return;
        this.reconnects++;
        setTimeout(() => {
          if (!this.closed && !this.away) void this.openAny();
        }, 200);
      });
    });
  }

  private subscribe(): void {
    const frame: Record<string, unknown> = { type: 'subscribe', sub: this.sub };
    if (this.options.filter) frame.filter = this.options.filter;
    if (this.cursor === undefined) {
      // Without a cursor the subscription starts over from a snapshot.
      this.newSegment();
    } else {
      frame.cursor = this.cursor;
      this.snapshotAllowed = false;
    }
    const socket = this.socket;
    if (socket === undefined) return;
    const text = JSON.stringify(frame);
    this.checkers.get(socket)?.onClientText(text);
    socket.send(text);
  }

  /** A reset or a fresh subscribe: the view and every per-run check start over. */
  private newSegment(): void {
    this.view.clear();
    this.seen = new Set();
    this.known = new Map();
    this.liveInSegment = false;
    this.snapshotAllowed = true;
    this.snapshotFilling = false;
  }

  private receive(gateway: string, text: string): void {
    let frame: ServerFrame;
    try {
      const json: unknown = JSON.parse(text);
      const type = typeof json === 'object' && json !== null && 'type' in json ? json.type : undefined;
      // The protocol may grow new frame types; a v1 client ignores what it does not know.
      if (typeof type === 'string' && !knownTypes.has(type)) {
        this.unknownFrames++;
        return;
      }
      frame = serverFrameSchema.parse(json);
    } catch (error) {
      this.violations.bad.push(`invalid frame ${text.slice(0, 200)}: ${String(error).slice(0, 200)}`);
      return;
    }
    this.frames.push({ at: Date.now(), gateway, frame });
    switch (frame.type) {
      case 'snapshot':
        if (!this.snapshotAllowed && !this.snapshotFilling) {
          this.violations.unannouncedSnapshots++;
          this.newSegment();
        }
        if (!this.snapshotFilling) this.view.clear();
        this.snapshotFilling = !frame.done;
        for (const row of frame.rows) {
          this.view.set(row.id, row);
          this.known.set(row.id, row.version);
        }
        if (frame.done) {
          this.cursor = frame.cursor;
          this.snapshotAllowed = false;
        }
        return;
      case 'change':
        this.applyChange(frame);
        return;
      case 'live':
        this.cursor = frame.cursor;
        this.liveInSegment = true;
        return;
      case 'reset':
        this.resets.push({ at: Date.now(), reason: frame.reason });
        this.cursor = undefined;
        this.newSegment();
        return;
      case 'error':
        // `internal` (subscribe again) and `slow_consumer` (the socket closes; resume from the
        // cursor) are part of recovering; any other code means this client's input was refused.
        if (frame.code === 'internal' || frame.code === 'slow_consumer') this.recoverableErrors++;
        else this.violations.bad.push(`error frame ${frame.code}: ${frame.message}`);
        if (frame.code === 'internal' && frame.sub === this.sub) setTimeout(() => this.subscribe(), 500);
        return;
      default:
        return;
    }
  }

  private applyChange(frame: ChangeFrame): void {
    const { op, row } = frame;
    const key = `${op}:${row.id}:${row.version}`;
    if (this.seen.has(key)) this.violations.duplicates.push(key);
    this.seen.add(key);
    const known = this.known.get(row.id);
    // A delete carries the deleted row, so its version equals the last update's.
    if (known !== undefined && (row.version < known || (row.version === known && op !== 'delete')))
      this.violations.notNewer.push(`${key} after v${known}`);
    if (this.scope === undefined) {
      // A conflated change skipped the versions before it on purpose; any other jump is a gap.
      const jumped = op === 'update' && known !== undefined && row.version > known + 1 && !frame.conflated;
      // After `live`, an update of an order this run never saw means its insert was missed.
      const unseen = op === 'update' && known === undefined && this.liveInSegment && !frame.conflated;
      if (jumped || unseen)
        this.violations.gaps.push(`${key} after ${known === undefined ? 'nothing' : `v${known}`}`);
    }
    this.known.set(row.id, Math.max(known ?? 0, row.version));
    if (frame.effect === 'upsert') this.view.set(row.id, row);
    else this.view.delete(row.id);
    this.cursor = frame.cursor;
  }
}
