/** The worker as a real process (src/main.ts), for crash tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Suite } from './worker.ts';

const workerRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `src/main.ts` through tsx's loader inside one Node process. (The `tsx` CLI would run
 * the worker in a grandchild, and a SIGKILL of the CLI would leave that grandchild alive.)
 * Logs go to `logFile` so a failing run can be inspected.
 */
export function spawnWorker(suite: Suite, logFile: string, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: workerRoot,
    env: {
      PATH: process.env.PATH,
      ORDERS_TOPIC: suite.topic,
      KAFKA_GROUP: suite.group,
      DLQ_TOPIC: suite.dlq,
      REDIS_NS: suite.ns,
      GATEWAY_TTL_MS: String(suite.gatewayTtlMs),
      HISTORY_MAXLEN: '1000000',
      GATEWAY_MAXLEN: '1000000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      FORWARD_CHUNK: '100',
      WORKER_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
