/**
 * The PostgreSQL side of stack/up decides from what the server reports, so the decisions are
 * checked here without changing or restarting anything: which settings get raised (never
 * lowered), and which cluster a restart would hit (stand-in pg_lsclusters / pg_ctlcluster).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const home = mkdtempSync(join(tmpdir(), 'orders-stack-pg-'));
const bin = join(home, 'bin');

/** Runs a snippet with the stack's PostgreSQL functions loaded (own STACK_HOME, nothing started). */
async function withLib(script: string, extraEnv: Record<string, string> = {}) {
  const lib = `source "${root}/stack/lib/common.sh"; source "${root}/stack/lib/postgres.sh"; ${script}`;
  return run('bash', ['-c', lib], { env: { ...process.env, STACK_HOME: home, ...extraEnv } }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('replication settings', () => {
  it('raises only what is below the wanted value', async () => {
    const low = await withLib('replication_settings_plan replica 10 64');
    expect(low.code, low.out).toBe(0);
    expect(low.out.trim().split('\n')).toEqual(['wal_level replica logical', 'max_replication_slots 10 32']);
  });

  it('never lowers a setting, and changes nothing that is already enough', async () => {
    for (const args of ['logical 32 32', 'logical 200 1000']) {
      const plan = await withLib(`replication_settings_plan ${args}`);
      expect(plan.code, plan.out).toBe(0);
      expect(plan.out, args).toBe('');
    }
  });

  it('plans from the live server without changing it', async () => {
    const show = async (setting: string) =>
      (
        await run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-Atc', `show ${setting}`])
      ).stdout.trim();
    const expected = (
      await withLib(
        `replication_settings_plan ${await show('wal_level')} ${await show('max_replication_slots')} ${await show('max_wal_senders')}`,
      )
    ).out;
    const live = await withLib('current_replication_plan', { PGHOST: '127.0.0.1', PGPORT: '5432' });
    expect(live.code, live.out).toBe(0);
    expect(live.out).toBe(expected);
  });
});

describe('restarting PostgreSQL', () => {
  const listing = [
    '15 main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log',
    '16 side    5433 online postgres /var/lib/postgresql/16/side /var/log/postgresql/postgresql-16-side.log',
  ].join('\n');
  const calls = join(home, 'pg_ctlcluster.calls');
  /** Stand-ins: the listing above, a pg_ctlcluster that only records, a psql that always answers. */
  function fakeTools() {
    mkdirSync(bin, { recursive: true });
    const tools: Record<string, string> = {
      pg_lsclusters: `#!/bin/sh\nprintf '%s\\n' "${listing.replaceAll('\n', '" "')}"\n`,
      pg_ctlcluster: `#!/bin/sh\necho "$*" >> "${calls}"\n`,
      psql: '#!/bin/sh\nexit 0\n',
    };
    for (const [name, body] of Object.entries(tools)) {
      writeFileSync(join(bin, name), body);
      chmodSync(join(bin, name), 0o755);
    }
    return { PATH: `${bin}:${process.env.PATH ?? ''}` };
  }

  it('picks the cluster listening on the port, whatever its name', async () => {
    const found = await withLib(`printf '%s\\n' "${listing.replaceAll('\n', '" "')}" | cluster_on_port 5433`);
    expect(found.code, found.out).toBe(0);
    expect(found.out.trim()).toBe('16 side');
  });

  it('restarts only the cluster on the configured port', async () => {
    const path = fakeTools();
    const restart = await withLib('restart_postgres', { ...path, PGHOST: '127.0.0.1', PGPORT: '5433' });
    expect(restart.code, restart.out).toBe(0);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      '--skip-systemctl-redirect 16 side restart',
    ]);
  });

  it('restarts nothing and says so when no cluster listens on the port', async () => {
    const path = fakeTools();
    rmSync(calls, { force: true });
    const restart = await withLib('restart_postgres', { ...path, PGHOST: '127.0.0.1', PGPORT: '6543' });
    expect(restart.code).not.toBe(0);
    expect(restart.out).toContain('no single cluster in pg_lsclusters listens on port 6543');
    expect(restart.out).toContain('yourself');
    expect(() => readFileSync(calls)).toThrow();
  });

  /**
   * A server at wal_level=replica, as psql would report it until a restart; every call is
   * recorded, and a restart (the stand-in pg_ctlcluster) makes it report logical.
   */
  function replicaServer() {
    const path = fakeTools();
    const psqlCalls = join(home, 'psql.calls');
    const restarted = join(home, 'restarted');
    rmSync(psqlCalls, { force: true });
    rmSync(restarted, { force: true });
    rmSync(calls, { force: true });
    const psql = [
      '#!/bin/sh',
      `echo "$*" >> "${psqlCalls}"`,
      'case "$*" in',
      `  *"show wal_level"*) if [ -f "${restarted}" ]; then echo logical; else echo replica; fi ;;`,
      '  *"show max_"*) echo 64 ;;',
      '  *"select 1"*) echo 1 ;;',
      'esac',
      'exit 0',
    ].join('\n');
    writeFileSync(join(bin, 'psql'), `${psql}\n`);
    writeFileSync(join(bin, 'pg_ctlcluster'), `#!/bin/sh\necho "$*" >> "${calls}"\ntouch "${restarted}"\n`);
    const altered = () => {
      try {
        return readFileSync(psqlCalls, 'utf8').includes('ALTER SYSTEM');
      } catch {
        return false;
      }
    };
    const restartedCluster = () => {
      try {
        return readFileSync(calls, 'utf8').trim();
      } catch {
        return '';
      }
    };
    return { path, altered, restartedCluster };
  }

  it('changes nothing on a server that is not on this machine, and says how to do it by hand', async () => {
    const server = replicaServer();
    const result = await withLib('ensure_postgres', { ...server.path, PGHOST: 'db.example', PGPORT: '5432' });
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('not on this machine');
    expect(server.altered()).toBe(false);
    expect(server.restartedCluster()).toBe('');
  });

  it('asks before restarting: without a terminal and without STACK_ALLOW_PG_RESTART it changes nothing', async () => {
    const server = replicaServer();
    const env = { ...server.path, PGHOST: '127.0.0.1', PGPORT: '5433', STACK_ALLOW_PG_RESTART: '' };
    const result = await withLib('ensure_postgres < /dev/null', env);
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('STACK_ALLOW_PG_RESTART=1');
    expect(result.out).toContain('wal_level=logical');
    expect(server.altered()).toBe(false);
    expect(server.restartedCluster()).toBe('');
  });

  it('with STACK_ALLOW_PG_RESTART=1 raises the settings and restarts that cluster', async () => {
    const server = replicaServer();
    const env = { ...server.path, PGHOST: '127.0.0.1', PGPORT: '5433', STACK_ALLOW_PG_RESTART: '1' };
    const result = await withLib('ensure_postgres < /dev/null', env);
    expect(result.code, result.out).toBe(0);
    expect(server.altered()).toBe(true);
    expect(server.restartedCluster()).toBe('--skip-systemctl-redirect 16 side restart');
  });
});
