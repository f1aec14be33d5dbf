// ragtax's default BM25 (Lucene's formula over the postings file, bm25-disk.ts): Lucene's length
// quantisation, the exact formula on a hand-computed case, and MaxScore top-k equal to exhaustive
// scoring (ids and scores, bit for bit) for several k, both length modes, and builds that spill runs.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createBm25Retriever } from '../../src/retrieval/bm25.js';
import { Bm25DiskIndex, buildDiskIndex, intToByte4, LENGTH_TABLE, type LengthMode } from '../../src/retrieval/bm25-disk.js';
import { LUCENE_STOPWORDS, tokenize } from '../../src/retrieval/tokenize.js';
import type { Doc } from '../../src/types.js';
import { uniformSource, zipfPassages } from '../../scripts/synthetic.js';
import { scratchDir } from '../data/helpers.js';

const freshDir = () => mkdtempSync(path.join(scratchDir(), 'bm25-lucene-'));

test("Lucene's SmallFloat.intToByte4 and BM25Similarity.LENGTH_TABLE", () => {
  // Values of Lucene 9's SmallFloat: exact below 40, then 3 significant bits after an offset of 24.
  const cases: [number, number, number][] = [
    [0, 0, 0], [1, 1, 1], [23, 23, 23], [24, 24, 24], [39, 39, 39], [40, 40, 40], [41, 40, 40], [42, 41, 42],
    [55, 47, 54], [56, 48, 56], [100, 57, 96], [103, 57, 96], [104, 58, 104], [1000, 87, 984], [2 ** 31 - 1, 255, 2013265944],
  ];
  for (const [length, byte, decoded] of cases) {
    assert.equal(intToByte4(length), byte, `intToByte4(${length})`);
    assert.equal(LENGTH_TABLE[byte], decoded, `LENGTH_TABLE[${byte}]`);
  }
  for (let length = 0; length < 5000; length++) assert.ok(LENGTH_TABLE[intToByte4(length)]! <= length, 'decoding never overstates a length');
});

test('the formula on a hand-computed case: idf over documents with tokens, one field, no coordination factor', async () => {
  const corpus: Doc[] = [
    { id: 'a', title: 'Apple', text: 'apple pie with cream' }, // apple ×2, pie, cream: 4 tokens (with is a stopword)
    { id: 'b', title: '', text: 'banana bread and banana cake' }, // 4 tokens
    { id: 'c', title: '', text: 'the of and' }, // no tokens: not counted in N or avgdl
    { id: 'd', title: 'Pie', text: 'cherry' }, // 2 tokens
  ];
  const bm25 = await createBm25Retriever(corpus, { settings: { lengths: 'exact' } });
  const [hits] = await bm25.search(['apple pie'], 4);
  const N = 3;
  const avgdl = 10 / 3;
  const idf = (n: number) => Math.log(1 + (N - n + 0.5) / (n + 0.5));
  const norm = (dl: number) => 1.2 * (1 - 0.75 + (0.75 * dl) / avgdl);
  const a = (idf(1) * 2) / (2 + norm(4)) + (idf(2) * 1) / (1 + norm(4));
  const d = (idf(2) * 1) / (1 + norm(2));
  assert.deepEqual(
    hits!.map((h) => [h.doc.id, h.score]),
    [
      ['a', a],
      ['d', d],
      ['b', 0],
      ['c', 0],
    ],
  );
  // No coordination factor: a document matching one term is not multiplied down; repeated query terms count twice.
  const [twice] = await bm25.search(['cherry cherry'], 1);
  assert.equal(twice![0]!.score, (2 * idf(1) * 1) / (1 + norm(2)));
});

test('ties go to corpus order', async () => {
  const corpus: Doc[] = ['x y', 'z', 'x y', 'x y'].map((text, i) => ({ id: `d${i}`, title: '', text }));
  const bm25 = await createBm25Retriever(corpus);
  const [hits] = await bm25.search(['x'], 2);
  assert.deepEqual(hits!.map((h) => h.doc.id), ['d0', 'd2']);
});

