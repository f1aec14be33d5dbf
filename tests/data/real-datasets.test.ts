// The real datasets under ../shared/datasets (never committed); each test skips when its file is absent.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { containsAnswer } from '../../src/scoring/normalize.js';
import { sharedDataset } from './helpers.js';

const NQ = sharedDataset('nq_open/NQ-open.dev.jsonl');
const LITM = sharedDataset('nq_open_oracle_litm/nq-open-oracle.jsonl.gz');
const SQUAD = sharedDataset('squad2_cs224n/dev-v2.0.json');
const absent = (file: string) => !existsSync(file) && 'shared datasets absent';

test('NQ-open dev: 3,610 items, answers kept verbatim', { skip: absent(NQ) }, async () => {
  const { items, corpus } = await loadDataset({ format: 'nq-open', path: NQ, seed: 0 });
  assert.equal(items.length, 3610);
  assert.deepEqual(corpus, []);
  // Every answer list is exactly the file's (no trimming, no re-tokenising).
  const raw = readFileSync(NQ, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { answer: string[] });
  items.forEach((item, i) => assert.deepEqual(item.answers, raw[i]!.answer));
  const deadpool = items.find((i) => i.question === 'when is the next deadpool movie being released')!;
  assert.deepEqual(deadpool.answers, ['May 18, 2018']);
  // The tokenised form found in other NQ dumps still matches after normalisation.
  assert.ok(containsAnswer('Deadpool 2 ... released on May 18 , 2018 in the US', deadpool.answers));
});

test('LITM oracle: 2,655 items, exactly one gold ctx each, pooled corpus', { skip: absent(LITM) }, async () => {
  const { items, corpus } = await loadDataset({ format: 'litm', path: LITM, seed: 0 });
  assert.equal(items.length, 2655);
  for (const item of items) {
    assert.equal(item.ctxs!.length, 1, item.id);
    assert.equal(item.goldDocIds!.length, 1, item.id);
    assert.equal(item.ctxs![0]!.doc.id, item.goldDocIds![0]);
  }
  const distinct = new Set(items.map((i) => i.goldDocIds![0]));
  assert.equal(corpus.length, distinct.size);
  assert.ok(corpus.length <= 2655);
});

test('SQuAD v2 (CS224N dev): 6,078 questions, 3,168 unanswerable', { skip: absent(SQUAD) }, async () => {
  const { items, corpus } = await loadDataset({ format: 'squad2', path: SQUAD, seed: 0 });
  assert.equal(items.length, 6078);
  assert.equal(items.filter((i) => i.unanswerable).length, 3168);
  for (const item of items) {
    if (item.unanswerable) assert.deepEqual(item.answers, []);
    else assert.ok(item.answers.length > 0 && new Set(item.answers).size === item.answers.length);
  }
  const corpusIds = new Set(corpus.map((d) => d.id));
  assert.ok(items.every((i) => corpusIds.has(i.goldDocIds![0]!)));
});

test('LITM oracle through a plain `fields:` mapping reads as the litm preset does', { skip: absent(LITM) }, async () => {
  const preset = await loadDataset({ format: 'litm', path: LITM, seed: 0 });
  const mapped = await loadDataset({
    format: 'mapped',
    path: LITM,
    seed: 0,
    fields: { question: 'question', answers: 'answers', passages: { path: 'ctxs[]', title: 'title', text: 'text', supporting: 'isgold' } },
  });
  assert.deepEqual(mapped.items.map((i) => [i.question, i.answers, i.goldDocIds!.length]), preset.items.map((i) => [i.question, i.answers, 1]));
  assert.equal(mapped.corpus.length, preset.corpus.length);
  assert.match(mapped.notes![0]!, /^corpus: [\d,]+ passages from 2,655 items \([\d,]+ duplicates? merged\)$/);
});
