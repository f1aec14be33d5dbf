// The BEIR loader on a tiny fixture folder, and its errors.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readBeir } from '../../src/data/formats/beir.js';
import { loadDataset } from '../../src/data/load.js';
import { InputError } from '../../src/errors.js';
import { fixture, scratchDir } from './helpers.js';

const BEIR = fixture('beir');

function copyWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(scratchDir(), 'beir-'));
  cpSync(BEIR, dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

test('queries judged in the split become items; gold ids are the relevant documents, best grade first', async () => {
  const { items, corpus } = await readBeir(BEIR, 'test');
  assert.equal(corpus.length, 6);
  assert.deepEqual(corpus[5], { id: 'b6', title: '', text: 'Rainbows appear when sunlight is refracted in water droplets.' });
  assert.deepEqual(
    items.map((i) => i.id),
    ['q1', 'q2', 'q3'],
    'q4 has no judgement in the split',
  );
  assert.deepEqual(items[0], {
    id: 'q1',
    question: 'how do plants turn light into energy',
    answers: [],
    goldDocIds: ['b1', 'b2'],
    relevance: { b1: 2, b2: 1 },
  });
  assert.deepEqual(items[2]!.goldDocIds, ['b3'], 'grade 0 is judged but not relevant');
  assert.deepEqual(items[2]!.relevance, { b3: 1, b1: 0 });
});

test('through loadDataset: format beir brings its own corpus', async () => {
  const data = await loadDataset({ format: 'beir', path: BEIR, seed: 1, split: 'test' });
  assert.equal(data.items.length, 3);
  assert.equal(data.corpus.length, 6);
  await assert.rejects(loadDataset({ format: 'beir', path: BEIR, seed: 1, corpus: fixture('corpus.jsonl') }), /brings its own corpus/);
});

test('errors name the file and line', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'qrels/test.tsv': 'query-id\tcorpus-id\tscore\nq1\tb9\t1\n' }, /qrels\/test\.tsv:2: document `b9` is not in corpus\.jsonl/],
    [{ 'qrels/test.tsv': 'query-id\tcorpus-id\tscore\nq9\tb1\t1\n' }, /test\.tsv:2: query `q9` is not in queries\.jsonl/],
    [{ 'qrels/test.tsv': 'q1\tb1\t1\n' }, /test\.tsv:1: expected the header/],
    [{ 'qrels/test.tsv': 'query-id\tcorpus-id\tscore\nq1\tb1\n' }, /test\.tsv:2: expected 3 tab-separated columns/],
    [{ 'qrels/test.tsv': 'query-id\tcorpus-id\tscore\nq1\tb1\thigh\n' }, /test\.tsv:2: score must be a whole number/],
    [{ 'qrels/test.tsv': 'query-id\tcorpus-id\tscore\nq1\tb1\t1\nq1\tb1\t2\n' }, /test\.tsv:3: duplicate judgement/],
    [{ 'corpus.jsonl': '{"_id": "b1", "text": "x"}\n{"_id": "b1", "text": "y"}\n' }, /corpus\.jsonl:2: duplicate document id `b1`/],
    [{ 'queries.jsonl': '{"_id": "q1"}\n' }, /queries\.jsonl:1: field `text`: missing/],
  ];
  for (const [files, message] of cases) {
    await assert.rejects(readBeir(copyWith(files), 'test'), (err: unknown) => err instanceof InputError && message.test(err.message));
  }
  await assert.rejects(readBeir(BEIR, 'dev'), /qrels\/dev\.tsv: file not found/);
  await assert.rejects(readBeir(path.join(BEIR, 'nope')), /BEIR folder not found/);
});
