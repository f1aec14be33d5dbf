// Property-based tests (fast-check): the normaliser on arbitrary text, the loaders on random and
// malformed input (an InputError or a result, never another exception), and torn samples files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../../src/errors.js';
import { readNqOpen } from '../../src/data/formats/nq-open.js';
import { readLitm } from '../../src/data/formats/litm.js';
import { readRagtaxCorpus, readRagtaxItems } from '../../src/data/formats/ragtax.js';
import { readSquad2 } from '../../src/data/formats/squad2.js';
import { recoverSamples } from '../../src/rundir/resume.js';
import { sampleKey } from '../../src/rundir/sample-record.js';
import { normalizeAnswer } from '../../src/scoring/normalize.js';
import { loadSuite } from '../../src/suite/load.js';
import { TINY_SUITE } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-props-'));
let fileNo = 0;
const scratch = (name: string, content: string | Uint8Array) => {
  const file = path.join(tmp, `${fileNo++}-${name}`);
  writeFileSync(file, content);
  return file;
};

// Text with the characters that matter to the normaliser: unicode punctuation, quotes, dashes,
// case pairs, odd whitespace, articles, combining marks, astral symbols.
const pieces = fc.constantFrom('The', 'a', 'an', 'A', ' ', '  ', '\t', '\n', '\u00A0', '\u2003', '.', ',', '-', '—', '’', '“', '"', "'", '/', '⁄', '$', '+', '|', '(', ')', 'É', 'é', 'ß', 'İ', 'ǅ', 'Σ', 'ﬁ', '①', '²', 'Ⅻ', '\u0301', '😀', 'España', 'NO-RES', '1889', 'May 18 , 2018');
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')));

test('normaliser: never throws, idempotent, no punctuation, no uppercase, single spaces', () => {
  fc.assert(
    fc.property(text, (s) => {
      const n = normalizeAnswer(s);
      assert.equal(normalizeAnswer(n), n, 'idempotent');
      assert.doesNotMatch(n, /[\p{P}\p{S}]/u, 'no punctuation or symbols');
      assert.equal(n, n.toLowerCase(), 'no uppercase');
      assert.doesNotMatch(n, /\s\s|^\s|\s$/, 'single inner spaces, trimmed');
      for (const token of n.split(' ')) assert.ok(!['a', 'an', 'the'].includes(token), 'no articles');
    }),
    { numRuns: 2000 },
  );
});

/** Runs a loader; anything but success or an InputError fails the property. */
async function onlyInputErrors(load: () => Promise<unknown>): Promise<void> {
  try {
    await load();
  } catch (error) {
    if (!(error instanceof InputError)) throw new Error(`expected an InputError, got ${String(error)}`, { cause: error });
    assert.ok(error.message.length > 0);
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
// Lines close to valid records, so the field checks get exercised, not only JSON.parse.
const nearRecord = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.double()),
    question: fc.oneof(fc.string(), fc.integer(), fc.constant('   ')),
    answers: fc.oneof(fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(''))), fc.string(), fc.constant([])),
    answer: fc.oneof(fc.array(fc.string()), fc.string()),
    title: fc.oneof(fc.string(), fc.integer()),
    text: fc.oneof(fc.string(), fc.constant('')),
    gold_doc_ids: fc.oneof(fc.array(fc.string()), fc.string()),
    ctxs: fc.array(fc.record({ id: fc.string(), title: fc.string(), text: fc.string(), score: fc.oneof(fc.double(), fc.string()) }, { requiredKeys: [] }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const jsonlFile = fc.array(
  fc.oneof(
    nearRecord.map((r) => JSON.stringify(r)),
    jsonValue.map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constant(''),
  ),
  { maxLength: 6 },
).map((lines) => lines.join('\n'));

test('JSONL loaders: random and malformed lines give a result or an InputError, never a crash', async () => {
  await fc.assert(
    fc.asyncProperty(jsonlFile, fc.boolean(), async (content, gzipName) => {
      const file = scratch(gzipName ? 'x.jsonl' : 'x.json', content);
      await onlyInputErrors(() => readRagtaxItems(file));
      await onlyInputErrors(() => readRagtaxCorpus(file));
      await onlyInputErrors(() => readNqOpen(file, 'nq-'));
      await onlyInputErrors(() => readLitm(file, 'litm-'));
    }),
    { numRuns: 150 },
  );
  // Bytes that are not gzip in a .gz file.
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
      await onlyInputErrors(() => readLitm(scratch('x.jsonl.gz', bytes), 'litm-'));
    }),
    { numRuns: 30 },
  );
});

