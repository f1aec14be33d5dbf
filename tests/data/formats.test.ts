import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readLitm } from '../../src/data/formats/litm.js';
import { readNqOpen } from '../../src/data/formats/nq-open.js';
import { readSquad2 } from '../../src/data/formats/squad2.js';
import { InputError } from '../../src/errors.js';
import { containsAnswer } from '../../src/scoring/normalize.js';
import { fixture, jsonl, scratchFile } from './helpers.js';

test('NQ-open: ids from line numbers, answers verbatim', async () => {
  const items = await readNqOpen(fixture('nq-open.jsonl'));
  assert.deepEqual(
    items.map((i) => i.id),
    ['nq-1', 'nq-3', 'nq-4'],
  );
  assert.deepEqual(items[0]!.answers, ['May 18 , 2018']);
  assert.ok(containsAnswer('It was released on May 18, 2018.', items[0]!.answers));
});

test('NQ-open: a line without `answer` names file:line', async () => {
  const file = scratchFile('nq-bad.jsonl', jsonl({ question: 'q', answer: ['a'] }, { question: 'q2', answers: ['a'] }));
  await assert.rejects(readNqOpen(file), /nq-bad\.jsonl:2: field `answer`: expected a non-empty array of strings/);
});

test('LITM: ctxs best first, stable hashed ids, gold from isgold, pooled de-duplicated corpus', async () => {
  const { items, corpus } = await readLitm(fixture('litm.jsonl'));
  assert.equal(items.length, 2);
  assert.equal(corpus.length, 3, 'the "Nobel Prize" passage appears in both items but once in the corpus');
  const [first, second] = items as [(typeof items)[0], (typeof items)[0]];
  assert.equal(first.id, 'litm-1');
  assert.match(first.ctxs![0]!.doc.id, /^litm-[0-9a-f]{16}$/);
  assert.deepEqual(first.goldDocIds, [first.ctxs![0]!.doc.id]);
  assert.equal(first.answerInCorpus, true);
  // The shared passage is the same Doc (same id) in both items.
  assert.equal(first.ctxs![1]!.doc, second.ctxs![0]!.doc);
  assert.deepEqual(second.goldDocIds, [second.ctxs![0]!.doc.id]);
  // Scores: missing → ctxs.length - rank; numeric strings parsed; given ids kept.
  assert.deepEqual(
    first.ctxs!.map((c) => c.score),
    [2, 1],
  );
  assert.deepEqual(
    second.ctxs!.map((c) => c.score),
    [1.75, 1.5],
  );
  assert.equal(second.ctxs![1]!.doc.id, 'wiki-42');
  // Stable across reads.
  const again = await readLitm(fixture('litm.jsonl'));
  assert.deepEqual(
    again.corpus.map((d) => d.id),
    corpus.map((d) => d.id),
  );
});

test('LITM: gzip input reads the same', async () => {
  const gz = scratchFile('litm.jsonl.gz', readFileSync(fixture('litm.jsonl'), 'utf8'));
  const plain = await readLitm(fixture('litm.jsonl'));
  assert.deepEqual(await readLitm(gz), plain);
});

test('LITM: errors name file:line and the ctx field; an id reused for another passage is refused', async () => {
  const bad = scratchFile('litm-bad.jsonl', jsonl({ question: 'q', answers: ['a'], ctxs: [{ title: 't', text: '', isgold: true }] }));
  await assert.rejects(readLitm(bad), /litm-bad\.jsonl:1: field `ctxs\[0\]\.text`: expected a non-empty string/);
  const clash = scratchFile(
    'litm-clash.jsonl',
    jsonl(
      { question: 'q', answers: ['a'], ctxs: [{ title: 't', text: 'one', id: 'x' }] },
      { question: 'q2', answers: ['a'], ctxs: [{ title: 't', text: 'two', id: 'x' }] },
    ),
  );
  await assert.rejects(readLitm(clash), /litm-clash\.jsonl:2: field `ctxs\[0\]\.id`: id `x` names a different passage at line 1/);
});

test('SQuAD v2: paragraphs → docs, questions → items, impossible → unanswerable, answers de-duplicated', async () => {
  const { items, corpus } = await readSquad2(fixture('squad2.json'));
  assert.deepEqual(
    corpus.map((d) => [d.id, d.title]),
    [
      ['0-0', 'Normans'],
      ['0-1', 'Normans'],
      ['1-0', 'Super Bowl 50'],
    ],
  );
  assert.equal(items.length, 6);
  const byId = new Map(items.map((i) => [i.id, i]));
  assert.deepEqual(byId.get('n1'), { id: 'n1', question: 'In what country is Normandy located?', answers: ['France'], goldDocIds: ['0-0'], answerInCorpus: true, cluster: 'Normans' });
  assert.deepEqual(byId.get('n2')!.answers, ['10th and 11th centuries', 'in the 10th and 11th centuries']);
  const impossible = byId.get('n3')!;
  assert.equal(impossible.unanswerable, true);
  assert.deepEqual(impossible.answers, [], 'plausible_answers are never gold');
  assert.equal(impossible.answerInCorpus, false);
  assert.deepEqual(impossible.goldDocIds, ['0-0']);
  assert.deepEqual(byId.get('s1')!.goldDocIds, ['1-0']);
  assert.equal(byId.get('s2')!.unanswerable, true);
});

test('SQuAD v2: errors name the JSON path', async () => {
  const noAnswers = scratchFile(
    'squad-noanswer.json',
    JSON.stringify({ data: [{ title: 'T', paragraphs: [{ context: 'c', qas: [{ id: 'x', question: 'q?', answers: [] }] }] }] }),
  );
  await assert.rejects(readSquad2(noAnswers), (err: Error) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /squad-noanswer\.json: field `data\[0\]\.paragraphs\[0\]\.qas\[0\]\.answers`: an answerable question needs at least one answer/);
    return true;
  });
  const badShape = scratchFile('squad-shape.json', JSON.stringify({ data: [{ title: 'T', paragraphs: [{ context: 'c' }] }] }));
  await assert.rejects(readSquad2(badShape), /squad-shape\.json: field `data\[0\]\.paragraphs\[0\]\.qas`: missing/);
  const dup = scratchFile(
    'squad-dup.json',
    JSON.stringify({
      data: [{ title: 'T', paragraphs: [{ context: 'c', qas: [{ id: 'x', question: 'q?', answers: [{ text: 'c' }] }, { id: 'x', question: 'r?', answers: [{ text: 'c' }] }] }] }],
    }),
  );
  await assert.rejects(readSquad2(dup), /squad-dup\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\]: duplicate question id `x` \(first at data\[0\]\.paragraphs\[0\]\.qas\[0\]\)/);
});
