/**
 * What every benchmark script does the same way: read its options, log, wait, summarise
 * rounds, describe the machine, write bench/results, and stop its processes whether it
 * succeeded or not.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

type OptionDefaults = Record<string, string | number | boolean | readonly string[] | undefined>;
type Options<D extends OptionDefaults> = {
  [K in keyof D]: D[K] extends number
    ? number
    : D[K] extends boolean
      ? boolean
      : D[K] extends string
        ? string
        : D[K] extends readonly string[]
          ? string[]
          : string | undefined;
};

/**
 * `--name value` options typed by their defaults: a number default takes a number (anything
 * else is refused), a boolean one is a flag, a string one a string, a list one may be given
 * several times; `undefined` has no default.
 */
export function benchOptions<D extends OptionDefaults>(
  defaults: D,
  argv = process.argv.slice(2),
): Options<D> {
  const spec = Object.fromEntries(
    Object.entries(defaults).map(([name, value]) => [
      name,
      typeof value === 'boolean'
        ? { type: 'boolean' as const, default: value }
        : Array.isArray(value)
          ? { type: 'string' as const, multiple: true as const, default: [...value] }
          : { type: 'string' as const, ...(value === undefined ? {} : { default: String(value) }) },
    ]),
  );
  const { values } = parseArgs({ args: argv, options: spec });
  return Object.fromEntries(
    Object.entries(defaults).map(([name, value]) => {
      const given = values[name];
      if (typeof value !== 'number') return [name, given];
      const parsed = Number(given);
      if (!Number.isFinite(parsed)) throw new Error(`--${name} takes a number, not ${String(given)}`);
      return [name, parsed];
    }),
  ) as Options<D>;
}

/** A logger to stderr, each line tagged `[tag]`. */
export function benchLog(tag: string): (message: string) => void {
  return (message) => process.stderr.write(`[${tag}] ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it holds; throws after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median and range of a few rounds: best-of would report the luckiest moment, not the system. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

/** `median (min–max)` with `digits` decimals. */
export function formatSpread(s: Spread, digits = 0): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** The median of `values`. */
export const medianOf = (values: readonly number[]): number => spread(values).median;

/** {@link formatSpread} of `values`: `median (min–max)` with `digits` decimals. */
export const summarize = (values: readonly number[], digits: number): string =>
  formatSpread(spread(values), digits);

/** The 1-minute load average now. */
export const load1 = (): number => loadavg()[0] ?? 0;

/** `cores × model, memory, Node version`, for a report's machine line. */
export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

const resultsDir = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

/** Writes `bench/results/<file>` at the repository root; returns its path from there. */
export async function writeResult(file: string, text: string): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(`${resultsDir}${file}`, text);
  return `bench/results/${file}`;
}

/** SIGTERM to every child still running, then SIGKILL to those not gone after `graceMs`. */
export async function stopChildren(children: readonly ChildProcess[], graceMs = 1_500): Promise<void> {
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) child.kill('SIGTERM');
  const gone = running.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  await Promise.race([Promise.all(gone), sleep(graceMs)]);
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Runs a benchmark's main function and exits with its outcome; on failure logs the error and
 * kills the children it left.
 */
export function runBench(
  main: () => Promise<void>,
  log: (message: string) => void,
  children: readonly ChildProcess[] = [],
): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      log(String(error instanceof Error ? (error.stack ?? error.message) : error));
      for (const child of children) child.kill('SIGKILL');
      process.exit(1);
    },
  );
}

/** `Generated by \`npm run <script> -- <its arguments>\` on <now>`, a report's first line. */
export function generatedBy(script: string): string {
  const argv = process.argv.slice(2);
  return `Generated by \`npm run ${script}${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}\` on ${new Date().toISOString()}, of ${codeMeasured}`;
}

/**
 * The commit the benchmark started on, read when it starts (the checkout may move while it
 * runs), and whether files differed from it.
 */
const codeMeasured = ((): string => {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === undefined) return 'a checkout whose commit is unknown';
  const changed = git('status', '--porcelain', '--untracked-files=no');
  return changed === '' ? `commit ${commit}` : `commit ${commit} with uncommitted changes`;
})();
