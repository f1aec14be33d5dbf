// `lineages:` in a suite file: what loads, and what is refused with the field named.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { keepModels } from '../../src/commands/run.js';
import { inputErrorOf } from './helpers.js';
import { loadSuite } from '../../src/suite/load.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-lineages-'));
let counter = 0;

const HEAD = `name: demo
dataset:
  path: data/qa.jsonl
  corpus: data/corpus.jsonl
models:
  base:
    path: models/base
  sft:
    path: models/sft
    formats: [raw, chat]
  dpo:
    path: models/dpo
    formats: [raw, chat]
  chatonly:
    path: models/chatonly
    formats: [chat]
grid:
  - k: 3
`;

async function load(tail: string, overrides = {}) {
  const file = path.join(dir, `suite-${counter++}.yaml`);
  writeFileSync(file, HEAD + tail);
  return loadSuite(file, overrides);
}

const loadError = (tail: string): Promise<string> => inputErrorOf(() => load(tail));

test('a suite declares lineages beside pairs', async () => {
  const suite = await load(`pairs:
  - { base: base, instruct: sft }
lineages:
  - { name: quennland, stages: [base, sft, dpo] }
  - name: aligned
    stages: [sft, dpo]
`);
  assert.deepEqual(suite.lineages, [
    { name: 'quennland', stages: ['base', 'sft', 'dpo'] },
    { name: 'aligned', stages: ['sft', 'dpo'] },
  ]);
  assert.deepEqual(suite.pairs, [{ base: 'base', instruct: 'sft' }]);
});

test('a suite without lineages keeps its parsed config (and so its config hash) as before', async () => {
  const suite = await load('pairs:\n  - { base: base, instruct: sft }\n');
  assert.deepEqual(suite.lineages, []);
  assert.ok(!('lineages' in suite.config), 'no default is written into the config');
});

test('a stage must name a declared model', async () => {
  const message = await loadError('lineages:\n  - { name: l, stages: [base, sfft] }\n');
  assert.match(message, /suite-\d+\.yaml:\d+: field `lineages\[0\]\.stages\[1\]` names unknown model `sfft`; models: base, sft, dpo, chatonly/);
});

test('stages are distinct', async () => {
  const message = await loadError('lineages:\n  - { name: l, stages: [base, sft, base] }\n');
  assert.match(message, /field `lineages\[0\]\.stages\[2\]` repeats `base` \(also `lineages\[0\]\.stages\[0\]`\)/);
});

test('a lineage has at least two stages', async () => {
  const message = await loadError('lineages:\n  - { name: l, stages: [base] }\n');
  assert.match(message, /field `lineages\[0\]\.stages` name at least two stages/);
});

test('lineage names are unique', async () => {
  const message = await loadError('lineages:\n  - { name: l, stages: [base, sft] }\n  - { name: l, stages: [sft, dpo] }\n');
  assert.match(message, /suite-\d+\.yaml:\d+: field `lineages\[1\]\.name` repeats the name `l` of `lineages\[0\]`/);
});

test('an earlier stage needs the later one\'s format or raw', async () => {
  const message = await loadError('lineages:\n  - { name: l, stages: [chatonly, sft] }\n');
  assert.match(message, /field `lineages\[0\]\.stages\[0\]` `chatonly` is prompted in chat only, so it cannot be compared with `sft` raw .*; add `raw` to `models\.chatonly\.formats`/);
});

test('unknown fields of a lineage are named', async () => {
  const message = await loadError('lineages:\n  - { name: l, stages: [base, sft], models: [x] }\n');
  assert.match(message, /unknown field `models` in `lineages\[0\]` \(did you mean `name`\?\); allowed: name, stages/);
});

test('--models shortens a lineage to the stages it keeps, and drops one left with fewer than two', async () => {
  const notes: string[] = [];
  const suite = await load('lineages:\n  - { name: three, stages: [base, sft, dpo] }\n  - { name: two, stages: [sft, dpo] }\n', { edit: keepModels(['base', 'dpo'], (m) => notes.push(m)) });
  assert.deepEqual(suite.lineages, [{ name: 'three', stages: ['base', 'dpo'] }]);
  assert.deepEqual(notes, ['--models shortens the lineage three to base → dpo', '--models drops the lineage two (fewer than two of its stages are run)']);
});
