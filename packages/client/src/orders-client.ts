import { backoffDelay } from '@orders/contract';
import { Emitter } from './emitter.ts';
import { parseServerFrame } from './parse-server-frame.ts';
import { Subscription } from './subscription.ts';
import { readTokenTimes, refreshDelayMs } from './token-refresh.ts';
import type {
  ChangeFrame,
  ClientErrorCode,
  ClientState,
  ConnectionState,
  ErrorCode,
  ErrorFrame,
  LiveFrame,
  PongFrame,
  ResetFrame,
  SnapshotFrame,
  SubscriptionFilter,
  WelcomeFrame,
} from './types.ts';
import { defaultWebSocket, type WebSocketConstructor, type WebSocketLike } from './web-socket-like.ts';

export interface OrdersClientOptions {
  /** Gateway WebSocket URLs (`ws://host:port/ws`); the client fails over in order. */
  urls: readonly string[];
  /**
   * Sent as `?token=`. A function is called before every connection attempt and again shortly
   * before the socket's token expires (read from its `exp`): the new one is sent in an `auth`
   * frame, so the socket stays open. A fixed string cannot be refreshed: at its `exp` the
   * gateway closes the socket (4401).
   */
  token?: string | (() => string | Promise<string>);
  /** WebSocket implementation. @default the global one, else the `ws` package */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay ceiling. @default 250 */
  minBackoffMs?: number;
  /** Largest reconnect delay ceiling. @default 10000 */
  maxBackoffMs?: number;
  /** Give up on a socket that has not said `welcome` by then. @default 10000 */
  connectTimeoutMs?: number;
  /** Start connecting immediately. @default true */
  autoConnect?: boolean;
  /**
   * How long a connection must stay up before the reconnect backoff starts over. A gateway
   * that welcomes and then closes (slow consumer 4008, rate limit 4429) would otherwise be
   * retried at the shortest delay forever. @default 10000
   */
  stableAfterMs?: number;
  /**
   * Ask gateways that offer it (`welcome.features` has `"changes"`) to send the changes they
   * have ready at one moment in one message. Events are the same either way, one `change`
   * per change, in order; a page that renders per batch gets fewer, larger bursts of work.
   * @default true
   */
  batchChanges?: boolean;
}

export interface ClientEvents {
  state: ConnectionState & { previous: ClientState };
  snapshot: { sub: Subscription; rows: ReadonlyMap<number, import('@orders/contract').Order> };
  change: { sub: Subscription; change: ChangeFrame; applied: boolean };
  live: { sub: Subscription; recovered: boolean };
  reset: { sub: Subscription; reason: ResetFrame['reason'] };
  /**
   * The gateway's `error` frames (`sub` when one concerns a subscription of this client), and
   * the client's own: `connect_failed` (no socket could be opened: the token provider threw),
   * `token_failed` (a token refresh threw) and `bad_frame` (a message that is no frame of the
   * protocol; it is dropped).
   */
  error: { code: ErrorCode | ClientErrorCode; message: string; sub: Subscription | undefined };
  /** The gateway accepted a refreshed token; the socket is served until `exp` (seconds). */
  authed: { exp: number };
}

/**
 * Close codes after which coming back at once is right: the server is restarting, or the
 * token ran out (the next attempt fetches a fresh one).
 */
const PROMPT_RECONNECT = new Set([1001, 1012, 4401]);

/**
 * Live orders over one of several gateways: reconnects with full-jitter backoff, fails
 * over to the next URL, and resumes every subscription from its cursor.
 */
export class OrdersClient extends Emitter<ClientEvents> {
  #state: ClientState = 'idle';
  readonly #subs = new Map<string, Subscription>();
  readonly #options: OrdersClientOptions;
  #ws: WebSocketLike | undefined;
  /** Incremented per socket; callbacks of an older socket are ignored. */
  #transport = 0;
  #urlIndex = 0;
  #attempt = 0;
  #retryAt: number | undefined;
  #closeCode: number | undefined;
  #nextSub = 0;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastMessageAt = 0;
  #url: string | undefined;
  #gateway: string | undefined;
  /** The token the current socket is authenticated with, to know when to replace it. */
  #token: string | undefined;
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #refreshFailures = 0;
  /** When the last welcomed socket ended, while no other has welcomed since. */
  #lostAt: number | undefined;

