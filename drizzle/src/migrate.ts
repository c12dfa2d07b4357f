import { runCli } from './cli.ts';
import { redact } from './ensure-database.ts';
import { env } from './env.ts';
import { migrateDatabase } from './migrate-database.ts';
import { waitForDatabase } from './wait-for-database.ts';

runCli(async () => {
  await waitForDatabase(env.DATABASE_URL, env.DATABASE_WAIT_MS, (attempt, error) => {
    process.stderr.write(`waiting for PostgreSQL (attempt ${attempt}): ${error}\n`);
  });
  const { created } = await migrateDatabase(env.DATABASE_URL);
  process.stdout.write(`${created ? 'created and migrated' : 'migrated'} ${redact(env.DATABASE_URL)}\n`);
});
