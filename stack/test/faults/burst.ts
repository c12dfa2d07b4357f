/** The shape every case shares: clients in place, a burst of writes, a fault in the middle. */
import { waitFor } from '@orders/test-harness';
import type { Environment } from './environment.ts';
import { CONNECT_URL } from './private-stack.ts';
import type { ProtocolClient } from './protocol-client.ts';
import { startTraffic, type Traffic } from './traffic.ts';

/** Writes per phase of a burst (before, during and after a fault). */
export const PHASE_WRITES = 400;

export async function untilSubscribed(clients: ProtocolClient[]): Promise<void> {
  await waitFor(async () => (clients.every((c) => c.cursor !== undefined) ? true : undefined), {
    description: 'every client to hold a cursor',
    timeoutMs: 60_000,
  });
}

/**
 * Connects the standard clients, starts writing, runs `fault` once PHASE_WRITES writes are in
 * (it gets the clients, and the traffic to pace itself: writes during the fault, a pause while a slow restart
 * runs, so a burst stays a burst), writes PHASE_WRITES more after it, and stops writing.
 */
export async function burstAround(
  env: Environment,
  fault: (traffic: Traffic, clients: ProtocolClient[]) => Promise<void>,
): Promise<{ clients: ProtocolClient[]; writes: number }> {
  const clients = await env.connectClients();
  await untilSubscribed(clients);
  const traffic = startTraffic(env.pipeline.sql, { concurrency: 3, pauseMs: 5 });
  try {
    await traffic.after(PHASE_WRITES);
    await fault(traffic, clients);
    traffic.resume();
    await traffic.after(PHASE_WRITES);
  } finally {
    await traffic.stop();
  }
  return { clients, writes: traffic.writes };
}

/** Waits until the pipeline's Debezium task runs again (after Connect or the broker came back). */
export async function untilConnectorRuns(ns: string): Promise<void> {
  await waitFor(
    async () => {
      const response = await fetch(`${CONNECT_URL}/connectors/test-${ns}/status`).catch(() => undefined);
      if (response?.status !== 200) return undefined;
      const status = (await response.json()) as { tasks: { state: string }[] };
      return status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING') ? true : undefined;
    },
    { description: `connector test-${ns} to run`, timeoutMs: 240_000, intervalMs: 1000 },
  );
}
