// Dense and hybrid retrieval end to end through the CLI: the tiny encoder and the tiny generators.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src/rundir/types.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const SUITES = path.join(ROOT, 'tests/fixtures/suites');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-dense-e2e-'));

function ragtax(cache: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, cache) } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const summaryOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;

for (const kind of ['dense', 'hybrid'] as const) {
  test(`ragtax run with retriever: ${kind}; the index is reused by the next run`, () => {
    const out = path.join(tmp, `${kind}-1`);
    const r = ragtax(kind, 'run', path.join(SUITES, `tiny-${kind}.yaml`), '--out', out, '--quiet');
    assert.equal(r.code, 0, r.stderr);
    const summary = summaryOf(out);
    assert.equal(summary.retrieval.retriever, kind);
    assert.equal(summary.retrieval.indexLoadedFromCache, false);
    assert.deepEqual(summary.retrieval.answerRecallAtK.map((x) => x.k), [1, 2]);
    const gold = summary.retrieval.goldMetrics!;
    assert.equal(gold.n, 4, 'items with gold_doc_ids (5 items, one without gold; no shots, so no few-shot item is drawn out)');
    for (const v of [gold.ndcgAt10, gold.mrrAt10, ...gold.recallAtK.map((x) => x.recall)]) assert.ok(v >= 0 && v <= 1);
    const samples = readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    assert.equal(samples.length, 5 * 2 * 2);
    for (const s of samples) assert.equal(s.docIds.length, s.k);

    const again = path.join(tmp, `${kind}-2`);
    const r2 = ragtax(kind, 'run', path.join(SUITES, `tiny-${kind}.yaml`), '--out', again, '--quiet');
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(summaryOf(again).retrieval.indexLoadedFromCache, true);
    const docs = (dir: string) => readFileSync(path.join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as SampleRecord).docIds.join(','));
    assert.deepEqual(docs(again), docs(out), 'the reused index retrieves the same documents');
  });
}

test('ragtax index builds, then reuses and verifies; --verify on an empty cache exits 2', () => {
  const suite = path.join(SUITES, 'beir-hybrid.yaml');
  const built = ragtax('index', 'index', suite, '--quiet');
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /6 documents, 3 items, retriever hybrid/);
  assert.match(built.stdout, /^bm25: built /m);
  assert.match(built.stdout, /^dense: built in [\d.]+ s: hnsw index of 6 × 32-d vectors at .*dense.* \([\d.]+ KiB\)/m);
  assert.match(built.stdout, /retrieval \(3 judged items\): R@1 [\d.]+ {2}R@5 [\d.]+ .*nDCG@10 [\d.]+ {2}MRR@10 [\d.]+/);
  const reused = ragtax('index', 'index', suite, '--verify', '--no-metrics');
  assert.equal(reused.code, 0, reused.stderr);
  assert.match(reused.stdout, /^bm25: reused /m);
  assert.match(reused.stdout, /^dense: reused: hnsw index/m);
  assert.doesNotMatch(reused.stdout, /retrieval \(/);
  const missing = ragtax('empty', 'index', suite, '--verify');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^ragtax: the BM25 index for this corpus is missing/);
});

test('a dense suite without a dense block, or with both model and hf_id, is refused', () => {
  const bad = path.join(tmp, 'bad.yaml');
  const text = readFileSync(path.join(SUITES, 'tiny-dense.yaml'), 'utf8').replaceAll('../', `${SUITES}/../`);
  writeFileSync(bad, text.replace(/  dense:\n    model: .*\n    batch_size: 4\n/, ''));
  const r = ragtax('bad', 'run', bad, '--out', path.join(tmp, 'bad-run'), '--quiet');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /field `retrieval.retriever` `dense` needs a `retrieval.dense` block/);
  writeFileSync(bad, text.replace('    batch_size: 4\n', '    batch_size: 4\n    hf_id: x/y\n'));
  const both = ragtax('bad', 'index', bad);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give exactly one of `model`/);
  writeFileSync(bad, text.replace('    batch_size: 4\n', '    batch_sise: 4\n'));
  const typo = ragtax('bad', 'index', bad);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown field `batch_sise` in `retrieval.dense` \(did you mean `batch_size`\?\)/);
});
