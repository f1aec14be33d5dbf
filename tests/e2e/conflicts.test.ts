// Knowledge conflicts end to end (docs/conflicts.md): `ragtax run` with a counterfactual context on
// the tiny fixture models. The substituted value is in the prompts (the true answer is not), both
// models see the same prompts, samples record the value, and the conflict metrics reach
// summary.json, summary.csv and report.md for the counterfactual cells only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src/rundir/types.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-conflicts-'));

// Ids carry an answer type (`-place`): q2 and q4 take each other's answer; q1 brings its own value.
const items = [
  { id: 'q1-year', question: 'When was the Eiffel Tower completed?', answers: ['1889'], gold_doc_ids: ['d1'], counterfactual: ['1901'] },
  { id: 'q2-place', question: 'What is the capital of France?', answers: ['Paris'], gold_doc_ids: ['d2'] },
  { id: 'q4-place', question: 'Which river has the largest discharge?', answers: ['Amazon', 'Amazon River'], gold_doc_ids: ['d8'] },
];
const expected: Record<string, string> = { 'q1-year': '1901', 'q2-place': 'Amazon', 'q4-place': 'Paris' };
writeFileSync(path.join(tmp, 'qa.jsonl'), items.map((i) => JSON.stringify(i)).join('\n') + '\n');
const suite = path.join(tmp, 'conflicts.yaml');
writeFileSync(suite, `name: tiny-conflicts
seed: 7
dataset:
  format: ragtax
  path: qa.jsonl
  corpus: ${JSON.stringify(path.join(ROOT, 'tests/fixtures/data/corpus.jsonl'))}
models:
  base:
    path: ${JSON.stringify(path.join(ROOT, 'tests/fixtures/models/tiny-base'))}
  instruct:
    path: ${JSON.stringify(path.join(ROOT, 'tests/fixtures/models/tiny-chat'))}
    formats: [raw, chat]
pairs:
  - { base: base, instruct: instruct }
grid:
  - k: 1
    instruction: nores
    context: [counterfactual, oracle]
decoding:
  max_new_tokens: 6
  stop: ["\\n"]
metrics:
  bootstrap_samples: 200
`);

const out = path.join(tmp, 'run');
const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/ragtax.js'), 'run', suite, '--out', out, '--quiet'], {
  encoding: 'utf8',
  env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') },
});

test('the counterfactual prompts show the substituted value in place of every true answer', () => {
  assert.equal(run.status, 0, run.stderr);
  const samples = readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
  assert.equal(samples.length, 3 * 3 * 2);
  const counterfactual = samples.filter((s) => s.context === 'counterfactual');
  for (const s of counterfactual) {
    const value = expected[s.itemId]!;
    assert.deepEqual(s.contextAnswers, [value], s.itemId);
    const documents = s.prompt.slice(s.prompt.indexOf('Document'), s.prompt.indexOf('Question:'));
    assert.ok(documents.includes(value), `${s.itemId}: ${documents}`);
    for (const answer of s.answers) assert.ok(!new RegExp(`\\b${answer}\\b`, 'i').test(documents), `${s.itemId} still shows ${answer}: ${documents}`);
    assert.equal(typeof s.scores.followsContext, 'boolean');
    assert.equal(s.scores.answerInContext, false);
  }
  // The Amazon document: both aliases replaced, the longer one whole.
  const amazon = counterfactual.find((s) => s.itemId === 'q4-place')!;
  assert.match(amazon.prompt, /The Paris in South America is the largest river/);
  // Oracle samples show the real document and are no conflict.
  for (const s of samples.filter((x) => x.context === 'oracle')) {
    assert.equal(s.contextAnswers, undefined);
    assert.equal(s.scores.followsContext, undefined);
  }
  // Every model sees the same documents: the raw prompts of base and instruct are byte-identical.
  for (const s of counterfactual.filter((x) => x.model === 'base')) {
    const twin = counterfactual.find((x) => x.model === 'instruct' && x.format === 'raw' && x.itemId === s.itemId)!;
    assert.equal(twin.prompt, s.prompt);
  }
});

test('the conflict metrics are in summary.json, summary.csv and report.md for the counterfactual cells', () => {
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as RunSummary;
  for (const c of summary.cells) {
    if (c.context === 'counterfactual') {
      for (const metric of ['followsContext', 'followsMemory', 'conflictRefusal', 'conflictNeither'] as const) {
        assert.equal(typeof c[metric], 'number', `${c.model} ${c.format} ${metric}`);
      }
      const total = c.followsContext! + c.followsMemory! + c.conflictRefusal! + c.conflictNeither!;
      assert.ok(total >= 1 - 1e-9, 'every conflict sample is in at least one of the four');
      assert.equal(c.overRefusalRate, null, 'no refusal in a conflict cell is over-refusal');
    } else {
      assert.equal(c.followsContext, undefined);
    }
  }
  const csv = readFileSync(path.join(out, 'summary.csv'), 'utf8').split('\n')[0]!;
  for (const column of ['followsContext_pct', 'followsMemory_pct', 'conflictRefusal_pct', 'conflictNeither_pct']) assert.ok(csv.includes(column), column);
  assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /follows context/);
});
