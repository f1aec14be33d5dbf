// The trec-run retriever on small run files written as Pyserini writes them
// (`python -m pyserini.search.lucene ... --output run.txt`: `qid Q0 docid rank score Anserini`, scores
// with six decimals, ranks from 1).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { buildContexts } from '../../src/retrieval/contexts.js';
import { retrievalMetrics } from '../../src/retrieval/metrics.js';
import { answerRecallAtK } from '../../src/retrieval/recall.js';
import { openRetriever } from '../../src/retrieval/retrievers.js';
import { createTrecRunRetriever } from '../../src/retrieval/trec-run.js';
import type { QaItem } from '../../src/types.js';
import { fixture, scratchDir, scratchFile } from '../data/helpers.js';

const { items, corpus } = await loadDataset({ format: 'ragtax', path: fixture('qa.jsonl'), corpus: fixture('corpus.jsonl'), seed: 0 });
const question = (id: string) => items.find((item) => item.id === id)!.question;
const ids = (hits: { doc: { id: string } }[]) => hits.map((h) => h.doc.id);

// Pyserini's output for the five fixture questions (plus a query of another split, `q99`).
const PYSERINI_RUN = `q1 Q0 d1 1 7.213500 Anserini
q1 Q0 d3 2 2.104200 Anserini
q1 Q0 d2 3 1.877000 Anserini
q2 Q0 d2 1 5.331900 Anserini
q2 Q0 d7 2 5.331900 Anserini
q2 Q0 d3 3 1.001000 Anserini
q3 Q0 d4 1 6.020000 Anserini
q3 Q0 d5 2 4.500000 Anserini
q4 Q0 d8 1 8.100000 Anserini
q4 Q0 d6 2 2.200000 Anserini
q5 Q0 d3 1 4.400000 Anserini
q5 Q0 d2 2 1.200000 Anserini
q99 Q0 d6 1 3.000000 Anserini
`;

test('trec-run: each item ranked by its own qid, best first, cut at k', async () => {
  const file = scratchFile('pyserini.txt', PYSERINI_RUN);
  const run = await createTrecRunRetriever(file, { items, corpus });
  assert.equal(run.name, 'trec-run');
  const [q1, q3] = await run.search([question('q1'), question('q3')], 2);
  assert.deepEqual(ids(q1!), ['d1', 'd3']);
  assert.deepEqual(q1!.map((h) => h.score), [7.2135, 2.1042]);
  assert.deepEqual(q1![0]!.doc, corpus.find((d) => d.id === 'd1'));
  assert.deepEqual(ids(q3!), ['d4', 'd5']);
  // Deeper than the run: what it has.
  assert.deepEqual(ids((await run.search([question('q3')], 10))[0]!), ['d4', 'd5']);
  assert.deepEqual(run.stats, { ...run.stats, file, lines: 13, queries: 6, matchedItems: 5, missingItems: 0, maxDepth: 3 });
});

test('trec-run: order as trec_eval (score descending, ties by docid descending), not the rank column', async () => {
  // The ranks are deliberately wrong and the lines shuffled: trec_eval reads only the scores.
  const file = scratchFile('order.txt', 'q1 Q0 d2 1 1.5 run\nq1 Q0 d1 2 9 run\nq1 Q0 d4 3 3.25 tag\nq1 Q0 d5 9 3.25 tag\nq1 Q0 d3 0 -2e-1 x\n');
  const run = await createTrecRunRetriever(file, { items: items.slice(0, 1), corpus });
  const [hits] = await run.search([question('q1')], 5);
  assert.deepEqual(ids(hits!), ['d1', 'd5', 'd4', 'd2', 'd3']);
  assert.deepEqual(hits!.map((h) => h.score), [9, 3.25, 3.25, 1.5, -0.2]);
});

test('trec-run: tabs, repeated spaces, blank lines and gzip are read', async () => {
  const text = PYSERINI_RUN.replaceAll(' ', '\t').replace('q1\tQ0\td3', 'q1   Q0 \t d3') + '\n\n';
  const file = scratchFile('pyserini.txt.gz', text);
  const run = await createTrecRunRetriever(file, { items, corpus });
  assert.deepEqual(ids((await run.search([question('q1')], 3))[0]!), ['d1', 'd3', 'd2']);
  assert.equal(run.stats.lines, 13);
});

test('trec-run: contexts, answer recall and gold metrics from a run file', async () => {
  const run = await createTrecRunRetriever(scratchFile('pyserini.txt', PYSERINI_RUN), { items, corpus });
  const corpusById = new Map(corpus.map((d) => [d.id, d]));
  const [q2] = await buildContexts([items[1]!], run, { mode: 'retrieved', k: 2, order: 'ascending', seed: 0, corpusById });
  // q2's top two (a tie, d7 before d2) are the same text: the duplicate is dropped, d3 fills in.
  assert.deepEqual(q2!.docs.map((d) => d.id), ['d3', 'd7']);
  const recall = await answerRecallAtK(items, run, [1, 2]);
  assert.deepEqual(recall.map((r) => [r.k, r.hits, r.n]), [[1, 5, 5], [2, 5, 5]]);
  const metrics = await retrievalMetrics(items, run, [1, 2]);
  // q1 d1 rank 1; q2 d2 rank 2 (the tie goes to d7); q3 d4 rank 1; q4 d8 rank 1. q5 has no gold.
  assert.equal(metrics!.n, 4);
  assert.deepEqual(metrics!.recallAtK, [{ k: 1, recall: 0.75 }, { k: 2, recall: 1 }]);
  assert.equal(metrics!.mrrAt10, (1 + 0.5 + 1 + 1) / 4);
});

