/**
 * Where a built gateway's CPU goes while sockets open: runs `dist/main.js` under `--cpu-prof`,
 * opens `--connections` idle sockets (one `ids: [999999]` subscription each, as
 * `bench:connections` does) from a holder process, stops the gateway so the profile is
 * written, and prints the functions and files with the most self time.
 *
 *   npx tsx --conditions=development bench/gateway/opening-profile.ts [--connections 3000 --top 40]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchLog, benchOptions, runBench, spawnGateway } from '@orders/test-harness';
import { benchGround, buildGateway, gatewayConnections, socketUrl, startHolder } from './load-kit.ts';

const args = benchOptions({ connections: 3000, window: 50, top: 40 });
const log = benchLog('opening-profile');
const children: ChildProcess[] = [];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function and per file, in ms, from a `.cpuprofile`. */
function selfTimes(profile: Profile) {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = byNode.get(node.id) ?? 0;
    if (ms === 0) continue;
    total += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(gateway|packages)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    const f = where === '' ? `(${functionName})` : where.replace(/:\d+$/, '');
    file.set(f, (file.get(f) ?? 0) + ms);
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, args.top);
  return { total, functions: top(fn), files: top(file) };
}

async function main() {
  buildGateway();
  const ground = await benchGround('benchprof');
  const dir = mkdtempSync(join(tmpdir(), 'opening-profile-'));
  const holder = startHolder(args.window);
  children.push(holder.child);
  try {
    const gw = await spawnGateway(
      `${ground.ns}-prof`,
      ground.gatewayEnv(args.connections * 2),
      undefined,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      { compiled: true },
    );
    children.push(gw.child);
    const url = await socketUrl(gw);
    // Warm-up, then the measured openings; closing is in the profile too, but not timed.
    await holder.open(url, 200);
    await holder.close(200);
    const opened = await holder.open(url, args.connections);
    log(`opened ${args.connections} sockets in ${(opened.ms / 1000).toFixed(2)} s`);
    log(`gateway counts ${await gatewayConnections(gw.port)}`);
    await holder.close(args.connections);
    await gw.kill('SIGTERM');
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no profile written in ${dir}`);
    const { total, functions, files } = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    const pct = (ms: number) => `${((ms / total) * 100).toFixed(1)}%`.padStart(6);
    console.log(`\nself time, ${total.toFixed(0)} ms profiled (${dir}/${file})\n\nby file:`);
    for (const [name, ms] of files) console.log(`${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
    console.log('\nby function:');
    for (const [name, ms] of functions) console.log(`${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await ground.drop();
  }
}

runBench(main, log, children);
