import { type SimulationProgress, simulate } from '@orders/drizzle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../src/index.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('simulate', () => {
  it('sends the requested number of changes at a steady rate', async () => {
    const progress: SimulationProgress[] = [];
    const summary = await simulate({
      sql: database.sql,
      rate: 400,
      durationMs: 2000,
      progressIntervalMs: 500,
      onProgress: (p) => progress.push(p),
    });
    expect(summary.errors).toBe(0);
    expect(summary.sent + summary.skipped).toBe(800);
    expect(summary.aborted).toBe(false);
    // The pacer never runs ahead of the target: a slow machine can only make it later.
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(summary.averageRate).toBeLessThanOrEqual(400);
    expect(summary.byKind.insert).toBeGreaterThan(0);
    expect(summary.byKind.advance).toBeGreaterThan(0);
    expect(summary.byKind.delete).toBeGreaterThan(0);
    // Progress reports count up to the summary; how fast is the benchmarks' business.
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const counted = progress.map((p) => p.sent + p.skipped);
    expect(counted).toEqual([...counted].sort((a, b) => a - b));
    expect(counted.at(-1)).toBeLessThanOrEqual(800);
    console.info(`simulate: ${summary.averageRate.toFixed(0)} changes/s over ${summary.elapsedMs} ms`);

    const [rows] = await database.sql<{ inserted: number; live: number; bad: number }[]>`
      SELECT (SELECT count(*)::int FROM orders) AS live,
             ${summary.byKind.insert}::int AS inserted,
             (SELECT count(*)::int FROM orders WHERE version < 1) AS bad`;
    expect(rows?.live).toBe(summary.byKind.insert - summary.byKind.delete);
    expect(rows?.bad).toBe(0);
  });

  it('stops early on abort and says so', async () => {
    const controller = new AbortController();
    // Abort once changes are flowing, not after a fixed time a loaded machine may not keep.
    const summary = await simulate({
      sql: database.sql,
      rate: 100,
      durationMs: 60_000,
      progressIntervalMs: 50,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.sent >= 5) controller.abort();
      },
    });
    expect(summary.aborted).toBe(true);
    expect(summary.sent).toBeGreaterThanOrEqual(5);
    // Stopped long before the 6,000 changes the full minute would have sent.
    expect(summary.sent + summary.skipped).toBeLessThan(6000);
    expect(summary.elapsedMs).toBeLessThan(60_000);
  });

  it('rejects a non-positive rate', async () => {
    await expect(simulate({ sql: database.sql, rate: 0, durationMs: 1000 })).rejects.toThrow(/positive rate/);
  });
});