test('trec-run: bad lines are InputErrors naming file and line', async () => {
  const cases: [string, RegExp][] = [
    ['q1 Q0 d1 1 7.2\n', /bad\.txt:1: expected 6 whitespace-separated fields `qid Q0 docid rank score tag`, found 5/],
    ['q1 Q0 d1 1 7.2 a\nq1 Q0 d2 2 high a\n', /bad\.txt:2: score `high` is not a finite number/],
    ['q1 Q0 d1 1 NaN a\n', /bad\.txt:1: score `NaN` is not a finite number/],
    ['q1 Q0 d1 first 7.2 a\n', /bad\.txt:1: rank `first` is not a whole number/],
    ['q1 Q0 d1 1 7.2 a\n\nq1 Q0 d1 2 7.1 a\n', /bad\.txt:3: query `q1` lists document `d1` twice \(also on line 1\)/],
    ['q1 Q0 d1 1 7.2 a\nq1 Q0 d404 2 7.1 a\nq2 Q0 x 1 1 a\n', /bad\.txt:2: document `d404` \(query `q1`\) is not in the corpus \(8 documents\); 2 of the 3 documents the run ranks for the items are missing from it/],
  ];
  for (const [text, message] of cases) {
    const file = scratchFile('bad.txt', text);
    await assert.rejects(createTrecRunRetriever(file, { items: items.slice(0, 2), corpus }), message);
  }
  await assert.rejects(createTrecRunRetriever(path.join(scratchDir(), 'absent.txt'), { items, corpus }), /absent\.txt: file not found/);
});

test('trec-run: items without lines are an error when searched (count and first ids), or empty rankings', async () => {
  const file = scratchFile('partial.txt', 'q1 Q0 d1 1 7.2 Anserini\n');
  const run = await createTrecRunRetriever(file, { items, corpus });
  assert.equal(run.stats.missingItems, 4);
  // Items that are never searched need no line.
  assert.equal((await run.search([question('q1')], 1))[0]![0]!.doc.id, 'd1');
  await assert.rejects(run.search([question('q1'), question('q2')], 1), /partial\.txt: 4 of 5 items have no line in the run \(`q2`, `q3`, `q4`, `q5`\)\. A query id \(the first field\) must be an item id; .*`retrieval\.run_missing: empty`/);
  const empty = await createTrecRunRetriever(file, { items, corpus, missing: 'empty' });
  assert.deepEqual(await empty.search([question('q2'), question('q1')], 1), [[], [(await run.search([question('q1')], 1))[0]![0]!]]);
  const recall = await answerRecallAtK(items, empty, [1]);
  assert.deepEqual([recall[0]!.hits, recall[0]!.n], [1, 5]);

  // No qid matches: both id forms are shown.
  const other = await createTrecRunRetriever(scratchFile('numbers.txt', '1 Q0 d1 1 7.2 a\n2 Q0 d2 1 7.2 a\n'), { items, corpus });
  await assert.rejects(other.search([question('q1')], 1), /5 of 5 items have no line in the run \(`q1`, `q2`, `q3`, `q4`, `q5`\); the run's qids look like `1`, `2`\./);
});

test('trec-run: two items with one question need one ranking', async () => {
  const twins: QaItem[] = [items[0]!, { ...items[0]!, id: 'q1-copy' }];
  const file = scratchFile('twins.txt', 'q1 Q0 d1 1 7.2 a\nq1-copy Q0 d2 1 7.2 a\n');
  await assert.rejects(createTrecRunRetriever(file, { items: twins, corpus }), /items `q1` and `q1-copy` ask the same question with different rankings/);
  const same = scratchFile('twins-same.txt', 'q1 Q0 d1 1 7.2 a\nq1-copy Q0 d1 1 7.2 a\n');
  assert.equal((await createTrecRunRetriever(same, { items: twins, corpus })).stats.matchedItems, 2);
});

test('trec-run in the retriever table: run_file relative to the suite, required', async () => {
  scratchFile('pyserini.txt', PYSERINI_RUN);
  const suiteFile = path.join(scratchDir(), 'suite.yaml');
  const opened = await openRetriever('trec-run', { run_file: 'pyserini.txt' }, { suiteFile, corpus, items });
  assert.match(opened.note!, /^trec-run: read .*pyserini\.txt \(13 lines, 6 queries; 5 items ranked up to 3 deep; [\d.]+ s\)$/);
  assert.equal(opened.fromCache, null);
  assert.deepEqual(ids((await opened.retriever.search([question('q4')], 1))[0]!), ['d8']);
  await assert.rejects(openRetriever('trec-run', {}, { suiteFile, corpus, items }), /suite\.yaml: `retrieval\.run_file` is needed by the trec-run retriever/);
  await assert.rejects(openRetriever('trec-run', { run_file: 'pyserini.txt' }, { suiteFile, corpus: [], items }), /`dataset\.corpus` is needed: the trec-run retriever has no documents to search/);
});
