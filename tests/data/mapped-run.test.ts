// A mapped dataset end to end: `ragtax run` on the offline organism models reads the RGB-style
// fixture from the suite alone (no converter), builds the corpus from the items' passages, says so,
// and runs both retrieved and oracle contexts. A second run skips the per-record checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src/rundir/types.js';
import { fixture, repoRoot } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-mapped-run-'));

function ragtax(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/ragtax.js'), ...args], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('ragtax run reads an RGB-style file through fields: and builds its corpus from the passages', () => {
  const suite = path.join(tmp, 'rgb.yaml');
  writeFileSync(suite, `name: rgb-organism
dataset:
  path: ${JSON.stringify(fixture('rgb-fact.json'))}
  fields:
    id: id
    question: query
    answers: answer
    counterfactual: fakeanswer
    passages:
      - path: positive_wrong
      - path: positive
        supporting: true
      - path: negative
models:
  base:
    path: ${JSON.stringify(path.join(repoRoot, 'models/quennland-base'))}
  instruct:
    path: ${JSON.stringify(path.join(repoRoot, 'models/quennland-instruct'))}
    formats: [raw, chat]
pairs:
  - { base: base, instruct: instruct }
grid:
  - k: 3
    instruction: nores
    context: [retrieved, oracle]
`);
  const out = path.join(tmp, 'out');
  const r = ragtax('run', suite, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^corpus: 8 passages from 2 items \(1 duplicate merged\)$/m);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(summary.items, 2);
  const samples = readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { itemId: string; prompt: string; context: string });
  assert.deepEqual([...new Set(samples.map((s) => s.itemId))].sort(), ['0', '1']);
  // The oracle context shows the item's supporting passage (RGB's `positive`).
  assert.ok(samples.some((s) => s.context === 'oracle' && s.prompt.includes('Annie Ernaux was awarded') === false && s.prompt.includes('awarded to the French author Annie Ernaux')));
  assert.equal(readdirSync(path.join(tmp, 'cache/validated')).length, 1, 'the checked file is recorded');
  const again = ragtax('run', suite, '--out', path.join(tmp, 'out2'), '--quiet');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readdirSync(path.join(tmp, 'cache/validated')).length, 1, 'the second run checks nothing new');
});
