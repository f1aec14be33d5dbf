import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { createBm25Retriever } from '../../src/retrieval/bm25.js';
import { answerRecallAtK } from '../../src/retrieval/recall.js';
import type { QaItem } from '../../src/types.js';
import { sharedDataset } from '../data/helpers.js';
import { doc, fakeRetriever } from './fake-retriever.js';

test('recall@k over answerable items, from one retrieval pass at max k', async () => {
  const hit = doc('h', 'Paris is the capital');
  const miss = doc('m', 'nothing here');
  const retriever = fakeRetriever({ a: [hit, miss], b: [miss, hit], c: [miss, miss], u: [hit] });
  const items: QaItem[] = [
    { id: 'a', question: 'a', answers: ['Paris'] },
    { id: 'b', question: 'b', answers: ['Paris'] },
    { id: 'c', question: 'c', answers: ['Paris'] },
    { id: 'u', question: 'u', answers: [], unanswerable: true },
  ];
  const result = await answerRecallAtK(items, retriever, [1, 2]);
  assert.deepEqual(result, [
    { k: 1, recall: 1 / 3, hits: 1, n: 3 },
    { k: 2, recall: 2 / 3, hits: 2, n: 3 },
  ]);
  assert.deepEqual(retriever.calls, [{ queries: 3, k: 2 }]);
  assert.deepEqual(await answerRecallAtK([items[3]!], retriever, [1]), [{ k: 1, recall: null, hits: 0, n: 0 }]);
  await assert.rejects(answerRecallAtK(items, retriever, [0]), /whole k ≥ 1/);
});

const SQUAD = sharedDataset('squad2_cs224n/dev-v2.0.json');

test('SQuAD v2 (CS224N): BM25 answer recall@k on answerable items', { skip: !existsSync(SQUAD) && 'shared datasets absent' }, async () => {
  const { items, corpus } = await loadDataset({ format: 'squad2', path: SQUAD, seed: 0 });
  const started = performance.now();
  const bm25 = await createBm25Retriever(corpus);
  const buildMs = performance.now() - started;
  const recall = await answerRecallAtK(items, bm25, [1, 5, 10]);
  const at5 = recall.find((r) => r.k === 5)!;
  console.log(
    `SQuAD v2 BM25 over ${corpus.length} paragraphs (index ${buildMs.toFixed(0)} ms): ` +
      recall.map((r) => `recall@${r.k} = ${(r.recall! * 100).toFixed(1)}%`).join(', ') +
      ` (n = ${at5.n})`,
  );
  assert.ok(at5.recall! > 0.5, `recall@5 = ${at5.recall}`);
});