  constructor(options: OrdersClientOptions) {
    super();
    if (options.urls.length === 0) throw new Error('at least one gateway URL is needed');
    this.#options = options;
    if (options.autoConnect ?? true) this.connect();
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The state with its attempt count, next retry time and last close code. */
  get connection(): ConnectionState {
    return {
      state: this.#state,
      url: this.#url,
      attempt: this.#attempt,
      retryAt: this.#state === 'disconnected' ? this.#retryAt : undefined,
      code: this.#closeCode,
    };
  }

  /** Id of the gateway currently connected to. */
  get gateway(): string | undefined {
    return this.#gateway;
  }

  get subscriptions(): ReadonlyMap<string, Subscription> {
    return this.#subs;
  }

  subscribe(filter: SubscriptionFilter = {}, options: { id?: string } = {}): Subscription {
    const id = options.id ?? `s${++this.#nextSub}`;
    if (this.#subs.has(id)) throw new Error(`subscription ${id} exists`);
    const connected = this.#state === 'connected';
    const sub = new Subscription(
      id,
      filter,
      () => this.#unsubscribe(id),
      connected ? undefined : this.#lostAt,
    );
    this.#subs.set(id, sub);
    if (connected) {
      this.#send(sub.subscribeFrame());
      sub.attach();
    }
    return sub;
  }

  /** Resolves once connected and every current subscription is live. */
  async ready(): Promise<void> {
    if (this.#state === 'closed') throw new Error('client closed');
    if (this.#state !== 'connected') {
      await new Promise<void>((resolve) => {
        const off = this.on('state', ({ state }) => {
          if (state === 'connected') {
            off();
            resolve();
          }
        });
      });
    }
    await Promise.all([...this.#subs.values()].map((sub) => sub.ready()));
  }

  connect(): void {
    if (this.#state !== 'idle') return;
    void this.#open();
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#teardown();
    this.#transport++;
    this.#ws?.close(1000, 'client closed');
    this.#ws = undefined;
    this.#setState('closed');
    for (const sub of this.#subs.values()) sub.onClosed();
  }

  #unsubscribe(id: string): void {
    const sub = this.#subs.get(id);
    if (sub === undefined) return;
    this.#subs.delete(id);
    if (this.#state === 'connected') this.#send(JSON.stringify({ type: 'unsubscribe', sub: id }));
    sub.onClosed();
  }

  /** The client's own errors and the gateway's; `sub` undefined: the connection's, every subscription's. */
  #reportError(code: ErrorCode | ClientErrorCode, message: string, sub: Subscription | undefined): void {
    // Failed attempts are told by the connection state (attempt, close code), not kept per subscription.
    if (code !== 'connect_failed')
      for (const target of sub === undefined ? this.#subs.values() : [sub])
        target.noteError({ code, message });
    this.emit('error', { code, message, sub });
  }

  async #open(): Promise<void> {
    const transport = ++this.#transport;
    const url = this.#options.urls[this.#urlIndex % this.#options.urls.length] ?? '';
    this.#url = url;
    this.#setState('connecting');
    let ws: WebSocketLike;
    try {
      const WebSocketImpl = this.#options.WebSocket ?? (await defaultWebSocket());
      const token =
        typeof this.#options.token === 'function' ? await this.#options.token() : this.#options.token;
      if (transport !== this.#transport) return;
      this.#token = token;
      ws = new WebSocketImpl(withToken(url, token));
    } catch (error) {
      if (transport !== this.#transport) return;
      this.#reportError('connect_failed', String(error), undefined);
      this.#scheduleReconnect(undefined);
      return;
    }
    this.#ws = ws;
    const timeout = setTimeout(() => {
      if (transport === this.#transport && this.#state === 'connecting') ws.close(4000, 'connect timeout');
    }, this.#options.connectTimeoutMs ?? 10_000);
    this.#timers.push(timeout);
    ws.onmessage = (event: { data: unknown }) => {
      if (transport !== this.#transport) return;
      this.#lastMessageAt = Date.now();
      this.#onMessage(event.data);
    };
    ws.onclose = (event: { code: number }) => {
      if (transport !== this.#transport) return;
      this.#onClosed(event.code);
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  /** The boundary: each message is parsed once; one that is no frame of the protocol is reported, never used. */
  #onMessage(data: unknown): void {
    const parsed = parseServerFrame(data);
    if (!parsed.ok) {
      this.#reportError('bad_frame', parsed.message, undefined);
      return;
    }
    const frame = parsed.frame;
    switch (frame.type) {
      case 'welcome':
        this.#onWelcome(frame);
        break;
      case 'snapshot':
        this.#onSnapshot(frame);
        break;
      case 'change':
        this.#onChange(frame);
        break;
      case 'changes':
        for (const change of frame.changes) this.#onChange(change);
        break;
      case 'live':
        this.#onLive(frame);
        break;
      case 'reset':
        this.#onReset(frame);
        break;
      case 'error':
        this.#onError(frame);
        break;
      case 'pong':
        this.#onPong(frame);
        break;
      case 'unsubscribed':
        break;
      case 'authed':
        this.emit('authed', { exp: frame.exp });
        break;
    }
  }

  #onWelcome(frame: WelcomeFrame): void {
    this.#gateway = frame.gateway;
    this.#lostAt = undefined;
    this.#refreshFailures = 0;
    this.#resetBackoffWhenStable();
    this.#startHeartbeat(frame.heartbeatMs);
    this.#setState('connected');
    // Before subscribing, so every change of this socket may come batched.
    if (this.#options.batchChanges !== false && frame.features?.includes('changes') === true)
      this.#send('{"type":"options","changes":true}');
    for (const sub of this.#subs.values()) {
      this.#send(sub.subscribeFrame());
      sub.attach();
    }
    this.#scheduleRefresh();
  }

  #onSnapshot(frame: SnapshotFrame): void {
    const sub = this.#subs.get(frame.sub);
    if (sub === undefined) return;
    sub.onSnapshot(frame);
    if (frame.done) this.emit('snapshot', { sub, rows: sub.rows });
  }

  #onChange(frame: ChangeFrame): void {
    const sub = this.#subs.get(frame.sub);
    if (sub === undefined) return;
    const before = sub.rows.get(frame.row.id);
    sub.onChange(frame);
    this.emit('change', { sub, change: frame, applied: sub.rows.get(frame.row.id) !== before });
  }

  #onLive(frame: LiveFrame): void {
    const sub = this.#subs.get(frame.sub);
    if (sub === undefined) return;
    sub.onLive(frame.cursor, frame.recovered);
    this.emit('live', { sub, recovered: frame.recovered });
  }

  #onReset(frame: ResetFrame): void {
    const sub = this.#subs.get(frame.sub);
    if (sub === undefined) return;
    sub.onReset(frame.reason);
    this.emit('reset', { sub, reason: frame.reason });
  }

  #onError(frame: ErrorFrame): void {
    const sub = frame.sub === undefined ? undefined : this.#subs.get(frame.sub);
    sub?.emit('error', { code: frame.code, message: frame.message });
    this.#reportError(frame.code, frame.message, sub);
    // The gateway gave up on this subscription (e.g. a database hiccup): ask again later.
    if (frame.code === 'internal' && sub !== undefined) this.#retrySubscribe(sub);
  }

  #onPong(frame: PongFrame): void {
    for (const [id, cursor] of Object.entries(frame.cursors ?? {})) this.#subs.get(id)?.onPosition(cursor);
  }

  /** Arms the refresh of the current socket's token; nothing to do for fixed or unreadable tokens. */
  #scheduleRefresh(delayMs?: number): void {
    if (this.#refresh !== undefined) clearTimeout(this.#refresh);
    this.#refresh = undefined;
    if (typeof this.#options.token !== 'function' || this.#token === undefined) return;
    const times = readTokenTimes(this.#token);
    if (times === undefined) return;
    const transport = this.#transport;
    this.#refresh = setTimeout(
      () => void this.#refreshToken(transport),
      delayMs ?? refreshDelayMs(times, Date.now()),
    );
  }

  async #refreshToken(transport: number): Promise<void> {
    const provider = this.#options.token;
    if (typeof provider !== 'function') return;
    let token: string;
    try {
      token = await provider();
    } catch (error) {
      if (transport !== this.#transport) return;
      this.#reportError('token_failed', String(error), undefined);
      // Try again while the token lasts; once it is gone the gateway closes with 4401 and
      // the reconnect asks the provider anyway.
      const min = this.#options.minBackoffMs ?? 250;
      this.#scheduleRefresh(backoffDelay(++this.#refreshFailures, min, this.#options.maxBackoffMs ?? 10_000));
      return;
    }
    if (transport !== this.#transport || this.#state !== 'connected') return;
    this.#refreshFailures = 0;
    // A provider that caches may hand back the same token until it is nearly due: ask again later.
    if (token !== this.#token) {
      this.#token = token;
      this.#send(JSON.stringify({ type: 'auth', token }));
    }
    // Armed from the token just sent: if the gateway refuses it, the socket closes and the
    // timer goes with it.
    this.#scheduleRefresh();
  }

  /** `welcome` only proves the gateway answers; the backoff starts over once the connection has lasted. */
  #resetBackoffWhenStable(): void {
    const transport = this.#transport;
    const timer = setTimeout(() => {
      if (transport === this.#transport && this.#state === 'connected') this.#attempt = 0;
    }, this.#options.stableAfterMs ?? 10_000);
    this.#timers.push(timer);
  }

  #retrySubscribe(sub: Subscription): void {
    const transport = this.#transport;
    const timer = setTimeout(
      () => {
        if (transport === this.#transport && this.#subs.get(sub.id) === sub) this.#send(sub.subscribeFrame());
      },
      backoffDelay(1, this.#options.minBackoffMs ?? 250, this.#options.maxBackoffMs ?? 10_000),
    );
    this.#timers.push(timer);
  }

  #startHeartbeat(intervalMs: number): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#lastMessageAt = Date.now();
    const transport = this.#transport;
    this.#heartbeat = setInterval(() => {
      if (transport !== this.#transport) return;
      // Silence for two intervals plus slack means a dead path (no close ever comes on some networks).
      if (Date.now() - this.#lastMessageAt > intervalMs * 2 + 1000) {
        this.#ws?.close(4000, 'heartbeat timeout');
        this.#onClosed(4000);
        return;
      }
      this.#send('{"type":"ping"}');
    }, intervalMs);
  }

  #onClosed(code: number | undefined): void {
    this.#teardown();
    this.#transport++;
    this.#ws = undefined;
    this.#gateway = undefined;
    const now = Date.now();
    if (this.#state === 'connected') this.#lostAt = now;
    for (const sub of this.#subs.values()) sub.detach(now);
    if (this.#state === 'closed') return;
    this.#scheduleReconnect(code);
  }

  #scheduleReconnect(code: number | undefined): void {
    // Fail over: the next attempt goes to the next gateway in the list.
    this.#urlIndex++;
    const min = this.#options.minBackoffMs ?? 250;
    const max = this.#options.maxBackoffMs ?? 10_000;
    const prompt = code !== undefined && PROMPT_RECONNECT.has(code) && this.#attempt === 0;
    const delay = prompt ? backoffDelay(0, min, max) : backoffDelay(this.#attempt, min, max);
    this.#attempt++;
    this.#retryAt = Date.now() + delay;
    this.#closeCode = code;
    this.#setState('disconnected');
    this.#timers.push(setTimeout(() => void this.#open(), delay));
  }

  #teardown(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    if (this.#refresh !== undefined) clearTimeout(this.#refresh);
    this.#refresh = undefined;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #send(text: string): void {
    if (this.#ws !== undefined && this.#ws.readyState === 1) this.#ws.send(text);
  }

  #setState(state: ClientState): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.emit('state', { ...this.connection, previous });
  }
}

function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}

export function createOrdersClient(options: OrdersClientOptions): OrdersClient {
  return new OrdersClient(options);
}
