/**
 * What the A/B benchmarks share: naming the compared checkouts by commit, running one side's
 * benchmark script in its own checkout and reading the results file it writes, and the
 * median (min–max) summaries of the per-pair ratios.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The checkout's commit, so a report names versions rather than local paths. */
export function commitOf(dir: string, paths: readonly string[]): string {
  const git = (...argv: string[]) => execFileSync('git', ['-C', dir, ...argv], { encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', ...paths) !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ` with uncommitted changes in ${paths.join(', ')}` : ''}`;
  } catch {
    return 'unknown commit';
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** `median (min–max)` with `digits` decimals. */
export function spread(xs: readonly number[], digits: number): string {
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
}

export interface SideRun {
  /** The checkout to run in. */
  dir: string;
  /** The benchmark script and its arguments, relative to the checkout. */
  script: string;
  args: readonly string[];
  /** The results file the script writes, relative to the checkout; it must be fresh afterwards. */
  results: string;
  /**
   * Ends the run once the script prints this: older benchmarks keep a producer open and
   * never exit by themselves after writing their results.
   */
  doneWhen?: string;
}

/**
 * Runs one side's benchmark and returns the JSON it wrote. `--conditions=development` lets
 * checkouts with workspace packages run from source; older ones ignore it.
 */
export async function runSide<T>(run: SideRun): Promise<T> {
  const started = Date.now();
  const results = join(run.dir, run.results);
  const bench = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', run.script, ...run.args],
    { cwd: run.dir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const code = await new Promise<number | null>((resolveExit) => {
    bench.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (run.doneWhen !== undefined && chunk.toString().includes(run.doneWhen))
        setTimeout(() => bench.kill('SIGTERM'), 2_000).unref();
    });
    bench.once('exit', (exitCode) => resolveExit(exitCode));
  });
  if ((statSync(results, { throwIfNoEntry: false })?.mtimeMs ?? 0) < started)
    throw new Error(`the benchmark in ${run.dir} ended (${code}) without writing its results`);
  return JSON.parse(readFileSync(results, 'utf8')) as T;
}
