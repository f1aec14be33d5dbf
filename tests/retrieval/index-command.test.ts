// `ragtax index`: answer recall@k and the gold metrics (all-gold@k for multi-hop items), from one
// retrieval pass, for an indexed retriever (bm25) and for a TREC run file.
import assert from 'node:assert/strict';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runIndexCommand } from '../../src/commands/build-index.js';
import { fixture, jsonl, repoRoot, scratchDir, scratchFile } from '../data/helpers.js';

async function index(suite: string, extra: { metrics?: boolean } = {}): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await runIndexCommand({ suite, quiet: true, ...extra }, out, new PassThrough());
  return text;
}

function suiteFile(name: string, retrieval: string, data = fixture('qa.jsonl')): string {
  return scratchFile(
    name,
    `name: ${name}
dataset:
  format: ragtax
  path: ${data}
  corpus: ${fixture('corpus.jsonl')}
retrieval:
${retrieval}
models:
  base:
    path: ${path.join(repoRoot, 'tests/fixtures/models/tiny-base')}
grid:
  - k: 1
    instruction: nores
`,
  );
}

test('ragtax index prints answer recall@k and gold metrics from one pass', async () => {
  const text = await index(suiteFile('bm25.yaml', `  retriever: bm25\n  cache_dir: ${path.join(scratchDir(), 'cache')}\n  recall_at: [2]`));
  assert.match(text, /^retrieved the top 100 for 5 questions in [\d.]+ s$/m);
  assert.match(text, /^answer recall \(5 answerable items\): R@1 [\d.]+ {2}R@2 [\d.]+ {2}R@5 [\d.]+ {2}R@10 1\.0000 {2}R@100 1\.0000$/m);
  // One gold document per item: all-gold@k would repeat recall@k and is not printed.
  assert.match(text, /^retrieval \(4 judged items\): R@1 [\d.]+ {2}R@2 [\d.]+ {2}R@5 [\d.]+ {2}R@10 [\d.]+ {2}R@100 [\d.]+ {2}nDCG@10 [\d.]+ {2}MRR@10 [\d.]+$/m);
  assert.doesNotMatch(await index(suiteFile('bm25.yaml', `  retriever: bm25\n  cache_dir: ${path.join(scratchDir(), 'cache')}`), { metrics: false }), /recall/);
});

test('ragtax index with a TREC run file: what was read, answer recall, all-gold@k for multi-gold items', async () => {
  const items = scratchFile(
    'multi.jsonl',
    jsonl(
      { id: 'h1', question: 'Which tower in Paris was completed in 1889?', answers: ['Eiffel Tower'], gold_doc_ids: ['d1', 'd2'] },
      { id: 'h2', question: 'What is the highest mountain on Earth?', answers: ['Everest'], gold_doc_ids: ['d4'] },
    ),
  );
  scratchFile('multi-run.txt', 'h1 Q0 d1 1 9.000000 Anserini\nh1 Q0 d3 2 5.000000 Anserini\nh1 Q0 d2 3 4.000000 Anserini\nh2 Q0 d5 1 3.000000 Anserini\nh2 Q0 d4 2 2.500000 Anserini\n');
  const text = await index(suiteFile('trec.yaml', '  retriever: trec-run\n  run_file: multi-run.txt', items));
  assert.match(text, /^suite trec\.yaml: 8 documents, 2 items, retriever trec-run$/m);
  assert.match(text, /^trec-run: read .*multi-run\.txt \(5 lines, 2 queries; 2 items ranked up to 3 deep; [\d.]+ s\)$/m);
  // h1's answer is in d1 (rank 1); h2's in d4 (rank 2), and d5 mentions Mount Everest too (rank 1).
  assert.match(text, /^answer recall \(2 answerable items\): R@1 1\.0000 {2}R@5 1\.0000/m);
  // h1: d1 at 1, d2 at 3 (recall@1 1/2, all-gold only at 3); h2: d4 at 2.
  assert.match(text, /^retrieval \(2 judged items\): R@1 0\.2500 {2}R@5 1\.0000 {2}R@10 1\.0000 {2}R@100 1\.0000 {2}all-gold@1 0\.0000 {2}all-gold@5 1\.0000 {2}all-gold@10 1\.0000 {2}all-gold@100 1\.0000 {2}nDCG@10 [\d.]+ {2}MRR@10 0\.7500$/m);
});
