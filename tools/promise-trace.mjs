#!/usr/bin/env node
// Lists every promise id of gateway/PROTOCOL.md (`[P17]`) with the test files whose test
// titles name it, and exits non-zero when an id has no test, or a test names an id the
// document does not have. A title names an id only where the test fails if that promise breaks.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const protocol = join(root, 'gateway', 'PROTOCOL.md');
const searched = ['gateway/test', 'gateway/src', 'stack/test', 'worker/test', 'web', 'packages'];
const skipped = new Set(['node_modules', 'dist', '.turbo', '.git']);

const idPattern = /\[(P\d+)\]/g;
/** it('…'), test.skip("…"), describe.each(…)(`…`): the first argument when it is a string literal. */
const titlePattern =
  /\b(?:it|test|describe)(?:\.\w+)*(?:\.each\([^)]*\))?\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/g;

const byNumber = (a, b) => Number(a.slice(1)) - Number(b.slice(1));

function promiseIds() {
  const ids = new Set();
  for (const match of readFileSync(protocol, 'utf8').matchAll(idPattern)) ids.add(match[1]);
  return [...ids].sort(byNumber);
}

function* testFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (skipped.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* testFiles(path);
    else if (/\.(test|spec)\.[cm]?[jt]sx?$/.test(entry.name)) yield path;
  }
}

/** id -> files whose test titles name it */
function namedIds() {
  const named = new Map();
  for (const dir of searched) {
    for (const file of testFiles(join(root, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const title of text.matchAll(titlePattern)) {
        for (const id of title[2].matchAll(idPattern)) {
          const files = named.get(id[1]) ?? new Set();
          files.add(relative(root, file));
          named.set(id[1], files);
        }
      }
    }
  }
  return named;
}

const ids = promiseIds();
const named = namedIds();
const untested = [];
for (const id of ids) {
  const files = [...(named.get(id) ?? [])].sort();
  if (files.length === 0) untested.push(id);
  console.log(`${id.padEnd(5)} ${files.length === 0 ? '(no test)' : files.join(', ')}`);
}
const unknown = [...named.keys()].filter((id) => !ids.includes(id)).sort(byNumber);

let failed = false;
if (ids.length === 0) {
  console.error(`no promise ids found in ${relative(root, protocol)}`);
  failed = true;
}
if (untested.length > 0) {
  console.error(
    `\n${untested.length} of ${ids.length} promises have no test naming them: ${untested.join(' ')}`,
  );
  failed = true;
}
if (unknown.length > 0) {
  console.error(`\ntests name ids PROTOCOL.md does not have: ${unknown.join(' ')}`);
  failed = true;
}
if (!failed) console.log(`\nall ${ids.length} promises are named by a test`);
process.exit(failed ? 1 : 0);
