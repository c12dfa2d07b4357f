import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { ServerFrame } from '@orders/contract';
import { CheckedWebSocket, expectFaults } from '@orders/test-harness';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorize, mintToken } from '../src/auth/index.ts';
import { createLogger } from '../src/logger.ts';
import type { RunningGateway } from '../src/node-server.ts';
import { createFakeWorker, type FakeWorker } from './support/fake-worker.ts';
import { is, type RawSocket, RawSocketPool } from './support/raw-socket.ts';
import { createHarness, type GatewayHarness } from './support/services.ts';
import { tryUpgrade } from './support/upgrade.ts';
import { until } from './support/wait.ts';

const secret = 'promises-suite-secret-with-enough-characters';

/** Collects a subscription's snapshot chunks up to `done:true`. */
async function snapshotChunks(s: RawSocket, sub: string) {
  const chunks = [];
  for (;;) {
    const chunk = await s.next(is('snapshot', sub));
    chunks.push(chunk);
    if (chunk.done) return chunks;
  }
}

/** A client's text frame as it goes on the wire: FIN, opcode 1, masked. */
function maskedTextFrame(frame: object): Buffer {
  const payload = Buffer.from(JSON.stringify(frame), 'utf8');
  if (payload.length > 0xffff) throw new Error('frame too long for this helper');
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([header, mask, masked]);
}

/** The response head and the server's (unmasked, unfragmented text) frames read off a raw socket. */
class ServerFrameReader {
  status = '';
  readonly frames: ServerFrame[] = [];
  #buffer = Buffer.alloc(0);
  #headDone = false;

  push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    if (!this.#headDone) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = this.#buffer.subarray(0, end).toString('latin1');
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#headDone = true;
    }
    for (;;) {
      const [first, second] = this.#buffer;
      if (first === undefined || second === undefined) return;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.#buffer.length < 4) return;
        length = this.#buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.#buffer.length < 10) return;
        length = Number(this.#buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.#buffer.length < offset + length) return;
      const payload = this.#buffer.subarray(offset, offset + length);
      this.#buffer = this.#buffer.subarray(offset + length);
      if ((first & 0x0f) === 1) this.frames.push(JSON.parse(payload.toString('utf8')) as ServerFrame);
    }
  }
}

