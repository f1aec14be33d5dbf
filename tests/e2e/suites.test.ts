// Every shipped suite is valid, and the real datasets flow through the whole pipeline.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runSuite } from '../../src/run/runner.js';
import type { RunSummary } from '../../src/rundir/types.js';
import { loadSuite } from '../../src/suite/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SHARED = path.resolve(ROOT, '../shared/datasets');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-suites-'));

function suiteFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? suiteFiles(path.join(dir, e.name)) : e.name.endsWith('.yaml') ? [path.join(dir, e.name)] : [],
  );
}

test('every suite in suites/ validates', async () => {
  const files = suiteFiles(path.join(ROOT, 'suites'));
  assert.ok(files.length >= 3);
  for (const file of files) {
    const suite = await loadSuite(file);
    assert.ok(suite.points.length > 0, file);
  }
});

function tinySuite(name: string, dataset: string, extraGrid = ''): string {
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
seed: 3
dataset:
${dataset}
  fewshot_size: 4
  limit: 8
models:
  base: { path: ${path.join(ROOT, 'tests/fixtures/models/tiny-base')} }
  instruct: { path: ${path.join(ROOT, 'tests/fixtures/models/tiny-chat')}, formats: [raw, chat] }
pairs:
  - { base: base, instruct: instruct }
grid:
  - k: [1, 2]
    instruction: nores
${extraGrid}
decoding:
  max_new_tokens: 4
  stop: ["\\n"]
metrics:
  bootstrap_samples: 100
`,
  );
  return file;
}

async function runTiny(file: string): Promise<RunSummary> {
  const suite = await loadSuite(file);
  const { summary } = await runSuite({ suite, outDir: path.join(tmp, `${suite.name}-out`), quiet: true });
  return summary;
}

const squad = path.join(SHARED, 'squad2_cs224n/dev-v2.0.json');
test('SQuAD v2 through BM25, distractors and the tiny models', { skip: !existsSync(squad) && 'shared datasets absent' }, async () => {
  const summary = await runTiny(
    tinySuite('squad', `  format: squad2\n  path: ${squad}`, '  - k: 2\n    instruction: nores\n    context: [oracle, distractors]'),
  );
  assert.equal(summary.items, 8);
  assert.equal(summary.retrieval.corpusSize, 646);
  assert.equal(summary.retrieval.answerInContext['distractors@2'], 0, 'distractors never hold the answer');
  assert.ok(summary.pairs.length > 0);
  const samples = readFileSync(path.join(tmp, 'squad-out/samples.jsonl'), 'utf8').trim().split('\n');
  assert.equal(samples.length, 8 * 3 * 4);
});

const litm = path.join(SHARED, 'nq_open_oracle_litm/nq-open-oracle.jsonl.gz');
test('lost-in-the-middle items with precomputed contexts', { skip: !existsSync(litm) && 'shared datasets absent' }, async () => {
  const file = tinySuite('litm', `  format: litm\n  path: ${litm}`);
  // The oracle file carries exactly one passage per item, so k = 1.
  writeFileSync(file, readFileSync(file, 'utf8').replace('pairs:', 'retrieval:\n  retriever: precomputed\npairs:').replace('k: [1, 2]', 'k: 1'));
  const summary = await runTiny(file);
  assert.equal(summary.retrieval.retriever, 'precomputed');
  assert.equal(summary.items, 8);
});

const nq = path.join(SHARED, 'nq_open/NQ-open.dev.jsonl');
test('NQ-open closed book', { skip: !existsSync(nq) && 'shared datasets absent' }, async () => {
  const file = tinySuite('nq', `  format: nq-open\n  path: ${nq}`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/grid:\n(.|\n)*?decoding:/, 'grid:\n  - instruction: closed-book\ndecoding:'));
  const summary = await runTiny(file);
  assert.ok(summary.cells.every((c) => c.context === 'closed-book'));
  assert.equal(summary.cells.length, 3);
});
