import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRagtaxCorpus, readRagtaxItems } from '../../src/data/formats/ragtax.js';
import { InputError } from '../../src/errors.js';
import { fixture, jsonl, scratchFile } from './helpers.js';

/** Asserts an InputError whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${err.name}: ${err.message}`);
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

test('reads the corpus fixture (blank line skipped)', async () => {
  const docs = await readRagtaxCorpus(fixture('corpus.jsonl'));
  assert.equal(docs.length, 8);
  assert.deepEqual(docs[0], {
    id: 'd1',
    title: 'Eiffel Tower',
    text: 'The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889.',
  });
});

test('reads QA items with optional gold ids and corpus tag', async () => {
  const items = await readRagtaxItems(fixture('qa.jsonl'));
  assert.equal(items.length, 5);
  assert.deepEqual(items[0], {
    id: 'q1',
    question: 'When was the Eiffel Tower completed?',
    answers: ['1889'],
    goldDocIds: ['d1'],
    answerInCorpus: true,
  });
  assert.equal(items[4]!.goldDocIds, undefined);
});

test('integer ids become strings', async () => {
  const file = scratchFile('int-ids.jsonl', jsonl({ id: 7, title: '', text: 'x' }));
  assert.equal((await readRagtaxCorpus(file))[0]!.id, '7');
});

test('answers errors name file:line and the field', async () => {
  const base = { id: 'a', question: 'q?' };
  for (const [name, answers] of [
    ['empty', []],
    ['missing', undefined],
    ['not-strings', [1, 2]],
    ['string', 'Paris'],
    ['blank', ['  ']],
  ] as const) {
    const file = scratchFile(`answers-${name}.jsonl`, jsonl({ id: 'ok', question: 'fine?', answers: ['x'] }, { ...base, answers }));
    await rejectsWith(readRagtaxItems(file), new RegExp(`answers-${name}\\.jsonl:2: field \`answers\`: expected a non-empty array of strings`));
  }
});

test('other field errors: question, id, gold_doc_ids, answer_in_corpus, non-object lines', async () => {
  await rejectsWith(
    readRagtaxItems(scratchFile('no-question.jsonl', jsonl({ id: 'a', answers: ['x'] }))),
    /no-question\.jsonl:1: field `question`: missing \(expected a string\)/,
  );
  await rejectsWith(
    readRagtaxItems(scratchFile('bad-id.jsonl', jsonl({ id: '', question: 'q', answers: ['x'] }))),
    /bad-id\.jsonl:1: field `id`: expected a non-empty string or an integer/,
  );
  await rejectsWith(
    readRagtaxItems(scratchFile('bad-gold.jsonl', jsonl({ id: 'a', question: 'q', answers: ['x'], gold_doc_ids: ['d1', null] }))),
    /bad-gold\.jsonl:1: field `gold_doc_ids\[1\]`/,
  );
  await rejectsWith(
    readRagtaxItems(scratchFile('bad-aic.jsonl', jsonl({ id: 'a', question: 'q', answers: ['x'], answer_in_corpus: 'yes' }))),
    /bad-aic\.jsonl:1: field `answer_in_corpus`: expected true or false/,
  );
  await rejectsWith(readRagtaxItems(scratchFile('array-line.jsonl', '[1, 2]\n')), /array-line\.jsonl:1: expected a JSON object/);
  await rejectsWith(
    readRagtaxCorpus(scratchFile('no-text.jsonl', jsonl({ id: 'd', title: 't', text: '' }))),
    /no-text\.jsonl:1: field `text`: expected a non-empty string/,
  );
});

test('duplicate ids name both lines', async () => {
  const items = scratchFile(
    'dup-items.jsonl',
    jsonl({ id: 'a', question: 'q1', answers: ['x'] }, { id: 'b', question: 'q2', answers: ['x'] }, { id: 'a', question: 'q3', answers: ['y'] }),
  );
  await rejectsWith(readRagtaxItems(items), /dup-items\.jsonl:3: duplicate item id `a` \(first at line 1\)/);
  const docs = scratchFile('dup-docs.jsonl', jsonl({ id: 'd', title: '', text: 'x' }, { id: 'd', title: '', text: 'y' }));
  await rejectsWith(readRagtaxCorpus(docs), /dup-docs\.jsonl:2: duplicate document id `d` \(first at line 1\)/);
});

test('an empty corpus or QA file is an error', async () => {
  await rejectsWith(readRagtaxCorpus(scratchFile('empty-corpus.jsonl', '\n\n')), /empty-corpus\.jsonl: the corpus is empty/);
  await rejectsWith(readRagtaxItems(scratchFile('empty-qa.jsonl', '')), /empty-qa\.jsonl: no QA items/);
});
