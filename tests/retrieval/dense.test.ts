// Vector indexes and the dense retriever with a deterministic fake embedder: exact search against
// a sort, exact vs HNSW agreement, index reuse, rebuilds and clear errors for unusable indexes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { chooseKind, createDenseRetriever } from '../../src/retrieval/dense.js';
import type { Embedder, EmbedRole } from '../../src/retrieval/embedder.js';
import { clusteredVectors } from '../../scripts/synthetic.js';
import { checkIndex, ExactIndex, HnswIndex, IndexProblem } from '../../src/retrieval/vector-index.js';
import type { Doc } from '../../src/types.js';
import { scratchDir } from '../data/helpers.js';

const freshDir = () => mkdtempSync(path.join(scratchDir(), 'dense-'));

/** Bag-of-words vectors (each word hashed to a signed bucket), unit length. Counts embedded passages. */
function fakeEmbedder(dim = 64, fingerprint = 'fake-model-1'): Embedder & { embedded: number } {
  const e = {
    source: 'fake',
    dim,
    recipe: { pooling: 'mean' as const, normalize: true, queryPrefix: '', passagePrefix: '', maxLength: 512, dtype: 'fp32' },
    fingerprint,
    embedded: 0,
    async embed(texts: readonly string[], role: EmbedRole): Promise<Float32Array> {
      if (role === 'passage') e.embedded += texts.length;
      const out = new Float32Array(texts.length * dim);
      texts.forEach((t, i) => {
        for (const word of t.toLowerCase().split(/\W+/).filter(Boolean)) {
          const h = createHash('sha256').update(word).digest();
          out[i * dim + (h.readUInt32LE(0) % dim)]! += h[4]! & 1 ? 1 : -1;
        }
        let s = 0;
        for (let j = 0; j < dim; j++) s += out[i * dim + j]! ** 2;
        for (let j = 0; j < dim; j++) out[i * dim + j]! /= Math.sqrt(s) || 1;
      });
      return out;
    },
    async dispose() {},
  };
  return e;
}

const corpus = (n: number, salt = ''): Doc[] => Array.from({ length: n }, (_, i) => ({ id: `d${i}`, title: `t${i}`, text: `document number ${i}${salt}` }));

test('exact search: the k best inner products, ties in corpus order', () => {
  const dim = 4;
  const vectors = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0.5, 0.5, 0, 0, -1, 0, 0, 0]);
  const index = new ExactIndex(vectors, dim);
  const { ids, scores } = index.search(new Float32Array([1, 0, 0, 0]), 3);
  assert.deepEqual([...ids], [0, 2, 3]);
  assert.deepEqual([...scores], [1, 1, 0.5]);
  assert.equal(index.search(new Float32Array(4), 99).ids.length, 5, 'k is capped at the index size');
  // Against a full sort on random data.
  const { vectors: v, queries } = clusteredVectors(500, 5, 16, 10, 3);
  const big = new ExactIndex(v, 16);
  for (let q = 0; q < 5; q++) {
    const query = queries.subarray(q * 16, (q + 1) * 16);
    const all = Array.from({ length: 500 }, (_, i) => {
      let dot = 0;
      for (let j = 0; j < 16; j++) dot += v[i * 16 + j]! * query[j]!;
      return { i, dot: Math.fround(dot) };
    }).sort((a, b) => b.dot - a.dot || a.i - b.i);
    assert.deepEqual([...big.search(query, 20).ids], all.slice(0, 20).map((x) => x.i));
  }
});

test('HNSW agrees with exact search on a small clustered corpus', async () => {
  const dim = 32;
  const { vectors, queries } = clusteredVectors(3000, 50, dim, 30, 11);
  const exact = new ExactIndex(vectors, dim);
  const hnsw = await HnswIndex.build(vectors, dim, { m: 16, efConstruction: 100, efSearch: 64 });
  let found = 0;
  let top1 = 0;
  for (let q = 0; q < 50; q++) {
    const query = queries.subarray(q * dim, (q + 1) * dim);
    const truth = new Set(exact.search(query, 10).ids);
    const approx = hnsw.search(query, 10);
    for (const id of approx.ids) if (truth.has(id)) found++;
    if (approx.ids[0] === exact.search(query, 1).ids[0]) top1++;
    for (let i = 1; i < approx.scores.length; i++) assert.ok(approx.scores[i - 1]! >= approx.scores[i]!, 'best first');
  }
  assert.ok(found / 500 >= 0.95, `recall@10 ${found / 500}`);
  assert.ok(top1 >= 48, `top-1 agreement ${top1}/50`);
});

test('auto picks exact below 20,000 documents and HNSW from there', () => {
  assert.equal(chooseKind('auto', 19_999), 'exact');
  assert.equal(chooseKind('auto', 20_000), 'hnsw');
  assert.equal(chooseKind(undefined, 5), 'exact');
  assert.equal(chooseKind('hnsw', 5), 'hnsw');
});

