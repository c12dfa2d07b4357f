import { runCli } from './cli.ts';
import { redact } from './ensure-database.ts';
import { env } from './env.ts';
import { migrateDatabase } from './migrate-database.ts';

runCli(async () => {
  const { created } = await migrateDatabase(env.DATABASE_URL);
  process.stdout.write(`${created ? 'created and migrated' : 'migrated'} ${redact(env.DATABASE_URL)}\n`);
});
