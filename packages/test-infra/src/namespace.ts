import { randomBytes } from 'node:crypto';

/**
 * A short id such as `t3f9a1c`: a valid unquoted identifier for databases, slots, topics and
 * Redis key prefixes alike (lowercase, starts with a letter).
 */
export function newNamespace(): string {
  return `t${randomBytes(3).toString('hex')}`;
}
