import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readRagtaxCorpus } from '../../src/data/formats/ragtax.js';
import { InputError } from '../../src/errors.js';
import { bm25CachePath, createBm25Retriever } from '../../src/retrieval/bm25.js';
import { LUCENE_STOPWORDS, tokenize } from '../../src/retrieval/tokenize.js';
import type { Doc } from '../../src/types.js';
import { fixture, scratchDir } from '../data/helpers.js';

const freshCacheDir = () => mkdtempSync(path.join(scratchDir(), 'bm25-'));

test('tokenizer: lowercase unicode words without stopwords (ragtax\'s first list by default, Lucene\'s on request)', () => {
  assert.deepEqual(tokenize('Who is the Röntgen of Côte-d’Ivoire? 1,889'), ['röntgen', 'côte', 'd', 'ivoire', '1', '889']);
  assert.deepEqual(tokenize('what is the'), []);
  assert.deepEqual(tokenize('Who is the Röntgen of Côte-d’Ivoire? 1,889', LUCENE_STOPWORDS), ['who', 'röntgen', 'côte', 'd', 'ivoire', '1', '889']);
  assert.deepEqual(tokenize('ﬁne ＡＢＣ Straße', LUCENE_STOPWORDS), ['fine', 'abc', 'straße'], 'NFKC folds ligatures and full-width forms');
});

test('ranking sanity on a tiny corpus', async () => {
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const bm25 = await createBm25Retriever(corpus);
  const [eiffel, everest, amazon] = await bm25.search(
    ['When was the Eiffel Tower completed?', 'highest mountain in the Himalayas', 'largest river by discharge'],
    3,
  );
  assert.equal(eiffel![0]!.doc.id, 'd1');
  assert.equal(everest![0]!.doc.id, 'd4');
  assert.equal(amazon![0]!.doc.id, 'd8');
  for (const hits of [eiffel!, everest!, amazon!]) {
    assert.equal(hits.length, 3);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, 'best first');
  }
});

test('ties keep corpus order; short result lists are padded with score-0 docs up to the corpus size', async () => {
  const corpus: Doc[] = [
    { id: 'a', title: '', text: 'apple pie' },
    { id: 'b', title: '', text: 'banana bread' },
    { id: 'c', title: '', text: 'apple pie' },
  ];
  const bm25 = await createBm25Retriever(corpus);
  const [hits] = await bm25.search(['apple'], 10);
  assert.deepEqual(
    hits!.map((h) => [h.doc.id, h.score > 0]),
    [
      ['a', true],
      ['c', true],
      ['b', false],
    ],
  );
  const [none] = await bm25.search(['the of'], 2);
  assert.deepEqual(
    none!.map((h) => [h.doc.id, h.score]),
    [
      ['a', 0],
      ['b', 0],
    ],
  );
});

test('the index is persisted and reused; a changed corpus builds a new one', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const progress: [number, number][] = [];
  const first = await createBm25Retriever(corpus, { cacheDir, onProgress: (done, total) => progress.push([done, total]) });
  assert.equal(first.loadedFromCache, false);
  assert.deepEqual(progress.at(-1), [8, 8]);
  assert.equal(first.cachePath, bm25CachePath(cacheDir, corpus));
  assert.match(path.basename(first.cachePath!), /^bm25-[0-9a-f]{64}\.idx$/);
  assert.ok(existsSync(first.cachePath!));
  assert.deepEqual(readdirSync(cacheDir), [path.basename(first.cachePath!)], 'no temp file left behind');

  const second = await createBm25Retriever(corpus, { cacheDir });
  assert.equal(second.loadedFromCache, true);
  const queries = ['Eiffel Tower Paris', 'mountain Himalayas'];
  assert.deepEqual(await second.search(queries, 5), await first.search(queries, 5));
  assert.equal((await createBm25Retriever(corpus, { cacheDir, settings: { k1: 0.9, b: 0.4, lengths: 'exact' } })).loadedFromCache, true, 'k1, b and lengths apply at query time: the same index');
  assert.equal((await createBm25Retriever(corpus, { cacheDir, settings: { stopwords: 'none' } })).loadedFromCache, false, 'other stopwords: another index');

  const changed = corpus.map((d) => (d.id === 'd6' ? { ...d, text: `${d.text} It flows into the Mediterranean.` } : d));
  const third = await createBm25Retriever(changed, { cacheDir });
  assert.equal(third.loadedFromCache, false);
  assert.notEqual(third.cachePath, first.cachePath);
});

test('a corrupt cache file is rebuilt with a warning', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const built = await createBm25Retriever(corpus, { cacheDir });
  writeFileSync(built.cachePath!, '{"documentCount": 8, "truncated');
  const warnings: string[] = [];
  const rebuilt = await createBm25Retriever(corpus, { cacheDir, onWarning: (m) => warnings.push(m) });
  assert.equal(rebuilt.loadedFromCache, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /corrupt.*rebuilding/);
  const again = await createBm25Retriever(corpus, { cacheDir, onWarning: (m) => warnings.push(m) });
  assert.equal(again.loadedFromCache, true, 'the rebuilt index replaced the corrupt file');
  assert.equal(warnings.length, 1);
});

/** `file` with the byte at `at` inverted. */
function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
}

