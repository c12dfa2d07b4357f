/**
 * What the connection and scale benchmarks do alike to a gateway process: hold idle sockets
 * in holder processes, read the process's settled memory and event-loop delay, count its
 * sockets, keep clients subscribed to everything, and write changes at a steady rate with the
 * worker's own fan-out script while timing each one from the write to every client's frame.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { redisKeys, StreamChange } from '@orders/contract/redis';
import {
  createTestDatabase,
  devToken,
  dropRedisNamespace,
  freePort,
  type GatewayProcess,
  newNamespace,
  sleep,
  spawnGateway,
  type TestDatabase,
  until,
} from '@orders/test-harness';
import { createStandInForwarder, type WorkerRedis } from '@orders/worker/testing';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { cpuWindow } from './cpu-shares.ts';

const probe = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
/** Node options of a measured process (the probe is plain JavaScript: no loader needed). */
export const measuredNodeArgs = ['--expose-gc', '--import', probe];

/**
 * Builds the gateway as production runs it (`npm run build`: dist/main.js). A gateway run
 * from its TypeScript through tsx carries the loader's per-function helpers (esbuild's
 * `keepNames` gives every closure a property store), about 3 KB of heap per socket that a
 * production gateway does not have.
 */
export function buildGateway(): void {
  execFileSync('npm', ['run', '-s', 'build'], {
    cwd: fileURLToPath(new URL('../../gateway/', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** A compiled gateway (see {@link buildGateway}) with the memory probe preloaded. */
export function spawnMeasuredGateway(id: string, env: Record<string, string>): Promise<GatewayProcess> {
  return spawnGateway(id, env, undefined, measuredNodeArgs, { compiled: true });
}

const localRedis = () => createClient({ url: 'redis://127.0.0.1:6379' });

/** What a gateway benchmark runs on: a Redis namespace, a test database and a Redis client of its own. */
export interface BenchGround {
  readonly ns: string;
  readonly db: TestDatabase;
  readonly redis: ReturnType<typeof localRedis>;
  /**
   * A measured gateway's environment on this ground: its namespace and database, logs at
   * `warn`, and every connection cap (per address, per principal, staff, in all) at `caps`.
   */
  gatewayEnv(caps: number, extra?: Record<string, string>): Record<string, string>;
  /** Drops the namespace and the database and closes the client. */
  drop(): Promise<void>;
}

export async function benchGround(prefix: string): Promise<BenchGround> {
  const ns = `${prefix}${newNamespace()}`;
  const db = await createTestDatabase();
  const redis = localRedis();
  redis.on('error', () => {});
  await redis.connect();
  return {
    ns,
    db,
    redis,
    gatewayEnv(caps, extra = {}) {
      const cap = String(caps);
      return {
        REDIS_NS: ns,
        DATABASE_READER_URL: db.readerUrl,
        LOG_LEVEL: 'warn',
        MAX_CONNECTIONS: cap,
        MAX_CONNECTIONS_PER_IP: cap,
        MAX_CONNECTIONS_PER_PRINCIPAL: cap,
        MAX_STAFF_CONNECTIONS: cap,
        ...extra,
      };
    },
    async drop() {
      await dropRedisNamespace(redis, ns);
      await redis.close();
      await db.drop();
    },
  };
}

/** A gateway's socket URL carrying a development token (staff). */
export async function socketUrl(gw: GatewayProcess): Promise<string> {
  return `${gw.url}?token=${await devToken(gw.url)}`;
}

/**
 * A same-run baseline in a process of its own, measured like the gateway: bare-server.mjs
 * (the `ws` library alone) or hono-server.mjs (the same behaviour through Hono and node-ws).
 */
export interface BareServer {
  readonly child: ChildProcess;
  readonly url: string;
  /** The sockets it holds. */
  count(): Promise<number>;
}

export type BaselineScript = 'bare-server.mjs' | 'hono-server.mjs';

/** Starts a baseline server and waits until it answers; the caller kills `child`. */
export async function startBareServer(script: BaselineScript = 'bare-server.mjs'): Promise<BareServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...measuredNodeArgs, fileURLToPath(new URL(`./${script}`, import.meta.url)), String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const count = async () => Number(await (await fetch(`http://127.0.0.1:${port}/`)).text());
  try {
    await until(async () => {
      try {
        return (await count()) === 0;
      } catch {
        return false;
      }
    }, script);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, url: `ws://127.0.0.1:${port}/`, count };
}

/** A server whose opening cost is measured: its process, its socket URL, its open sockets. */
export interface MeasuredServer {
  readonly pid: number;
  readonly url: string;
  count(): Promise<number>;
}

/** A fresh measured gateway for `run`, killed after it; `children` is the bench's list to kill on exit. */
export async function onGateway<T>(
  id: string,
  env: Record<string, string>,
  children: ChildProcess[],
  run: (server: MeasuredServer) => Promise<T>,
): Promise<T> {
  const gw = await spawnMeasuredGateway(id, env);
  children.push(gw.child);
  try {
    const url = await socketUrl(gw);
    return await run({ pid: gw.child.pid ?? 0, url, count: () => gatewayConnections(gw.port) });
  } finally {
    await gw.kill('SIGKILL');
  }
}

/** A fresh baseline server (bare `ws` by default) for `run`, killed after it. */
export async function onBareServer<T>(
  children: ChildProcess[],
  run: (server: MeasuredServer) => Promise<T>,
  script: BaselineScript = 'bare-server.mjs',
): Promise<T> {
  const bare = await startBareServer(script);
  children.push(bare.child);
  try {
    return await run({ pid: bare.child.pid ?? 0, url: bare.url, count: bare.count });
  } finally {
    bare.child.kill('SIGKILL');
  }
}

/** What opening `connections` sockets on a warm server cost it: settled memory around it, time, CPU. */
export interface Opening {
  before: ProcessMemory;
  after: ProcessMemory;
  openMs: number;
  /** CPU seconds over the opening: server, holder, postgres, redis, other. */
  cpuSeconds: Record<string, number>;
}

/**
 * Warms the server (200 sockets opened and closed: compiled code and lazily built structures
 * are not per-socket cost), then opens `connections` sockets from the holder, reads memory
 * before and after and every process's CPU over the opening, and closes them again.
 */
export async function measureOpening(
  holder: Holder,
  server: MeasuredServer,
  connections: number,
): Promise<Opening> {
  await holder.open(server.url, 200);
  await holder.close(200);
  await until(async () => (await server.count()) === 0, 'warm-up sockets closed');
  const before = await memoryOf(server.pid);
  const cpu = cpuWindow([
    { name: 'server', pids: [server.pid] },
    { name: 'holder', pids: [holder.child.pid ?? 0] },
    { name: 'postgres', comm: 'postgres' },
    { name: 'redis', comm: 'redis-server' },
  ]);
  const opened = await holder.open(server.url, connections);
  const cpuSeconds = cpu.stop();
  await until(async () => (await server.count()) === connections, 'the server counts every socket');
  const after = await memoryOf(server.pid);
  await holder.close(connections);
  return { before, after, openMs: opened.ms, cpuSeconds };
}

export interface Holder {
  open(url: string, count: number): Promise<{ ms: number; open: number }>;
  close(count: number): Promise<{ open: number }>;
  readonly child: ChildProcess;
}

/**
 * A process holding idle sockets (connection-holder.ts), driven over IPC. `localAddress`
 * is the loopback address its sockets leave from: one address has ~28k ephemeral ports.
 */
export function startHolder(window: number, localAddress?: string): Holder {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./connection-holder.ts', import.meta.url))],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  // One call at a time per holder: answers carry no id.
  let queue: Promise<unknown> = Promise.resolve();
  const call = <T>(command: object): Promise<T> => {
    const next = queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const onExit = () => reject(new Error('connection holder exited'));
          child.once('exit', onExit);
          child.once('message', (answer: { type: string; message?: string }) => {
            child.off('exit', onExit);
            if (answer.type === 'failed') reject(new Error(`opening sockets failed: ${answer.message}`));
            else resolve(answer as T);
          });
          child.send(command);
        }),
    );
    queue = next.catch(() => {});
    return next;
  };
  return {
    child,
    open: (url, count) => call({ type: 'open', url, count, window, localAddress }),
    close: (count) => call({ type: 'close', count }),
  };
}

export interface ProcessMemory {
  rss: number;
  heapUsed: number;
  external: number;
  /** Event-loop delay since the previous reading, ms (GC of the readings left out). */
  loopDelay: { p50: number; p99: number; max: number };
}

/** Settled memory of a process that preloads memory-probe.mjs: RSS from /proc, heap from Node. */
export async function memoryOf(pid: number): Promise<ProcessMemory> {
  const file = `${tmpdir()}/memory-probe-${pid}.json`;
  rmSync(file, { force: true });
  await sleep(500);
  process.kill(pid, 'SIGUSR2');
  await until(() => existsSync(file), `memory probe of ${pid}`, 10_000);
  await sleep(50);
  const usage = JSON.parse(readFileSync(file, 'utf8')) as {
    heapUsed: number;
    external: number;
    collected: boolean;
    loopDelay: ProcessMemory['loopDelay'];
  };
  if (!usage.collected) throw new Error('the measured process cannot collect garbage (--expose-gc missing)');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return { rss: kb * 1024, heapUsed: usage.heapUsed, external: usage.external, loopDelay: usage.loopDelay };
}

/** The sockets a gateway counts (its `gateway_connections` gauge). */
export async function gatewayConnections(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^gateway_connections (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** Clients subscribed to everything; `arrived` gets every change frame's order id. */
export async function activeClients(url: string, count: number, arrived: (id: number) => void) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      let live = false;
      ws.on('error', reject);
      ws.on('open', () => ws.send('{"type":"subscribe","sub":"s1"}'));
      ws.on('message', (data) => {
        const text = String(data);
        if (live) {
          const frame = JSON.parse(text) as { type: string; row?: { id: number } };
          if (frame.type === 'change' && frame.row !== undefined) arrived(frame.row.id);
        } else if (text.includes('"type":"live"')) {
          live = true;
          resolve();
        }
      });
    });
  }
  return () => {
    for (const ws of sockets) ws.terminate();
  };
}

