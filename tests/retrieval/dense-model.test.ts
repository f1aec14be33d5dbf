// The dense path through the real transformers.js backend with the tiny fixture encoder
// (tests/fixtures/models/tiny-encoder, built by tools/build-test-encoder.py).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { readRagtaxCorpus } from '../../src/data/formats/ragtax.js';
import { InputError } from '../../src/errors.js';
import { createDenseRetriever } from '../../src/retrieval/dense.js';
import { openEmbedder, type Embedder } from '../../src/retrieval/embedder.js';
import { fixture, repoRoot } from '../data/helpers.js';

const MODEL = path.join(repoRoot, 'tests/fixtures/models/tiny-encoder');
const opened: Embedder[] = [];
after(async () => {
  for (const e of opened) await e.dispose();
});
async function open(spec: Parameters<typeof openEmbedder>[0]): Promise<Embedder> {
  const e = await openEmbedder(spec);
  opened.push(e);
  return e;
}

test('the recipe comes from the model folder unless the suite overrides it; it is part of the fingerprint', async () => {
  const e = await open({ source: MODEL });
  assert.equal(e.dim, 32);
  assert.deepEqual(e.recipe, { pooling: 'mean', normalize: true, queryPrefix: 'query: ', passagePrefix: 'passage: ', maxLength: 128, dtype: 'fp32' });
  const same = await open({ source: MODEL, batchSize: 1 });
  assert.equal(same.fingerprint, e.fingerprint, 'batch size does not change the vectors');
  const cls = await open({ source: MODEL, pooling: 'cls', queryPrefix: '' });
  assert.equal(cls.recipe.pooling, 'cls');
  assert.notEqual(cls.fingerprint, e.fingerprint);
});

test('unit vectors, the same in a batch as alone; queries and passages get their prefixes', async () => {
  const e = await open({ source: MODEL, batchSize: 3 });
  const texts = ['The Eiffel Tower is in Paris.', 'Mount Everest', 'Which river has the largest discharge?', 'a', 'Paris'];
  const batch = await e.embed(texts, 'passage');
  for (let i = 0; i < texts.length; i++) {
    const row = batch.subarray(i * 32, (i + 1) * 32);
    assert.ok(Math.abs(row.reduce((s, x) => s + x * x, 0) - 1) < 1e-5, 'unit length');
    const alone = await e.embed([texts[i]!], 'passage');
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(alone[j]! - row[j]!) < 1e-5, `row ${i} differs alone vs in a batch`);
  }
  const asQuery = await e.embed(['Mount Everest'], 'query');
  assert.ok(asQuery.some((x, j) => Math.abs(x - batch[32 + j]!) > 1e-4), 'the query prefix changes the vector');
  const progress: number[] = [];
  await e.embed(texts, 'passage', (done) => progress.push(done));
  assert.deepEqual(progress, [3, 5]);
});

test('exact and HNSW dense retrieval agree on the fixture corpus', async () => {
  const e = await open({ source: MODEL });
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const exact = await createDenseRetriever(corpus, e, { index: 'exact' });
  const hnsw = await createDenseRetriever(corpus, e, { index: 'hnsw', hnsw: { m: 8, efConstruction: 50, efSearch: 50 } });
  const questions = ['When was the Eiffel Tower completed?', 'What is the capital of France?', 'Where is the Louvre?'];
  const a = await exact.search(questions, 4);
  const b = await hnsw.search(questions, 4);
  assert.deepEqual(b.map((hits) => hits.map((h) => h.doc.id)), a.map((hits) => hits.map((h) => h.doc.id)));
  for (const [i, hits] of a.entries()) hits.forEach((h, j) => assert.ok(Math.abs(h.score - b[i]![j]!.score) < 1e-4));
});

test('a missing folder or a remote id with remote loading off is a clear input error', async () => {
  await assert.rejects(openEmbedder({ source: path.join(repoRoot, 'no/such/model') }), (err: unknown) => err instanceof InputError && /does not exist/.test(err.message));
  await assert.rejects(openEmbedder({ source: 'sentence-transformers/all-MiniLM-L6-v2', cacheDir: path.join(repoRoot, 'no-cache') }), /remote loading is off: set `allow_remote: true`/);
  await assert.rejects(openEmbedder({ source: path.join(repoRoot, 'tests/fixtures/data') }), /missing config\.json/);
});
