// One retrieval pass: each question searched once, every later search answered from its ranking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { createBm25Retriever } from '../../src/retrieval/bm25.js';
import { buildContexts, CONTEXT_MODES } from '../../src/retrieval/contexts.js';
import { metricsDepth, retrievalMetrics } from '../../src/retrieval/metrics.js';
import { onePass } from '../../src/retrieval/one-pass.js';
import { answerRecallAtK } from '../../src/retrieval/recall.js';
import type { ContextMode, Retriever } from '../../src/types.js';
import { fixture, scratchDir } from '../data/helpers.js';
import { doc, fakeRetriever } from './fake-retriever.js';

const docs = Array.from({ length: 6 }, (_, i) => doc(`d${i}`, `text ${i}`));

test('onePass: a prefetched ranking answers every search up to its depth', async () => {
  const inner = fakeRetriever({ a: docs, b: docs.slice().reverse(), short: docs.slice(0, 2) });
  const once = onePass(inner);
  assert.equal(once.name, 'fake');
  await once.prefetch(['a', 'b', 'short', 'a'], 4);
  assert.deepEqual(inner.calls, [{ queries: 3, k: 4 }], 'a repeated query is searched once');
  const [a, b] = await once.search(['a', 'b'], 3);
  assert.deepEqual(a!.map((h) => h.doc.id), ['d0', 'd1', 'd2']);
  assert.deepEqual(a!.map((h) => h.score), [4, 3, 2], 'the first 3 of the 4-deep ranking');
  assert.deepEqual(b!.map((h) => h.doc.id), ['d5', 'd4', 'd3']);
  inner.calls.length = 0;
  await once.search(['a', 'b'], 4);
  await once.search(['short'], 50); // shorter than asked: the retriever has nothing more
  assert.deepEqual(inner.calls, []);
  assert.equal(once.queriesSearched, 3);
});

test('onePass: deeper or new queries go to the retriever and are kept', async () => {
  const inner = fakeRetriever({ a: docs, b: docs });
  const once = onePass(inner);
  await once.prefetch(['a'], 2);
  assert.deepEqual((await once.search(['a', 'b'], 5)).map((hits) => hits.length), [5, 5]);
  assert.deepEqual(inner.calls, [{ queries: 1, k: 2 }, { queries: 2, k: 5 }]);
  await once.search(['a', 'b'], 3);
  assert.equal(inner.calls.length, 2);
  // Prefetching less deep than what is kept searches nothing.
  await once.prefetch(['a', 'b'], 1);
  assert.equal(once.queriesSearched, 3);
});

test('onePass: dispose frees the wrapped retriever', async () => {
  let disposed = 0;
  const inner: Retriever = { name: 'x', search: async (q) => q.map(() => []), dispose: async () => void (disposed += 1) };
  await onePass(inner).dispose();
  assert.equal(disposed, 1);
});

test('onePass over BM25: every context mode, answer recall and gold metrics equal separate searches, from one search per question', async () => {
  const { items, corpus } = await loadDataset({ format: 'ragtax', path: fixture('qa.jsonl'), corpus: fixture('corpus.jsonl'), seed: 0 });
  const bm25 = await createBm25Retriever(corpus, { cacheDir: scratchDir() });
  const corpusById = new Map(corpus.map((d) => [d.id, d]));
  const oracleItems = items.filter((item) => item.goldDocIds !== undefined);
  const ks = [1, 2, 3];
  const depth = Math.max(metricsDepth(ks), ...(['retrieved', 'oracle', 'distractors'] as ContextMode[]).flatMap((mode) => ks.map((k) => CONTEXT_MODES[mode].searchDepth(k))));
  const once = onePass(bm25);
  await once.prefetch(items.map((item) => item.question), depth);
  assert.equal(once.queriesSearched, items.length);
  for (const mode of ['retrieved', 'oracle', 'distractors'] as ContextMode[]) {
    for (const k of ks) {
      const subset = mode === 'oracle' ? oracleItems : items;
      const opts = { mode, k, order: 'ascending' as const, seed: 3, corpusById };
      assert.deepEqual(await buildContexts(subset, once, opts), await buildContexts(subset, bm25, opts), `${mode} k=${k}`);
    }
  }
  assert.deepEqual(await answerRecallAtK(items, once, ks), await answerRecallAtK(items, bm25, ks));
  assert.deepEqual(await retrievalMetrics(items, once, ks), await retrievalMetrics(items, bm25, ks));
  // The pass (100 deep) holds the whole 8-document corpus: nothing was searched again.
  assert.equal(once.queriesSearched, items.length);
});