describe('documented promises of the wire protocol', () => {
  let h: GatewayHarness;
  let gw: RunningGateway;
  let secured: RunningGateway;
  let worker: FakeWorker;
  const sockets = new RawSocketPool();
  const open = (url: string) => sockets.open(url);

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.start('promise-a', { tuning: { snapshotChunk: 50 } });
    secured = await h.start('promise-auth', { authorize: createAuthorize({ secret, allowedOrigins: [] }) });
    worker = createFakeWorker(h.redis, h.keys, h.db.sql);
  });
  afterAll(async () => {
    sockets.closeAll();
    await h?.close();
  });

  it('[P68] refuses a frame nesting deeper than 8 levels before parsing it, even one that would parse as valid', async () => {
    const s = await open(gw.url);
    // A ping ignores unknown fields, so only the depth check refuses this one.
    s.sendText(`{"type":"ping","x":${'['.repeat(8)}${']'.repeat(8)}}`);
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request', message: 'frame nests too deep' });
    s.sendText(`{"type":"ping","x":${'['.repeat(7)}${']'.repeat(7)}}`);
    await s.next(is('pong'));
    expect(s.frames.filter((f) => f.type === 'error')).toHaveLength(1);
  });

  it('[P71] takes up to 10 filter.status entries and refuses 11', async () => {
    const s = await open(gw.url);
    const eleven = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];
    s.send({ type: 'subscribe', sub: 'many', filter: { status: [...eleven, ...eleven, 'paid'] } });
    expect(await s.next(is('error', 'many'))).toMatchObject({ code: 'bad_request', sub: 'many' });
    s.send({ type: 'subscribe', sub: 'ten', filter: { status: [...eleven, ...eleven], ids: [999_999_999] } });
    await s.next(is('live', 'ten'));
  });

  it('[P8] answers a filter that matches nothing with one empty snapshot frame', async () => {
    const s = await open(gw.url);
    s.send({ type: 'subscribe', sub: 'none', filter: { customer: 'Nobody-at-all' } });
    await s.next(is('live', 'none'));
    const snapshots = s.frames.filter((f) => f.type === 'snapshot');
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ rows: [], done: true });
  });

  it('[P8] sends more rows than the chunk size as several chunks with one cursor, ordered by id, each row once', async () => {
    await h.db.sql`
      insert into orders (customer_name, product_name, status)
      select 'Chunky', 'widget', 'pending' from generate_series(1, 180)`;
    const s = await open(gw.url);
    s.send({ type: 'subscribe', sub: 'big', filter: { customer: 'Chunky' } });
    const chunks = await snapshotChunks(s, 'big');
    expect(chunks.map((c) => c.rows.length)).toEqual([50, 50, 50, 30]);
    expect(chunks.map((c) => c.done)).toEqual([false, false, false, true]);
    expect(new Set(chunks.map((c) => c.cursor)).size).toBe(1);
    const ids = chunks.flatMap((c) => c.rows.map((r) => r.id));
    expect(new Set(ids).size).toBe(180);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await s.next(is('live', 'big'));
  });

  it('[P8] chunks a snapshot at 500 rows unless told otherwise', async () => {
    const plain = await h.start('promise-default-chunk');
    await h.db.sql`
      insert into orders (customer_name, product_name, status)
      select 'Default', 'widget', 'pending' from generate_series(1, 501)`;
    const s = await open(plain.url);
    s.send({ type: 'subscribe', sub: 'default', filter: { customer: 'Default' } });
    const chunks = await snapshotChunks(s, 'default');
    expect(chunks.map((c) => c.rows.length)).toEqual([500, 1]);
    await s.next(is('live', 'default'));
  });

  it('[P11] sends orders with every field, ISO timestamps in UTC with milliseconds', async () => {
    const s = await open(gw.url);
    await h.db.sql`
      insert into orders (customer_name, product_name, status) values ('Shape', 'gizmo', 'paid')`;
    s.send({ type: 'subscribe', sub: 'shape', filter: { customer: 'Shape' } });
    const [chunk] = await snapshotChunks(s, 'shape');
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(chunk?.rows).toEqual([
      {
        id: expect.any(Number),
        customerName: 'Shape',
        productName: 'gizmo',
        status: 'paid',
        version: 1,
        createdAt: expect.stringMatching(iso),
        updatedAt: expect.stringMatching(iso),
      },
    ]);
  });

  it('[P60] answers auth with bad_request on a gateway without authentication, and keeps serving the socket', async () => {
    const s = await open(gw.url);
    s.send({ type: 'auth', token: await mintToken(secret, { role: 'staff' }) });
    expect(await s.next(is('error'))).toMatchObject({ code: 'bad_request' });
    s.send({ type: 'ping' });
    await s.next(is('pong'));
  });

  it('[P42] answers a subscription that fails on the gateway side with internal, and keeps serving the socket', async () => {
    // A read pool for a database that does not exist: every snapshot query fails.
    const broken = postgres(`${h.db.readerUrl.replace(/\/[^/?]*(\?|$)/, '/no_such_database$1')}`, {
      max: 1,
      onnotice: () => {},
    });
    try {
      const failing = await h.start('promise-broken-db', {
        sql: broken,
        logger: createLogger('promise-broken-db', 'silent'),
      });
      const s = await open(failing.url);
      s.send({ type: 'subscribe', sub: 'doomed' });
      expect(await s.next(is('error', 'doomed'))).toMatchObject({ code: 'internal', sub: 'doomed' });
      s.send({ type: 'ping' });
      await s.next(is('pong'));
      await failing.shutdown();
    } finally {
      await broken.end({ timeout: 1 });
    }
  });

  it('[P20] resets a cursor newer than anything history held with cursor_unknown, then serves a snapshot', async () => {
    expectFaults({ faults: ['future_cursor'], sub: 'f' });
    await worker.insert('Future');
    const epoch = await h.redis.get(h.keys.epoch);
    if (epoch === null) throw new Error('no epoch');
    const s = await open(gw.url);
    s.send({
      type: 'subscribe',
      sub: 'f',
      filter: { customer: 'Future' },
      cursor: `${epoch}.9999999999999-0`,
    });
    expect(await s.next(is('reset', 'f'))).toMatchObject({ reason: 'cursor_unknown' });
    const chunks = await snapshotChunks(s, 'f');
    expect(chunks.flatMap((c) => c.rows).map((r) => r.customerName)).toEqual(['Future']);
    expect((await s.next(is('live', 'f'))).recovered).toBe(false);
  });

  it('[P4] serves frames a client sends before welcome arrives', async () => {
    const ws = new CheckedWebSocket(gw.url);
    const frames: ServerFrame[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as ServerFrame));
    // Sent the moment the upgrade completes, before the client has read a byte.
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', sub: 'early', filter: { customer: 'Nobody-early' } }));
      ws.send(JSON.stringify({ type: 'ping' }));
    });
    try {
      await until(
        () => frames.some((f) => f.type === 'live') && frames.some((f) => f.type === 'pong'),
        'answers to frames sent before welcome',
      );
      expect(frames[0]?.type).toBe('welcome');
    } finally {
      ws.close();
    }
  });

  it('[P4] serves frames that reach the gateway with the upgrade request, before the socket has opened', async () => {
    // Written in one go with the request: the frames are in the gateway's hands before the
    // upgrade completes, so before any welcome could have been sent.
    const tcp = connect(gw.port, '127.0.0.1');
    const received = new ServerFrameReader();
    tcp.on('data', (chunk: Buffer) => received.push(chunk));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('connect', resolve);
        tcp.once('error', reject);
      });
      const request = [
        'GET /ws HTTP/1.1',
        `Host: 127.0.0.1:${gw.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n');
      tcp.write(
        Buffer.concat([
          Buffer.from(request, 'latin1'),
          maskedTextFrame({ type: 'subscribe', sub: 'head', filter: { customer: 'Nobody-in-head' } }),
          maskedTextFrame({ type: 'ping' }),
        ]),
      );
      await until(
        () =>
          received.frames.some((f) => f.type === 'live') && received.frames.some((f) => f.type === 'pong'),
        'answers to the frames sent with the upgrade request',
      );
      expect(received.status).toMatch(/^HTTP\/1\.1 101 /);
      expect(received.frames[0]?.type).toBe('welcome');
      expect(received.frames.filter((f) => f.type === 'snapshot')).toMatchObject([
        { sub: 'head', done: true },
      ]);
    } finally {
      tcp.destroy();
    }
  });

  it('[P75] answers 503 with retry-after when the gateway is full', async () => {
    const full = await h.start('promise-full', { tuning: { maxConnections: 1 } });
    await open(full.url);
    const refused = await tryUpgrade(full.url);
    expect(refused.status).toBe(503);
    if ('ws' in refused) throw new Error('opened');
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toHaveProperty('error');
  });

  it('[P51] takes the query token over the Authorization header', async () => {
    const alice = await mintToken(secret, { role: 'customer', customer: 'Alice' });
    const staff = await mintToken(secret, { role: 'staff' });
    // A bad header does not matter when the query carries a good token, and the other way round.
    const byQuery = await tryUpgrade(`${secured.url}?token=${alice}`, { authorization: 'Bearer nonsense' });
    expect(byQuery.status).toBe(101);
    if ('ws' in byQuery) byQuery.ws.close();
    expect(
      (await tryUpgrade(`${secured.url}?token=nonsense`, { authorization: `Bearer ${staff}` })).status,
    ).toBe(401);
    // With both valid, the socket is the query's principal: Alice, not staff.
    const opened = await tryUpgrade(`${secured.url}?token=${alice}`, { authorization: `Bearer ${staff}` });
    if (!('ws' in opened)) throw new Error(`upgrade answered ${opened.status}`);
    const frames: ServerFrame[] = [];
    opened.ws.on('message', (data) => frames.push(JSON.parse(String(data)) as ServerFrame));
    opened.ws.send(JSON.stringify({ type: 'subscribe', sub: 'bob', filter: { customer: 'Bob' } }));
    await until(() => frames.some((f) => f.type === 'error'), 'the answer to a subscription for Bob');
    expect(frames.find((f) => f.type === 'error')).toMatchObject({ code: 'forbidden', sub: 'bob' });
    opened.ws.close();
  });
});
