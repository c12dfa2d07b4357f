import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

export type Service = 'gateway' | 'worker';

export interface ServiceProcess {
  id: string;
  /** The HTTP port `/readyz` answers on. */
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export interface GatewayProcess extends ServiceProcess {
  url: string;
}

export interface SpawnOptions {
  port?: number;
  /** Extra Node flags, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: readonly string[];
  /** Runs the build's `dist/main.js` (`npm run build`) instead of `src/main.ts` through tsx. */
  compiled?: boolean;
}

/** The variable naming the HTTP port each service serves `/readyz` on. */
const portVariable: Record<Service, string> = { gateway: 'PORT', worker: 'WORKER_PORT' };

/**
 * Runs a service's `src/main.ts` (through tsx's loader in the same Node process, so a SIGKILL
 * really kills it) or its compiled `dist/main.js` as a real process, and resolves once its
 * `/readyz` answers 200. Logs go to <service>/test/logs/<id>.log.
 */
export async function spawnService(
  service: Service,
  id: string,
  /** `undefined` removes a default (Node leaves undefined variables out of the child's environment). */
  env: Record<string, string | undefined>,
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const logs = `${repoRoot}${service}/test/logs/`;
  mkdirSync(logs, { recursive: true });
  const entry = options.compiled
    ? ['--enable-source-maps', 'dist/main.js']
    : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: `${repoRoot}${service}`,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env, [portVariable[service]]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(`${logs}${id}.log`, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  await waitFor(
    async () => {
      if (dead) throw new Error(`${service} ${id} exited while starting; see ${service}/test/logs/${id}.log`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    {
      description: `${service} ${id} ready`,
      timeoutMs: service === 'worker' ? 90_000 : 30_000,
      intervalMs: 20,
    },
  );
  return {
    id,
    port,
    child,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A gateway process in development auth mode on 127.0.0.1, with a short heartbeat. */
export async function spawnGateway(
  id: string,
  env: Record<string, string | undefined>,
  port?: number,
  nodeArgs: readonly string[] = [],
  options: Omit<SpawnOptions, 'port' | 'nodeArgs'> = {},
): Promise<GatewayProcess> {
  const gateway = await spawnService(
    'gateway',
    id,
    {
      GATEWAY_ID: id,
      HOST: '127.0.0.1',
      // Suites mint their own tokens with the development secret; production is opted into per test.
      AUTH_MODE: 'development',
      GATEWAY_HEARTBEAT_MS: '500',
      ...env,
    },
    { ...options, nodeArgs, ...(port === undefined ? {} : { port }) },
  );
  return { ...gateway, url: `ws://127.0.0.1:${gateway.port}/ws` };
}

/** A worker process on a pipeline's topic, with a dead-letter topic and consumer group of its own. */
export async function spawnWorker(
  id: string,
  env: Record<string, string | undefined>,
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  return spawnService('worker', id, { WORKER_HOST: '127.0.0.1', ...env }, options);
}
