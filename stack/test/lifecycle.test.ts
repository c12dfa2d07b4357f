/**
 * stack/up is idempotent and stack/down stops exactly what up started. Runs a second,
 * throw-away stack (own home, own ports, shared jars) so the main stack is never touched.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const home = mkdtempSync(join(tmpdir(), 'orders-stack-'));
const env = {
  ...process.env,
  STACK_HOME: home,
  STACK_LIB_DIR: join(root, '.stack', 'lib'),
  KAFKA_PORT: '19092',
  KAFKA_CONTROLLER_PORT: '19093',
  CONNECT_PORT: '18083',
  STACK_SKIP_CONNECTOR: '1',
};

async function stack(command: 'up' | 'down' | 'status') {
  return run('bash', [join(root, 'stack', command)], { env, cwd: root, maxBuffer: 1 << 24 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

const pidOf = (name: string) => Number(readFileSync(join(home, 'run', `${name}.pid`), 'utf8'));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function javaProcessesUsing(home: string) {
  const { stdout } = await run('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((l) => l.includes('java') && l.includes(home)).length;
}

afterAll(async () => {
  await stack('down');
  rmSync(home, { recursive: true, force: true });
});

describe('native stack lifecycle', () => {
  it('starts once, reuses what runs on a second up, and stops everything on down', async () => {
    const first = await stack('up');
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('starting kafka');
    expect(first.out).toContain('starting connect');
    const kafka = pidOf('kafka');
    const connect = pidOf('connect');
    expect(alive(kafka) && alive(connect)).toBe(true);

    const second = await stack('up');
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('jars cached');
    expect(second.out).toMatch(/kafka already running/);
    expect(second.out).toMatch(/connect already running/);
    expect(second.out).not.toContain('starting');
    expect([pidOf('kafka'), pidOf('connect')]).toEqual([kafka, connect]);
    expect(await javaProcessesUsing(home)).toBe(2);

    const down = await stack('down');
    expect(down.code, down.out).toBe(0);
    expect(alive(kafka) || alive(connect)).toBe(false);
    expect(await javaProcessesUsing(home)).toBe(0);
    const status = await stack('status');
    expect(status.code).not.toBe(0);
    expect(status.out).toContain('Kafka broker :19092: DOWN');
  });
});
