import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drawExemplars, loadDataset } from '../../src/data/load.js';
import { InputError } from '../../src/errors.js';
import type { QaItem } from '../../src/types.js';
import { fixture, jsonl, scratchFile } from './helpers.js';

const ragtax = { format: 'ragtax', path: fixture('qa.jsonl'), corpus: fixture('corpus.jsonl'), seed: 7 } as const;

test('ragtax dataset with corpus and no few-shot', async () => {
  const data = await loadDataset(ragtax);
  assert.equal(data.items.length, 5);
  assert.equal(data.corpus.length, 8);
  assert.deepEqual(data.fewShot, []);
});

test('drawn exemplars are removed from the evaluated items, seeded and reproducible', async () => {
  const a = await loadDataset({ ...ragtax, fewshotSize: 2 });
  const b = await loadDataset({ ...ragtax, fewshotSize: 2 });
  assert.equal(a.fewShot.length, 2);
  assert.equal(a.items.length, 3);
  const evaluated = new Set(a.items.map((i) => i.id));
  for (const shot of a.fewShot) assert.ok(!evaluated.has(shot.id), `exemplar ${shot.id} is also evaluated`);
  assert.deepEqual(a, b);
  // Evaluated items keep their file order.
  const order = ['q1', 'q2', 'q3', 'q4', 'q5'].filter((id) => evaluated.has(id));
  assert.deepEqual(
    a.items.map((i) => i.id),
    order,
  );
  // Some seed draws a different pair (the seed matters).
  const draws = new Set<string>();
  for (let seed = 0; seed < 10; seed++) {
    draws.add((await loadDataset({ ...ragtax, fewshotSize: 2, seed })).fewShot.map((i) => i.id).join());
  }
  assert.ok(draws.size > 1);
});

test('exemplars are drawn from answerable items only; too many is an error', () => {
  const items: QaItem[] = [
    { id: 'u', question: 'u?', answers: [], unanswerable: true },
    { id: 'a', question: 'a?', answers: ['x'] },
  ];
  assert.deepEqual(
    drawExemplars(items, 1, 1, 'f').drawn.map((i) => i.id),
    ['a'],
  );
  assert.throws(() => drawExemplars(items, 2, 1, 'f.jsonl'), (err: Error) => err instanceof InputError && /f\.jsonl: cannot draw 2 few-shot exemplars: only 1 answerable/.test(err.message));
});

test('a few-shot file is used as is; clashes by id or question are errors', async () => {
  const shots = scratchFile('shots.jsonl', jsonl({ id: 's1', question: 'Who painted the Mona Lisa?', answers: ['Leonardo da Vinci'] }));
  const data = await loadDataset({ ...ragtax, fewshot: shots });
  assert.equal(data.items.length, 5);
  assert.deepEqual(
    data.fewShot.map((i) => i.id),
    ['s1'],
  );

  const sameId = scratchFile('shots-id.jsonl', jsonl({ id: 'q2', question: 'Another question?', answers: ['x'] }));
  await assert.rejects(loadDataset({ ...ragtax, fewshot: sameId }), /shots-id\.jsonl: few-shot item `q2` has the id of an evaluated item/);

  const sameQuestion = scratchFile('shots-q.jsonl', jsonl({ id: 'z', question: 'what is the capital of france', answers: ['Paris'] }));
  await assert.rejects(
    loadDataset({ ...ragtax, fewshot: sameQuestion }),
    /shots-q\.jsonl: few-shot item `z` repeats the question of evaluated item `q2`/,
  );
});

test('line-number ids of a few-shot file do not clash with the evaluated file', async () => {
  const shots = scratchFile('nq-shots.jsonl', jsonl({ question: 'who wrote hamlet', answer: ['Shakespeare'] }));
  const data = await loadDataset({ format: 'nq-open', path: fixture('nq-open.jsonl'), fewshot: shots, seed: 1 });
  assert.deepEqual(
    data.fewShot.map((i) => i.id),
    ['fewshot-nq-1'],
  );
  assert.equal(data.items.length, 3);
  assert.deepEqual(data.corpus, []);
});

test('litm and squad2 bring their own corpus; a separate corpus is refused', async () => {
  const litm = await loadDataset({ format: 'litm', path: fixture('litm.jsonl'), seed: 1 });
  assert.equal(litm.corpus.length, 3);
  const squad = await loadDataset({ format: 'squad2', path: fixture('squad2.json'), seed: 1, fewshotSize: 1 });
  assert.equal(squad.items.length, 5);
  assert.notEqual(squad.fewShot[0]!.unanswerable, true);
  await assert.rejects(
    loadDataset({ format: 'squad2', path: fixture('squad2.json'), corpus: fixture('corpus.jsonl'), seed: 1 }),
    /corpus\.jsonl: format `squad2` brings its own corpus/,
  );
});

test('gold ids must exist in the corpus; bad fewshotSize is refused', async () => {
  const qa = scratchFile('qa-gold.jsonl', jsonl({ id: 'a', question: 'q?', answers: ['x'], gold_doc_ids: ['nope'] }));
  await assert.rejects(loadDataset({ ...ragtax, path: qa }), /qa-gold\.jsonl: item `a`: gold document `nope` is not in the corpus/);
  await assert.rejects(loadDataset({ ...ragtax, fewshotSize: -1 }), /fewshotSize must be a whole number/);
});
