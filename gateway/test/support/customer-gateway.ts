import { afterAll, beforeAll } from 'vitest';
import { createAuthorize } from '../../src/auth/index.ts';
import type { RunningGateway } from '../../src/node-server.ts';
import { createFakeWorker, type FakeWorker } from './fake-worker.ts';
import { type RawSocket, RawSocketPool } from './raw-socket.ts';
import { createHarness, type GatewayHarness } from './services.ts';

export interface CustomerGateway {
  readonly harness: GatewayHarness;
  readonly gateway: RunningGateway;
  readonly worker: FakeWorker;
  /** A socket of `customer`, past its `welcome`. */
  open(customer: string): Promise<RawSocket>;
}

/**
 * For the suite it is called in: a harness with one gateway that checks tokens signed with
 * `secret`, fed by a fake worker; the sockets opened through it and the harness go with the suite.
 */
export function useCustomerGateway(gatewayId: string, secret: string): CustomerGateway {
  const sockets = new RawSocketPool();
  let state: { harness: GatewayHarness; gateway: RunningGateway; worker: FakeWorker } | undefined;
  const ready = () => {
    if (state === undefined) throw new Error('the suite has not started its gateway');
    return state;
  };
  beforeAll(async () => {
    const harness = await createHarness();
    state = {
      harness,
      gateway: await harness.start(gatewayId, { authorize: createAuthorize({ secret, allowedOrigins: [] }) }),
      worker: createFakeWorker(harness.redis, harness.keys, harness.db.sql),
    };
  });
  afterAll(async () => {
    sockets.closeAll();
    await state?.harness.close();
  });
  return {
    get harness() {
      return ready().harness;
    },
    get gateway() {
      return ready().gateway;
    },
    get worker() {
      return ready().worker;
    },
    open: (customer) => sockets.openCustomer(ready().gateway.url, secret, customer),
  };
}