test('SQuAD v2 loader: arbitrary JSON gives a result or an InputError', async () => {
  const paragraph = fc.record({ context: fc.oneof(fc.string(), fc.integer()), qas: fc.array(fc.record({ id: fc.string(), question: fc.string(), is_impossible: fc.oneof(fc.boolean(), fc.string()), answers: fc.array(fc.record({ text: fc.string() }, { requiredKeys: [] })) }, { requiredKeys: [] }), { maxLength: 3 }) }, { requiredKeys: [] });
  const squad = fc.oneof(jsonValue, fc.record({ data: fc.array(fc.record({ title: fc.string(), paragraphs: fc.array(paragraph, { maxLength: 2 }) }, { requiredKeys: [] }), { maxLength: 2 }) }, { requiredKeys: [] }));
  await fc.assert(
    fc.asyncProperty(fc.oneof(squad.map((v) => JSON.stringify(v)), fc.string({ maxLength: 40 })), async (content) => {
      await onlyInputErrors(() => readSquad2(scratch('squad.json', content)));
    }),
    { numRuns: 150 },
  );
});

test('suite loader: mutated and random YAML gives a suite or an InputError', async () => {
  // Absolute data and model paths, so that the mutations that stay valid still resolve from tmp.
  const original = readFileSync(TINY_SUITE, 'utf8').replace(/\.\.\//g, `${path.dirname(path.dirname(TINY_SUITE))}/`);
  const mutation = fc.oneof(
    // Cut the file anywhere.
    fc.nat(original.length).map((n) => original.slice(0, n)),
    // Replace one character anywhere.
    fc.tuple(fc.nat(original.length - 1), fc.constantFrom(':', '[', '-', ' ', '\t', '"', '{', 'x', '9', '\n')).map(([i, c]) => original.slice(0, i) + c + original.slice(i + 1)),
    // Random YAML-ish text and random structures.
    fc.string({ maxLength: 60 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  );
  await fc.assert(
    fc.asyncProperty(mutation, async (content) => {
      const file = scratch('suite.yaml', content);
      await onlyInputErrors(() => loadSuite(file));
    }),
    { numRuns: 200 },
  );
});

test('a samples file cut at any byte recovers exactly its complete lines', async () => {
  const records = [1, 2, 3].map((i) => ({
    itemId: `q${i}`, model: 'm', format: 'raw', instruction: 'nores', context: 'retrieved', k: 1, shots: 0, cot: false,
    prompt: `Question ${i}?`, response: `résponse ${i} ✓`,
    scores: { correct: i === 1, exactMatch: i === 1, f1: i === 1 ? 1 : 0, refusal: false, answerInContext: true },
  }));
  const content = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const expected = new Set(records.map((r) => sampleKey(r as never)));
  await fc.assert(
    fc.asyncProperty(fc.nat(content.length), async (cut) => {
      const file = scratch('samples.jsonl', content.subarray(0, cut));
      const { records: got, tornBytesDropped } = await recoverSamples(file, expected);
      const complete = content.subarray(0, cut).lastIndexOf(0x0a) + 1;
      assert.equal(tornBytesDropped, cut - complete);
      assert.equal(got.length, content.subarray(0, complete).toString().split('\n').length - 1);
      assert.equal(readFileSync(file).length, complete, 'truncated to the last complete line');
    }),
    { numRuns: 100 },
  );
});
