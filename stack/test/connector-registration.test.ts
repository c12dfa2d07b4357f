/**
 * Where stack/up registers its Debezium connector, checked with a stand-in `curl` (every call
 * recorded, nothing reaches a real Connect): only into a Connect this stack started, under a
 * name that carries the stack id, and taking over its own connector of the old, shared name.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const home = mkdtempSync(join(tmpdir(), 'orders-stack-connector-'));
const bin = join(home, 'bin');
const calls = join(home, 'curl.calls');
const stackId = 'rg1234';
/** What ensure_cdc_role would have generated into $STACK_HOME/cdc-password. */
const CDC_PASSWORD = 'k3Y-generated_only-here';

afterAll(() => rmSync(home, { recursive: true, force: true }));

/**
 * A Connect as the stand-in curl shows it: the old-named connector's config (or none), a
 * running task for any status asked, and every call written to `calls`.
 */
function fakeConnect(oldConnectorSlot: string | undefined) {
  mkdirSync(bin, { recursive: true });
  rmSync(calls, { force: true });
  const oldConfig = oldConnectorSlot === undefined ? 'exit 22' : `echo '{"slot.name":"${oldConnectorSlot}"}'`;
  const curl = [
    '#!/bin/bash',
    // A body given on stdin (--data @-) is recorded after the arguments.
    'body=""; case "$*" in *"@-"*) body="$(cat)" ;; esac',
    `echo "$*\${body:+ $body}" >> "${calls}"`,
    'case "$*" in',
    `  *"connectors/orders-cdc/config"*) ${oldConfig} ;;`,
    `  *"/status"*) echo '{"name":"x","tasks":[{"id":0,"state":"RUNNING"}]}' ;;`,
    'esac',
    'exit 0',
  ].join('\n');
  writeFileSync(join(bin, 'curl'), `${curl}\n`);
  chmodSync(join(bin, 'curl'), 0o755);
  const recorded = () => {
    try {
      return readFileSync(calls, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return recorded;
}

/** register_connector with the stack's libraries loaded; `ours` makes this stack own Connect. */
async function register(ours: boolean, password: string | null = CDC_PASSWORD) {
  writeFileSync(join(home, 'stack-id'), `${stackId}\n`);
  if (password === null) rmSync(join(home, 'cdc-password'), { force: true });
  else writeFileSync(join(home, 'cdc-password'), password);
  const owned = ours ? 'service_pid() { [[ "$1" == connect ]] && echo 4242; };' : '';
  const script = `source "${root}/stack/lib/common.sh"; source "${root}/stack/lib/kafka.sh"; ${owned} register_connector`;
  return run('bash', ['-c', script], {
    env: {
      ...process.env,
      STACK_HOME: home,
      CONNECT_PORT: '18999',
      PATH: `${bin}:${process.env.PATH ?? ''}`,
    },
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

describe('connector registration', () => {
  it('never registers into a Connect this stack did not start', async () => {
    const recorded = fakeConnect(undefined);
    const result = await register(false);
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('was not started by this stack');
    expect(recorded().filter((call) => call.includes('PUT') || call.includes('DELETE'))).toEqual([]);
  });

  it("registers under a name carrying the stack id, and leaves another stack's orders-cdc alone", async () => {
    const recorded = fakeConnect('orders_someoneelse_cdc');
    const result = await register(true);
    expect(result.code, result.out).toBe(0);
    const writes = recorded().filter((call) => call.includes('PUT') || call.includes('DELETE'));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toContain(`/connectors/orders-cdc-${stackId}/config`);
    expect(writes[0]).toContain(`"slot.name":"orders_${stackId}_cdc"`);
    // Debezium logs in as this stack's own role, with the password generated for it.
    expect(writes[0]).toContain(`"database.user":"orders_cdc_${stackId}"`);
    expect(writes[0]).toContain(`"database.password":"${CDC_PASSWORD}"`);
    expect(writes[0]).not.toContain('"database.password":"debezium"');
    // The body, password included, went on stdin, never on the command line.
    expect(writes[0]).toContain('--data @-');
  });

  it('refuses to register without the generated password', async () => {
    const recorded = fakeConnect(undefined);
    const result = await register(true, null);
    expect(result.code).not.toBe(0);
    expect(result.out).toContain('cdc-password is missing');
    expect(recorded().filter((call) => call.includes('PUT'))).toEqual([]);
  });

  it('takes over its own connector of the old name, which holds its slot', async () => {
    const recorded = fakeConnect(`orders_${stackId}_cdc`);
    const result = await register(true);
    expect(result.code, result.out).toBe(0);
    const writes = recorded().filter((call) => call.includes('PUT') || call.includes('DELETE'));
    expect(writes[0]).toMatch(/-X DELETE .*\/connectors\/orders-cdc$/);
    expect(writes[1]).toContain(`/connectors/orders-cdc-${stackId}/config`);
  });
});
