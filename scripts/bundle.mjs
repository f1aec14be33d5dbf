#!/usr/bin/env node
// Bundles the CLI (src/main.ts, the entry that loads src/cli.ts, and what they import) into
// dist/bundle/: bin/ragtax.js runs dist/bundle/main.js.
// `npm run build` type-checks with tsc first (no output); esbuild strips the types. dist/ holds
// nothing else, so no separately compiled copy of the sources can go stale beside the bundle.
//
// Why: a `ragtax run` loads about 250 module files (yaml alone is 72, zod, csv-stringify,
// cli-progress and ragtax's own ~100), and Node 20 has no compile cache for ES modules: resolving,
// reading and compiling them one by one took ~100 ms of every command's start, a third of a warm
// quickstart re-run's budget. esbuild (tsx's own bundler) merges them into a few chunks; code
// behind a dynamic import() stays in its own chunk, loaded on first use as before.
//
// Left out of the bundle, and loaded from node_modules as before: native addons and what loads
// them, the large optional backends (imported only when a suite names them), and packages read as
// files rather than imported (chart.js's UMD build is embedded in report.html).
//
// The chunks sit two folders below the package root, as src/rundir/git-state.ts does, so
// PACKAGE_ROOT is the same from both; the source maps point at src/ (`--debug`).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;

const EXTERNAL = [
  'better-sqlite3',
  'hnswlib-node',
  'onnxruntime-node',
  'onnxruntime-common',
  'onnxruntime-web',
  'sharp',
  '@huggingface/transformers',
  'node-llama-cpp',
  'undici',
  'chart.js',
];

rmSync(dist, { recursive: true, force: true }); // also what an older build (tsc's output) left there
await build({
  entryPoints: [`${root}src/main.ts`],
  tsconfig: `${root}tsconfig.json`,
  outdir: `${dist}/bundle`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  // CommonJS packages in an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __ragtaxCreateRequire } from 'node:module'; const require = __ragtaxCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
