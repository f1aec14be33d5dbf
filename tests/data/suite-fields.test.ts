// The suite's dataset block for mapped formats: `fields` implies `format: mapped`, paths are
// checked at suite load, and settings that cannot apply are refused with the field named.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadSuite } from '../../src/suite/load.js';
import { fixture, scratchDir } from './helpers.js';

let n = 0;
function suite(dataset: string, grid = '  - { k: 3, instruction: nores }'): string {
  const file = path.join(scratchDir(), `suite-fields-${n++}.yaml`);
  writeFileSync(file, `name: s\ndataset:\n${dataset}\nmodels:\n  m: { path: /models/m }\ngrid:\n${grid}\n`);
  return file;
}

test('fields imply format mapped; passages make the corpus (no dataset.corpus needed for bm25)', async () => {
  const s = await loadSuite(suite(`  path: ${JSON.stringify(fixture('rgb-fact.json'))}\n  fields: { question: query, answers: answer, passages: [{ path: positive, supporting: true }, { path: negative }] }`));
  assert.equal(s.dataset.format, 'mapped');
  assert.deepEqual(s.dataset.fields?.passages, [{ path: 'positive', supporting: true }, { path: 'negative' }]);
  assert.equal(s.dataset.skipRevalidation, true);
});

test('without passages a mapped dataset still needs a corpus for retrieval', async () => {
  await assert.rejects(loadSuite(suite(`  path: x.jsonl\n  fields: { question: q }`)), /field `dataset\.corpus` is required by the bm25 retriever/);
});

test('a bad path is a suite error naming the field and the path', async () => {
  await assert.rejects(loadSuite(suite(`  path: x.jsonl\n  fields: { answers: "a[x]" }`)), /:4: field `dataset\.fields\.answers` `a\[x\]`: `\[x\]` is not `\[\]`, `\[N\]` or `\["key"\]`/);
  await assert.rejects(loadSuite(suite(`  path: x.jsonl\n  fields: { question: $.q }`)), /field `dataset\.fields\.question` .*only for the paths inside a `passages` mapping/);
});

test('fields and shape are for the mapped formats only; corpus_fields needs a corpus; passages need ids beside a corpus', async () => {
  await assert.rejects(loadSuite(suite(`  format: squad2\n  path: x.json\n  fields: { question: q }`)), /field `dataset\.fields` is for the mapped formats only \(`format: ragtax`, `format: nq-open`, `format: litm`, `format: mapped`\); `squad2` has a reader of its own/);
  await assert.rejects(loadSuite(suite(`  path: x.jsonl\n  corpus_fields: { text: body }`)), /field `dataset\.corpus_fields` describes `dataset\.corpus`, which is not set/);
  await assert.rejects(
    loadSuite(suite(`  path: x.jsonl\n  corpus: c.jsonl\n  fields: { passages: { path: "ctxs[]", text: text } }`)),
    /field `dataset\.fields\.passages` needs an `id` when `dataset\.corpus` is given \(passages\)/,
  );
  const ok = await loadSuite(suite(`  format: nq-open\n  path: x.json\n  shape: json\n  fields: { answers: answers }`, '  - { k: 0, instruction: closed-book }'));
  assert.equal(ok.dataset.shape, 'json');
});