for (const kind of ['exact', 'hnsw'] as const) {
  test(`${kind} index: built once, reused on the next run, rebuilt for a changed corpus`, async () => {
    const dir = freshDir();
    const docs = corpus(40);
    const first = fakeEmbedder();
    const a = await createDenseRetriever(docs, first, { index: kind, cacheDir: dir });
    assert.equal(a.loadedFromCache, false);
    assert.equal(first.embedded, 40);
    assert.equal(a.kind, kind);
    assert.ok(a.indexBytes > 0);
    const second = fakeEmbedder();
    const b = await createDenseRetriever(docs, second, { index: kind, cacheDir: dir });
    assert.equal(b.loadedFromCache, true);
    assert.equal(second.embedded, 0, 'the corpus is not embedded again');
    assert.deepEqual(
      (await b.search(['document number 7'], 5))[0]!.map((h) => h.doc.id),
      (await a.search(['document number 7'], 5))[0]!.map((h) => h.doc.id),
    );
    assert.equal((await b.search(['document number 7'], 1))[0]![0]!.doc.id, 'd7');
    const third = fakeEmbedder();
    const c = await createDenseRetriever(corpus(40, ' changed'), third, { index: kind, cacheDir: dir });
    assert.equal(c.loadedFromCache, false);
    assert.equal(third.embedded, 40);
    const other = await createDenseRetriever(docs, fakeEmbedder(64, 'fake-model-2'), { index: kind, cacheDir: dir });
    assert.equal(other.loadedFromCache, false, 'another model gets another index');
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp folders left');
    assert.equal(readdirSync(dir).length, 3);
  });
}

test('an index whose meta names another dimension or model: rebuilt with a warning, or a clear error under verify', async () => {
  const dir = freshDir();
  const docs = corpus(30);
  const built = await createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir });
  const metaFile = path.join(built.indexPath!, 'meta.json');
  const original = readFileSync(metaFile, 'utf8');

  writeFileSync(metaFile, original.replace('"dim": 64', '"dim": 16'));
  await assert.rejects(createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir, mode: 'verify' }), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /cannot be used \(dimension\).*holds 16-dimensional vectors but the embedding model gives 64/);
    assert.match(err.message, /ragtax index/);
    return true;
  });
  const warnings: string[] = [];
  const rebuilt = await createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir, onWarning: (m) => warnings.push(m) });
  assert.equal(rebuilt.loadedFromCache, false);
  assert.match(warnings.join('\n'), /cannot be used \(dimension: .*\); rebuilding it/);
  const again = await createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir, mode: 'verify' });
  assert.equal(again.loadedFromCache, true, 'the rebuilt index verifies');

  writeFileSync(metaFile, readFileSync(metaFile, 'utf8').replace(/"model": "[^"]*"/, '"model": "some-other-model"'));
  await assert.rejects(createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir, mode: 'verify' }), /\(model\).*another embedding model/);
  await assert.rejects(
    checkIndex(built.indexPath!, { kind: 'hnsw', dim: 64, count: 30, model: 'fake-model-1', corpus: 'x' }),
    (err: unknown) => err instanceof IndexProblem && err.reason === 'model',
  );
});

test('a missing index is an error under verify; a truncated one is rebuilt, never handed to hnswlib', async () => {
  const dir = freshDir();
  const docs = corpus(25);
  await assert.rejects(createDenseRetriever(docs, fakeEmbedder(), { cacheDir: dir, mode: 'verify' }), /dense index .* is missing; build it with `ragtax index/);
  const built = await createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir });
  truncateSync(path.join(built.indexPath!, 'hnsw.bin'), 100);
  await assert.rejects(createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir, mode: 'verify' }), /\(corrupt\).*has 100 bytes/);
  const warnings: string[] = [];
  const rebuilt = await createDenseRetriever(docs, fakeEmbedder(), { index: 'hnsw', cacheDir: dir, onWarning: (m) => warnings.push(m) });
  assert.equal(rebuilt.loadedFromCache, false);
  assert.equal(warnings.length, 1);
  assert.equal((await rebuilt.search(['document number 3'], 1))[0]![0]!.doc.id, 'd3');
});

test('verify errors name the index folder and the rebuild command; nothing is written', async () => {
  const dir = freshDir();
  const docs = corpus(12);
  await assert.rejects(createDenseRetriever(docs, fakeEmbedder(), { cacheDir: dir, mode: 'verify' }), (err: Error) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, new RegExp(`^the dense index ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[0-9a-f]{32} for this corpus and embedding model is missing; build it with \`ragtax index <suite\\.yaml>\`$`));
    return true;
  });
  assert.deepEqual(readdirSync(dir), [], 'nothing built under verify');
  const built = await createDenseRetriever(docs, fakeEmbedder(), { index: 'exact', cacheDir: dir });
  const data = path.join(built.indexPath!, 'vectors.f32');
  const bytes = readFileSync(data);
  bytes[5] = bytes[5]! ^ 0xff; // same size, other content
  writeFileSync(data, bytes);
  await assert.rejects(createDenseRetriever(docs, fakeEmbedder(), { index: 'exact', cacheDir: dir, mode: 'verify' }), (err: Error) => {
    assert.ok(err instanceof InputError);
    assert.ok(err.message.startsWith(`the dense index ${built.indexPath} `), err.message);
    assert.match(err.message, /cannot be used \(corrupt\): .*does not match the checksum in its meta\.json; rebuild it with `ragtax index <suite\.yaml>`$/);
    return true;
  });
  assert.deepEqual(readFileSync(data), bytes, 'the damaged file is left as it was');
  assert.deepEqual(readdirSync(dir), [path.basename(built.indexPath!)]);
});
