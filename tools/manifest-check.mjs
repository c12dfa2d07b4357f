#!/usr/bin/env node
// Holds every workspace's package.json against what its code imports, and exits non-zero on a
// lie: a package imported but not declared (or declared only for development while runtime code
// imports it), a dependency declared but imported by nothing, a runtime dependency only tests
// import, and a relative import that leaves its workspace (or reaches into one from the root's
// stack, bench and tools folders, whose packages the root's package.json declares). Imports are
// read by the TypeScript parser (static, dynamic and type-only imports and re-exports), not by
// matching strings.
//
// Runtime code is what a workspace ships: everything but tests (`test/`, `*.test.ts`), test
// support, benchmarks and tool configs. A development dependency that no file imports counts as
// used when a script of the package runs its command or a repository tool that imports it, when
// it types a package that is imported, or when code loads it by name (listed below, with why).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const skipped = new Set(['node_modules', 'dist', '.turbo', '.git', '.stack', 'logs', 'results']);
const sourceFile = /\.(?:[cm]?[jt]sx?)$/;
const builtins = new Set(builtinModules);

/** Paths (relative to the workspace) whose imports are development-only. */
const developmentOnly = (path) =>
  /(^|\/)(test|tests|testing|bench|e2e)\//.test(path) ||
  /\.test\.[cm]?[jt]sx?$/.test(path) ||
  /(^|\/)[^/]*\.config\.[cm]?[jt]s$/.test(path);

function workspaces() {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of manifest.workspaces) {
    if (pattern.endsWith('/*')) {
      const parent = join(root, pattern.slice(0, -2));
      for (const name of readdirSync(parent)) {
        const dir = join(parent, name);
        if (statSync(join(dir, 'package.json'), { throwIfNoEntry: false })) dirs.push(dir);
      }
    } else dirs.push(join(root, pattern));
  }
  return dirs;
}

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skipped.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (sourceFile.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; undefined for relative and built-in. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtins.has(name) ? undefined : name;
}

/** Whether `script` runs `command` (as a word: `tsx watch`, `esbuild src/x.ts`, `npx tsx …`). */
const runs = (script, command) => new RegExp(`(^|[\\s;&|(])(npx\\s+)?${command}(\\s|$)`).test(script);

/** Packages whose command is named otherwise. */
const commandOf = { typescript: 'tsc', '@biomejs/biome': 'biome' };

/**
 * Packages code loads by name at run time, never through an import: declared where that code
 * lives, in the dependency kind that says who needs them.
 */
const loadedByName = new Map([['pino-pretty', 'pino loads it as the transport of LOG_FORMAT=pretty']]);

/** Packages imported by the repository's own tool scripts that a workspace script runs (`node ../tools/x.mjs`). */
function toolImports(dir, scripts) {
  const imported = new Set();
  for (const script of scripts) {
    for (const [, tool] of script.matchAll(/\bnode\s+(?:--\S+\s+)*(\S+\.mjs)\b/g)) {
      const file = resolve(dir, tool);
      if (!statSync(file, { throwIfNoEntry: false })) continue;
      for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        const name = packageOf(fileName);
        if (name !== undefined) imported.add(name);
      }
    }
  }
  return imported;
}

const problems = [];
for (const dir of workspaces()) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const name = manifest.name;
  const runtimeDeclared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const devDeclared = new Set(Object.keys(manifest.devDependencies ?? {}));
  const runtimeImports = new Map();
  const devImports = new Map();
  for (const file of files(dir)) {
    const path = relative(dir, file).split(sep).join('/');
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (relative(dir, target).startsWith('..'))
          problems.push(
            `${name}: ${path} imports ${specifier}, outside its workspace; import it by package name`,
          );
        continue;
      }
      const imported = packageOf(specifier);
      if (imported === undefined || imported === name) continue;
      const into = developmentOnly(path) ? devImports : runtimeImports;
      if (!into.has(imported)) into.set(imported, path);
    }
  }
  for (const [imported, path] of runtimeImports) {
    if (runtimeDeclared.has(imported)) continue;
    problems.push(
      devDeclared.has(imported)
        ? `${name}: ${path} (runtime code) imports ${imported}, declared only in devDependencies`
        : `${name}: ${path} imports ${imported}, which package.json does not declare`,
    );
  }
  for (const [imported, path] of devImports) {
    if (!runtimeDeclared.has(imported) && !devDeclared.has(imported))
      problems.push(`${name}: ${path} imports ${imported}, which package.json does not declare`);
  }
  for (const declared of runtimeDeclared) {
    if (runtimeImports.has(declared) || loadedByName.has(declared)) continue;
    problems.push(
      devImports.has(declared)
        ? `${name}: ${declared} is a dependency, but only development code imports it (a devDependency)`
        : `${name}: ${declared} is a dependency nothing imports`,
    );
  }
  const scripts = Object.values(manifest.scripts ?? {});
  const byTools = toolImports(dir, scripts);
  for (const declared of devDeclared) {
    if (runtimeImports.has(declared) || devImports.has(declared) || byTools.has(declared)) continue;
    if (loadedByName.has(declared)) continue;
    const command = commandOf[declared] ?? declared.split('/').at(-1);
    if (scripts.some((script) => runs(script, command))) continue;
    const typed = declared.startsWith('@types/') ? declared.slice('@types/'.length) : undefined;
    if (typed !== undefined && (runtimeImports.has(typed) || devImports.has(typed))) continue;
    problems.push(`${name}: ${declared} is a devDependency nothing imports and no script runs`);
  }
}

// The root's own folders (the stack, the repository's benchmarks and tools) are no workspace's:
// they reach a workspace through its package name and exports, never by a relative path, and
// every package they import is declared in the root's package.json (a package another
// workspace happens to install is not theirs to rely on).
const workspaceDirs = workspaces();
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const rootDeclared = new Set([
  ...Object.keys(rootManifest.dependencies ?? {}),
  ...Object.keys(rootManifest.devDependencies ?? {}),
]);
for (const folder of ['stack', 'bench', 'tools']) {
  for (const file of files(join(root, folder))) {
    const path = relative(root, file).split(sep).join('/');
    for (const { fileName: specifier } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles) {
      if (!specifier.startsWith('.')) {
        const imported = packageOf(specifier);
        if (imported !== undefined && !rootDeclared.has(imported))
          problems.push(`${path} imports ${imported}, which the root package.json does not declare`);
        continue;
      }
      const target = resolve(dirname(file), specifier);
      const inside = workspaceDirs.find((dir) => !relative(dir, target).startsWith('..'));
      if (inside !== undefined)
        problems.push(
          `${path} imports ${specifier}, inside workspace ${relative(root, inside)}; import it by package name`,
        );
    }
  }
}

if (problems.length > 0) {
  console.error(`package manifests do not match the imports:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('every workspace, and the root for its own folders, declares exactly what it imports');