test('stopwords: a suite list replaces Lucene\'s', async () => {
  const corpus: Doc[] = [
    { id: 'a', title: '', text: 'the cat' },
    { id: 'b', title: '', text: 'a dog' },
  ];
  const lucene = await createBm25Retriever(corpus);
  assert.deepEqual((await lucene.search(['the'], 1))[0]!.map((h) => h.score), [0], '"the" is a Lucene stopword');
  const custom = await createBm25Retriever(corpus, { settings: { stopwords: ['Cat'] } });
  const [the, cat] = await custom.search(['the', 'cat'], 1);
  assert.equal(the![0]!.doc.id, 'a');
  assert.ok(the![0]!.score > 0);
  assert.equal(cat![0]!.score, 0, 'the given word is folded like the tokenizer folds words');
});

/** Exhaustive BM25 over the tokenised corpus: every document scored, sorted by score then corpus order. */
function exhaustive(corpus: { title: string; text: string }[], lengths: LengthMode, k1: number, b: number) {
  const toks = corpus.map((d) => tokenize(`${d.title} ${d.text}`, LUCENE_STOPWORDS));
  const withTokens = toks.filter((t) => t.length > 0).length;
  const avgdl = toks.reduce((s, t) => s + t.length, 0) / withTokens;
  const df = new Map<string, number>();
  for (const t of toks) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1);
  const tfs = toks.map((t) => {
    const m = new Map<string, number>();
    for (const w of t) m.set(w, (m.get(w) ?? 0) + 1);
    return m;
  });
  return (query: string[], k: number) => {
    const qtf = new Map<string, number>();
    for (const w of query) qtf.set(w, (qtf.get(w) ?? 0) + 1);
    const scored: { i: number; score: number }[] = [];
    toks.forEach((t, i) => {
      const dl = lengths === 'lucene' ? LENGTH_TABLE[intToByte4(t.length)]! : t.length;
      const norm = k1 * (1 - b + (b * dl) / avgdl);
      let score = 0;
      let hit = false;
      for (const [w, c] of qtf) {
        const tf = tfs[i]!.get(w);
        if (!tf) continue;
        const n = df.get(w)!;
        score += (c * Math.log(1 + (withTokens - n + 0.5) / (n + 0.5)) * tf) / (tf + norm);
        hit = true;
      }
      if (hit) scored.push({ i, score });
    });
    return scored.sort((x, y) => y.score - x.score || x.i - y.i).slice(0, k);
  };
}

test('MaxScore top-k equals exhaustive scoring bit for bit (Zipfian passages, spilled runs, both length modes, k 1 to 100)', async () => {
  const corpus = zipfPassages(2500, 2000, 11);
  const file = path.join(freshDir(), 'index.idx');
  const stats = await buildDiskIndex(corpus, file, { stopwords: LUCENE_STOPWORDS, runPostings: 7_000 });
  assert.ok(stats.runs > 5, `spilled ${stats.runs} runs`);
  const uniform = uniformSource(4);
  const queries = Array.from({ length: 160 }, () => {
    const words = corpus[Math.floor(uniform() * corpus.length)]!.text.split(' ');
    return Array.from({ length: 1 + Math.floor(uniform() * 6) }, () => words[Math.floor(uniform() * words.length)]!);
  });
  queries.push(['zzzz'], [], ['ka', 'ka', 'lo']);
  for (const [lengths, k1, b] of [
    ['lucene', 1.2, 0.75],
    ['exact', 0.9, 0.4],
  ] as const) {
    const index = Bm25DiskIndex.open(file, corpus.length, { k1, b, lengths });
    const reference = exhaustive(corpus, lengths, k1, b);
    queries.forEach((q, n) => {
      const k = [1, 3, 10, 100][n % 4]!;
      assert.deepEqual(index.search(q, k), reference(q, k), `${lengths}: ${q.join(' ')} (k ${k})`);
    });
    index.verify();
    index.close();
  }
});

test('a build in one run and a build in many give the same file', async () => {
  const corpus = zipfPassages(600, 500, 3);
  const dir = freshDir();
  const one = path.join(dir, 'one.idx');
  const many = path.join(dir, 'many.idx');
  await buildDiskIndex(corpus, one, { stopwords: LUCENE_STOPWORDS });
  await buildDiskIndex(corpus, many, { stopwords: LUCENE_STOPWORDS, runPostings: 500 });
  const { readFileSync, readdirSync } = await import('node:fs');
  assert.deepEqual(readFileSync(many), readFileSync(one));
  assert.deepEqual(readdirSync(dir).sort(), ['many.idx', 'one.idx'], 'no run files or temporary files left');
});
