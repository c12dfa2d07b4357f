/**
 * Compose's role-passwords step, run under `sh` with a stand-in `psql` (it records its stdin,
 * nothing reaches a database): it refuses the `.env.example` placeholders and short passwords,
 * naming the variable, before any password reaches PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const home = mkdtempSync(join(tmpdir(), 'orders-role-passwords-'));
const received = join(home, 'psql.stdin');
writeFileSync(join(home, 'psql'), `#!/bin/sh\ncat > "${received}"\n`);
chmodSync(join(home, 'psql'), 0o755);
afterAll(() => rmSync(home, { recursive: true, force: true }));

const strong = {
  PGPASSWORD: 'p4Gs9Wm2Xc7Vb1Nq',
  READER_PASSWORD: 'r7Tq2Lx9Mz4Kp1Wd',
  DEBEZIUM_PASSWORD: 'd5Hn8Vc3Jy6Rb0Es',
};

async function rolePasswords(passwords: Record<string, string>) {
  rmSync(received, { force: true });
  return run('sh', [join(root, 'stack', 'docker', 'role-passwords.sh')], {
    env: { PATH: `${home}:${process.env.PATH ?? ''}`, ...passwords },
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

const psqlRan = () => {
  try {
    return readFileSync(received, 'utf8').length > 0;
  } catch {
    return false;
  }
};

describe('compose role passwords', () => {
  it('sets random passwords of 16 or more characters', async () => {
    const result = await rolePasswords(strong);
    expect(result.code, result.out).toBe(0);
    expect(readFileSync(received, 'utf8')).toContain('ALTER ROLE orders_debezium');
  });

  it.each([
    ['POSTGRES_PASSWORD', 'PGPASSWORD', 'change-me-postgres', 'placeholder'],
    ['ORDERS_READER_PASSWORD', 'READER_PASSWORD', 'change-me-reader', 'placeholder'],
    ['ORDERS_DEBEZIUM_PASSWORD', 'DEBEZIUM_PASSWORD', 'CHANGE-ME-debezium-0123456789', 'placeholder'],
    ['ORDERS_DEBEZIUM_PASSWORD', 'DEBEZIUM_PASSWORD', 'debezium', '8 characters'],
    ['ORDERS_READER_PASSWORD', 'READER_PASSWORD', '', '0 characters'],
  ])('refuses %s = %s-like values before psql runs', async (variable, env, value, why) => {
    const result = await rolePasswords({ ...strong, [env]: value });
    expect(result.code).not.toBe(0);
    expect(result.out).toContain(variable);
    expect(result.out).toContain(why);
    expect(psqlRan()).toBe(false);
  });
});
