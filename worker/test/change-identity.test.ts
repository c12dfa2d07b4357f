/**
 * A source position is not a change's identity. Hand-made Debezium records at shared
 * positions, as PostgreSQL writes them, produced straight to the suite's topic and forwarded
 * by the in-process worker: a COPY's rows (one multi-insert WAL record per heap page, one
 * change LSN for all its rows), a primary-key update (a delete and a create at one position),
 * and Debezium re-sending part of such a group after a Connect crash.
 *
 * Each case ends with a sentinel change at a higher position in the same partition: the
 * worker forwards a partition in order, so once the sentinel is in history every record
 * before it has been forwarded or skipped, and the history can be compared exactly.
 */

import type { Message } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { change, row } from './support/debezium.ts';
import { expectGatewaysMatch, readStream, waitFor } from './support/streams.ts';
import { createWorkerSuite } from './support/suite.ts';
import { type RunningWorker, readyWithin, startWorker, total } from './support/worker.ts';

const GATEWAYS = ['gw-a', 'gw-b'];

describe('worker: tells apart distinct changes that share a source position', () => {
  const env = createWorkerSuite('ident', { partitions: 1, gatewayTtlMs: 60_000, gateways: GATEWAYS });
  const { suite } = env;
  const { keys } = suite;
  let running: RunningWorker;
  let sentinelId = 900_000;
  let commitLsn = 10_000;

  beforeAll(async () => {
    running = await startWorker(suite, 'ident-1');
    await readyWithin(running.worker);
  });
  env.cleanup(async () => {
    await running?.stop();
  });

  const sourceSkipped = () => total(running.metrics.sourceDuplicatesSkipped);

  /** Positions of one transaction: [commit LSN Debezium pairs it with, change LSN]. */
  const at = (lsn: number): { sequence: [string, string] } => ({
    sequence: [String(commitLsn), String(lsn)],
  });

  /**
   * Sends `messages` (each list is one produce call, so one list may share a Kafka batch),
   * then a sentinel at a higher position, and returns what history gained, sentinel excluded.
   */
  async function forward(...sends: Message[][]): Promise<{ op: string; id: number; version: number }[]> {
    const before = await env.redis.xLen(keys.history);
    for (const messages of sends) await env.producer.send({ topic: suite.topic, messages });
    commitLsn += 1_000;
    const sentinel = ++sentinelId;
    await env.producer.send({
      topic: suite.topic,
      messages: [change('c', null, row(sentinel, 1), at(commitLsn + 1))],
    });
    commitLsn += 1_000;
    const entries = await waitFor('the sentinel to reach history', async () => {
      const all = await readStream(env.redis, keys.history);
      return all.at(-1)?.change.row.id === sentinel ? all : undefined;
    });
    return entries
      .slice(before, -1)
      .map((e) => ({ op: e.change.op, id: e.change.row.id, version: e.change.row.version }));
  }

  const inserted = (ids: number[]) => ids.map((id) => ({ op: 'insert', id, version: 1 }));

  it('forwards every row of a COPY, whose rows share one change LSN', async () => {
    const page1 = [101, 102, 103, 104, 105].map((id) => change('c', null, row(id, 1), at(500)));
    const page2 = [106, 107, 108].map((id) => change('c', null, row(id, 1), at(600)));
    expect(await forward([...page1, ...page2])).toEqual(inserted([101, 102, 103, 104, 105, 106, 107, 108]));
  });

  it('forwards both halves of a primary-key update: a delete and a create at one position', async () => {
    await forward([change('c', null, row(120, 1), at(100))]);
    const moved = { ...row(120, 2), id: 1_000_120 };
    const got = await forward([
      change('d', row(120, 1), null, at(700)),
      change('c', null, moved, at(700)),
      change('u', row(1_000_120, 2), row(1_000_120, 3), at(710)),
    ]);
    expect(got).toEqual([
      { op: 'delete', id: 120, version: 1 },
      { op: 'insert', id: 1_000_120, version: 2 },
      { op: 'update', id: 1_000_120, version: 3 },
    ]);
  });

  it('after a Connect crash inside a multi-insert record, skips the re-sent rows and forwards the rest', async () => {
    // Rows 201 and 202 of a record at change LSN 800 reach Kafka; Connect dies; Debezium
    // resumes inside the record and sends 202 again, then the rows that never arrived.
    const skipped = await sourceSkipped();
    const got = await forward(
      [change('c', null, row(201, 1), at(800)), change('c', null, row(202, 1), at(800))],
      [
        change('c', null, row(202, 1), at(800)),
        change('c', null, row(203, 1), at(800)),
        change('c', null, row(204, 1), at(800)),
      ],
    );
    expect(got).toEqual(inserted([201, 202, 203, 204]));
    expect((await sourceSkipped()) - skipped).toBe(1);
  });

  it('skips a re-sent row that follows, in the same produce call, a new row at its position', async () => {
    // Row 301 is forwarded, then a re-send starts with row 302 (new) and repeats 301: the
    // chunk's positions never go down, yet one of its rows is a duplicate.
    const skipped = await sourceSkipped();
    const got = await forward(
      [change('c', null, row(301, 1), at(900))],
      [change('c', null, row(302, 1), at(900)), change('c', null, row(301, 1), at(900))],
    );
    expect(got).toEqual(inserted([301, 302]));
    expect((await sourceSkipped()) - skipped).toBe(1);
  });

  it('skips a whole group re-sent within one produce call', async () => {
    const group = [401, 402, 403].map((id) => change('c', null, row(id, 1), at(1000)));
    const skipped = await sourceSkipped();
    const got = await forward([...group, ...group, change('c', null, row(404, 1), at(1000))]);
    expect(got).toEqual(inserted([401, 402, 403, 404]));
    expect((await sourceSkipped()) - skipped).toBe(3);
  });

  it('keeps a mark written before identities were kept: everything at its position counts as forwarded', async () => {
    const field = Object.keys(await env.redis.hGetAll(keys.sourceMark))[0];
    expect(field).toBeDefined();
    const position = { commit: String(commitLsn + 500), change: '1100' };
    await env.redis.hSet(keys.sourceMark, field ?? '', `${position.commit}/${position.change}`);
    const got = await forward([
      change('c', null, row(501, 1), { sequence: [position.commit, position.change] }),
      change('c', null, row(502, 1), { sequence: [position.commit, '1101'] }),
    ]);
    expect(got).toEqual(inserted([502]));
  });

  it('gives every gateway stream the same entries as history', async () => {
    const history = await readStream(env.redis, keys.history);
    await expectGatewaysMatch(env.redis, keys, GATEWAYS, history.length, history);
  });
});
