import { mintToken } from '../../src/auth/index.ts';
import { DEV_JWT_SECRET } from '../../src/env.ts';

/** Gateway processes started without JWT_SECRET run in development mode with the dev secret. */
export const staffToken = (): Promise<string> => mintToken(DEV_JWT_SECRET, { role: 'staff' });
