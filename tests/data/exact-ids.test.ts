// Integer ids above 2^53 are kept exactly as written (JSON.parse would round them), in every format
// that takes ids. The value is a real NQ example id that JSON.parse turns into ...249500.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBeir } from '../../src/data/formats/beir.js';
import { readLitm } from '../../src/data/formats/litm.js';
import { readRagtaxCorpus, readRagtaxItems } from '../../src/data/formats/ragtax.js';
import { readSquad2 } from '../../src/data/formats/squad2.js';
import { ExactInteger, parseJsonExact, readJsonl } from '../../src/data/jsonl.js';
import { loadDataset } from '../../src/data/load.js';
import { InputError } from '../../src/errors.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir, scratchFile } from './helpers.js';

const NQ_ID = '-3290814144789249484';
const OTHER = '9007199254740993'; // 2^53 + 1: the smallest integer JSON.parse cannot hold

test('the case value is one JSON.parse rounds', () => {
  assert.notEqual(String(JSON.parse(NQ_ID)), NQ_ID);
});

test('parseJsonExact: unsafe integers keep their text, everything else is JSON.parse', () => {
  const text = `{"id": ${NQ_ID}, "n": 12, "big": 1e300, "f": 0.5, "s": "${OTHER} in a string \\" ${OTHER}", "a": [${OTHER}, 9007199254740991]}`;
  const value = parseJsonExact(text) as Record<string, unknown>;
  assert.ok(value.id instanceof ExactInteger);
  assert.equal(String(value.id), NQ_ID);
  assert.equal(value.n, 12);
  assert.equal(value.big, 1e300);
  assert.equal(value.f, 0.5);
  assert.equal(value.s, `${OTHER} in a string " ${OTHER}`);
  const a = value.a as unknown[];
  assert.ok(a[0] instanceof ExactInteger && a[0].text === OTHER);
  assert.equal(a[1], 9007199254740991);
  // A string that looks like the internal marker stays a string.
  assert.deepEqual(parseJsonExact(`["\\u0000rtx0:1", ${OTHER}]`), ['\u0000rtx0:1', new ExactInteger(OTHER)]);
  // ... also when written with escapes, so the text does not spell it.
  assert.deepEqual(parseJsonExact(`["\\u0000\\u0072tx0:${OTHER}", ${OTHER}]`), [`\u0000rtx0:${OTHER}`, new ExactInteger(OTHER)]);
  // Bad JSON still reports the original text's problem.
  assert.throws(() => parseJsonExact(`{"id": ${NQ_ID},,}`), SyntaxError);
});

test('readJsonl keeps unsafe integers exactly', async () => {
  const file = scratchFile('exact.jsonl', `{"id": ${NQ_ID}}\n`);
  const [record] = await readJsonl(file);
  assert.equal(String((record!.value as { id: unknown }).id), NQ_ID);
});

test('ragtax format: item ids, corpus ids and gold_doc_ids stay exact', async () => {
  const corpus = scratchFile('exact-corpus.jsonl', `{"id": ${NQ_ID}, "title": "", "text": "x"}\n{"id": ${OTHER}, "title": "", "text": "y"}\n`);
  const qa = scratchFile('exact-qa.jsonl', `{"id": ${NQ_ID}, "question": "q?", "answers": ["a"], "gold_doc_ids": [${NQ_ID}, ${OTHER}]}\n{"id": 7, "question": "q2?", "answers": ["b"]}\n`);
  assert.deepEqual((await readRagtaxCorpus(corpus)).map((d) => d.id), [NQ_ID, OTHER]);
  const items = await readRagtaxItems(qa);
  assert.equal(items[0]!.id, NQ_ID);
  assert.deepEqual(items[0]!.goldDocIds, [NQ_ID, OTHER]);
  assert.equal(items[1]!.id, '7');
  // Through loadDataset: the gold ids resolve against the corpus.
  const data = await loadDataset({ format: 'ragtax', path: qa, corpus, seed: 0 });
  assert.equal(data.items[0]!.id, NQ_ID);
});

test('two ids that JSON.parse would merge are two ids', async () => {
  // 2^53 + 1 and 2^53 + 2 both parse to 9007199254740992: before, a false duplicate error.
  const qa = scratchFile('exact-dup.jsonl', `{"id": 9007199254740993, "question": "a?", "answers": ["a"]}\n{"id": 9007199254740992, "question": "b?", "answers": ["b"]}\n`);
  assert.deepEqual((await readRagtaxItems(qa)).map((i) => i.id), ['9007199254740993', '9007199254740992']);
});

test('an id written with an exponent or fraction that is not a safe integer is refused, naming file:line', async () => {
  const qa = scratchFile('exp-id.jsonl', `{"id": "ok", "question": "a?", "answers": ["a"]}\n{"id": 3.2908141447892495e18, "question": "b?", "answers": ["b"]}\n`);
  await assert.rejects(readRagtaxItems(qa), (err: Error) => {
    assert.ok(err instanceof InputError, err.message);
    assert.match(err.message, /exp-id\.jsonl:2: field `id`: .*3290814144789249500.* more than 2\^53.*quote it as a string/);
    return true;
  });
});

test('litm: a ctx id stays exact', async () => {
  const file = scratchFile('exact-litm.jsonl', `{"question": "q?", "answers": ["a"], "ctxs": [{"id": ${NQ_ID}, "title": "t", "text": "a", "isgold": true, "score": ${OTHER}}]}\n`);
  const { items, corpus } = await readLitm(file);
  assert.equal(corpus[0]!.id, NQ_ID);
  assert.deepEqual(items[0]!.goldDocIds, [NQ_ID]);
  assert.equal(items[0]!.ctxs![0]!.score, Number(OTHER), 'a huge score is still a number');
});

test('beir: corpus and query _ids stay exact and match the qrels text', async () => {
  const dir = path.join(scratchDir(), 'exact-beir');
  mkdirSync(path.join(dir, 'qrels'), { recursive: true });
  writeFileSync(path.join(dir, 'corpus.jsonl'), `{"_id": ${NQ_ID}, "title": "t", "text": "x"}\n`);
  writeFileSync(path.join(dir, 'queries.jsonl'), `{"_id": ${OTHER}, "text": "q"}\n`);
  writeFileSync(path.join(dir, 'qrels/test.tsv'), `query-id\tcorpus-id\tscore\n${OTHER}\t${NQ_ID}\t1\n`);
  const { items, corpus } = await readBeir(dir);
  assert.equal(corpus[0]!.id, NQ_ID);
  assert.equal(items[0]!.id, OTHER);
  assert.deepEqual(items[0]!.goldDocIds, [NQ_ID]);
});

test('squad2: a question id stays exact', async () => {
  const file = scratchFile('exact-squad.json', `{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": ${NQ_ID}, "question": "q?", "answers": [{"text": "c"}]}]}]}]}`);
  const { items } = await readSquad2(file);
  assert.equal(items[0]!.id, NQ_ID);
});
