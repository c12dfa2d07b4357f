import type { TestPipeline } from '@orders/test-harness';
import { freePort, type Service, startService, waitForHttp } from './services.ts';

export interface GatewayProcess {
  id: string;
  port: number;
  wsUrl: string;
  httpUrl: string;
  service: Service;
}

export interface Stack {
  worker: Service;
  gateways: GatewayProcess[];
  /** Starts a gateway again under the same id and port (after a kill). */
  restartGateway(gateway: GatewayProcess): Promise<GatewayProcess>;
  stop(): Promise<void>;
}

/**
 * The worker and two gateways of the real system, on the pipeline's topic and database and a
 * Redis namespace of their own, each a child process that can be killed like a real one.
 */
export interface StackOptions {
  /** Browser origins the gateways accept sockets (and hand dev tokens) from. */
  allowedOrigins: string[];
}

export async function startStack(pipeline: TestPipeline, options: StackOptions): Promise<Stack> {
  const { ns } = pipeline;
  const started: Service[] = [];
  try {
    const workerPort = await freePort();
    const worker = await startService(`${ns}-worker`, 'worker/src/main.ts', {
      KAFKA_BROKERS: pipeline.kafkaBrokers.join(','),
      ORDERS_TOPIC: pipeline.topic,
      DLQ_TOPIC: `${pipeline.topic}.dlq`,
      KAFKA_GROUP: `${ns}-worker`,
      KAFKA_CLIENT_ID: `${ns}-worker`,
      REDIS_NS: ns,
      WORKER_HOST: '127.0.0.1',
      WORKER_PORT: String(workerPort),
      LOG_LEVEL: 'info',
    });
    started.push(worker);
    await waitForHttp(worker, `http://127.0.0.1:${workerPort}/readyz`, 120_000);

    const launch = async (id: string, port: number): Promise<GatewayProcess> => {
      const service = await startService(id, 'gateway/src/main.ts', {
        GATEWAY_ID: id,
        HOST: '127.0.0.1',
        PORT: String(port),
        REDIS_NS: ns,
        DATABASE_READER_URL: pipeline.readerUrl,
        AUTH_MODE: 'development',
        ALLOWED_ORIGINS: options.allowedOrigins.join(','),
        LOG_LEVEL: 'info',
      });
      started.push(service);
      const httpUrl = `http://127.0.0.1:${port}`;
      await waitForHttp(service, `${httpUrl}/readyz`);
      return { id, port, wsUrl: `ws://127.0.0.1:${port}/ws`, httpUrl, service };
    };

    const gateways = [
      await launch(`${ns}-gw-a`, await freePort()),
      await launch(`${ns}-gw-b`, await freePort()),
    ];
    return {
      worker,
      gateways,
      restartGateway: (gateway) => launch(gateway.id, gateway.port),
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(services: Service[]): Promise<void> {
  // Gateways first, so the worker does not fan out to streams nobody will read.
  await Promise.allSettled(
    services
      .splice(0)
      .reverse()
      .map((service) => service.stop()),
  );
}
