// The `counterfactual` context mode (docs/conflicts.md): the gold document with every occurrence of
// a gold answer replaced by a wrong value, the same for every model and every run of a suite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { answerType, buildContexts, counterfactualValues, substituteAnswer, type ContextOptions } from '../../src/retrieval/contexts.js';
import { containsAnswer } from '../../src/scoring/normalize.js';
import type { Doc, QaItem } from '../../src/types.js';
import { doc, fakeRetriever } from './fake-retriever.js';

test('substitution replaces every whole-word occurrence of every alias, in any case, longest alias first', () => {
  const text = 'Mount Everest rises high. everest is cold; EVEREST again. Everesting is a sport. mount everest.';
  const out = substituteAnswer(text, ['Everest', 'Mount Everest'], 'K2');
  assert.equal(out, 'K2 rises high. K2 is cold; K2 again. Everesting is a sport. K2.');
  // Punctuation inside an alias is matched literally, not as a pattern.
  assert.equal(substituteAnswer('It cost $5.00 (a lot).', ['$5.00'], '$9.99'), 'It cost $9.99 (a lot).');
  assert.equal(substituteAnswer('Born in 1525, died 15250.', ['1525'], '1610'), 'Born in 1610, died 15250.');
  // Non-Latin letters count as word characters.
  assert.equal(substituteAnswer('Zürich and Zürichsee', ['zürich'], 'Basel'), 'Basel and Zürichsee');
  assert.equal(substituteAnswer('nothing here', [], 'x'), 'nothing here');
});

const world: QaItem[] = [
  { id: 'p001-birthplace', question: 'Where was A born?', answers: ['Bukeikri'], goldDocIds: ['p001-3'] },
  { id: 'p002-birthplace', question: 'Where was B born?', answers: ['Medroukio'], goldDocIds: ['p002-1'] },
  { id: 'p003-birthplace', question: 'Where was C born?', answers: ['Vaskel'], goldDocIds: ['p003-1'] },
  { id: 'p004-birthplace', question: 'Where was D born?', answers: ['bukeikri'], goldDocIds: ['p004-1'] },
  { id: 'p001-employer', question: 'Where did A work?', answers: ['Nuskar Foundry'], goldDocIds: ['p001-4'] },
  { id: 'p002-employer', question: 'Where did B work?', answers: ['Kryzesh Guild'], goldDocIds: ['p002-2'] },
];

test('answer types come from the id suffix', () => {
  assert.equal(answerType('p001-birth_year'), 'birth_year');
  assert.equal(answerType('q1'), null);
  assert.equal(answerType('trailing-'), null);
});

test('fallback: another item\'s answer of the same type, never a true answer, seeded', () => {
  const values = counterfactualValues(world, 1);
  const byId = new Map(world.map((item, i) => [item.id, values[i]!]));
  assert.ok(['Medroukio', 'Vaskel'].includes(byId.get('p001-birthplace')!), byId.get('p001-birthplace'));
  // p004's answer equals p001's up to case: that value is never drawn for either of them.
  assert.ok(['Medroukio', 'Vaskel'].includes(byId.get('p004-birthplace')!));
  assert.ok(['Bukeikri', 'bukeikri', 'Vaskel'].includes(byId.get('p002-birthplace')!));
  assert.equal(byId.get('p001-employer'), 'Kryzesh Guild');
  assert.equal(byId.get('p002-employer'), 'Nuskar Foundry');
  // The same seed gives the same values whatever the item order; over seeds the draw varies.
  assert.deepEqual(counterfactualValues([...world].reverse(), 1), [...values].reverse());
  const drawn = new Set(Array.from({ length: 20 }, (_, seed) => counterfactualValues(world, seed)[0]));
  assert.deepEqual([...drawn].sort(), ['Medroukio', 'Vaskel']);
});

test('an item\'s own counterfactual field wins; an item with no wrong value is an InputError naming it', () => {
  const own: QaItem = { id: 'p009-birthplace', question: 'q', answers: ['Oslo'], counterfactual: ['', 'Bergen'] };
  assert.equal(counterfactualValues([...world, own], 3).at(-1), 'Bergen');
  assert.throws(() => counterfactualValues([{ id: 'q1', question: 'q', answers: ['Paris'] }], 1), (e: unknown) => e instanceof InputError && /`q1`.*no answer type/.test(e.message));
  assert.throws(() => counterfactualValues([world[4]!, { ...world[4]!, id: 'p007-employer' }], 1), (e: unknown) => e instanceof InputError && /answer type `employer`/.test(e.message));
});

