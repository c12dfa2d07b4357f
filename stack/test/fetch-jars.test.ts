/**
 * stack/up resolves the jars into STACK_LIB_DIR (default .stack/lib) and, when the pom changed,
 * clears what it resolved before. That directory can be any path the user names, so the
 * script may delete only what it made there. Runs fetch_jars alone with its own STACK_HOME and
 * a stand-in mvn that writes a jar (and the Debezium plugin archive) where it is told to, so
 * nothing is downloaded and the stack's own jars are not touched.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** A stand-in for `mvn … -P<profile> dependency:copy-dependencies -DoutputDirectory=<dir>`. */
const fakeMvn = `#!/usr/bin/env bash
for arg in "$@"; do
  case "$arg" in
  -DoutputDirectory=*) out="\${arg#-DoutputDirectory=}" ;;
  -P*) profile="\${arg#-P}" ;;
  esac
done
mkdir -p "$out"
if [[ "$profile" == debezium ]]; then
  work="$(mktemp -d)"
  mkdir -p "$work/debezium-connector-postgres" && touch "$work/debezium-connector-postgres/plugin.jar"
  tar -czf "$out/debezium-connector-postgres-0.0.0-plugin.tar.gz" -C "$work" debezium-connector-postgres
  rm -rf "$work"
else
  touch "$out/$profile-0.0.0.jar"
fi
`;

let sandbox = '';
beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'orders-fetch-jars-'));
  mkdirSync(join(sandbox, 'bin'));
  writeFileSync(join(sandbox, 'bin', 'mvn'), fakeMvn, { mode: 0o755 });
});
afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

async function fetchJars(libDir: string) {
  const script = `source "${root}/stack/lib/common.sh"; source "${root}/stack/lib/fetch.sh"; fetch_jars`;
  const env = {
    ...process.env,
    PATH: `${join(sandbox, 'bin')}:${process.env.PATH ?? ''}`,
    STACK_HOME: join(sandbox, 'home'),
    STACK_LIB_DIR: libDir,
  };
  return run('bash', ['-c', script], { env, timeout: 60_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

describe('fetch_jars and STACK_LIB_DIR', () => {
  it('leaves a directory it did not make alone, and says which variable names it', async () => {
    const theirs = join(sandbox, 'their-project');
    mkdirSync(join(theirs, 'kafka'), { recursive: true });
    writeFileSync(join(theirs, 'notes.txt'), 'mine\n');
    writeFileSync(join(theirs, 'kafka', 'their.jar'), '');
    const result = await fetchJars(theirs);
    expect(result.code, result.out).not.toBe(0);
    expect(result.out).toContain('STACK_LIB_DIR');
    expect(readdirSync(theirs).sort()).toEqual(['kafka', 'notes.txt']);
    expect(readdirSync(join(theirs, 'kafka'))).toEqual(['their.jar']);
  });

  it('fills a new or empty directory, and later replaces only what it put there', async () => {
    const lib = join(sandbox, 'lib');
    const first = await fetchJars(lib);
    expect(first.code, first.out).toBe(0);
    expect(readdirSync(join(lib, 'kafka'))).toEqual(['kafka-0.0.0.jar']);
    expect(existsSync(join(lib, 'plugins', 'debezium-connector-postgres', 'plugin.jar'))).toBe(true);
    expect((await fetchJars(lib)).out).toContain('jars cached');

    // The pom changed since (its checksum is in the marker's name), and someone left a file.
    for (const name of readdirSync(lib)) if (name.startsWith('.resolved-')) rmSync(join(lib, name));
    writeFileSync(join(lib, 'kafka', 'stale.jar'), '');
    writeFileSync(join(lib, 'README.txt'), 'left by hand\n');
    const again = await fetchJars(lib);
    expect(again.code, again.out).toBe(0);
    expect(readdirSync(join(lib, 'kafka'))).toEqual(['kafka-0.0.0.jar']);
    expect(existsSync(join(lib, 'README.txt'))).toBe(true);

    const empty = join(sandbox, 'empty');
    mkdirSync(empty);
    expect((await fetchJars(empty)).code).toBe(0);
  });
});
