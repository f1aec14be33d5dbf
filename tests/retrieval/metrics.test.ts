// Retrieval metrics against hand-computed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metricsFromRankings, ndcgAt, recallAt, reciprocalRankAt, retrievalMetrics } from '../../src/retrieval/metrics.js';
import type { QaItem } from '../../src/types.js';
import { doc, fakeRetriever } from './fake-retriever.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≉ ${b}`);

test('recall@k, nDCG@10 (linear gain) and reciprocal rank of one ranking', () => {
  const grades = new Map([['a', 2], ['b', 1]]);
  const ranked = ['x', 'a', 'y', 'b'];
  assert.equal(recallAt(ranked, grades, 1), 0);
  assert.equal(recallAt(ranked, grades, 2), 0.5);
  assert.equal(recallAt(ranked, grades, 4), 1);
  // DCG = 2/log2(3) + 1/log2(5); IDCG = 2/log2(2) + 1/log2(3)
  close(ndcgAt(ranked, grades, 10), (2 / Math.log2(3) + 1 / Math.log2(5)) / (2 + 1 / Math.log2(3)));
  close(ndcgAt(ranked, grades, 2), 2 / Math.log2(3) / (2 + 1 / Math.log2(3)));
  assert.equal(reciprocalRankAt(ranked, grades, 10), 0.5);
  assert.equal(reciprocalRankAt(ranked, grades, 1), 0);
  assert.equal(ndcgAt(['a', 'b'], grades, 10), 1);
});

test('means over judged items only; qrels grades win over gold ids; grade 0 is not relevant', () => {
  const items: QaItem[] = [
    { id: '1', question: 'q1', answers: [], goldDocIds: ['a', 'b'], relevance: { a: 2, b: 1, z: 0 } },
    { id: '2', question: 'q2', answers: ['x'], goldDocIds: ['g'] },
    { id: '3', question: 'q3', answers: ['x'] },
  ];
  const m = metricsFromRankings(items, [['x', 'a', 'y', 'b'], ['g'], ['a']], [1, 2])!;
  assert.equal(m.n, 2);
  assert.deepEqual(m.recallAtK, [{ k: 1, recall: 0.5 }, { k: 2, recall: 0.75 }]);
  close(m.ndcgAt10, ((2 / Math.log2(3) + 1 / Math.log2(5)) / (2 + 1 / Math.log2(3)) + 1) / 2);
  close(m.mrrAt10, 0.75);
  assert.equal(metricsFromRankings([items[2]!], [['a']], [1]), null);
});

test('retrievalMetrics runs the retriever at depth ≥ 10', async () => {
  const docs = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, doc(id, id)]));
  const retriever = fakeRetriever({ q1: [docs.c!, docs.a!, docs.b!] });
  const m = (await retrievalMetrics([{ id: '1', question: 'q1', answers: [], goldDocIds: ['a'] }], retriever, [1, 3]))!;
  assert.deepEqual(m.recallAtK, [{ k: 1, recall: 0 }, { k: 3, recall: 1 }]);
  close(m.ndcgAt10, 1 / Math.log2(3));
  assert.equal(m.mrrAt10, 0.5);
  assert.equal(retriever.calls[0]!.k, 10);
});
