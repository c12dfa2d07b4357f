#!/usr/bin/env node
// Breaks the product on purpose, one promise of gateway/PROTOCOL.md at a time, and shows which
// test catches it. Every mutant in tools/mutations/mutants/*.json names a promise id, one exact
// piece of source to replace and the test file whose test titled with that id must then fail.
//
//   node tools/mutations/run.mjs --check          every promise has a mutant, every mutant applies
//   node tools/mutations/run.mjs [--only P3,P17]  applies each mutant, runs its test, reverts,
//                                                 and rewrites tools/mutations/results.md
//
// A mutant counts as caught only when a test whose full name holds the promise id fails an
// assertion (a file that no longer compiles catches nothing). Running mutants needs the stack
// (npm run stack:up) and a working tree whose mutated files have no uncommitted changes,
// because every file is restored from what was read before the mutation.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const mutantsDir = join(import.meta.dirname, 'mutants');
const resultsFile = join(import.meta.dirname, 'results.md');
const idPattern = /\[(P\d+)\]/g;
const byNumber = (a, b) => Number(a.slice(1)) - Number(b.slice(1));

/** Which vitest config runs a test file, and from where. */
function runnerOf(testFile) {
  if (testFile.startsWith('stack/test/faults/'))
    return { cwd: root, args: ['--config', 'stack/faults.vitest.config.ts'], file: testFile };
  if (testFile.startsWith('stack/test/cluster/'))
    return { cwd: root, args: ['--config', 'stack/cluster.vitest.config.ts'], file: testFile };
  if (testFile.startsWith('stack/test/'))
    return { cwd: root, args: ['--config', 'stack/vitest.config.ts'], file: testFile };
  // A workspace's own config: the nearest directory above the file with a package.json.
  let dir = dirname(join(root, testFile));
  while (dir !== root) {
    try {
      readFileSync(join(dir, 'package.json'));
      return { cwd: dir, args: [], file: relative(dir, join(root, testFile)) };
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error(`no workspace holds ${testFile}`);
}

function loadMutants() {
  const mutants = [];
  const problems = [];
  for (const name of readdirSync(mutantsDir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    let list;
    try {
      list = JSON.parse(readFileSync(join(mutantsDir, name), 'utf8'));
    } catch (error) {
      problems.push(`${name}: not JSON (${error.message})`);
      continue;
    }
    for (const [index, m] of list.entries()) {
      const where = `${name}#${index}`;
      for (const key of ['promise', 'what', 'file', 'find', 'replace', 'test']) {
        if (typeof m[key] !== 'string' || m[key] === '')
          problems.push(`${where}: "${key}" must be a non-empty string`);
      }
      if (m.find === m.replace) problems.push(`${where}: "replace" equals "find"`);
      mutants.push({ ...m, where });
    }
  }
  return { mutants, problems };
}

function promiseIds() {
  const text = readFileSync(join(root, 'gateway', 'PROTOCOL.md'), 'utf8');
  return [...new Set([...text.matchAll(idPattern)].map((m) => m[1]))].sort(byNumber);
}

/** Problems that make a mutant unusable without running anything. */
function staticProblems(mutant, ids) {
  const problems = [];
  if (!ids.includes(mutant.promise))
    problems.push(`${mutant.where}: ${mutant.promise} is not in PROTOCOL.md`);
  let source;
  try {
    source = readFileSync(join(root, mutant.file), 'utf8');
  } catch {
    return [...problems, `${mutant.where}: ${mutant.file} does not exist`];
  }
  const count = source.split(mutant.find).length - 1;
  if (count !== 1)
    problems.push(`${mutant.where}: "find" occurs ${count} times in ${mutant.file} (must be once)`);
  let tests;
  try {
    tests = readFileSync(join(root, mutant.test), 'utf8');
  } catch {
    return [...problems, `${mutant.where}: ${mutant.test} does not exist`];
  }
  if (!tests.includes(`[${mutant.promise}]`))
    problems.push(`${mutant.where}: ${mutant.test} names no test [${mutant.promise}]`);
  return problems;
}

function check() {
  const ids = promiseIds();
  const { mutants, problems } = loadMutants();
  for (const mutant of mutants) problems.push(...staticProblems(mutant, ids));
  const covered = new Set(mutants.map((m) => m.promise));
  for (const id of ids) if (!covered.has(id)) problems.push(`${id}: no mutant`);
  const results = readResults();
  for (const id of ids) if (!results.has(id)) problems.push(`${id}: no row in tools/mutations/results.md`);
  for (const [id, row] of results)
    if (!row.includes('| caught |')) problems.push(`${id}: results.md says it was not caught`);
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    console.error(`\n${problems.length} problem(s) with the mutants (tools/mutations/run.mjs --check)`);
    process.exit(1);
  }
  console.log(
    `${mutants.length} mutants cover all ${ids.length} promises; each applies once; results.md has a caught row for each`,
  );
}

/** promise id -> its row of results.md */
function readResults() {
  const rows = new Map();
  let text = '';
  try {
    text = readFileSync(resultsFile, 'utf8');
  } catch {
    return rows;
  }
  for (const line of text.split('\n')) {
    const match = /^\| (P\d+) \|/.exec(line);
    if (match) rows.set(match[1], line);
  }
  return rows;
}

function gitDirty(file) {
  const status = spawnSync('git', ['status', '--porcelain', '--', file], { cwd: root, encoding: 'utf8' });
  return status.stdout.trim() !== '';
}

const restores = new Map();
const restoreAll = () => {
  for (const [path, text] of restores) writeFileSync(path, text);
  restores.clear();
};
// The test runs as a child while this process waits on its event loop, so an interrupt is
// handled at once: the child is stopped and the mutated file restored before exiting.
let running;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopChild(running);
    restoreAll();
    process.exit(130);
  });
}

