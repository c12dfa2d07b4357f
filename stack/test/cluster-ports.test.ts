/**
 * stack/cluster builds paths and addresses from REDIS_CLUSTER_PORTS, so a list that is not
 * ports must stop it before it touches anything. Runs with its own STACK_HOME in a temporary
 * directory, never against the local cluster: no pid file there names a real node, and
 * redis-server and redis-cli are stubs that only write down that they were called, so even a
 * script that let a list through could start or stop nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = join(import.meta.dirname, '..', 'cluster');

let sandbox = '';
let home = '';
let stubs = '';
beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'orders-cluster-ports-'));
  home = join(sandbox, 'a', 'b', 'home');
  stubs = join(sandbox, 'bin');
  mkdirSync(stubs);
  for (const tool of ['redis-server', 'redis-cli'])
    writeFileSync(join(stubs, tool), `#!/bin/sh\necho "${tool} $*" >>"${join(sandbox, 'calls')}"\nexit 1\n`, {
      mode: 0o755,
    });
  // What `../../../victim` reaches from the node directories ($STACK_HOME/data/redis-cluster/<port>).
  mkdirSync(join(sandbox, 'a', 'victim'), { recursive: true });
  writeFileSync(join(sandbox, 'a', 'victim', 'keep.txt'), "not the stack's\n");
});
afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

async function cluster(command: string, ports: string) {
  const env = {
    ...process.env,
    PATH: `${stubs}:${process.env.PATH ?? ''}`,
    STACK_HOME: home,
    REDIS_CLUSTER_PORTS: ports,
  };
  return run('bash', [script, command], { env, timeout: 30_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

const hostile = [
  '../../../victim',
  '7001,../../../victim,7003',
  '7001 7002 /tmp',
  '7001,7002,-1',
  '0,7002,7003',
  '7001,7002,70000',
  '7001,7002,60000', // its cluster bus would be port 70000
  '7001,7002,07003',
  '7001,7002,7001',
  '7001,7002,$(id)',
];

describe('stack/cluster with a port list that is not ports', () => {
  for (const command of ['down', 'up', 'status', 'seeds'])
    it(`${command} refuses it, names REDIS_CLUSTER_PORTS and deletes nothing`, async () => {
      for (const ports of hostile) {
        const result = await cluster(command, ports);
        expect(result.code, `${ports}: ${result.out}`).not.toBe(0);
        expect(result.out, ports).toContain('REDIS_CLUSTER_PORTS');
        expect(existsSync(join(sandbox, 'a', 'victim', 'keep.txt')), ports).toBe(true);
        expect(result.out, ports).not.toContain('redis://');
        expect(existsSync(join(sandbox, 'calls')), ports).toBe(false);
      }
    });

  it('takes the default list and comma- or space-separated ports', async () => {
    expect((await cluster('seeds', '')).out.trim()).toBe(
      'redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003',
    );
    expect((await cluster('seeds', '17101, 17102 17103')).out.trim()).toBe(
      'redis://127.0.0.1:17101,redis://127.0.0.1:17102,redis://127.0.0.1:17103',
    );
  });
});
