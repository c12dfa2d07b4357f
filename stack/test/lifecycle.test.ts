/**
 * stack/up is idempotent and stack/down stops exactly what up started. Runs a second,
 * throw-away stack (own home, own ports, shared jars) so the main stack is never touched.
 * The same run checks that the scripts leave alone what is not theirs: a process whose pid
 * sits in a stale pid file, and replication slots of other stacks and projects.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

/** This side stack's id, fixed up front so the test knows which slots are its own. */
const stackId = `lc${randomBytes(3).toString('hex')}`;
/** Left by an earlier Kafka cluster of this stack: the only slot up may drop. */
const ownOrphan = `orders_${stackId}_t000000`;
/** Another project's slot, and another checkout's: neither may be dropped. */
const foreignSlots = ['slot_other', `orders_x${randomBytes(3).toString('hex')}_cdc`];

async function stack(command: 'up' | 'down' | 'status', ...args: string[]) {
  // A script still running after its test gave up would start JVMs nobody stops: bound it.
  const options = { env, cwd: root, maxBuffer: 1 << 24, timeout: 240_000 };
  return run('bash', [join(root, 'stack', command), ...args], options).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

/** Runs SQL on the shared PostgreSQL's maintenance database (the side stack uses the same server). */
async function psql(sql: string): Promise<string> {
  const { stdout } = await run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-Atc', sql], {
    env: process.env,
  });
  return stdout.trim();
}
const slotExists = async (name: string) =>
  (await psql(`select count(*) from pg_replication_slots where slot_name = '${name}'`)) === '1';
const dropSlotIfInactive = (name: string) =>
  psql(`select pg_drop_replication_slot(slot_name) from pg_replication_slots
        where slot_name = '${name}' and not active`);

const pidFile = (name: string) => join(home, 'run', `${name}.pid`);
const pidOf = (name: string) => Number(readFileSync(pidFile(name), 'utf8'));
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

/** An unrelated process whose pid the stale pid files name. */
let bystander: ChildProcess;
const bystanderPid = () => bystander.pid ?? -1;
function writeStalePidFiles() {
  mkdirSync(join(home, 'run'), { recursive: true });
  for (const name of ['kafka', 'connect']) writeFileSync(pidFile(name), `${bystanderPid()}\n`);
}

/** What the first up of this run said, and what it started: every test reads these, none writes them. */
let firstUp = { code: -1, out: '' };
let startedKafka = 0;
let startedConnect = 0;

// The first up runs here, on the stale pid files and orphaned slot laid out above, so each test
// below checks one thing about it (or starts from a state it makes itself) and passes alone.
beforeAll(async () => {
  writeFileSync(join(home, 'stack-id'), `${stackId}\n`);
  for (const slot of [...foreignSlots, ownOrphan]) {
    await dropSlotIfInactive(slot); // a leftover of an interrupted run
    await psql(`select pg_create_logical_replication_slot('${slot}', 'pgoutput')`);
  }
  bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
  writeStalePidFiles();
  firstUp = await stack('up');
  if (firstUp.code === 0) {
    startedKafka = pidOf('kafka');
    startedConnect = pidOf('connect');
  }
}, 600_000);

afterAll(async () => {
  await stack('down');
  bystander.kill();
  for (const slot of [...foreignSlots, ownOrphan]) await dropSlotIfInactive(slot);
  await psql(`drop role if exists orders_cdc_${stackId}`);
  rmSync(home, { recursive: true, force: true });
});

describe('native stack lifecycle', () => {
  it('the first up started Kafka and Connect, taking the stale pid files for what they were', () => {
    expect(firstUp.code, firstUp.out).toBe(0);
    expect(firstUp.out).toContain('starting kafka');
    expect(firstUp.out).toContain('starting connect');
    expect(firstUp.out).toMatch(/ignoring stale pid file \S+kafka\.pid/);
    expect(firstUp.out).toMatch(/ignoring stale pid file \S+connect\.pid/);
    expect(firstUp.out).not.toContain('already running');
    expect([startedKafka, startedConnect]).not.toContain(bystanderPid());
    expect(alive(bystanderPid())).toBe(true);
  });

  it('dropped its own orphaned slot on fresh storage, and no other', async () => {
    for (const slot of foreignSlots) expect(await slotExists(slot), slot).toBe(true);
    expect(await slotExists(ownOrphan)).toBe(false);
    expect(firstUp.out).toContain(
      `dropped replication slot(s) of this stack left by an earlier Kafka cluster: ${ownOrphan}`,
    );
  });

  it("made Debezium a login of the stack's own, with a generated password kept to the user", async () => {
    const role = `orders_cdc_${stackId}`;
    expect(
      await psql(
        `select rolcanlogin, rolreplication, rolpassword is not null from pg_authid where rolname = '${role}'`,
      ),
    ).toBe('t|t|t');
    expect(await psql(`select pg_has_role('${role}', 'orders_debezium', 'member')`)).toBe('t');
    // The role the migration makes has no password that anyone could know.
    expect(await psql(`select rolpassword is null from pg_authid where rolname = 'orders_debezium'`)).toBe(
      't',
    );
    const file = join(home, 'cdc-password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const password = readFileSync(file, 'utf8');
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // Another up keeps it.
    const again = await stack('up');
    expect(again.code, again.out).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(password);
  });

  it('a second up reuses what runs, and down stops everything', async () => {
    // Up is idempotent: whether an earlier test left the stack up or down, this one runs it.
    const up = await stack('up');
    expect(up.code, up.out).toBe(0);
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

  it('down leaves a process named by a stale pid file alone', async () => {
    // From a stopped stack, whatever ran before: stale pid files must never name a live stack.
    const stopped = await stack('down');
    expect(stopped.code, stopped.out).toBe(0);
    expect(await javaProcessesUsing(home)).toBe(0);
    writeStalePidFiles();
    const down = await stack('down');
    expect(down.code, down.out).toBe(0);
    expect(down.out).toMatch(/ignoring stale pid file \S+connect\.pid/);
    expect(down.out).toMatch(/ignoring stale pid file \S+kafka\.pid/);
    expect(down.out).not.toContain('stopping');
    expect(alive(bystanderPid())).toBe(true);
    expect(existsSync(pidFile('kafka')) || existsSync(pidFile('connect'))).toBe(false);
  });

  it('down --purge removes its data and its replication login, and nothing else', async () => {
    const role = `orders_cdc_${stackId}`;
    const up = await stack('up');
    expect(up.code, up.out).toBe(0);
    expect(await psql(`select count(*) from pg_roles where rolname = '${role}'`)).toBe('1');
    const purged = await stack('down', '--purge');
    expect(purged.code, purged.out).toBe(0);
    expect(purged.out).toContain(`role ${role} dropped`);
    expect(await psql(`select count(*) from pg_roles where rolname = '${role}'`)).toBe('0');
    expect(await psql(`select count(*) from pg_roles where rolname = 'orders_debezium'`)).toBe('1');
    expect(existsSync(join(home, 'data'))).toBe(false);
  });
});
