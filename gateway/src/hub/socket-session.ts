import type { PongFrame } from '@orders/contract';
import {
  type AuthFrame,
  type ClientFrame,
  closeCodes,
  cursorPositions,
  parseClientFrame,
  parseCursor,
  type SubscribeFrame,
  toFilter,
} from '@orders/contract';
import type { Logger } from 'pino';
import { type Grant, samePrincipal } from '../auth/grant.ts';
import { type Principal, STAFF } from '../auth/principal.ts';
import { scopeFilter } from '../auth/scope.ts';
import { RateLimiter, type RateLimitOptions } from '../limits/rate-limit.ts';
import type { Connection } from './connection.ts';
import { type LoadDeps, type LoadStart, runSubscription } from './run-subscription.ts';
import { type Reloader, Subscription } from './subscription.ts';
import { SubscriptionRefused } from './subscription-refused.ts';
import { type Expiring, TokenDeadline, type TokenExpiries } from './token-expiry.ts';

export interface SessionOptions extends LoadDeps {
  /** Live events one loading subscription may hold before falling back to replay. */
  maxBufferedEvents: number;
  /** @default 32 */
  maxSubscriptions?: number;
  /** Incoming message rate per socket; see {@link RateLimitOptions}. */
  rateLimit?: RateLimitOptions;
  /** The gateway's token deadlines, one timer for every socket. */
  expiries: TokenExpiries;
}

/** Verifies a token sent in an `auth` frame; a string says why it is refused. */
export type VerifyGrant = (token: string) => Promise<Grant | string>;

/**
 * Handles one socket's incoming frames; bad input gets an error frame and the socket stays
 * usable. A socket admitted by a token is closed with 4401 once that token (plus leeway)
 * expires, unless an `auth` frame brought a newer one for the same principal.
 *
 * A class rather than closures over the socket: a gateway holds tens of thousands of idle
 * sockets, and a handler per closure cost each of them a function and its context.
 */
