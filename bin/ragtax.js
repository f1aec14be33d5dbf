#!/usr/bin/env node
// Built by `npm run build` (run automatically by `npm ci` / `npm install` through `prepare`): tsc
// type-checks src/, then scripts/bundle.mjs bundles it into dist/bundle/ (why: see there).
// With --debug, stack traces name the TypeScript sources (the bundle's source maps); source maps
// apply only to modules loaded after they are enabled, hence the dynamic import.
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
await import('../dist/bundle/main.js');
