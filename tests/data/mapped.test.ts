// Datasets read through a `fields:` mapping: the three real shapes of issue 20 (NQ-open with gold
// passages as a JSON array, HotpotQA as IRCoT's JSON Lines, RGB's counterfactual set), Parquet,
// exact ids on every path, and errors that name the file, the record, the field and the path.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import { readMapped } from '../../src/data/formats/mapped.js';
import { loadDataset, type DatasetSpec } from '../../src/data/load.js';
import { InputError } from '../../src/errors.js';
import { fixture, jsonl, scratchDir, scratchFile } from './helpers.js';

const NQ_ID = '-3290814144789249484';

async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${err.name}: ${err.message}`);
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

const nqGold: DatasetSpec = {
  format: 'mapped',
  path: fixture('nq-gold.json'),
  seed: 1,
  fields: { id: 'example_id', question: 'question', answers: 'answers', passages: { path: 'gold_passage', title: '$.title?', text: 'text', supporting: true } },
};

const hotpot: DatasetSpec = {
  format: 'mapped',
  path: fixture('hotpotqa-ircot.jsonl'),
  seed: 1,
  fields: {
    id: 'question_id',
    question: 'question_text',
    answers: 'answers_objects[].spans[]',
    cluster: 'type',
    passages: { path: 'contexts[]', title: 'title', text: 'paragraph_text', supporting: 'is_supporting' },
  },
};

const rgb: DatasetSpec = {
  format: 'mapped',
  path: fixture('rgb-fact.json'),
  seed: 1,
  fields: {
    id: 'id',
    question: 'query',
    answers: 'answer',
    counterfactual: 'fakeanswer',
    context_answers: 'fakeanswer',
    passages: [{ path: 'positive_wrong' }, { path: 'positive', supporting: true }, { path: 'negative' }],
  },
};

test('NQ-open with gold passages: a JSON array, nested gold passage, 64-bit ids exact, corpus from the items', async () => {
  const data = await loadDataset(nqGold);
  assert.deepEqual(data.items.map((i) => i.id), [NQ_ID, '9007199254740993', '9007199254740992']);
  assert.deepEqual(data.items[0]!.answers, ['Wilhelm Conrad Röntgen']);
  // Items 1 and 2 share their gold passage (same title and text): one document.
  assert.equal(data.corpus.length, 2);
  assert.deepEqual(data.notes, ['corpus: 2 passages from 3 items (1 duplicate merged)']);
  const [first, second, third] = data.items;
  assert.deepEqual(first!.goldDocIds, second!.goldDocIds);
  assert.equal(first!.ctxs![0]!.doc, second!.ctxs![0]!.doc);
  assert.equal(first!.ctxs![0]!.doc.title, 'List of Nobel laureates in Physics');
  assert.equal(third!.ctxs![0]!.doc.title, '', 'an absent title is empty');
  assert.equal(first!.answerInCorpus, true);
  assert.match(first!.goldDocIds![0]!, /^doc-[0-9a-f]{16}$/);
});

test('NQ-open with gold passages: passage ids mapped from the file dedupe by id', async () => {
  const data = await loadDataset({ ...nqGold, fields: { ...nqGold.fields, passages: { path: 'gold_passage', id: 'idx_gold_in_corpus', title: '$.title?', text: 'text', supporting: true } } });
  assert.deepEqual(data.corpus.map((d) => d.id), ['20994698', '20994699']);
  assert.deepEqual(data.items.map((i) => i.goldDocIds), [['20994698'], ['20994698'], ['20994699']]);
});

test('HotpotQA (IRCoT JSON Lines): answers in nested span lists, ten paragraphs with supporting flags', async () => {
  const data = await loadDataset(hotpot);
  const [a, b] = data.items;
  assert.equal(a!.id, '5a8b57f25542995d1e6f1371');
  assert.deepEqual(a!.answers, ['yes']);
  assert.deepEqual(b!.answers, ['Chief of Protocol', 'Chief of Protocol of the United States']);
  assert.equal(a!.ctxs!.length, 10);
  assert.deepEqual(a!.ctxs!.map((c) => c.score), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  const titles = (ids: string[]) => ids.map((id) => data.corpus.find((d) => d.id === id)!.title);
  assert.deepEqual(titles(a!.goldDocIds!), ['Scott Derrickson', 'Ed Wood']);
  assert.deepEqual(titles(b!.goldDocIds!), ['Kiss and Tell (1945 film)', 'Shirley Temple']);
  assert.equal(data.corpus.length, 18, 'two paragraphs appear in both items');
  assert.deepEqual(data.notes, ['corpus: 18 passages from 2 items (2 duplicates merged)']);
  assert.deepEqual(data.items.map((i) => i.cluster), ['comparison', 'bridge']);
});

test('RGB counterfactual: true and fake answers, positive/negative passage lists of plain strings', async () => {
  const data = await loadDataset(rgb);
  const [a, b] = data.items;
  assert.deepEqual(a!.answers, ['Annie Ernaux']);
  assert.deepEqual(a!.counterfactual, ['Patrick Modiano']);
  assert.deepEqual(a!.contextAnswers, ['Patrick Modiano']);
  assert.equal(a!.ctxs!.length, 5, 'positive_wrong, positive and negative, in that order');
  assert.match(a!.ctxs![0]!.doc.text, /Patrick Modiano/);
  assert.equal(a!.goldDocIds!.length, 1);
  assert.match(data.corpus.find((d) => d.id === a!.goldDocIds![0])!.text, /Annie Ernaux/);
  assert.deepEqual(b!.counterfactual, ['France']);
  // The Nobel-prize negative passage is in both items.
  assert.deepEqual(data.notes, ['corpus: 8 passages from 2 items (1 duplicate merged)']);
});

test('a path that matches nothing names the file, the line, the field, the path and the keys', async () => {
  await rejectsWith(
    loadDataset({ ...hotpot, fields: { ...hotpot.fields, answers: 'answers_objects[].span[]' } }),
    /hotpotqa-ircot\.jsonl:1: field `answers_objects\[0\]\.span`: missing \(expected a non-blank string or a list of them\); `answers_objects\[0\]` has no key `span`; its keys: number, date, spans \(did you mean `spans`\?\) \(fields\.answers: `answers_objects\[\]\.span\[\]`\)/,
  );
  await rejectsWith(
    loadDataset({ ...hotpot, fields: { ...hotpot.fields, question: 'question' } }),
    /hotpotqa-ircot\.jsonl:1: field `question`: missing \(expected a string\); the record has no key `question`; its keys: dataset, question_id, question_text.*\(did you mean `question_id`\?\)/,
  );
  // A JSON array names the line the record starts on and its number.
  await rejectsWith(
    loadDataset({ ...nqGold, fields: { ...nqGold.fields, passages: { path: 'gold_passage', text: 'passage_text' } } }),
    /nq-gold\.json:2: record 1: field `gold_passage\.passage_text`: missing \(expected a non-empty string\); `gold_passage` has no key `passage_text`; its keys: text, idx_gold_in_corpus/,
  );
  // An optional path may be absent; a wrong kind is still an error.
  await rejectsWith(
    loadDataset({ ...rgb, fields: { ...rgb.fields, answers: 'answer.text?' } }),
    /rgb-fact\.json:1: field `answer`: is a list, not an object with key `text`/,
  );
  // Two values where one is expected.
  await rejectsWith(
    loadDataset({ ...hotpot, fields: { ...hotpot.fields, id: 'contexts[].idx' } }),
    /hotpotqa-ircot\.jsonl:1: field `contexts\[\]\.idx`: reached 10 values; `id` takes one/,
  );
});

test('passages that are objects need a `text` mapping; the message lists their keys', async () => {
  await rejectsWith(
    loadDataset({ ...hotpot, fields: { ...hotpot.fields, passages: { path: 'contexts[]' } } }),
    /hotpotqa-ircot\.jsonl:1: field `contexts\[0\]`: expected the passage text \(a non-empty string\); map `text` to one of its keys: idx, title, paragraph_text, is_supporting/,
  );
});

test('a preset takes fields over its own: nq-open with `answers` in a JSON array', async () => {
  const file = scratchFile('nq-array.json', JSON.stringify([{ question: 'who wrote hamlet', answers: ['Shakespeare'] }, { question: 'capital of france', answers: 'Paris' }], null, 2));
  const data = await loadDataset({ format: 'nq-open', path: file, seed: 1, shape: 'json', fields: { answers: 'answers' } });
  assert.deepEqual(data.items.map((i) => [i.id, i.answers]), [['nq-1', ['Shakespeare']], ['nq-2', ['Paris']]]);
});

test('Parquet: INT64 ids keep every digit, lists and structs map like JSON', async () => {
  const file = `${scratchDir()}/nq.parquet`;
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'example_id', data: [BigInt(NQ_ID), 9007199254740993n, 12n], type: 'INT64' },
      { name: 'question', data: ['q one?', 'q two?', 'q three?'], type: 'STRING' },
      { name: 'answer', data: [['a', 'b'], ['c'], ['d']] },
      { name: 'gold', data: [{ title: 'T', text: 'x a' }, { title: 'T', text: 'x a' }, { title: 'U', text: 'd here' }] },
    ],
  });
  const data = await loadDataset({ format: 'mapped', path: file, seed: 1, fields: { id: 'example_id', question: 'question', answers: 'answer', passages: { path: 'gold', title: 'title', text: 'text', supporting: true } } });
  assert.deepEqual(data.items.map((i) => i.id), [NQ_ID, '9007199254740993', '12']);
  assert.deepEqual(data.items[0]!.answers, ['a', 'b']);
  assert.equal(data.corpus.length, 2);
  await rejectsWith(
    loadDataset({ format: 'mapped', path: file, seed: 1, fields: { id: 'example_id', question: 'Question', answers: 'answer' } }),
    /nq\.parquet: row 1: field `Question`: missing .*did you mean `question`/,
  );
});

test('exact ids: mapped item, passage and gold ids beyond 2^53 stay exact; a rounded one is refused', async () => {
  const big = '9007199254740993';
  const file = scratchFile('exact-mapped.json', `[{"q": "q?", "a": "x", "k": ${NQ_ID}, "c": ${big}, "g": [${big}], "p": [{"pid": ${big}, "t": "x here"}]}]`);
  const data = await loadDataset({ format: 'mapped', path: file, seed: 1, fields: { id: 'k', question: 'q', answers: 'a', cluster: 'c', gold_doc_ids: 'g', passages: { path: 'p[]', id: 'pid', text: 't' } } });
  assert.equal(data.items[0]!.id, NQ_ID);
  assert.equal(data.items[0]!.cluster, big);
  assert.deepEqual(data.items[0]!.goldDocIds, [big]);
  assert.equal(data.corpus[0]!.id, big);
  const rounded = scratchFile('rounded.json', '[{"q": "q?", "a": "x", "k": 3.2908141447892495e18}]');
  await rejectsWith(
    loadDataset({ format: 'mapped', path: rounded, seed: 1, fields: { id: 'k', question: 'q', answers: 'a' } }),
    /rounded\.json:1: record 1: field `k`: the id .* more than 2\^53.*quote it as a string/,
  );
});

test('JSON arrays stream: brackets and quotes inside strings, gzip, and structural errors', async () => {
  const tricky = [{ question: 'a [b] {c} "d", e?', answers: ['x ] y'] }, { question: 'q2\\', answers: ['z'] }];
  const text = JSON.stringify(tricky, null, 1);
  for (const name of ['tricky.json', 'tricky.json.gz']) {
    const data = await loadDataset({ format: 'mapped', path: scratchFile(name, `\uFEFF${text}`), seed: 1 });
    assert.deepEqual(data.items.map((i) => [i.question, i.answers]), tricky.map((t) => [t.question, t.answers]));
  }
  await rejectsWith(loadDataset({ format: 'mapped', path: scratchFile('open.json', '[{"question": "q", "answers": ["a"]},'), seed: 1 }), /open\.json:1: the array is not closed/);
  await rejectsWith(loadDataset({ format: 'mapped', path: scratchFile('empty.json', '[]'), seed: 1 }), /empty\.json: no QA items/);
  await rejectsWith(loadDataset({ format: 'mapped', path: scratchFile('after.json', '[{"question": "q", "answers": ["a"]}] x'), seed: 1 }), /after\.json:1: unexpected text after the closing `\]`/);
  await rejectsWith(
    loadDataset({ format: 'mapped', path: scratchFile('bad-el.json', '[\n{"question": "q", "answers": ["a"]},\n{"question": }\n]'), seed: 1 }),
    /bad-el\.json:3: record 2: invalid JSON/,
  );
  await rejectsWith(loadDataset({ format: 'mapped', shape: 'json', path: scratchFile('lines.json', jsonl({ question: 'q', answers: ['a'] })), seed: 1 }), /lines\.json:1: expected a JSON array of records/);
});

test('items without answers need `unanswerable`; duplicate ids name both records', async () => {
  const file = scratchFile('unans.jsonl', jsonl({ q: 'a?', a: [], imp: true }, { q: 'b?', a: ['x'], imp: false }));
  const data = await loadDataset({ format: 'mapped', path: file, seed: 1, fields: { question: 'q', answers: 'a', unanswerable: 'imp' } });
  assert.deepEqual(data.items.map((i) => [i.id, i.unanswerable ?? false]), [['item-1', true], ['item-2', false]]);
  await rejectsWith(loadDataset({ format: 'mapped', path: file, seed: 1, fields: { question: 'q', answers: 'a' } }), /unans\.jsonl:1: field `a`: no answers/);
  const dup = scratchFile('dup.json', JSON.stringify([{ id: 1, question: 'a', answers: 'x' }, { id: '1', question: 'b', answers: 'y' }]));
  await rejectsWith(loadDataset({ format: 'mapped', path: dup, seed: 1, fields: { id: 'id' } }), /dup\.json:1: record 2: duplicate item id `1` \(first at record 1\)/);
});

test('the checked and the unchecked read of the same bytes give the same items and corpus', async () => {
  for (const spec of [nqGold, hotpot, rgb]) {
    const checked = await readMapped(spec.path, { preset: 'mapped', fields: spec.fields }, { validate: true });
    const trusted = await readMapped(spec.path, { preset: 'mapped', fields: spec.fields }, { validate: false });
    assert.deepEqual(trusted, checked, spec.path);
  }
  for (const [preset, file] of [['litm', 'litm.jsonl'], ['nq-open', 'nq-open.jsonl'], ['ragtax', 'qa.jsonl']] as const) {
    assert.deepEqual(await readMapped(fixture(file), { preset }, { validate: false }), await readMapped(fixture(file), { preset }, { validate: true }), file);
  }
  assert.ok(readFileSync(fixture('rgb-fact.json'), 'utf8').startsWith('{'), 'RGB ships JSON Lines under a .json name: detected by content');
});

test('JSON arrays: records that straddle read chunks (several MiB, escapes and brackets in strings) read whole', async () => {
  const records = Array.from({ length: 6000 }, (_, i) => ({
    question: `q${i} with "quotes" \\ back\\slashes [brackets] {braces}, commas`,
    answers: [`a${i}`, 'x'.repeat(1 + (i % 900))],
  }));
  const text = JSON.stringify(records, null, 3);
  assert.ok(text.length > 3 * 1024 * 1024, 'spans several 1 MiB read chunks');
  for (const name of ['big.json', 'big.json.gz']) {
    const data = await loadDataset({ format: 'mapped', path: scratchFile(name, text), seed: 1 });
    assert.equal(data.items.length, records.length);
    data.items.forEach((item, i) => {
      assert.equal(item.question, records[i]!.question);
      assert.deepEqual(item.answers, records[i]!.answers);
    });
  }
});

test('corpus_fields map a corpus file of another shape; repeated corpus ids are an error', async () => {
  const corpus = scratchFile('beir-corpus.json', JSON.stringify([{ _id: 'd1', title: 'T', body: 'one' }, { _id: 'd2', body: 'two' }]));
  const qa = scratchFile('qa-for-beir.jsonl', jsonl({ id: 'q', question: 'q?', answers: ['one'], gold_doc_ids: ['d2'] }));
  const data = await loadDataset({ format: 'ragtax', path: qa, corpus, corpusFields: { id: '_id', title: 'title?', text: 'body' }, seed: 1 });
  assert.deepEqual(data.corpus, [{ id: 'd1', title: 'T', text: 'one' }, { id: 'd2', title: '', text: 'two' }]);
  const dup = scratchFile('dup-corpus.json', JSON.stringify([{ _id: 'd1', body: 'one' }, { _id: 'd1', body: 'one' }]));
  await rejectsWith(loadDataset({ format: 'ragtax', path: qa, corpus: dup, corpusFields: { id: '_id', text: 'body' }, seed: 1 }), /dup-corpus\.json:1: record 2: duplicate document id `d1` \(first at record 1\)/);
});
