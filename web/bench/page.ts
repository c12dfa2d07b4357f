/**
 * The page's main-thread cost under load, with batched `changes` frames (the client's
 * default) and without (`?batch=off`: one `change` frame per change), measured in one run on
 * one machine. It starts what the browser test starts (a private CDC pipeline, the worker, two
 * gateways, the production bundle, Chromium) with the test's own helpers, then loads the page
 * alternately with batching on and off (on, off, on, off …), each load driven at a steady
 * rate of changes for a fixed time while the page records its long tasks
 * (PerformanceObserver 'longtask') and its gaps between animation frames. Each pair gives a
 * ratio on / off, so a shared machine whose speed drifts moves both sides alike.
 *
 *   npm run bench:page [-- --pairs 6 --seconds 20 --rate 500]
 *
 * Needs the native stack and Chromium (as the browser test). Writes bench/results/page.md
 * (and page.json).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seed, simulate } from '@orders/drizzle';
import { createTestPipeline, medianOf, summarize, type TestPipeline } from '@orders/test-harness';
import type { Browser, Page, WebSocket } from 'playwright-core';
import { launchBrowser, openPage } from '../test/support/browser.ts';
import { watchFrames } from '../test/support/frames.ts';
import { waitForPageToMatch } from '../test/support/orders.ts';
import { dropRedisNamespace } from '../test/support/redis-namespace.ts';
import { freePort } from '../test/support/services.ts';
import { type Stack, startStack } from '../test/support/stack.ts';
import { serveProductionBuild, type WebServer } from '../test/support/web-server.ts';

/** The longest task with batching must be at least this much shorter than without. */
const TARGET_REDUCTION = 0.3;

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '5' },
  },
});
const PAIRS = Number(args.pairs);
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const WARMUP_S = Number(args.warmup);

const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const log = (line: string) => process.stdout.write(`[bench:page] ${line}\n`);

type Side = 'batched' | 'unbatched';

