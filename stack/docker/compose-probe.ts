/**
 * End-to-end probe of a running stack, used by stack/docker/ci-check.sh on the compose stack:
 * a WebSocket client subscribes through a gateway with a token from the token URL, a row is
 * written with psql, and the probe exits 0 once that row arrives as a change frame (1 on
 * timeout or any error). Everything it touches is named on the command line's environment.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { createOrdersClient } from '@orders/client';
import { z } from 'zod';

const env = z
  .object({
    GATEWAY_URL: z.url(),
    TOKEN_URL: z.url(),
    /** Owner connection; psql inserts the probe row with it. */
    DATABASE_URL: z.url(),
    PROBE_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  })
  .parse(process.env);

const run = promisify(execFile);

async function fetchToken(): Promise<string> {
  const response = await fetch(env.TOKEN_URL);
  if (!response.ok) throw new Error(`token: ${env.TOKEN_URL} answered HTTP ${response.status}`);
  return z.object({ token: z.string().min(1) }).parse(await response.json()).token;
}

async function main(): Promise<void> {
  const marker = `compose-probe-${randomUUID().slice(0, 8)}`;
  const client = createOrdersClient({ urls: [env.GATEWAY_URL], token: fetchToken });
  try {
    const sub = client.subscribe({});
    await sub.ready();
    process.stdout.write(`probe: subscribed through ${env.GATEWAY_URL}; inserting ${marker} with psql\n`);
    const arrived = new Promise<void>((resolve) => {
      client.on('change', ({ change }) => {
        if (change.row.customerName === marker) resolve();
      });
    });
    await run('psql', [
      env.DATABASE_URL,
      '-v',
      'ON_ERROR_STOP=1',
      '-qc',
      `INSERT INTO orders (customer_name, product_name, status) VALUES ('${marker}', 'probe', 'pending')`,
    ]);
    await arrived;
    process.stdout.write(`probe: ${marker} reached the WebSocket client\n`);
  } finally {
    client.close();
  }
}

const timeout = setTimeout(() => {
  process.stderr.write(`probe: no change frame within ${env.PROBE_TIMEOUT_MS} ms\n`);
  process.exit(1);
}, env.PROBE_TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(timeout);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`probe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
