import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulationProgress, simulate } from '../src/simulator/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.ts';

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
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(summary.elapsedMs).toBeLessThan(3000);
    expect(summary.byKind.insert).toBeGreaterThan(0);
    expect(summary.byKind.advance).toBeGreaterThan(0);
    expect(summary.byKind.delete).toBeGreaterThan(0);
    expect(summary.averageRate).toBeGreaterThan(300);
    expect(summary.averageRate).toBeLessThanOrEqual(400);
    // Roughly one report per interval, each near the target (loose: CI machines stall).
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const p of progress) {
      expect(p.rate).toBeGreaterThan(200);
      expect(p.rate).toBeLessThan(600);
    }

    const [rows] = await database.sql<{ inserted: number; live: number; bad: number }[]>`
      SELECT (SELECT count(*)::int FROM orders) AS live,
             ${summary.byKind.insert}::int AS inserted,
             (SELECT count(*)::int FROM orders WHERE version < 1) AS bad`;
    expect(rows?.live).toBe(summary.byKind.insert - summary.byKind.delete);
    expect(rows?.bad).toBe(0);
  });

  it('stops early on abort and says so', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const summary = await simulate({
      sql: database.sql,
      rate: 100,
      durationMs: 60_000,
      signal: controller.signal,
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(summary.aborted).toBe(true);
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.sent).toBeLessThan(100);
  });

  it('rejects a non-positive rate', async () => {
    await expect(simulate({ sql: database.sql, rate: 0, durationMs: 1000 })).rejects.toThrow(/positive rate/);
  });
});