export class SocketSession implements Expiring, Reloader {
  readonly #principal: Principal;
  readonly #limiter: RateLimiter;
  /** Made when a token with an `exp` admits the socket or refreshes it. */
  #deadline: TokenDeadline | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly options: SessionOptions,
    private readonly logger: Logger,
    grant: Grant = { principal: STAFF },
    private readonly verify?: VerifyGrant,
  ) {
    this.#principal = grant.principal;
    this.#limiter = new RateLimiter(options.rateLimit);
    this.#armExpiry(grant);
  }

  /** The socket is gone: nothing may fire for it any more. */
  close(): void {
    if (this.#deadline !== undefined) this.options.expiries.clear(this.#deadline);
  }

  onMessage(data: unknown): void {
    const { conn } = this;
    if (conn.closed) return;
    const rate = this.#limiter.take();
    if (rate === 'close') {
      conn.fail('rate_limited', 'too many messages; slow down before reconnecting');
      return;
    }
    if (rate === 'refuse') {
      conn.error('rate_limited', 'too many messages; this one was dropped');
      return;
    }
    const parsed = parseClientFrame(data);
    if (parsed.ok) this.#handle(parsed.frame);
    else conn.error(parsed.code ?? 'bad_request', parsed.message, parsed.sub);
  }

  /** Loads `sub` again from its position (a reset met on the way makes it start over). */
  reload(sub: Subscription): void {
    this.#load(sub, { snapshot: false });
  }

  /** The socket's token (plus leeway) ran out: called by the gateway's {@link TokenExpiries}. */
  tokenExpired(): void {
    const { conn } = this;
    this.logger.info({ conn: conn.id }, 'token expired; closing socket');
    conn.error('unauthorized', 'token expired');
    conn.close(closeCodes.tokenExpired, 'token expired');
  }

  #armExpiry(g: Grant): void {
    if (g.exp === undefined) return;
    this.#deadline ??= new TokenDeadline(this);
    this.options.expiries.arm(this.#deadline, (g.exp + (g.leewayS ?? 0)) * 1000);
  }

  async #reauthenticate(frame: AuthFrame): Promise<void> {
    const { conn } = this;
    if (this.verify === undefined) {
      conn.error('bad_request', 'this gateway does not authenticate sockets');
      return;
    }
    const verdict = await this.verify(frame.token);
    if (conn.closed) return;
    if (typeof verdict === 'string') {
      conn.fail('unauthorized', 'invalid token');
      return;
    }
    if (!samePrincipal(this.#principal, verdict.principal)) {
      conn.fail('forbidden', 'the token is for another principal; open a new socket for it');
      return;
    }
    this.#armExpiry(verdict);
    if (verdict.exp !== undefined) conn.send({ type: 'authed', exp: verdict.exp });
  }

  #subscribe(frame: SubscribeFrame): void {
    const { conn, options } = this;
    const maxSubscriptions = options.maxSubscriptions ?? 32;
    if (conn.subs.has(frame.sub)) {
      conn.error('bad_request', `subscription "${frame.sub}" already exists`, frame.sub);
      return;
    }
    if (conn.subs.size >= maxSubscriptions) {
      conn.error('too_large', `at most ${maxSubscriptions} subscriptions per socket`, frame.sub);
      return;
    }
    const principal = this.#principal;
    const scoped = scopeFilter(principal, frame.filter);
    if (!scoped.ok) {
      conn.error('forbidden', scoped.message, frame.sub);
      return;
    }
    const sub = new Subscription(
      frame.sub,
      toFilter(scoped.filter),
      conn,
      options.maxBufferedEvents,
      options.history.groups,
    );
    if (principal.role === 'customer') sub.scope = principal.customer;
    conn.subs.set(sub.id, sub);
    sub.reloader = this;
    const start = startFrom(sub, frame.cursor);
    // Resumed from a cursor, the client's rows were sent by some gateway, not known here.
    if (!start.snapshot) sub.held.forget();
    this.#load(sub, start);
  }

  #load(sub: Subscription, start: LoadStart): void {
    const { conn, logger } = this;
    runSubscription(sub, start, this.options).catch((error: unknown) => {
      const refused = error instanceof SubscriptionRefused;
      if (refused) logger.info({ conn: conn.id, sub: sub.id, reason: error.message }, 'subscription refused');
      else logger.error({ err: error, conn: conn.id, sub: sub.id }, 'subscription failed');
      if (conn.subs.get(sub.id) === sub) conn.subs.delete(sub.id);
      sub.close();
      if (refused) conn.error(error.code, error.message, sub.id);
      else conn.error('internal', 'subscription failed; subscribe again', sub.id);
    });
  }

  #pong(): PongFrame {
    const { conn } = this;
    // Held frames may be reordered by conflation; a cursor is only safe when nothing is held.
    if (conn.outbox.heldFrames > 0) return { type: 'pong' };
    const cursors: Record<string, string> = {};
    let any = false;
    for (const sub of conn.subs.values()) {
      if (sub.state.kind !== 'live') continue;
      cursors[sub.id] = sub.cursor;
      any = true;
    }
    return any ? { type: 'pong', cursors } : { type: 'pong' };
  }

  #handle(frame: ClientFrame): void {
    const { conn } = this;
    switch (frame.type) {
      case 'subscribe':
        this.#subscribe(frame);
        return;
      case 'unsubscribe': {
        const sub = conn.subs.get(frame.sub);
        if (sub === undefined) {
          conn.error('bad_request', `no subscription "${frame.sub}"`, frame.sub);
          return;
        }
        conn.subs.delete(frame.sub);
        sub.close();
        conn.send({ type: 'unsubscribed', sub: frame.sub });
        return;
      }
      case 'ping':
        conn.send(this.#pong());
        return;
      case 'options':
        if (frame.changes !== undefined) conn.batchChanges = frame.changes;
        return;
      case 'auth':
        this.#reauthenticate(frame).catch((error: unknown) => {
          this.logger.error({ err: error, conn: conn.id }, 'token verification failed');
          conn.fail('internal', 'token verification failed');
        });
        return;
    }
  }
}

/**
 * A cursor positions the subscription; one from before epochs cannot be trusted and resets it,
 * and so does one with another number of positions than this gateway has shard groups (issued
 * under another REDIS_SHARDS): its positions belong to other histories.
 */
function startFrom(sub: Subscription, text: string | undefined): LoadStart {
  if (text === undefined) return { snapshot: true };
  const parsed = parseCursor(text);
  if (parsed.kind !== 'cursor' && parsed.kind !== 'vector') return { snapshot: true, reset: 'epoch_changed' };
  const positions = cursorPositions(parsed, sub.groups);
  if (positions === undefined) return { snapshot: true, reset: 'cursor_unknown' };
  sub.setPositions(positions);
  sub.fenceAt(parsed.fence, false);
  return { snapshot: false };
}
