import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

const gatewayRoot = fileURLToPath(new URL('../../../gateway', import.meta.url));

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

export interface GatewayProcess {
  id: string;
  port: number;
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `src/main.ts` as a real process (through tsx's loader in the same Node process, so a
 * SIGKILL really kills the gateway). Logs go to gateway/test/logs/<id>.log.
 */
export async function spawnGateway(
  id: string,
  /** `undefined` removes a default (Node leaves undefined variables out of the child's environment). */
  env: Record<string, string | undefined>,
  port?: number,
  /** Extra Node flags, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs: readonly string[] = [],
): Promise<GatewayProcess> {
  const listenPort = port ?? (await freePort());
  const logs = fileURLToPath(new URL('../../../gateway/test/logs/', import.meta.url));
  mkdirSync(logs, { recursive: true });
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: gatewayRoot,
    env: {
      PATH: process.env.PATH,
      GATEWAY_ID: id,
      PORT: String(listenPort),
      HOST: '127.0.0.1',
      // Suites mint their own tokens with the development secret; production is opted into per test.
      AUTH_MODE: 'development',
      GATEWAY_HEARTBEAT_MS: '500',
      LOG_LEVEL: 'info',
      ...env,
    },
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
      if (dead) throw new Error(`gateway ${id} exited while starting; see gateway/test/logs/${id}.log`);
      try {
        return (await fetch(`http://127.0.0.1:${listenPort}/readyz`)).status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    { description: `gateway ${id} ready`, timeoutMs: 30_000, intervalMs: 20 },
  );
  return {
    id,
    port: listenPort,
    url: `ws://127.0.0.1:${listenPort}/ws`,
    child,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