interface Load {
  side: Side;
  /** Longest main-thread task, ms (0 when none reached Chromium's 50 ms long-task floor). */
  longestTaskMs: number;
  /** p99 of the long tasks (those of 50 ms or more, the only ones Chromium reports). */
  p99LongTaskMs: number;
  longTasks: number;
  /** Sum of the long tasks' durations, ms. */
  longTaskTotalMs: number;
  maxFrameGapMs: number;
  frames: number;
  /** Frames received from the gateway during the load. */
  changeFrames: number;
  changesFrames: number;
  changesSent: number;
  rendered: number;
  load: [number, number];
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

let pipeline: TestPipeline | undefined;
let stack: Stack | undefined;
let web: WebServer | undefined;
let browser: Browser | undefined;
const pageErrors: string[] = [];

async function waitForConnected(page: Page): Promise<void> {
  await page.waitForFunction(
    () => window.__ordersPage?.state() === 'connected' && window.__ordersPage.recovery() !== 'syncing',
    undefined,
    { timeout: 60_000 },
  );
}

/** One page load: connect, match the database, then `seconds` of traffic at `rate`. */
async function runLoad(side: Side, seconds: number): Promise<Load> {
  if (pipeline === undefined || web === undefined || browser === undefined) throw new Error('not started');
  const counted = { change: 0, changes: 0, on: false };
  const count = (socket: WebSocket) =>
    socket.on('framereceived', ({ payload }) => {
      if (!counted.on || typeof payload !== 'string') return;
      if (payload.startsWith('{"type":"changes"')) counted.changes++;
      else if (payload.startsWith('{"type":"change"')) counted.change++;
    });
  const url = side === 'batched' ? web.url : `${web.url}?batch=off`;
  const page = await openPage(browser, url, pageErrors, count);
  try {
    await waitForConnected(page);
    const matched = await waitForPageToMatch(page, pipeline.sql, {}, 60_000);
    if (!matched.ok) throw new Error(`page never matched the database: ${matched.detail}`);
    const frames = await watchFrames(page);
    const loadAtStart = loadavg()[0] ?? 0;
    counted.on = true;
    const summary = await simulate({ sql: pipeline.sql, rate: RATE, durationMs: seconds * 1000 });
    const report = await frames.read();
    counted.on = false;
    const rendered = await page.evaluate(() => window.__ordersPage?.rendered() ?? 0);
    if (summary.errors > 0) throw new Error(`${summary.errors} simulated writes failed`);
    return {
      side,
      longestTaskMs: report.maxLongTaskMs,
      p99LongTaskMs: percentile(report.longTasks, 99),
      longTasks: report.longTasks.length,
      longTaskTotalMs: report.longTasks.reduce((sum, ms) => sum + ms, 0),
      maxFrameGapMs: report.maxGapMs,
      frames: report.frames,
      changeFrames: counted.change,
      changesFrames: counted.changes,
      changesSent: summary.sent,
      rendered,
      load: [loadAtStart, loadavg()[0] ?? 0],
    };
  } finally {
    await page.close();
  }
}

function describe(load: Load): string {
  return (
    `${load.side}: longest task ${load.longestTaskMs.toFixed(0)} ms, p99 ${load.p99LongTaskMs.toFixed(0)} ms, ` +
    `${load.longTasks} long tasks (${load.longTaskTotalMs.toFixed(0)} ms), longest frame gap ${load.maxFrameGapMs.toFixed(0)} ms; ` +
    `received ${load.changesFrames} changes + ${load.changeFrames} change frames for ${load.changesSent} changes`
  );
}

/** Ratio batched / unbatched; a pair where neither side had a long task counts as 1. */
function ratio(on: number, off: number): number {
  if (off === 0) return on === 0 ? 1 : Number.POSITIVE_INFINITY;
  return on / off;
}

function render(pairs: { on: Load; off: Load }[], loadBefore: number[], loadAfter: number[]): string {
  const longest = pairs.map((p) => ratio(p.on.longestTaskMs, p.off.longestTaskMs));
  const p99 = pairs.map((p) => ratio(p.on.p99LongTaskMs, p.off.p99LongTaskMs));
  const total = pairs.map((p) => ratio(p.on.longTaskTotalMs, p.off.longTaskTotalMs));
  const gap = pairs.map((p) => ratio(p.on.maxFrameGapMs, p.off.maxFrameGapMs));
  const met = medianOf(longest) <= 1 - TARGET_REDUCTION;
  const row = (i: number, l: Load) =>
    `| ${i + 1} | ${l.side} | ${l.longestTaskMs.toFixed(0)} | ${l.p99LongTaskMs.toFixed(0)} | ${l.longTasks} | ${l.longTaskTotalMs.toFixed(0)} | ${l.maxFrameGapMs.toFixed(0)} | ${l.changesFrames.toLocaleString('en')} | ${l.changeFrames.toLocaleString('en')} | ${l.changesSent.toLocaleString('en')} | ${l.load[0].toFixed(1)} → ${l.load[1].toFixed(1)} |`;
  const rows = pairs.flatMap((p, i) => [row(i, p.on), row(i, p.off)]).join('\n');
  const ratios = longest
    .map(
      (ratioOfLongest, i) =>
        `| ${i + 1} | ${ratioOfLongest.toFixed(2)} | ${(p99[i] ?? 0).toFixed(2)} | ${(total[i] ?? 0).toFixed(2)} | ${(gap[i] ?? 0).toFixed(2)} |`,
    )
    .join('\n');
  const args = process.argv.slice(2);
  return `# Page: longest main-thread task with and without batched frames

Generated by \`npm run bench:page${args.length > 0 ? ` -- ${args.join(' ')}` : ''}\` on ${new Date().toISOString()};
${cpus().length} cores, 1-minute load average (\`os.loadavg()\`) ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} before,
${loadAfter.map((l) => l.toFixed(1)).join(' / ')} after (1/5/15 min). The machine is shared: read the ratios, not the
absolute numbers.

Shape: the browser test's set-up (a private Debezium pipeline, the worker, two gateways, the
production bundle in headless Chromium). The page is loaded ${PAIRS * 2} times, alternating batched
(the default: the client asks for \`changes\` frames) and unbatched (\`?batch=off\`: one \`change\`
frame per change), after one unmeasured ${WARMUP_S} s warm-up load. Each load waits until the page
equals the database, then the simulator commits ${RATE} changes/s for ${SECONDS} s while the page
records every long task (\`PerformanceObserver('longtask')\`: main-thread tasks of 50 ms or more;
shorter ones are not reported, so "p99" is the 99th percentile of the long tasks, which is the
longest one whenever a load has fewer than 100 of them) and the gaps
between animation frames. "changes" and "change" count the frames the page's socket received
while the load ran.

| pair | side | longest task (ms) | p99 long task (ms) | long tasks | long-task total (ms) | longest frame gap (ms) | \`changes\` frames | \`change\` frames | changes committed | load |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|
${rows}

Ratios batched / unbatched per pair (below 1: batching is better):

| pair | longest task | p99 long task | long-task total | longest frame gap |
|---:|---:|---:|---:|---:|
${ratios}

| target | result | |
|---|---|---|
| longest task with batching ≤ ${(1 - TARGET_REDUCTION).toFixed(2)}× without, at ${RATE} changes/s | median ratio (min–max) **${summarize(longest, 2)}** | **${met ? 'met' : 'missed'}** |

Medians (min–max) over the pairs: longest task batched ${summarize(
    pairs.map((p) => p.on.longestTaskMs),
    0,
  )} ms, unbatched ${summarize(
    pairs.map((p) => p.off.longestTaskMs),
    0,
  )} ms; p99 long task ratio ${summarize(p99, 2)}; long-task total ratio ${summarize(total, 2)};
longest frame gap ratio ${summarize(gap, 2)}.
`;
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  log('creating the pipeline, worker, two gateways, the bundle and Chromium');
  pipeline = await createTestPipeline();
  await seed(pipeline.sql);
  const webPort = await freePort();
  stack = await startStack(pipeline, { allowedOrigins: [`http://127.0.0.1:${webPort}`] });
  web = await serveProductionBuild({ gatewayUrls: stack.gateways.map((g) => g.wsUrl) }, webPort);
  browser = await launchBrowser();

  log(`warm-up load (${WARMUP_S} s)`);
  await runLoad('batched', WARMUP_S);
  const pairs: { on: Load; off: Load }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const on = await runLoad('batched', SECONDS);
    log(`pair ${i + 1}/${PAIRS} ${describe(on)}`);
    const off = await runLoad('unbatched', SECONDS);
    log(`pair ${i + 1}/${PAIRS} ${describe(off)}`);
    pairs.push({ on, off });
  }
  if (pageErrors.length > 0) throw new Error(`the page reported errors:\n${pageErrors.join('\n')}`);
  const loadAfter = loadavg();
  await mkdir(resultsDir, { recursive: true });
  const report = render(pairs, loadBefore, loadAfter);
  await writeFile(`${resultsDir}page.md`, report);
  await writeFile(
    `${resultsDir}page.json`,
    `${JSON.stringify({ generatedAt: new Date().toISOString(), rate: RATE, seconds: SECONDS, loadBefore, loadAfter, pairs }, null, 2)}\n`,
  );
  process.stdout.write(report);
  log('wrote bench/results/page.md');
}

async function cleanUp(): Promise<void> {
  // The same order as the browser test: services before the web server.
  const steps = [
    () => browser?.close(),
    () => stack?.stop(),
    () => (pipeline ? dropRedisNamespace(pipeline.ns) : undefined),
    () => pipeline?.close(),
    () => web?.close(),
  ];
  for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => log(String(error)));
}

main().then(
  async () => {
    await cleanUp();
    process.exit(0);
  },
  async (error: unknown) => {
    log(String(error instanceof Error ? (error.stack ?? error.message) : error));
    await cleanUp();
    process.exit(1);
  },
);
