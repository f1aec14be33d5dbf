// A whole run whose contexts come from a TREC run file (Pyserini's output), on the tiny fixture
// models: the prompts show the run's top k, the retrieval summary is the run's, the manifest hashes it.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runSuite } from '../../src/run/runner.js';
import { loadSuite } from '../../src/suite/load.js';
import type { SampleRecord } from '../../src/types.js';
import { sha256File } from '../../src/util/hash.js';
import { fixture, repoRoot, scratchDir, scratchFile } from '../data/helpers.js';

const RUN = `q1 Q0 d3 1 9.100000 Anserini
q1 Q0 d1 2 8.000000 Anserini
q1 Q0 d6 3 1.000000 Anserini
q2 Q0 d2 1 5.000000 Anserini
q2 Q0 d8 2 4.000000 Anserini
q3 Q0 d5 1 6.000000 Anserini
q3 Q0 d4 2 5.500000 Anserini
q4 Q0 d6 1 7.000000 Anserini
q4 Q0 d8 2 3.000000 Anserini
q5 Q0 d3 1 4.000000 Anserini
q5 Q0 d7 2 1.000000 Anserini
`;

test('ragtax run with retriever trec-run shows the run file\'s top k', async () => {
  const runFile = scratchFile('suite-run.txt', RUN);
  const suiteFile = scratchFile(
    'trec-suite.yaml',
    `name: trec-suite
seed: 7
dataset:
  format: ragtax
  path: ${fixture('qa.jsonl')}
  corpus: ${fixture('corpus.jsonl')}
retrieval:
  retriever: trec-run
  run_file: suite-run.txt
  order: descending
  recall_at: [1, 3]
models:
  base:
    path: ${path.join(repoRoot, 'tests/fixtures/models/tiny-base')}
grid:
  - k: [1, 2]
    instruction: nores
decoding:
  max_new_tokens: 2
metrics:
  bootstrap_samples: 200
`,
  );
  const { summary, outDir } = await runSuite({ suite: await loadSuite(suiteFile), outDir: path.join(scratchDir(), 'trec-run-out'), quiet: true, cache: false });
  const samples = readFileSync(path.join(outDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as SampleRecord);
  const shown = Object.fromEntries(samples.filter((s) => s.k === 2).map((s) => [s.itemId, s.docIds]));
  assert.deepEqual(shown, { q1: ['d3', 'd1'], q2: ['d2', 'd8'], q3: ['d5', 'd4'], q4: ['d6', 'd8'], q5: ['d3', 'd7'] });
  assert.equal(summary.retrieval.retriever, 'trec-run');
  assert.equal(summary.retrieval.indexLoadedFromCache, null);
  // Answers in the top 1: q2 (Paris), q3 (d5 names Mount Everest), q4 (no: the Nile), q5 (the Louvre in Paris), q1 (no: d3).
  assert.deepEqual(summary.retrieval.answerRecallAtK.map((r) => [r.k, r.hits, r.n]), [[1, 3, 5], [2, 5, 5], [3, 5, 5]]);
  // Gold: q1 d1 at 2, q2 d2 at 1, q3 d4 at 2, q4 d8 at 2.
  const gold = summary.retrieval.goldMetrics!;
  assert.deepEqual(gold.recallAtK, [{ k: 1, recall: 0.25 }, { k: 2, recall: 1 }, { k: 3, recall: 1 }]);
  assert.deepEqual(gold.allGoldAtK, [{ k: 1, rate: 0.25 }, { k: 2, rate: 1 }, { k: 3, rate: 1 }]);
  assert.equal(summary.manifest.data[runFile], await sha256File(runFile));
  // The run file is part of what the run was made from: resuming after it changed is refused.
  rmSync(path.join(outDir, 'summary.json'));
  writeFileSync(runFile, RUN.replace('q5 Q0 d7 2 1.000000', 'q5 Q0 d6 2 1.000000'));
  await assert.rejects(runSuite({ suite: await loadSuite(suiteFile), outDir, quiet: true, cache: false, resume: true }), /cannot resume: .*the TREC run data file differs/);
});

test('a retriever\'s own field under another retriever is refused, naming its owner', async () => {
  const suite = (retrieval: string) =>
    scratchFile(
      'foreign-field.yaml',
      `name: foreign
dataset:
  path: ${fixture('qa.jsonl')}
  corpus: ${fixture('corpus.jsonl')}
retrieval:
${retrieval}
models:
  base:
    path: ${path.join(repoRoot, 'tests/fixtures/models/tiny-base')}
grid:
  - k: [1]
    instruction: nores
`,
    );
  await assert.rejects(loadSuite(suite('  retriever: bm25\n  run_file: run.txt')), /foreign-field\.yaml:\d+: field `retrieval\.run_file` is for `retriever: trec-run` only \(this suite uses `retriever: bm25`\)/);
  await assert.rejects(loadSuite(suite('  run_missing: empty')), /`retrieval\.run_missing` is for `retriever: trec-run` only/);
  await assert.rejects(loadSuite(suite('  retriever: dense\n  rrf_k: 10')), /`retrieval\.rrf_k` is for `retriever: hybrid` only/);
  // The owner's own fields load.
  const own = await loadSuite(suite('  retriever: trec-run\n  run_file: run.txt'));
  assert.equal(own.config.retrieval.retriever, 'trec-run');
});
