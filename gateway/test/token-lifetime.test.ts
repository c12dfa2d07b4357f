/**
 * Token lifetime on the real stack: a gateway process configured through its environment
 * (production mode, its own secret, one second of leeway), fed by SQL → Debezium → Kafka →
 * worker → Redis.
 */

import type { OrdersClient, SubscriptionFilter } from '@orders/client';
import { readTokenTimes } from '@orders/client';
import { limits } from '@orders/contract';
import type { GatewayProcess } from '@orders/test-harness';
import { expectFaults } from '@orders/test-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../src/auth/index.ts';
import type { Principal } from '../src/auth/principal.ts';
import { badTokens } from './support/bad-tokens.ts';
import { clientPool, converge, expectClean } from './support/convergence.ts';
import { createStack, type Stack } from './support/pipeline.ts';
import { is, RawSocketPool } from './support/raw-socket.ts';
import { recordSubscription } from './support/recorder.ts';
import { startTraffic } from './support/traffic.ts';
import { until } from './support/wait.ts';

const secret = 'token-lifetime-suite-secret-of-some-length';
const LEEWAY_S = 1;
const staff: Principal = { role: 'staff' };
const alice: Principal = { role: 'customer', customer: 'Alice' };

const expOf = (token: string): number => {
  const times = readTokenTimes(token);
  if (times === undefined) throw new Error('unreadable token');
  return times.exp;
};

/** Every change frame a subscription receives, keyed by (op, id, version): a key seen twice is a duplicate. */
function duplicateFrames(c: OrdersClient): string[] {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  c.on('change', ({ sub, change }) => {
    const key = `${sub.id}:${change.op}:${change.row.id}:${change.row.version}`;
    if (seen.has(key)) duplicates.push(key);
    seen.add(key);
  });
  return duplicates;
}