const golds: Doc[] = [
  doc('p001-3', 'Bisesh was born in Bukeikri. Bukeikri lies by the sea; BUKEIKRI had a mill.', 'Bukeikri'),
  doc('p002-1', 'B was born in Medroukio.'),
  doc('p003-1', 'C was born in Vaskel.'),
  doc('p004-1', 'D was born in Bukeikri.'),
  doc('p001-4', 'A worked for Nuskar Foundry.'),
  doc('p002-2', 'B worked for the Kryzesh Guild.'),
];
const others = [doc('x1', 'Bukeikri is also here'), doc('x2', 'a quiet town'), doc('x3', 'another town'), doc('x4', 'a river')];
const corpusById = new Map([...golds, ...others].map((d) => [d.id, d]));
const opts: ContextOptions = { mode: 'counterfactual', k: 1, order: 'ascending', seed: 1, corpusById };

test('the gold document is shown with the wrong value everywhere, and the context records it', async () => {
  const contexts = await buildContexts(world, null, opts);
  const values = counterfactualValues(world, 1);
  contexts.forEach((context, i) => {
    const item = world[i]!;
    assert.equal(context.docs.length, 1);
    const [shown] = context.docs;
    assert.equal(shown!.id, item.goldDocIds![0], 'the altered document keeps its id');
    assert.equal(containsAnswer(`${shown!.title} ${shown!.text}`, item.answers), false, item.id);
    assert.ok(shown!.text.includes(values[i]!), item.id);
    assert.deepEqual(context.contextAnswers, [values[i]]);
    assert.equal(context.answerInContext, false);
  });
  const first = contexts[0]!.docs[0]!;
  const v = values[0]!;
  assert.equal(first.title, v);
  assert.equal(first.text, `Bisesh was born in ${v}. ${v} lies by the sea; ${v} had a mill.`);
  // The corpus itself is untouched.
  assert.match(corpusById.get('p001-3')!.text, /Bukeikri/);
});

test('identical on every build (every model shares one build; a rerun of the suite gets the same)', async () => {
  const a = await buildContexts(world, null, opts);
  const b = await buildContexts(world, null, opts);
  assert.deepEqual(a, b);
});

test('k > 1: the other documents neither gold nor holding a true answer', async () => {
  const item = world[0]!;
  const retriever = fakeRetriever({ [item.question]: [golds[0]!, others[0]!, others[1]!, others[2]!] });
  const [context] = await buildContexts([item, world[1]!, world[2]!], retriever, { ...opts, k: 3 });
  assert.deepEqual(context!.docs.map((d) => d.id), ['x3', 'x2', 'p001-3'], 'ascending: the altered gold document last');
});

test('an item without a gold document is refused, as in oracle mode', async () => {
  const orphan: QaItem = { id: 'p005-birthplace', question: 'q', answers: ['Tarn'] };
  await assert.rejects(buildContexts([...world, orphan], null, opts), (e: unknown) => e instanceof InputError && /`p005-birthplace` has no gold document/.test(e.message));
});

test('other modes: a dataset\'s own context answer counts only where the shown documents state it', async () => {
  const item: QaItem = { id: 'r1', question: 'who?', answers: ['Annie Ernaux'], contextAnswers: ['Patrick Modiano'], goldDocIds: ['g'] };
  const fake = doc('f', 'The prize went to Patrick Modiano.');
  const plain = doc('p', 'A prize was given.');
  const retriever = fakeRetriever({ 'who?': [fake, plain] });
  const [shown] = await buildContexts([item], retriever, { mode: 'retrieved', k: 1, order: 'ascending', seed: 1, corpusById: new Map([[fake.id, fake], [plain.id, plain]]) });
  assert.deepEqual(shown!.contextAnswers, ['Patrick Modiano']);
  const [absent] = await buildContexts([item], fakeRetriever({ 'who?': [plain, fake] }), { mode: 'retrieved', k: 1, order: 'ascending', seed: 1, corpusById: new Map([[fake.id, fake], [plain.id, plain]]) });
  assert.equal(absent!.contextAnswers, undefined);
});
