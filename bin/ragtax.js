#!/usr/bin/env node
// Compiled by `npm run build` (run automatically by `npm ci` / `npm install` through `prepare`).
import '../dist/cli.js';
