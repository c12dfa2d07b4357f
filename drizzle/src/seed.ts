import { runCli } from './cli.ts';
import { createDb } from './db.ts';
import { env } from './env.ts';
import { seed } from './seed-orders.ts';
import { waitForDatabase } from './wait-for-database.ts';

runCli(async () => {
  await waitForDatabase(env.DATABASE_URL, env.DATABASE_WAIT_MS, (attempt, error) => {
    process.stderr.write(`waiting for PostgreSQL (attempt ${attempt}): ${error}\n`);
  });
  const { sql, close } = createDb(env.DATABASE_URL, { max: 1 });
  try {
    const inserted = await seed(sql);
    process.stdout.write(
      inserted > 0 ? `seeded ${inserted} orders\n` : 'orders table is not empty; nothing seeded\n',
    );
  } finally {
    await close();
  }
});