/**
 * Writes inserts at `rate` per second through the worker's fan-out script and times each one
 * from the write to every client's frame. `drive(seconds)` writes; between `startSamples()`
 * and `takeSamples(expected)` every arrival is a sample, and a change that never arrived
 * counts as infinitely late (a gateway that falls behind cannot report the fine latency of
 * the few changes it delivered).
 */
export function createLatencyDriver(
  redis: WorkerRedis,
  keys: ReturnType<typeof redisKeys>,
  topic: string,
  rate: number,
) {
  const forwarder = createStandInForwarder(redis, keys, topic, 200_000);
  const sentAt = new Map<number, number>();
  let samples: number[] = [];
  let measuring = false;
  let offset = 0;
  /** Only changes written after `startSamples` are samples: a late one from before is not. */
  let firstSampled = Number.POSITIVE_INFINITY;
  return {
    arrived(id: number) {
      const start = sentAt.get(id);
      if (measuring && start !== undefined && id >= firstSampled) samples.push(performance.now() - start);
    },
    async drive(seconds: number) {
      const started = performance.now();
      let written = 0;
      const total = Math.round(seconds * rate);
      while (written < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate)) - written;
        if (due > 0) {
          const changes: StreamChange[] = [];
          for (let k = 0; k < due; k++) changes.push(insert(topic, ++offset));
          for (const change of changes) sentAt.set(change.row.id, performance.now());
          await forwarder.forward(topic, 0, String(offset), changes);
          written += due;
        }
        await sleep(5);
      }
    },
    startSamples() {
      samples = [];
      measuring = true;
      firstSampled = insert(topic, offset + 1).row.id;
    },
    takeSamples(expected: number): { samples: number[]; delivered: number } {
      measuring = false;
      const taken = samples;
      const delivered = taken.length;
      for (let k = delivered; k < expected; k++) taken.push(Number.POSITIVE_INFINITY);
      return { samples: taken, delivered };
    },
  };
}

function insert(topic: string, offset: number): StreamChange {
  const now = new Date().toISOString();
  return {
    op: 'insert',
    row: {
      id: 300_000 + offset,
      customerName: `c${offset % 100}`,
      productName: 'widget',
      status: 'pending',
      version: 1,
      createdAt: now,
      updatedAt: now,
    },
    before: null,
    committedAt: Date.now(),
    lsn: '0',
    kafka: { topic, partition: 0, offset: String(offset), timestamp: Date.now() },
  };
}
