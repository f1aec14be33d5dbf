// `ragtax index --verify` through the real CLI builds nothing: a missing or corrupt BM25 or dense
// index (damaged bytes, a checksum or meta.json mismatch) exits 2 with one message naming the index
// and `ragtax index <suite>`, and the cache is left byte for byte as it was. Before, a corrupt BM25
// index was rebuilt and --verify exited 0.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ragtaxSync, ROOT, STACK } from './helpers.js';

const SUITE = path.join(ROOT, 'tests/fixtures/suites/beir-hybrid.yaml');
const cache = mkdtempSync(path.join(os.tmpdir(), 'ragtax-verify-'));
after(() => rmSync(cache, { recursive: true, force: true }));
const index = (...args: string[]) => ragtaxSync(['index', SUITE, '--quiet', '--no-metrics', ...args], { RAGTAX_CACHE_DIR: cache });

/** Every file under the cache and its sha256. */
function snapshot(dir = cache): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(dir, entry);
    if (statSync(full).isFile()) out[entry] = createHash('sha256').update(readFileSync(full)).digest('hex');
  }
  return out;
}

function find(predicate: (file: string) => boolean): string {
  const hit = Object.keys(snapshot()).find(predicate);
  assert.ok(hit, 'file in the cache');
  return path.join(cache, hit);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function verifyRefuses(pattern: RegExp): void {
  const before = snapshot();
  const r = index('--verify');
  assert.equal(r.code, 2, `exit 2 (stdout: ${r.stdout}; stderr: ${r.stderr})`);
  assert.doesNotMatch(r.stderr, STACK);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.match(r.stderr, new RegExp(`build it with \`ragtax index ${escape(SUITE)}\`\\n$`));
  assert.deepEqual(snapshot(), before, 'nothing built or written');
}

test('index --verify: missing or corrupt BM25 and dense indexes exit 2 naming them; nothing is rebuilt', () => {
  const built = index();
  assert.equal(built.code, 0, built.stderr);
  assert.equal(index('--verify').code, 0, 'a sound cache verifies');

  // BM25: truncated; then one byte changed (only a checksum tells).
  const bm25 = find((f) => /bm25-[0-9a-f]{64}\.idx$/.test(f));
  const bm25Good = readFileSync(bm25);
  writeFileSync(bm25, bm25Good.subarray(0, bm25Good.length >> 1));
  verifyRefuses(new RegExp(`^ragtax: the BM25 index for this corpus at ${escape(bm25)} cannot be used \\(corrupt: `));
  const bm25Flipped = Buffer.from(bm25Good);
  bm25Flipped[bm25Flipped.length >> 1] = bm25Flipped[bm25Flipped.length >> 1]! ^ 0xff;
  writeFileSync(bm25, bm25Flipped);
  verifyRefuses(/BM25 index .* cannot be used \(corrupt: its data does not match its checksum( \(postings bytes \d+–\d+\))?\); rebuild/);
  rmSync(bm25);
  verifyRefuses(new RegExp(`^ragtax: the BM25 index for this corpus is missing \\(${escape(bm25)}\\)`));
  writeFileSync(bm25, bm25Good);
  assert.equal(index('--verify').code, 0);

  // Dense: a flipped byte in hnsw.bin (same size), meta.json naming another model, the folder gone.
  const hnsw = find((f) => f.endsWith('hnsw.bin'));
  const folder = path.dirname(hnsw);
  const hnswGood = readFileSync(hnsw);
  const flipped = Buffer.from(hnswGood);
  flipped[flipped.length >> 1] = flipped[flipped.length >> 1]! ^ 0xff;
  writeFileSync(hnsw, flipped);
  verifyRefuses(new RegExp(`^ragtax: the dense index ${escape(folder)} for this corpus and embedding model cannot be used \\(corrupt\\): .*checksum`));
  writeFileSync(hnsw, hnswGood);
  const meta = path.join(folder, 'meta.json');
  const metaGood = readFileSync(meta, 'utf8');
  writeFileSync(meta, metaGood.replace(/"model": "[^"]*"/, '"model": "another-model"'));
  verifyRefuses(/dense index .* cannot be used \(model\): .*another embedding model/);
  writeFileSync(meta, '{"format": "ragtax-dense/1", "dataF');
  verifyRefuses(/dense index .* cannot be used \(corrupt\): .*meta\.json is unreadable/);
  writeFileSync(meta, metaGood);
  const aside = `${folder}-aside`;
  renameSync(folder, aside);
  verifyRefuses(new RegExp(`^ragtax: the dense index ${escape(folder)} for this corpus and embedding model is missing; build`));
  renameSync(aside, folder);
  assert.equal(index('--verify').code, 0, 'restored: verifies again');

  // Without --verify, a corrupt index is rebuilt with a warning (a damaged cache, not a user error).
  writeFileSync(bm25, '{}');
  const rebuilt = index();
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stderr, /warning: BM25 index .* is corrupt .*; rebuilding it/);
  assert.match(rebuilt.stdout, /^bm25: built /m);
  assert.equal(index('--verify').code, 0);
});
