/**
 * The suite's own Kafka broker and Kafka Connect, started and restarted with the project's
 * stack scripts (only their environment interface: STACK_HOME, ports, STACK_SKIP_CONNECTOR),
 * so killing them never touches the shared stack.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = join(import.meta.dirname, '..', '..', '..');

export const KAFKA_PORT = 19192;
export const CONNECT_PORT = 18183;
export const KAFKA_BROKERS = `127.0.0.1:${KAFKA_PORT}`;
export const CONNECT_URL = `http://127.0.0.1:${CONNECT_PORT}`;

export type StackPart = 'kafka' | 'connect';

/** Main class on the JVM command line: how a process is recognised without pid files. */
const mainClass: Record<StackPart, string> = {
  kafka: 'kafka.Kafka',
  connect: 'org.apache.kafka.connect.cli.ConnectDistributed',
};

export function stackEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    STACK_HOME: home,
    STACK_LIB_DIR: join(repoRoot, '.stack', 'lib'),
    KAFKA_PORT: String(KAFKA_PORT),
    KAFKA_CONTROLLER_PORT: String(KAFKA_PORT + 1),
    CONNECT_PORT: String(CONNECT_PORT),
    STACK_SKIP_CONNECTOR: '1',
  };
}

/** Runs `stack/up` or `stack/down`; throws with the script's output when it fails. */
export async function stack(home: string, command: 'up' | 'down', ...args: string[]): Promise<string> {
  try {
    const r = await run('bash', [join(repoRoot, 'stack', command), ...args], {
      env: stackEnv(home),
      cwd: repoRoot,
      maxBuffer: 1 << 24,
    });
    return r.stdout + r.stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`stack/${command} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Pids of the JVMs of `part` that belong to this stack home (its config lives there). */
export async function javaPids(home: string, part: StackPart): Promise<number[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args='], { maxBuffer: 1 << 24 });
  return stdout
    .split('\n')
    .filter((line) => line.includes('java') && line.includes(home) && line.includes(mainClass[part]))
    .map((line) => Number.parseInt(line.trim(), 10));
}

export async function javaPid(home: string, part: StackPart): Promise<number> {
  const pids = await javaPids(home, part);
  const [pid] = pids;
  if (pids.length !== 1 || pid === undefined)
    throw new Error(`expected one ${part} JVM of ${home}, found ${pids.length}`);
  return pid;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `kill -9`, then waits until the process is gone (and its port with it). */
export async function killHard(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} survived SIGKILL`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
