import { runCli } from './cli.ts';
import { createDb } from './db.ts';
import { env } from './env.ts';
import { seed } from './seed-orders.ts';

runCli(async () => {
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
