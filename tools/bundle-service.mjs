#!/usr/bin/env node
/**
 * Compiles a service's entry points to JavaScript in its dist/ folder: one ESM file per entry,
 * with the workspace packages (@orders/*, which ship TypeScript source) compiled in and every
 * npm dependency left as an import, so `node dist/<entry>.js` runs on the production
 * node_modules alone.
 *
 *   node ../tools/bundle-service.mjs src/main.ts [src/other.ts …]   (run inside the workspace)
 */
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

const entryPoints = process.argv.slice(2);
if (entryPoints.length === 0) {
  console.error('usage: bundle-service.mjs <entry.ts> [more entries]');
  process.exit(2);
}

/** Bare imports stay imports, except the workspaces, whose TypeScript source is compiled in. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@orders/') ? undefined : { path: args.path, external: true },
    );
  },
};

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints,
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  plugins: [externalPackages],
  logLevel: 'info',
});