test('the index file carries checksums: a changed byte is caught and the index rebuilt identically', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const built = await createBm25Retriever(corpus, { cacheDir });
  const queries = ['Eiffel Tower Paris', 'mountain Himalayas', 'largest river'];
  const expected = await built.search(queries, 3);
  await built.dispose();
  const good = readFileSync(built.cachePath!);

  // A document length (checked when the file is opened).
  flipByte(built.cachePath!, 128 + 4 * 3);
  const warnings: string[] = [];
  const rebuilt = await createBm25Retriever(corpus, { cacheDir, onWarning: (m) => warnings.push(m) });
  assert.equal(rebuilt.loadedFromCache, false);
  assert.match(warnings.join('\n'), /corrupt \(its data does not match its checksum\); rebuilding it/);
  assert.deepEqual(readFileSync(built.cachePath!), good, 'rebuilt identically');
  await rebuilt.dispose();

  // A postings byte (checked when a query first reads it): found by the search, rebuilt, answered.
  const postingsAt = Number(good.readDoubleLE(64));
  flipByte(built.cachePath!, postingsAt + 1);
  warnings.length = 0;
  const lazy = await createBm25Retriever(corpus, { cacheDir, onWarning: (m) => warnings.push(m) });
  assert.equal(lazy.loadedFromCache, true, 'the small sections are sound');
  assert.deepEqual(await lazy.search(queries, 3), expected);
  assert.match(warnings.join('\n'), /is corrupt \(its data does not match its checksum \(postings bytes 0–\d+\)\); rebuilding it/);
  assert.deepEqual(readFileSync(built.cachePath!), good);
  await lazy.dispose();
});

test('verify mode: a missing, corrupt or tampered index is an InputError naming it and the rebuild command; nothing is written', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const verify = { cacheDir, mode: 'verify' as const, suiteFile: 'suites/x.yaml', onWarning: () => assert.fail('no warning in verify mode') };
  const file = bm25CachePath(cacheDir, corpus);
  const expectError = async (reason: RegExp) =>
    assert.rejects(createBm25Retriever(corpus, verify), (err: Error) => {
      assert.ok(err instanceof InputError, `${err.name}: ${err.message}`);
      assert.match(err.message, reason);
      assert.ok(err.message.includes(file), err.message);
      assert.match(err.message, /; (re)?build it with `ragtax index suites\/x\.yaml`$/);
      return true;
    });
  await expectError(/^the BM25 index for this corpus is missing/);
  assert.deepEqual(readdirSync(cacheDir), [], 'nothing built');

  const built = await createBm25Retriever(corpus, { cacheDir });
  await built.dispose();
  const good = readFileSync(file);
  const opened = await createBm25Retriever(corpus, verify);
  assert.equal(opened.loadedFromCache, true);
  await opened.dispose();
  const flipped = (at: number) => {
    const bytes = Buffer.from(good);
    bytes[at] = bytes[at]! ^ 0xff;
    return bytes;
  };
  const otherCount = Buffer.from(good);
  otherCount.writeUInt32LE(9, 16);
  for (const [damage, reason] of [
    [good.subarray(0, 200), /cannot be used \(corrupt: its size \(200 bytes\) is not the \d+ its header gives\)/],
    [good.subarray(0, 20), /cannot be used \(corrupt: not a ragtax BM25 index file \(ragtax-bm25\/2\): it is only 20 bytes long\)/],
    [Buffer.from('{"documentCount": 8, "padding": "................................................................................................................"}'), /cannot be used \(corrupt: not a ragtax BM25 index file/],
    [otherCount, /cannot be used \(corrupt: its header does not match its checksum\)/],
    [flipped(130), /cannot be used \(corrupt: its data does not match its checksum\)/],
    // Postings are checked by verify (a run would check them when a query reads them).
    [flipped(Number(good.readDoubleLE(64)) + 2), /cannot be used \(corrupt: its data does not match its checksum \(postings bytes 0–\d+\)\)/],
  ] as const) {
    writeFileSync(file, damage);
    await expectError(reason);
    assert.deepEqual(readFileSync(file), damage, 'the damaged file is left as it was');
    assert.deepEqual(readdirSync(cacheDir), [path.basename(built.cachePath!)], 'no file written');
  }
});

test('scoring: minisearch keeps the MiniSearch-era index file and scores', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const old = await createBm25Retriever(corpus, { cacheDir, settings: { scoring: 'minisearch' } });
  assert.match(path.basename(old.cachePath!), /^bm25-[0-9a-f]{64}\.json$/);
  assert.deepEqual(old.settings, { scoring: 'minisearch', k1: 1.2, b: 0.75, lengths: 'lucene', stopwords: 'ragtax' });
  const text = readFileSync(old.cachePath!, 'utf8');
  assert.match(text, /^\{"format":"ragtax-bm25\/1","documents":8,"sha256":"[0-9a-f]{64}","index":/);
  const [hits] = await old.search(['Eiffel Tower'], 2);
  assert.equal(hits![0]!.doc.id, 'd1');
  await assert.rejects(createBm25Retriever(corpus, { settings: { scoring: 'minisearch', lengths: 'exact' } }), /`retrieval.bm25.lengths` is for `scoring: lucene` only/);
});
