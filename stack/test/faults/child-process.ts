/**
 * A service of the suite run as a real child process (worker, gateway, redis-server), with its
 * output in a log file. It plays supervisor: an exit the test did not cause is logged and the
 * process is started again, as a production supervisor would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Resolves true once the service serves; polled after every start. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

export class Service {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  /** Exits nobody asked for, each followed by a restart. */
  unexpectedExits = 0;
  private expectingExit = false;

  constructor(readonly spec: ServiceSpec) {
    this.log = createWriteStream(spec.logFile, { flags: 'a' });
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`${this.spec.name} is not running`);
    return pid;
  }

  async start(): Promise<void> {
    this.expectingExit = false;
    this.note(`starting ${this.spec.name}`);
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.once('exit', (code, signal) => {
      this.note(`${this.spec.name} exited (code ${code}, signal ${signal})`);
      if (this.child !== child || this.expectingExit) return;
      this.unexpectedExits++;
      // Restarting a crashed process is the supervisor's job; the faults under test are the
      // ones the test injects, so a crash is counted and reported, not hidden.
      setTimeout(() => void this.start().catch((e: unknown) => this.note(`restart failed: ${e}`)), 500);
    });
    await this.waitReady(child);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.spec.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${this.spec.name} exited while starting; see ${this.spec.logFile}`);
      if (await this.spec.ready().catch(() => false)) return;
      if (Date.now() > deadline)
        throw new Error(`${this.spec.name} not ready in time; see ${this.spec.logFile}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `kill -9` and wait for the exit; the supervisor does not restart it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.expectingExit = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.note(`sending ${signal} to ${this.spec.name}`);
    child.kill(signal);
    await exited;
  }

  /** SIGSTOP / SIGCONT: the process is frozen, its sockets stay open. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.note(`sending ${signal} to ${this.spec.name}`);
    process.kill(this.pid, signal);
  }

  /** SIGTERM (after SIGCONT, in case it is frozen), SIGKILL if it lingers. */
  async close(): Promise<void> {
    const child = this.child;
    if (child && child.signalCode === null && child.exitCode === null) {
      process.kill(this.pid, 'SIGCONT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await this.kill('SIGTERM');
      clearTimeout(timer);
    }
    this.log.end();
  }

  private note(text: string): void {
    this.log.write(`--- ${new Date().toISOString()} ${text}\n`);
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.status === 200;
}
