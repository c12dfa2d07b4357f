import { readFile } from 'node:fs/promises';
import type { Sql } from '@orders/drizzle';
import { describeError } from '@orders/drizzle';
import { env } from '@orders/drizzle/env';
import type { Admin } from 'kafkajs';
import { ConnectApi } from './connect-api.ts';
import { connectKafkaAdmin, deleteTopics, ensureTopic } from './kafka-admin.ts';
import { newNamespace } from './namespace.ts';
import { dropSlot, isSlotActive } from './replication-slot.ts';
import { cdcLogin, slotPrefix } from './stack-id.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { waitFor } from './wait-for.ts';

/** The connector config the stack registers; test pipelines differ only where they must. */
const connectorConfigFile = new URL('../../../stack/connector.json', import.meta.url);

export interface TestPipeline {
  /** Short unique id (`t3f9a1c`): topic prefix, slot suffix; reusable as a Redis key namespace. */
  ns: string;
  /** `${ns}.public.orders` */
  topic: string;
  /** `orders_<stack id>_${ns}`: carries this checkout's stack id, so only its cleanup drops it. */
  slot: string;
  databaseUrl: string;
  readerUrl: string;
  /** Owner connection to the pipeline's database. */
  sql: Sql;
  kafkaBrokers: string[];
  /**
   * Replaces the connector's settings with the stack's plus `overrides` (connector-level keys
   * such as `poll.interval.ms` or `producer.override.linger.ms`) and waits until it streams
   * again. Only this pipeline's connector restarts; the shared Connect worker is untouched.
   */
  reconfigure(overrides: Record<string, string>): Promise<void>;
  /** Deletes connector, slot, database and topics; reports every failure, not just the first. */
  close(): Promise<void>;
}

export interface CreateTestPipelineOptions {
  /** Partitions of the change topic. @default 4 */
  partitions?: number;
  /** How long to wait for the connector to run and stream. @default 90000 */
  readyTimeoutMs?: number;
  /** Connector settings on top of stack/connector.json's (a benchmark comparing two). */
  connectorOverrides?: Record<string, string>;
}

/**
 * A private PostgreSQL → Debezium → Kafka path: its own database, connector, slot and topic,
 * so suites can run in any order (or side by side) without seeing each other's changes.
 * Resolves once Debezium streams, so every change made afterwards reaches `topic`.
 */
export async function createTestPipeline(options: CreateTestPipelineOptions = {}): Promise<TestPipeline> {
  const partitions = options.partitions ?? 4;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const ns = newNamespace();
  const topic = `${ns}.public.orders`;
  const connectorName = `test-${ns}`;
  const slotName = `${slotPrefix()}${ns}`;
  const connect = new ConnectApi(env.CONNECT_URL);
  const cleanups: { what: string; run: () => Promise<void> }[] = [];

  const close = async (): Promise<void> => {
    const failures: string[] = [];
    // Reverse order of creation: the connector must stop before its slot and database go.
    for (const { what, run } of cleanups.splice(0).reverse()) {
      try {
        await run();
      } catch (error) {
        failures.push(`${what}: ${describeError(error)}`);
      }
    }
    if (failures.length > 0)
      throw new Error(`Test pipeline ${ns} cleanup failed:\n  ${failures.join('\n  ')}`);
  };

  try {
    // Check every service before creating anything, so a missing one is named up front.
    await connect.assertDebeziumInstalled();
    const admin = await connectKafkaAdmin(env.KAFKA_BROKERS, `test-pipeline-${ns}`);
    cleanups.push({ what: 'disconnect Kafka admin', run: () => admin.disconnect() });

    const database = await createTestDatabase({ name: `orders_${ns}` });
    cleanups.push({ what: `drop database ${database.name}`, run: database.drop });
    await assertLogicalReplication(database.sql);

    await ensureTopic(admin, topic, partitions);
    cleanups.push({ what: `delete topics of ${ns}`, run: () => deleteTopicsOf(admin, ns, topic) });

    const config = await connectorConfig({ ns, slotName, partitions, dbname: database.name });
    await connect.putConnector(connectorName, { ...config, ...options.connectorOverrides });
    cleanups.push({ what: `replication slot ${slotName}`, run: () => dropSlot(database.sql, slotName) });
    cleanups.push({ what: `connector ${connectorName}`, run: () => deleteConnector(connect, connectorName) });

    await waitForStreaming(connect, connectorName, database.sql, slotName, readyTimeoutMs);
    const reconfigure = async (overrides: Record<string, string>): Promise<void> => {
      await connect.putConnector(connectorName, { ...config, ...overrides });
      await waitForStreaming(connect, connectorName, database.sql, slotName, readyTimeoutMs);
    };
    return pipeline(ns, topic, slotName, database, reconfigure, close);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

function pipeline(
  ns: string,
  topic: string,
  slot: string,
  database: TestDatabase,
  reconfigure: (overrides: Record<string, string>) => Promise<void>,
  close: () => Promise<void>,
): TestPipeline {
  return {
    ns,
    topic,
    slot,
    databaseUrl: database.url,
    readerUrl: database.readerUrl,
    sql: database.sql,
    kafkaBrokers: [...env.KAFKA_BROKERS],
    reconfigure,
    close,
  };
}

async function connectorConfig(p: {
  ns: string;
  slotName: string;
  partitions: number;
  dbname: string;
}): Promise<Record<string, string>> {
  const file = JSON.parse(await readFile(connectorConfigFile, 'utf8')) as { config: Record<string, string> };
  const login = cdcLogin();
  return {
    ...file.config,
    'database.user': login.user,
    'database.password': login.password,
    'database.dbname': p.dbname,
    'topic.prefix': p.ns,
    'slot.name': p.slotName,
    'topic.creation.default.partitions': String(p.partitions),
  };
}

async function assertLogicalReplication(sql: Sql): Promise<void> {
  const [row] = await sql<{ wal_level: string }[]>`SHOW wal_level`;
  if (row?.wal_level !== 'logical') {
    throw new Error(
      `PostgreSQL runs with wal_level=${row?.wal_level ?? 'unknown'}; Debezium needs wal_level=logical ` +
        '(ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL; "npm run stack:up" does this)',
    );
  }
}

/** Waits for a RUNNING task streaming from its slot; a FAILED connector ends the wait at once. */
async function waitForStreaming(
  connect: ConnectApi,
  name: string,
  sql: Sql,
  slotName: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () => {
      const status = await connect.status(name);
      if (!status) return undefined;
      const failed = [status.connector, ...status.tasks].find((part) => part.state === 'FAILED');
      if (failed) {
        const trace = failed.trace?.split('\n').slice(0, 3).join(' | ') ?? 'no trace';
        throw new Error(`Debezium connector ${name} FAILED: ${trace}`);
      }
      const running =
        status.connector.state === 'RUNNING' &&
        status.tasks.length > 0 &&
        status.tasks.every((task) => task.state === 'RUNNING');
      return running && (await isSlotActive(sql, slotName)) ? true : undefined;
    },
    { description: `connector ${name} to run and stream from replication slot ${slotName}`, timeoutMs },
  );
}

async function deleteConnector(connect: ConnectApi, name: string): Promise<void> {
  await connect.deleteConnector(name);
  await waitFor(async () => ((await connect.exists(name)) ? undefined : true), {
    description: `connector ${name} to be deleted`,
    timeoutMs: 30_000,
  });
}

async function deleteTopicsOf(admin: Admin, ns: string, topic: string): Promise<void> {
  // Debezium also writes heartbeats to a topic of its own, named after the prefix.
  await deleteTopics(admin, [topic, `__debezium-heartbeat.${ns}`]);
}
