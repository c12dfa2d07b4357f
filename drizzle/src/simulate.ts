import { runCli } from './cli.ts';
import { createDb } from './db.ts';
import { redact } from './ensure-database.ts';
import { env } from './env.ts';
import {
  parseSimulateArgs,
  type SimulationProgress,
  simulate,
  simulateUsage,
  UsageError,
} from './simulator/index.ts';

function formatProgress(p: SimulationProgress): string {
  const seconds = (p.elapsedMs / 1000).toFixed(0).padStart(4);
  const last = p.lastError ? ` (last error: ${p.lastError})` : '';
  return `[${seconds}s] sent ${p.sent}, ${p.rate.toFixed(1)}/s, errors ${p.errors}, skipped ${p.skipped}${last}\n`;
}

runCli(async () => {
  let args: ReturnType<typeof parseSimulateArgs>;
  try {
    args = parseSimulateArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) throw new Error(`${error.message}\n${simulateUsage}`);
    throw error;
  }
  if (args.help) {
    process.stdout.write(`${simulateUsage}\n`);
    return;
  }
  const controller = new AbortController();
  // Ctrl-C ends the run early but still prints the summary.
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const { sql, close } = createDb(env.DATABASE_URL, { max: 10 });
  try {
    process.stdout.write(
      `simulating ${args.rate} changes/s for ${args.durationS}s over ${args.customers} customers on ${redact(env.DATABASE_URL)}\n`,
    );
    const summary = await simulate({
      sql,
      rate: args.rate,
      durationMs: args.durationS * 1000,
      customers: args.customers,
      signal: controller.signal,
      onProgress: (p) => process.stdout.write(formatProgress(p)),
    });
    const { insert, advance, reassign, delete: deleted } = summary.byKind;
    process.stdout.write(
      `${summary.aborted ? 'stopped early' : 'done'}: ${summary.sent} changes in ${(summary.elapsedMs / 1000).toFixed(1)}s ` +
        `(${summary.averageRate.toFixed(1)}/s, target ${args.rate}/s); inserts ${insert}, status moves ${advance}, ` +
        `reassignments ${reassign}, deletes ${deleted}; errors ${summary.errors}, skipped ${summary.skipped}\n`,
    );
    if (summary.lastError) process.stdout.write(`last error: ${summary.lastError}\n`);
    if (summary.sent === 0 && summary.errors > 0) process.exitCode = 1;
  } finally {
    await close();
  }
});
