/**
 * Preloaded (`--expose-gc --import ./memory-probe.mjs`) into the processes the connection
 * benchmarks measure, gateway and bare server alike: on SIGUSR2 it collects garbage twice
 * and writes `process.memoryUsage()` to `<tmpdir>/memory-probe-<pid>.json`, so the benchmark
 * reads settled figures instead of whatever the collector happened to leave behind. The file
 * also holds the event-loop delay since the previous reading; the histogram restarts after
 * the collections, so their pauses count in no reading. Plain JavaScript, so a measured process
 * needs no TypeScript loader (whose helpers would be counted as the process's own memory).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const collect = globalThis.gc;
const RESOLUTION_MS = 10;
const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loop.enable();
// Each sample is the time between two ticks of a RESOLUTION_MS timer: the delay is the excess.
const ms = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

process.on('SIGUSR2', () => {
  const loopDelay = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
  collect?.();
  // A second pass frees what the first one's finalizers let go of.
  setTimeout(() => {
    collect?.();
    const usage = { ...process.memoryUsage(), collected: collect !== undefined, loopDelay, at: Date.now() };
    writeFileSync(`${tmpdir()}/memory-probe-${process.pid}.json`, JSON.stringify(usage));
    loop.reset();
  }, 50);
});
