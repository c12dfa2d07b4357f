/**
 * One process of benchmark clients (plain `ws` sockets, the same for both designs so the
 * receiving side costs the same). Each delivery's latency is the client's wall clock minus the
 * PostgreSQL commit time carried by the frame: `committedAt` in a pipeline change frame,
 * `source.ts_ms` in a raw Debezium envelope. Fields are located in the text instead of
 * parsing whole frames, so hundreds of thousands of deliveries per second fit in one process.
 *
 * Driven over IPC by run.ts: `measure` (count changes committed from a given time on), `count`
 * (how many so far) and `report` (answered with the histograms; the process then exits).
 *
 *   node --import tsx clients.ts <pipeline|direct> <count> <url>[,<url>…]
 */
import WebSocket from 'ws';
import { intAt } from './frame-text.ts';
import { MsHistogram, SplitByTotal } from './ms-histogram.ts';
import { VersionCheck } from './version-check.ts';

export type ClientsCommand = { cmd: 'measure'; fromMs: number } | { cmd: 'count' } | { cmd: 'report' };

export interface ClientsReport {
  type: 'report';
  total: ReturnType<MsHistogram['toJSON']>;
  /** Pipeline only: commit → Redis append and Redis append → client event, from the cursor. */
  beforeRedis: ReturnType<MsHistogram['toJSON']>;
  afterRedis: ReturnType<MsHistogram['toJSON']>;
  split: ReturnType<SplitByTotal['toJSON']>;
  deliveries: number;
  /** Pipeline only: `reset` frames received while measuring (each ends in a new snapshot). */
  resets: number;
  /**
   * Pipeline only, over the whole round: changes whose version skipped one the socket never got
   * (not marked `conflated`, not after a reset), and changes at or below a version it already
   * had. Either is a broken delivery promise, not a latency.
   */
  gaps: number;
  repeats: number;
  /** Per server (the URLs in order): its sockets, and the fewest and most deliveries one of them got. */
  perServer: { sockets: number; min: number; max: number }[];
}

const [kind, countArg, urlArg] = process.argv.slice(2);
if ((kind !== 'pipeline' && kind !== 'direct') || countArg === undefined || urlArg === undefined) {
  throw new Error('usage: clients.ts <pipeline|direct> <count> <url>[,<url>…]');
}
const count = Number(countArg);
const urls = urlArg.split(',');
const send = (message: unknown): void => {
  process.send?.(message);
};

let measuring = false;
/** Changes committed before this (warm-up) are not counted, whenever they arrive. */
let fromMs = Number.POSITIVE_INFINITY;
let deliveries = 0;
let resets = 0;
const total = new MsHistogram();
const beforeRedis = new MsHistogram();
const afterRedis = new MsHistogram();
const split = new SplitByTotal();

/**
 * A change frame: as sent to every socket, or this socket's copy marked conflated (the gateway
 * puts the mark first), which is a delivery too, of the newest version.
 */
const isChange = (text: string): boolean =>
  text.startsWith('{"type":"change"') || text.startsWith('{"conflated":true,"type":"change"');

/** Counts a measured delivery; true when the frame was one. */
function onPipelineFrame(text: string, now: number): boolean {
  if (text.startsWith('{"type":"reset"')) resets++;
  if (!isChange(text)) return false;
  const at = text.lastIndexOf('"committedAt":');
  const cursor = text.indexOf('"cursor":"');
  if (at === -1 || cursor === -1) return false;
  const committedAt = intAt(text, at + 14);
  if (committedAt < fromMs) return false;
  // A cursor is "<epoch>.<stream id>" and a stream id "<Redis ms>-<seq>".
  const appendedAt = intAt(text, text.lastIndexOf('.', text.indexOf('"', cursor + 10)) + 1);
  deliveries++;
  total.add(now - committedAt);
  beforeRedis.add(appendedAt - committedAt);
  afterRedis.add(now - appendedAt);
  split.add(now - committedAt, appendedAt - committedAt);
  return true;
}

function onDirectFrame(text: string, now: number): boolean {
  const source = text.indexOf('"source":');
  if (source === -1) return false;
  const at = text.indexOf('"ts_ms":', source);
  if (at === -1) return false;
  const committedAt = intAt(text, at + 8);
  if (committedAt < fromMs) return false;
  deliveries++;
  total.add(now - committedAt);
  return true;
}

/** Version gaps and repeats, summed over this process's sockets. */
const checked = { gaps: 0, repeats: 0 };

/** Measured deliveries per socket, and the server (index into the URLs) each socket is on. */
const perSocket: { server: number; deliveries: number }[] = [];

const onFrame = kind === 'pipeline' ? onPipelineFrame : onDirectFrame;

function open(server: number): Promise<WebSocket> {
  const mine = { server, deliveries: 0 };
  perSocket.push(mine);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(urls[server] ?? '');
    let ready = kind === 'direct';
    // Later errors (a reset after a refusal) must not crash the process; the first one rejects.
    ws.on('error', reject);
    ws.once('open', () => {
      if (ready) resolve(ws);
      else ws.send('{"type":"subscribe","sub":"s1"}');
    });
    const versions = kind === 'pipeline' ? new VersionCheck(checked) : undefined;
    ws.on('message', (data) => {
      const text = String(data);
      if (versions !== undefined) {
        if (text.startsWith('{"type":"snapshot"')) versions.snapshot(text);
        else if (isChange(text)) versions.change(text);
        else if (text.startsWith('{"type":"reset"')) versions.reset();
      }
      if (!ready) {
        if (text.startsWith('{"type":"live"')) {
          ready = true;
          resolve(ws);
        }
        return;
      }
      if (measuring && onFrame(text, Date.now())) mine.deliveries++;
    });
  });
}

const sockets: WebSocket[] = [];
for (let i = 0; i < count; i += 25) {
  const batch = [];
  for (let k = i; k < Math.min(count, i + 25); k++) batch.push(open(k % urls.length));
  sockets.push(...(await Promise.all(batch)));
}
send({ type: 'ready' });

process.on('message', (message: ClientsCommand) => {
  if (message.cmd === 'measure') {
    fromMs = message.fromMs;
    measuring = true;
    return;
  }
  if (message.cmd === 'count') {
    send({ type: 'count', deliveries });
    return;
  }
  const report: ClientsReport = {
    type: 'report',
    total: total.toJSON(),
    beforeRedis: beforeRedis.toJSON(),
    afterRedis: afterRedis.toJSON(),
    split: split.toJSON(),
    deliveries,
    resets,
    gaps: checked.gaps,
    repeats: checked.repeats,
    perServer: urls.map((_, server) => {
      const counts = perSocket.filter((p) => p.server === server).map((p) => p.deliveries);
      return { sockets: counts.length, min: Math.min(...counts), max: Math.max(...counts) };
    }),
  };
  send(report);
  for (const ws of sockets) ws.terminate();
  setTimeout(() => process.exit(0), 100);
});
