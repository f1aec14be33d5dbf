// Reciprocal rank fusion against hand-computed scores.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHybridRetriever, reciprocalRankFusion } from '../../src/retrieval/hybrid.js';
import type { Doc, Retriever, ScoredDoc } from '../../src/types.js';
import { doc } from './fake-retriever.js';

const d = Object.fromEntries(['a', 'b', 'c', 'd', 'x', 'y'].map((id) => [id, doc(id, `text ${id}`)])) as Record<string, Doc>;
const list = (...ids: string[]): ScoredDoc[] => ids.map((id, i) => ({ doc: d[id]!, score: 10 - i }));

test('RRF with k = 60: scores are Σ 1/(60 + rank), best first', () => {
  const fused = reciprocalRankFusion([list('a', 'b', 'c'), list('d', 'x', 'y', 'b')], 60, 10);
  // a 1/61; b 1/62 + 1/64; c 1/63; d 1/61; x 1/62; y 1/63
  assert.deepEqual(fused.map((h) => h.doc.id), ['b', 'a', 'd', 'x', 'c', 'y']);
  assert.ok(Math.abs(fused[0]!.score - (1 / 62 + 1 / 64)) < 1e-12);
  assert.ok(Math.abs(fused[1]!.score - 1 / 61) < 1e-12);
  // a and d tie at 1/61 (both rank 1): the earlier list wins; so do c and y at 1/63.
});

test('the fusion constant changes the order: k = 0 favours top ranks', () => {
  const lists = [list('a', 'b', 'c', 'x'), list('x', 'y', 'c', 'b')];
  // k = 0: a 1; b 1/2 + 1/4 = 0.75; c 1/3 + 1/3; x 1/4 + 1 = 1.25; y 1/2
  assert.deepEqual(reciprocalRankFusion(lists, 0, 3).map((h) => h.doc.id), ['x', 'a', 'b']);
  // k = 60: x 1/64 + 1/61 = 0.032018 > b 1/62 + 1/64 = 0.031754 > c 2/63 = 0.031746 > a 1/61 = 0.016393
  assert.deepEqual(reciprocalRankFusion(lists, 60, 4).map((h) => h.doc.id), ['x', 'b', 'c', 'a']);
});

test('hybrid retriever: BM25 padding (score 0) is not a match; every query gets k documents', async () => {
  const disposed: string[] = [];
  const sparse: Retriever = {
    name: 'bm25',
    async search(queries) {
      return queries.map(() => [{ doc: d.a!, score: 2.5 }, { doc: d.b!, score: 0 }, { doc: d.c!, score: 0 }]);
    },
    dispose: async () => {
      disposed.push('bm25');
    },
  };
  const dense: Retriever = {
    name: 'dense',
    async search(queries, k) {
      return queries.map(() => list('b', 'c', 'a').slice(0, k));
    },
    dispose: async () => {
      disposed.push('dense');
    },
  };
  const hybrid = createHybridRetriever([{ retriever: sparse, sparse: true }, { retriever: dense }], { corpusSize: 3 });
  const [hits] = await hybrid.search(['q'], 3);
  // a: 1/61 + 1/63; b: 1/61 (its BM25 padding rank is ignored); c: 1/62
  assert.deepEqual(hits!.map((h) => h.doc.id), ['a', 'b', 'c']);
  assert.equal(hybrid.name, 'hybrid');
  await hybrid.dispose();
  assert.deepEqual(disposed, ['bm25', 'dense'], 'disposing the fusion frees both retrievers');
  const [one] = await hybrid.search(['q'], 1);
  assert.deepEqual(one!.map((h) => h.doc.id), ['a']);
});
