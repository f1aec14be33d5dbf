// `scoring: minisearch`: the fast BM25 scorer gives exactly MiniSearch's own scores and order (ties in corpus order).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import MiniSearch from 'minisearch';
import { createBm25Retriever } from '../../src/retrieval/bm25.js';
import { miniSearchOptions, type IndexedDoc } from '../../src/retrieval/bm25-minisearch.js';
import { STOPWORDS } from '../../src/retrieval/tokenize.js';
import { uniformSource, zipfPassages } from '../../scripts/synthetic.js';
import type { Doc } from '../../src/types.js';

test('same scores and ranking as MiniSearch search() on Zipfian passages', async () => {
  const corpus: Doc[] = zipfPassages(1500, 3000, 5).map((p, i) => ({ id: `p${i}`, ...p }));
  const reference = new MiniSearch<IndexedDoc>(miniSearchOptions({ k: 1.2, b: 0.75, d: 0, stopwords: STOPWORDS }));
  reference.addAll(corpus.map((d, i) => ({ i, title: d.title, text: d.text })));
  const bm25 = await createBm25Retriever(corpus, { settings: { scoring: 'minisearch' } });
  const uniform = uniformSource(9);
  const queries = Array.from({ length: 60 }, () => {
    const words = corpus[Math.floor(uniform() * corpus.length)]!.text.split(' ');
    return Array.from({ length: 1 + Math.floor(uniform() * 5) }, () => words[Math.floor(uniform() * words.length)]!).join(' ');
  });
  queries.push('nothing matches zzzz', 'ka ka lo'); // no match; a repeated term
  const results = await bm25.search(queries, 25);
  queries.forEach((q, n) => {
    const expected = reference
      .search(q)
      .map((h) => ({ i: h.id as number, score: h.score }))
      .sort((a, b) => b.score - a.score || a.i - b.i)
      .slice(0, 25);
    const got = results[n]!.slice(0, expected.length);
    assert.deepEqual(got.map((h) => h.doc.id), expected.map((h) => `p${h.i}`), q);
    got.forEach((h, j) => assert.equal(h.score, expected[j]!.score, q));
    for (const pad of results[n]!.slice(expected.length)) assert.equal(pad.score, 0);
  });
});
