import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readRagtaxCorpus } from '../../src/data/formats/ragtax.js';
import { InputError } from '../../src/errors.js';
import { bm25CacheKey, createBm25Retriever } from '../../src/retrieval/bm25.js';
import { tokenize } from '../../src/retrieval/tokenize.js';
import type { Doc } from '../../src/types.js';
import { fixture, scratchDir } from '../data/helpers.js';

const freshCacheDir = () => mkdtempSync(path.join(scratchDir(), 'bm25-'));

test('tokenizer: lowercase unicode words without stopwords', () => {
  assert.deepEqual(tokenize('Who is the Röntgen of Côte-d’Ivoire? 1,889'), ['röntgen', 'côte', 'd', 'ivoire', '1', '889']);
  assert.deepEqual(tokenize('what is the'), []);
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
  assert.equal(first.cachePath, path.join(cacheDir, `bm25-${bm25CacheKey(corpus)}.json`));
  assert.ok(existsSync(first.cachePath!));
  assert.deepEqual(readdirSync(cacheDir), [path.basename(first.cachePath!)], 'no temp file left behind');

  const second = await createBm25Retriever(corpus, { cacheDir });
  assert.equal(second.loadedFromCache, true);
  const queries = ['Eiffel Tower Paris', 'mountain Himalayas'];
  assert.deepEqual(await second.search(queries, 5), await first.search(queries, 5));

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

test('the index file carries a checksum: a changed byte that still parses is caught and rebuilt', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const built = await createBm25Retriever(corpus, { cacheDir });
  const text = readFileSync(built.cachePath!, 'utf8');
  assert.doesNotThrow(() => JSON.parse(text), 'still one JSON document');
  // A term frequency of 1 becomes 2: valid JSON, a valid MiniSearch index, wrong scores.
  const tampered = text.replace(/":1\}/, '":2}');
  assert.notEqual(tampered, text);
  writeFileSync(built.cachePath!, tampered);
  const warnings: string[] = [];
  const rebuilt = await createBm25Retriever(corpus, { cacheDir, onWarning: (m) => warnings.push(m) });
  assert.equal(rebuilt.loadedFromCache, false);
  assert.match(warnings.join('\n'), /corrupt \(its data does not match its checksum\); rebuilding it/);
  assert.equal(readFileSync(built.cachePath!, 'utf8'), text, 'rebuilt identically');
});

test('verify mode: a missing, corrupt or tampered index is an InputError naming it and the rebuild command; nothing is written', async () => {
  const cacheDir = freshCacheDir();
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const verify = { cacheDir, mode: 'verify' as const, suiteFile: 'suites/x.yaml', onWarning: () => assert.fail('no warning in verify mode') };
  const file = path.join(cacheDir, `bm25-${bm25CacheKey(corpus)}.json`);
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
  const good = readFileSync(file, 'utf8');
  assert.equal((await createBm25Retriever(corpus, verify)).loadedFromCache, true);
  for (const [damage, reason] of [
    [good.slice(0, 200), /cannot be used \(corrupt: .*\)/],
    [good.replace(/":1\}/, '":2}'), /cannot be used \(corrupt: its data does not match its checksum\)/],
    ['{"documentCount": 8}', /cannot be used \(corrupt: not a ragtax BM25 index file/],
    [good.replace(/"documents":8/, '"documents":9'), /cannot be used \(corrupt: holds 9 documents by its header, 8 by its data, expected 8\)/],
  ] as const) {
    writeFileSync(file, damage);
    await expectError(reason);
    assert.equal(readFileSync(file, 'utf8'), damage, 'the damaged file is left as it was');
    assert.deepEqual(readdirSync(cacheDir), [path.basename(built.cachePath!)], 'no file written');
  }
});
