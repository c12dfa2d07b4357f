import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const simulateUsage = `usage: npm run simulate -- --rate <changes/s> [--duration <s>] [--customers <n>]

  --rate        changes per second to generate (required, > 0)
  --duration    seconds to run (default 60)
  --customers   distinct customer names to spread orders over (default 20)`;

export interface SimulateArgs {
  rate: number;
  durationS: number;
  customers: number;
  help: boolean;
}

export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  let values: { rate?: string; duration?: string; customers?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        rate: { type: 'string', short: 'r' },
        duration: { type: 'string', short: 'd' },
        customers: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { rate: 0, durationS: 0, customers: 0, help: true };
  if (values.rate === undefined)
    throw new UsageError('--rate is required (changes per second, e.g. --rate 200)');
  return {
    rate: positiveNumber('--rate', values.rate),
    durationS: positiveNumber('--duration', values.duration ?? '60'),
    customers: positiveInteger('--customers', values.customers ?? '20'),
    help: false,
  };
}

function positiveNumber(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${flag} must be a positive number, got "${raw}"`);
  }
  return value;
}

function positiveInteger(flag: string, raw: string): number {
  const value = positiveNumber(flag, raw);
  if (!Number.isInteger(value)) throw new UsageError(`${flag} must be a whole number, got "${raw}"`);
  return value;
}
