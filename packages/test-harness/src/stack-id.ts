import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env } from '@orders/drizzle/env';

const STACK_ID = /^[a-z0-9]{1,16}$/;
const defaultStackHome = fileURLToPath(new URL('../../../.stack', import.meta.url));

/**
 * The id in `$STACK_HOME/stack-id`, created here if the stack scripts have not yet done so (the
 * same file and format as stack/lib/common.sh). It prefixes every slot this checkout creates.
 */
export function stackId(stackHome: string = env.STACK_HOME ?? defaultStackHome): string {
  const file = join(stackHome, 'stack-id');
  mkdirSync(stackHome, { recursive: true });
  try {
    // `wx`: whoever writes first wins; everyone else reads that id.
    writeFileSync(file, `${randomBytes(4).toString('hex')}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const id = readFileSync(file, 'utf8').trim();
  if (!STACK_ID.test(id)) throw new Error(`${file} must hold 1-16 lowercase letters or digits, not "${id}"`);
  return id;
}

/** `orders_<stack id>_`: the prefix of every replication slot of this checkout's stack. */
export function slotPrefix(): string {
  return `orders_${stackId()}_`;
}

/**
 * The PostgreSQL login Debezium uses on this checkout's stack: the role `orders_cdc_<stack id>`
 * and the password stack/up generated for it into `$STACK_HOME/cdc-password` (see
 * stack/lib/postgres.sh, ensure_cdc_role).
 */
export function cdcLogin(stackHome: string = env.STACK_HOME ?? defaultStackHome): {
  user: string;
  password: string;
} {
  const file = join(stackHome, 'cdc-password');
  let password: string;
  try {
    password = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(
      `${file} is missing: run "npm run stack:up", which creates this stack's PostgreSQL role for Debezium`,
    );
  }
  return { user: `orders_cdc_${stackId(stackHome)}`, password };
}
