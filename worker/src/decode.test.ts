import { describe, expect, it } from 'vitest';
import { decodeRecord, type KafkaCoordinates } from './decode.ts';
import { sourcePosition } from './source-position.ts';

const at: KafkaCoordinates = {
  topic: 'orders.public.orders',
  partition: 2,
  offset: '41',
  timestamp: 1_700_000_000_123,
};

const row = (over: Record<string, unknown> = {}) => ({
  id: 7,
  customer_name: 'Alice',
  product_name: 'Kettle',
  status: 'pending',
  version: 1,
  created_at: '2026-11-26T10:00:00.123456Z',
  updated_at: '2026-11-26T10:00:00.123456Z',
  ...over,
});

const envelope = (op: string, before: unknown, after: unknown, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      before,
      after,
      source: { ts_ms: 1_700_000_000_000, lsn: 123456, snapshot: 'false', table: 'orders' },
      op,
      ts_ms: 1_700_000_000_050,
      ...extra,
    }),
  );

const order = {
  id: 7,
  customerName: 'Alice',
  productName: 'Kettle',
  status: 'pending',
  version: 1,
  createdAt: '2026-11-26T10:00:00.123Z',
  updatedAt: '2026-11-26T10:00:00.123Z',
};

describe('decodeRecord', () => {
  it('decodes an insert into a camelCase change with Kafka coordinates', () => {
    expect(decodeRecord(envelope('c', null, row()), at)).toEqual({
      kind: 'change',
      change: {
        op: 'insert',
        row: order,
        before: null,
        committedAt: 1_700_000_000_000,
        lsn: '123456',
        kafka: at,
      },
      source: { position: null, snapshotRead: false, reset: null },
    });
  });

  it('places a change by (commit LSN, change LSN) from source.sequence', () => {
    const sequence = JSON.stringify(['24023119', '24023128']);
    const result = decodeRecord(
      envelope('c', null, row(), { source: { ts_ms: 1, lsn: 24023128, sequence } }),
      at,
    );
    expect(result).toMatchObject({
      kind: 'change',
      source: { position: { commit: '24023119', change: '24023128' }, snapshotRead: false, reset: null },
    });
  });

  it('reads positions only when both parts are known, without leading zeros', () => {
    expect(sourcePosition('["10","20"]', 20)).toEqual({ commit: '10', change: '20' });
    expect(sourcePosition('["0010", "020"]', null)).toEqual({ commit: '10', change: '20' });
    expect(sourcePosition('["0",null]', 35)).toEqual({ commit: '0', change: '35' });
    expect(sourcePosition('[null,"20"]', 20)).toBeNull();
    expect(sourcePosition('["10",null]', null)).toBeNull();
    expect(sourcePosition(null, 20)).toBeNull();
    expect(sourcePosition('not a list', 20)).toBeNull();
    // int64 LSNs stay exact (no double round trip).
    expect(sourcePosition('["18446744073709551615","18446744073709551614"]', null)).toEqual({
      commit: '18446744073709551615',
      change: '18446744073709551614',
    });
  });

  it('treats snapshot reads as inserts without a source position', () => {
    const snapshotRead = (snapshot: string) =>
      decodeRecord(
        envelope('r', null, row(), { source: { ts_ms: 1, lsn: 5, sequence: '[null,"5"]', snapshot } }),
        at,
      );
    const result = snapshotRead('true');
    expect(result.kind === 'change' && result.change.op).toBe('insert');
    expect(result).toMatchObject({ source: { position: null, snapshotRead: true, reset: null } });
    // Both ends of a snapshot (a single-row table only has a `last` row) carry a reset.
    for (const boundary of ['first', 'last', 'first_in_data_collection', 'last_in_data_collection']) {
      expect(snapshotRead(boundary)).toMatchObject({ source: { snapshotRead: true, reset: 'resnapshot' } });
    }
    // Incremental snapshot rows are read beside streaming: no reset, nothing cleared.
    expect(snapshotRead('incremental')).toMatchObject({
      source: { position: null, snapshotRead: false, reset: null },
    });
  });

  it('turns a TRUNCATE into a positioned reset', () => {
    const source = { ts_ms: 1, lsn: 40, sequence: '["32","40"]' };
    expect(decodeRecord(envelope('t', null, null, { source }), at)).toEqual({
      kind: 'reset',
      reason: 'truncate',
      position: { commit: '32', change: '40' },
    });
  });

  it('forwards an update without a before image (REPLICA IDENTITY DEFAULT)', () => {
    const after = row({ version: 2 });
    // Debezium fills the columns outside the key with null, or leaves them out.
    const keyOnly = Object.fromEntries(
      Object.keys(row()).map((column) => [column, column === 'id' ? 7 : null]),
    );
    for (const before of [null, { id: 7 }, keyOnly]) {
      expect(decodeRecord(envelope('u', before, after), at)).toMatchObject({
        kind: 'change',
        change: { op: 'update', row: { version: 2 }, before: null },
      });
    }
  });

  it('keeps the full before row of an update', () => {
    const result = decodeRecord(envelope('u', row(), row({ status: 'paid', version: 2 })), at);
    expect(result).toMatchObject({
      kind: 'change',
      change: {
        op: 'update',
        row: { status: 'paid', version: 2 },
        before: { status: 'pending', version: 1 },
      },
    });
  });

  it('uses the before image as the row of a delete', () => {
    const result = decodeRecord(envelope('d', row({ version: 3 }), null), at);
    expect(result).toMatchObject({
      kind: 'change',
      change: { op: 'delete', row: { version: 3 }, before: { version: 3 } },
    });
  });

  it('normalises epoch-microsecond timestamps to ISO', () => {
    const micros = Date.UTC(2026, 10, 26, 10) * 1000 + 456;
    const result = decodeRecord(envelope('c', null, row({ created_at: micros })), at);
    expect(result.kind === 'change' && result.change.row.createdAt).toBe('2026-11-26T10:00:00.000Z');
  });

  it('unwraps an envelope produced with schemas enabled', () => {
    const payload = JSON.parse(envelope('c', null, row()).toString());
    const result = decodeRecord(Buffer.from(JSON.stringify({ schema: {}, payload })), at);
    expect(result.kind).toBe('change');
  });

  it('ignores tombstones, heartbeats and messages', () => {
    expect(decodeRecord(null, at)).toEqual({ kind: 'ignore', reason: 'tombstone' });
    expect(decodeRecord(Buffer.alloc(0), at)).toEqual({ kind: 'ignore', reason: 'tombstone' });
    expect(decodeRecord(Buffer.from('{"ts_ms":1}'), at)).toEqual({ kind: 'ignore', reason: 'heartbeat' });
    expect(decodeRecord(envelope('m', null, null), at)).toEqual({ kind: 'ignore', reason: 'message' });
  });

  it.each([
    ['not JSON', Buffer.from('{"op":"c",'), 'not_json'],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'not_json'],
    ['a JSON array', Buffer.from('[1,2,3]'), 'invalid_envelope'],
    ['a JSON string', Buffer.from('"hello"'), 'invalid_envelope'],
    ['no source', Buffer.from(JSON.stringify({ op: 'c', after: row() })), 'invalid_envelope'],
    ['an unknown op', envelope('x', null, row()), 'unsupported_op'],
    ['an insert without after', envelope('c', null, null), 'invalid_row'],
    ['a delete without before', envelope('d', null, null), 'invalid_row'],
    ['an unknown status', envelope('c', null, row({ status: 'lost' })), 'invalid_row'],
    ['a string id', envelope('c', null, row({ id: '7' })), 'invalid_row'],
    ['a zero version', envelope('c', null, row({ version: 0 })), 'invalid_row'],
    ['a bad timestamp', envelope('c', null, row({ updated_at: 'yesterday' })), 'invalid_row'],
    ['a missing column', envelope('c', null, { id: 7, status: 'paid' }), 'invalid_row'],
    // A full before image that is wrong is still poison (only a missing one is tolerated).
    [
      'an update with a bad before',
      envelope('u', row({ status: 'lost' }), row({ version: 2 })),
      'invalid_row',
    ],
  ])('turns %s into a poison result', (_name, value, reason) => {
    const result = decodeRecord(value, at);
    expect(result).toMatchObject({ kind: 'poison', reason });
    expect(result.kind === 'poison' && result.detail.length).toBeGreaterThan(0);
  });
});