describe('token lifetime on open sockets', () => {
  let stack: Stack;
  let gw: GatewayProcess;
  const sockets = new RawSocketPool();
  const clients = clientPool({ minBackoffMs: 100, maxBackoffMs: 1000 });
  const open = (token: string) => sockets.open(gw.url, token);

  beforeAll(async () => {
    stack = await createStack();
    gw = await stack.startGateway('token-life', undefined, {
      AUTH_MODE: 'production',
      JWT_SECRET: secret,
      ALLOWED_ORIGINS: 'https://orders.example',
      JWT_LEEWAY_S: String(LEEWAY_S),
    });
    for (let i = 0; i < 20; i++) await stack.writer.insert(['Alice', 'Bob'][i % 2] ?? 'Alice');
  });
  afterAll(async () => {
    sockets.closeAll();
    clients.closeAll();
    await stack?.close();
  });

  it('[P45][P55] closes a socket with 4401 when its 3-second token expires, and not before', async () => {
    expectFaults({ faults: ['token_expiry'] });
    const token = await mintToken(secret, staff, 3);
    const exp = expOf(token);
    const s = await open(token);
    s.send({ type: 'subscribe', sub: 'all' });
    await s.next(is('live', 'all'), 30_000);
    const closed = await s.waitClose((exp + LEEWAY_S + 10) * 1000 - Date.now());
    const closedAt = Date.now();
    expect(closed).toEqual({ code: 4401, reason: 'token expired' });
    expect(s.frames.at(-1)).toMatchObject({ type: 'error', code: 'unauthorized', message: 'token expired' });
    // Served until exp plus the leeway; the second of leeway is the margin of this check.
    expect(closedAt).toBeGreaterThanOrEqual(exp * 1000);
  });

  it('[P10][P56] an auth frame with a fresh token for the same principal keeps the socket past the old exp', async () => {
    const first = await mintToken(secret, alice, 3);
    const s = await open(first);
    const fresh = await mintToken(secret, alice, 600);
    s.send({ type: 'auth', token: fresh });
    expect(await s.next(is('authed'))).toEqual({ type: 'authed', exp: expOf(fresh) });
    await until(
      () => Date.now() > (expOf(first) + LEEWAY_S + 1) * 1000,
      'the first token to run out',
      10_000,
    );
    s.send({ type: 'ping' });
    await s.next(is('pong'));
    expect(s.ws.readyState).toBe(s.ws.OPEN);
  });

  it('[P58] refuses a token for another principal with forbidden and 4403', async () => {
    expectFaults({ faults: ['foreign_principal'] });
    const cases: [Principal, Principal][] = [
      [alice, { role: 'customer', customer: 'Bob' }],
      [alice, staff],
      [staff, alice],
    ];
    for (const [from, to] of cases) {
      const s = await open(await mintToken(secret, from, 600));
      s.send({ type: 'auth', token: await mintToken(secret, to, 600) });
      const closed = await s.waitClose();
      expect(closed.code, `${from.role} → ${JSON.stringify(to)}`).toBe(4403);
      expect(s.frames.at(-1)).toMatchObject({ type: 'error', code: 'forbidden' });
      expect(s.frames.some((f) => f.type === 'authed')).toBe(false);
    }
  });

  it('[P57][P59] closes with unauthorized and 4401 on every bad token, and keeps the socket for a malformed frame', async () => {
    expectFaults({ faults: ['invalid_auth'] });
    for (const [name, token] of Object.entries(await badTokens(secret))) {
      const s = await open(await mintToken(secret, staff, 600));
      s.send({ type: 'auth', token });
      const closed = await s.waitClose();
      expect(closed.code, name).toBe(4401);
      expect(s.frames.at(-1), name).toMatchObject({ type: 'error', code: 'unauthorized' });
    }
    const s = await open(await mintToken(secret, staff, 600));
    // No token, a token that is not a string, and one over 8 Ki characters: each a bad frame.
    for (const frame of [
      { type: 'auth' },
      { type: 'auth', token: 42 },
      { type: 'auth', token: 'x'.repeat(limits.tokenLength + 1) },
    ]) {
      s.send(frame);
      expect(await s.next(is('error')), JSON.stringify(frame).slice(0, 40)).toMatchObject({
        code: 'bad_request',
      });
      s.send({ type: 'ping' });
      await s.next(is('pong'));
    }
    expect(s.ws.readyState).toBe(s.ws.OPEN);
  });

  it('[P61] a client minting 3-second tokens stays on one socket across several expiries and misses nothing', async () => {
    let minted = 0;
    const c = clients.open([gw.url], () => {
      minted++;
      return mintToken(secret, staff, 3);
    });
    const states: string[] = [];
    c.on('state', ({ state }) => states.push(state));
    const authed: number[] = [];
    c.on('authed', ({ exp }) => authed.push(exp));
    const duplicates = duplicateFrames(c);
    const filters: SubscriptionFilter[] = [{}, { customer: 'Alice' }, { status: ['pending', 'paid'] }];
    const recs = filters.map((f) => recordSubscription(c.subscribe(f)));
    await c.ready();
    const traffic = startTraffic(stack.writer, { concurrency: 2, pauseMs: 10 });
    // Four refreshes of 3-second tokens: the socket outlives at least three of them.
    await until(() => authed.length >= 4, 'four accepted refreshes', 60_000);
    expect(await traffic.stop()).toBeGreaterThan(50);
    await converge(c, filters, (match) => stack.writer.rows(match), 60_000);
    // The client was already connecting when the listener was added: one socket, never dropped.
    expect(states).toEqual(['connected']);
    expect(minted).toBeGreaterThanOrEqual(5);
    expect(duplicates).toEqual([]);
    expectClean(recs, { snapshots: 1, recovered: 0 });
    expect(recs.reduce((n, r) => n + r.changes, 0)).toBeGreaterThan(50);
    c.close();
  });

  it('[P61] a client that could not refresh in time is closed with 4401, reconnects with a fresh token and resumes', async () => {
    expectFaults({ faults: ['token_expiry'] });
    let failing = false;
    const c = clients.open([gw.url], () => {
      if (failing) throw new Error('token issuer unavailable');
      return mintToken(secret, staff, 3);
    });
    const closes: string[] = [];
    c.on('state', ({ state }) => {
      closes.push(state);
      // The issuer comes back while the client waits to reconnect.
      if (state === 'disconnected') failing = false;
    });
    const errors: string[] = [];
    c.on('error', ({ code, message }) => errors.push(`${code}: ${message}`));
    const duplicates = duplicateFrames(c);
    const filters: SubscriptionFilter[] = [{}, { customer: 'Bob' }];
    const recs = filters.map((f) => recordSubscription(c.subscribe(f)));
    await c.ready();
    failing = true;
    const traffic = startTraffic(stack.writer, { concurrency: 2, pauseMs: 10 });
    await until(() => closes.includes('disconnected'), 'the expired socket to close', 30_000);
    await until(() => c.state === 'connected', 'the reconnect', 30_000);
    await c.ready();
    expect(await traffic.stop()).toBeGreaterThan(20);
    await converge(c, filters, (match) => stack.writer.rows(match), 60_000);
    expect(errors).toContain('unauthorized: token expired');
    expect(errors).toContain('token_failed: Error: token issuer unavailable');
    expect(duplicates).toEqual([]);
    // Resumed from cursors: still the one snapshot per subscription, and one recovery each.
    expectClean(recs, { snapshots: 1, recovered: 1 });
    c.close();
  });
});
