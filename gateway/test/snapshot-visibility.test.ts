import { toFilter } from '@orders/contract';
import { createTestDatabase, type TestDatabase } from '@orders/test-harness';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgSnapshotSource } from '../src/snapshot/pg-snapshot-source.ts';

// The visibility a page reports decides which replayed changes a subscriber is spared, so it
// must be the snapshot the page's rows were read with, with the ids Debezium reports as txId.
describe('snapshot pages carry the snapshot their rows were read with', () => {
  let db: TestDatabase;
  let reader: Sql;
  const insert = async (customer: string) => {
    const [row] = await db.sql<{ id: string; tx: string }[]>`
      insert into orders (customer_name, product_name, status)
      values (${customer}, 'lamp', 'pending') returning id, txid_current() as tx`;
    return { id: Number(row?.id), tx: Number(row?.tx) };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    reader = postgres(db.readerUrl, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await reader?.end();
    await db?.drop();
  });

  it('sees what committed before the page, not what was in flight or came after', async () => {
    const source = createPgSnapshotSource(reader);
    const before = await insert('ada');
    // A transaction holding its id open across the page: committed later, so not in the page.
    const open = await db.sql.reserve();
    try {
      await open`begin`;
      const [flight] = await open<{ id: string; tx: string }[]>`
        insert into orders (customer_name, product_name, status)
        values ('bo', 'desk', 'pending') returning id, txid_current() as tx`;
      const page = await source.page(toFilter({}), 0, 100);
      await open`commit`;
      const after = await insert('cy');

      expect(page.rows.map((r) => r.id)).toEqual([before.id]);
      expect(page.visibility?.sees(before.tx)).toBe(true);
      expect(page.visibility?.sees(Number(flight?.tx))).toBe(false);
      expect(page.visibility?.sees(after.tx)).toBe(false);
      // Debezium reports 32-bit ids for streamed changes; they must read the same.
      expect(page.visibility?.sees(before.tx % 2 ** 32)).toBe(true);
    } finally {
      open.release();
    }
  });

  it('reports the snapshot of an empty page, whose absent rows it vouches for', async () => {
    const source = createPgSnapshotSource(reader);
    const gone = await insert('dee');
    const [deleted] = await db.sql<{ tx: string }[]>`
      delete from orders where id = ${gone.id} returning txid_current() as tx`;
    const page = await source.page(toFilter({ ids: [gone.id] }), 0, 100);
    expect(page.rows).toEqual([]);
    expect(page.visibility?.sees(Number(deleted?.tx))).toBe(true);
  });

  it('carries the WAL position read after its snapshot: what is written later is unseen, whatever its id', async () => {
    const source = createPgSnapshotSource(reader);
    // The insert position right after the row's insert: at or past the change's own position.
    const insertAt = async (customer: string) => {
      const [row] = await db.sql<{ tx: string; lsn: string }[]>`
        insert into orders (customer_name, product_name, status)
        values (${customer}, 'chair', 'pending')
        returning txid_current() as tx, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text as lsn`;
      return { tx: Number(row?.tx) % 2 ** 32, lsn: row?.lsn ?? '' };
    };
    const before = await insertAt('eve');
    const page = await source.page(toFilter({}), 0, 100);
    const after = await insertAt('flo');
    expect(page.visibility?.sees(before.tx, before.lsn)).toBe(true);
    expect(page.visibility?.sees(after.tx, after.lsn)).toBe(false);
    // A 32-bit id that reads as seen (as one 2^32 transactions on would) loses to the position.
    expect(page.visibility?.sees(before.tx, after.lsn)).toBe(false);
  });
});
