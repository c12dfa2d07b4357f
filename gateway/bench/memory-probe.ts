/**
 * Preloaded (`--expose-gc --import ./memory-probe.ts`) into the processes the connection
 * benchmark measures, gateway and bare server alike: on SIGUSR2 it collects garbage twice
 * and writes `process.memoryUsage()` to `<tmpdir>/memory-probe-<pid>.json`, so the benchmark
 * reads settled figures instead of whatever the collector happened to leave behind.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

const collect = (globalThis as { gc?: () => void }).gc;

process.on('SIGUSR2', () => {
  collect?.();
  // A second pass frees what the first one's finalizers let go of.
  setTimeout(() => {
    collect?.();
    const usage = { ...process.memoryUsage(), collected: collect !== undefined, at: Date.now() };
    writeFileSync(`${tmpdir()}/memory-probe-${process.pid}.json`, JSON.stringify(usage));
  }, 50);
});
