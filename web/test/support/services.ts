import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@orders/test-harness';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const artifactsDir = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export interface Service {
  name: string;
  child: ChildProcess;
  /** Resolves when the process has exited, whatever the reason. */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL if it lingers. */
  stop(): Promise<void>;
  /** Dies without a chance to clean up, like a crashed machine. */
  kill(): Promise<void>;
}

/**
 * Runs a workspace entry file (TypeScript through tsx) as a child process, its output in
 * test-artifacts/<name>.log so a failure can be read after the run.
 */
export async function startService(
  name: string,
  entry: string,
  env: Record<string, string>,
): Promise<Service> {
  await mkdir(artifactsDir, { recursive: true });
  const log = createWriteStream(`${artifactsDir}${name}.log`, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // Should the test process itself die, its children must not outlive it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => {
    process.off('exit', reap);
    log.end();
  });
  const signal = async (sig: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    child,
    exited,
    stop: () => signal('SIGTERM', 5000),
    kill: () => signal('SIGKILL', 0),
  };
}

/** Waits for an HTTP endpoint to answer 2xx; fails early, naming the service, if it exits first. */
export async function waitForHttp(service: Service, url: string, timeoutMs = 60_000): Promise<void> {
  let gone = false;
  void service.exited.then(() => {
    gone = true;
  });
  await waitFor(
    async () => {
      if (gone) {
        throw new Error(
          `${service.name} exited (code ${service.child.exitCode}) before ${url} answered; see test-artifacts/${service.name}.log`,
        );
      }
      try {
        const response = await fetch(url);
        return response.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    { description: `${service.name} at ${url}`, timeoutMs, intervalMs: 200 },
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
