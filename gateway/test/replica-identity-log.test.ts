/** Reading the table's replica identity from PostgreSQL, as the gateway does at start. */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeReplicaIdentity, readReplicaIdentity } from '../src/snapshot/replica-identity.ts';

const table = `replica_identity_${Date.now().toString(36)}`;
const sql = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });

beforeAll(async () => {
  await sql.unsafe(`create table ${table} (id bigint primary key, note text)`);
});
afterAll(async () => {
  await sql.unsafe(`drop table if exists ${table}`);
  await sql.end();
});

describe('replica identity at start', () => {
  it('reads each replica identity PostgreSQL has, and nothing for a missing table', async () => {
    expect(await readReplicaIdentity(sql, table)).toBe('default');
    await sql.unsafe(`alter table ${table} replica identity full`);
    expect(await readReplicaIdentity(sql, table)).toBe('full');
    await sql.unsafe(`alter table ${table} replica identity nothing`);
    expect(await readReplicaIdentity(sql, table)).toBe('nothing');
    expect(await readReplicaIdentity(sql, `${table}_missing`)).toBeUndefined();
  });

  it('says FULL is exact and warns about anything else, naming the fix', () => {
    expect(describeReplicaIdentity('full').level).toBe('info');
    for (const identity of ['default', 'index', 'nothing'] as const) {
      const { level, message } = describeReplicaIdentity(identity);
      expect(level).toBe('warn');
      expect(message).toContain(identity.toUpperCase());
      expect(message).toContain('REPLICA IDENTITY FULL');
    }
    expect(describeReplicaIdentity(undefined).level).toBe('warn');
  });
});
