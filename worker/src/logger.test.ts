import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

const run = promisify(execFile);
const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));

/** Logs one line through a fresh process's logger and returns what reached stdout. */
async function logOnce(format: 'json' | 'pretty'): Promise<string> {
  const script = `import { createLogger } from ${JSON.stringify(logger)};
createLogger('info', '${format}').info({ partition: 3 }, 'forwarded a chunk');`;
  const { stdout } = await run('npx', ['tsx', '--eval', script], { env: { ...process.env, NO_COLOR: '1' } });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes, if the terminal check enables them
  return stdout.replace(/\u001b\[[0-9;]*m/g, '').trim();
}

describe('log format', () => {
  // Each case starts a process through tsx: generous deadlines for a loaded machine.
  it('writes one JSON object per line by default', { timeout: 60_000 }, async () => {
    const line = JSON.parse(await logOnce('json')) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'forwarded a chunk', partition: 3, service: 'orders-worker' });
  });

  it('writes a readable line, not JSON, when pretty', { timeout: 60_000 }, async () => {
    const out = await logOnce('pretty');
    expect(out).toMatch(/INFO.*forwarded a chunk/);
    expect(out).toContain('partition: 3');
    expect(() => JSON.parse(out)).toThrow();
  });

  it('takes only json or pretty from LOG_FORMAT', () => {
    expect(parseEnv({}).LOG_FORMAT).toBe('json');
    expect(parseEnv({ LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    expect(() => parseEnv({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});
