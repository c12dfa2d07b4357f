/**
 * What the A/B benchmarks share: naming the compared checkouts by commit, running one side's
 * benchmark script in its own checkout and reading the results file it writes, and the
 * median (min–max) summaries of the per-pair ratios.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { load1 } from '@orders/test-harness';

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

export interface Pair<F> {
  base: F;
  head: F;
}

/**
 * Rounds alternating base, head: a machine whose speed drifts (it is shared) moves both sides
 * of a pair alike. `describe` gives a finished round's log line; the load average is taken
 * before and after.
 */
export async function alternate<F>(
  tag: string,
  rounds: number,
  sides: Pair<string>,
  measure: (dir: string, side: keyof Pair<string>) => Promise<F>,
  describe: (pair: Pair<F>) => string,
): Promise<{ pairs: Pair<F>[]; loadBefore: number; loadAfter: number }> {
  const loadBefore = load1();
  const pairs: Pair<F>[] = [];
  for (let i = 0; i < rounds; i++) {
    process.stdout.write(`[${tag}] round ${i + 1}/${rounds}: base\n`);
    const base = await measure(sides.base, 'base');
    process.stdout.write(`[${tag}] round ${i + 1}/${rounds}: head\n`);
    const head = await measure(sides.head, 'head');
    pairs.push({ base, head });
    process.stdout.write(`[${tag}] round ${i + 1}: ${describe({ base, head })}\n`);
  }
  return { pairs, loadBefore, loadAfter: load1() };
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

/**
 * What the two sides are: two checkouts (`--base`, `--head`), or one checkout with two
 * settings (`--base-env`/`--head-env`, KEY=value, repeatable; `--base` then defaults to
 * `--head`). `describe` names them for the report's command line, given their commits.
 */
export function abSides(args: {
  base: string | undefined;
  head: string;
  'base-env': readonly string[];
  'head-env': readonly string[];
}) {
  const envs: Pair<readonly string[]> = { base: args['base-env'], head: args['head-env'] };
  const comparesSettings = envs.base.length + envs.head.length > 0;
  const baseDir = args.base ?? (comparesSettings ? args.head : undefined);
  if (baseDir === undefined)
    throw new Error(
      '--base <checkout> is required (the version to compare against), or --base-env/--head-env',
    );
  const dirs: Pair<string> = { base: resolve(baseDir), head: resolve(args.head) };
  const envArgs = (side: keyof Pair<string>) => envs[side].map((pair) => ` --${side}-env ${pair}`).join('');
  const describe = (commits: Pair<string>) =>
    comparesSettings
      ? `--head <checkout of ${commits.head}>${envArgs('base')}${envArgs('head')}`
      : `--base <checkout of ${commits.base}> --head <checkout of ${commits.head}>`;
  return { dirs, envs, comparesSettings, describe };
}