/** Stops a test run with everything it started (npx, vitest and its workers: one process group). */
function stopChild(child) {
  if (child === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs a command to its end in a process group of its own; resolves with what it printed. */
function runChild(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let output = '';
    child.stdout.on('data', (d) => {
      output = (output + d).slice(-4000);
    });
    child.stderr.on('data', (d) => {
      output = (output + d).slice(-4000);
    });
    const timer = setTimeout(() => stopChild(child), options.timeout);
    child.on('close', () => {
      clearTimeout(timer);
      running = undefined;
      resolve(output);
    });
  });
}

/** Runs one mutant; returns its outcome and the failed tests naming the promise. */
async function runMutant(mutant, scratch) {
  const path = join(root, mutant.file);
  const original = readFileSync(path, 'utf8');
  const { cwd, args, file } = runnerOf(mutant.test);
  const report = join(scratch, `${mutant.promise}.json`);
  restores.set(path, original);
  writeFileSync(
    path,
    original.replace(mutant.find, () => mutant.replace),
  );
  let output;
  try {
    output = await runChild(
      'npx',
      [
        'vitest',
        'run',
        ...args,
        file,
        '-t',
        `\\[${mutant.promise}\\]`,
        '--reporter=json',
        `--outputFile=${report}`,
      ],
      { cwd, env: { ...process.env, CI: process.env.CI ?? 'true' }, timeout: 15 * 60_000 },
    );
  } finally {
    restoreAll();
  }
  let json;
  try {
    json = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    return { outcome: 'no report', failed: [], detail: output.slice(-400) };
  }
  const assertions = json.testResults.flatMap((f) => f.assertionResults);
  const failed = assertions
    .filter((a) => a.status === 'failed' && a.fullName.includes(`[${mutant.promise}]`))
    .map((a) => a.title);
  if (failed.length > 0) return { outcome: 'caught', failed };
  const ran = assertions.filter((a) => a.fullName.includes(`[${mutant.promise}]`) && a.status !== 'skipped');
  const fileErrors = json.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0);
  if (fileErrors.length > 0)
    return { outcome: 'broke the build', failed: [], detail: fileErrors[0].message?.slice(0, 400) };
  return { outcome: ran.length === 0 ? 'no test ran' : 'survived', failed: [] };
}

const cell = (text) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

const rowOf = (r, commit) =>
  `| ${r.promise} | ${r.outcome} | ${commit} | ${cell(r.what)} | \`${r.file}\` | ${cell(`${r.test}: ${r.failed.join('; ') || r.detail || '-'}`)} |`;

function writeResults(rows) {
  const lines = [
    '# Mutation results',
    '',
    'One row per promise of `gateway/PROTOCOL.md`: the product broken on purpose where that promise',
    'is kept (the mutant in `tools/mutations/mutants/`), and the test, titled with the promise id,',
    'that failed. Written by `node tools/mutations/run.mjs` (it applies each mutant, runs the test,',
    'and restores the file); each row names the commit it ran on.',
    '',
    '| promise | outcome | commit | mutation | file | test: the tests that failed |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
  writeFileSync(resultsFile, lines.join('\n'));
}

async function run(only) {
  const ids = promiseIds();
  const { mutants, problems } = loadMutants();
  const chosen = mutants.filter((m) => only === undefined || only.has(m.promise));
  for (const mutant of chosen) problems.push(...staticProblems(mutant, ids));
  for (const mutant of chosen)
    if (gitDirty(mutant.file)) problems.push(`${mutant.where}: ${mutant.file} has uncommitted changes`);
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: root,
    encoding: 'utf8',
  }).stdout.trim();
  const scratch = mkdtempSync(join(tmpdir(), 'mutants-'));
  const previous = readResults();
  const rows = new Map();
  let survivors = 0;
  try {
    for (const [index, mutant] of chosen.entries()) {
      const started = Date.now();
      const result = await runMutant(mutant, scratch);
      if (result.outcome !== 'caught') survivors++;
      console.log(
        `[${index + 1}/${chosen.length}] ${mutant.promise} ${result.outcome} (${Math.round((Date.now() - started) / 1000)} s): ${mutant.what}${result.detail ? `\n    ${result.detail}` : ''}`,
      );
      // A promise with several mutants keeps its first row that was not caught, else its first.
      const row = { ...mutant, ...result };
      const held = rows.get(mutant.promise);
      if (held === undefined || (held.outcome === 'caught' && result.outcome !== 'caught'))
        rows.set(mutant.promise, row);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // Rows of promises not run this time are kept as they were.
  const merged = ids.flatMap((id) => {
    const row = rows.get(id);
    if (row) return [rowOf(row, head)];
    const old = previous.get(id);
    return old === undefined ? [] : [old];
  });
  writeResults(merged);
  console.log(
    `${chosen.length - survivors} of ${chosen.length} mutants caught; results in ${relative(root, resultsFile)}`,
  );
  if (survivors > 0) process.exit(1);
}

const argv = process.argv.slice(2);
if (argv.includes('--check')) check();
else {
  const at = argv.indexOf('--only');
  await run(at >= 0 ? new Set(argv[at + 1].split(',')) : undefined);
}
