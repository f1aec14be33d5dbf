#!/usr/bin/env node
// Adds lock entries for node-llama-cpp's prebuilt packages of OTHER platforms when `npm install`
// could not resolve them (a registry mirror that carries only this platform's builds leaves them
// out, and `npm ci` then rejects the lock as out of sync). The entries carry `os`/`cpu`, so npm
// skips them on every platform they do not match and fetches them by name@version where they do.
// Run after any `npm install` that changes package-lock.json: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const OS = { linux: 'linux', mac: 'darwin', win: 'win32' };
const CPU = { x64: 'x64', arm64: 'arm64', armv7l: 'arm', riscv64: 'riscv64' };

const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
let added = 0;
for (const [where, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const match = /^@node-llama-cpp\/(linux|mac|win)-(x64|arm64|armv7l|riscv64)(?:-.+)?$/.exec(name);
    if (lock.packages[key] || !match) continue;
    const [, os, cpu] = match;
    lock.packages[key] = { version, cpu: [CPU[cpu]], license: 'MIT', optional: true, os: [OS[os]], engines: { node: '>=20.0.0' } };
    added += 1;
    console.log(`added ${key}@${version} (${OS[os]}/${CPU[cpu]}), wanted by ${where || 'the project'}`);
  }
}
// npm keeps `packages` sorted by path; keep the file stable.
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(LOCK, JSON.stringify(lock, null, 2) + '\n');
console.log(added === 0 ? 'package-lock.json already complete' : `package-lock.json: ${added} entries added`);
