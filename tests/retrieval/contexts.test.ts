import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRagtaxCorpus, readRagtaxItems } from '../../src/data/formats/ragtax.js';
import { InputError } from '../../src/errors.js';
import { createBm25Retriever } from '../../src/retrieval/bm25.js';
import { buildContexts, docMentionsAnswer, type ContextOptions } from '../../src/retrieval/contexts.js';
import type { Doc, QaItem } from '../../src/types.js';
import { fixture } from '../data/helpers.js';
import { doc, fakeRetriever } from './fake-retriever.js';

// Ranking for "q?": best first. d2 duplicates d1's content; d3 and d5 mention the answer.
const d1 = doc('1', 'alpha passage');
const d2 = { ...d1, id: '2' };
const d3 = doc('3', 'the answer is Zanzibar');
const d4 = doc('4', 'gamma passage');
const d5 = doc('5', 'Zanzibar again');
const d6 = doc('6', 'delta passage');
const d7 = doc('7', 'epsilon passage');
const ranking = [d1, d2, d3, d4, d5, d6, d7];
const corpusById = new Map(ranking.map((d) => [d.id, d]));
const item: QaItem = { id: 'i1', question: 'q?', answers: ['Zanzibar'], goldDocIds: ['3'] };
const base: ContextOptions = { mode: 'retrieved', k: 3, order: 'ascending', seed: 1, corpusById };
const ids = (docs: Doc[]) => docs.map((d) => d.id);

async function one(opts: Partial<ContextOptions>, it: QaItem = item) {
  const [ctx] = await buildContexts([it], fakeRetriever({ 'q?': ranking }), { ...base, ...opts });
  return ctx!;
}

test('retrieved: duplicates dropped; ascending puts the best document last, next to the question', async () => {
  const asc = await one({});
  assert.deepEqual(ids(asc.docs), ['4', '3', '1']);
  assert.equal(asc.docs.at(-1), d1, 'best document adjacent to the question by default');
  assert.equal(asc.answerInContext, true);
  assert.deepEqual({ itemId: asc.itemId, mode: asc.mode, k: asc.k }, { itemId: 'i1', mode: 'retrieved', k: 3 });
  const desc = await one({ order: 'descending' });
  assert.deepEqual(ids(desc.docs), ['1', '3', '4']);
});

test('retrieved: answerInContext is false when no shown document has the answer', async () => {
  const ctx = await one({ k: 1 });
  assert.deepEqual(ids(ctx.docs), ['1']);
  assert.equal(ctx.answerInContext, false);
});

test('retrieved: deepens past duplicates, and errors when distinct documents run out', async () => {
  const retriever = fakeRetriever({ 'q?': [d1, d2, d4] });
  const [ctx] = await buildContexts([item], retriever, { ...base, k: 2, corpusById: undefined });
  assert.deepEqual(ids(ctx!.docs), ['4', '1']);
  await assert.rejects(
    buildContexts([item], retriever, { ...base, k: 3, corpusById: undefined }),
    (err: Error) => err instanceof InputError && /item `i1`: retrieved context needs 3 distinct documents but the retriever has only 2/.test(err.message),
  );
});

test('k larger than the corpus is an InputError that says the corpus size', async () => {
  await assert.rejects(one({ k: 8 }), (err: Error) => err instanceof InputError && /k = 8 is larger than the corpus \(7 documents\)/.test(err.message));
});

test('oracle: gold at the default position (last when ascending, first when descending)', async () => {
  const asc = await one({ mode: 'oracle' });
  // Others: top non-gold distinct docs d1, d4 → ascending [d4, d1], gold appended last.
  assert.deepEqual(ids(asc.docs), ['4', '1', '3']);
  const desc = await one({ mode: 'oracle', order: 'descending' });
  assert.deepEqual(ids(desc.docs), ['3', '1', '4']);
});

test('oracle: explicit positions, and random positions seeded per item', async () => {
  assert.deepEqual(ids((await one({ mode: 'oracle', oraclePosition: 'first' })).docs), ['3', '4', '1']);
  assert.deepEqual(ids((await one({ mode: 'oracle', oraclePosition: 1 })).docs), ['4', '3', '1']);
  assert.deepEqual(ids((await one({ mode: 'oracle', oraclePosition: 'last', order: 'descending' })).docs), ['1', '4', '3']);
  await assert.rejects(one({ mode: 'oracle', oraclePosition: 3 }), /oracle position 3 is outside 0\.\.2/);

  const items = Array.from({ length: 40 }, (_, i) => ({ ...item, id: `r${i}` }));
  const run = (seed: number) =>
    buildContexts(items, fakeRetriever({ 'q?': ranking }), { ...base, mode: 'oracle', k: 5, oraclePosition: 'random', seed });
  const positions = (ctxs: Awaited<ReturnType<typeof run>>) => ctxs.map((c) => c.docs.findIndex((d) => d.id === '3'));
  const a = positions(await run(1));
  assert.deepEqual(a, positions(await run(1)), 'same seed, same positions');
  assert.equal(new Set(a).size, 5, 'all positions occur');
  assert.notDeepEqual(a, positions(await run(2)));
  // An item's position does not depend on which other items are in the batch.
  const [alone] = await buildContexts([items[7]!], fakeRetriever({ 'q?': ranking }), {
    ...base,
    mode: 'oracle',
    k: 5,
    oraclePosition: 'random',
    seed: 1,
  });
  assert.equal(alone!.docs.findIndex((d) => d.id === '3'), a[7]);
});

test('oracle: k = 1 needs no retriever; an item without a gold document is an error naming it', async () => {
  const [ctx] = await buildContexts([item], null, { ...base, mode: 'oracle', k: 1 });
  assert.deepEqual(ids(ctx!.docs), ['3']);
  assert.equal(ctx!.answerInContext, true);
  await assert.rejects(
    buildContexts([{ ...item, id: 'nogold', goldDocIds: undefined }], null, { ...base, mode: 'oracle', k: 1 }),
    (err: Error) => err instanceof InputError && /item `nogold` has no gold document/.test(err.message),
  );
  await assert.rejects(
    buildContexts([{ ...item, goldDocIds: ['missing'] }], null, { ...base, mode: 'oracle', k: 1 }),
    /item `i1`: gold document `missing` is not in the corpus/,
  );
  await assert.rejects(buildContexts([item], null, { ...base, mode: 'oracle', k: 2 }), /oracle contexts with k = 2 need a retriever/);
});

test('distractors: never contain the answer; retrieval deepens; fewer than k when the corpus runs out', async () => {
  const retriever = fakeRetriever({ 'q?': ranking });
  const [ctx] = await buildContexts([item], retriever, { ...base, mode: 'distractors', k: 3 });
  assert.deepEqual(ids(ctx!.docs), ['6', '4', '1']);
  assert.equal(ctx!.answerInContext, false);
  assert.ok(ctx!.docs.every((d) => !docMentionsAnswer(d, item.answers)));
  assert.equal(retriever.calls[0]!.k, 7, 'first pass asks for 4k, capped at the corpus size');

  const [short] = await buildContexts([item], fakeRetriever({ 'q?': ranking }), { ...base, mode: 'distractors', k: 5 });
  assert.deepEqual(ids(short!.docs), ['7', '6', '4', '1'], 'only 4 clean distinct documents exist');
  assert.equal(short!.k, 5);
});

test('distractors deepen in steps when the corpus size is unknown', async () => {
  const many = Array.from({ length: 30 }, (_, i) => doc(`m${i}`, i < 20 ? `Zanzibar ${i}` : `clean ${i}`));
  const retriever = fakeRetriever({ 'q?': many });
  const [ctx] = await buildContexts([item], retriever, { ...base, mode: 'distractors', k: 2, corpusById: undefined });
  assert.deepEqual(ids(ctx!.docs), ['m21', 'm20']);
  assert.deepEqual(
    retriever.calls.map((c) => c.k),
    [8, 32],
  );
});

test('closed-book: no documents', async () => {
  const [ctx] = await buildContexts([item], null, { ...base, mode: 'closed-book' });
  assert.deepEqual(ctx, { itemId: 'i1', mode: 'closed-book', k: 0, docs: [], answerInContext: false });
});

test('retrieved without a retriever and bad k are InputErrors', async () => {
  await assert.rejects(buildContexts([item], null, base), /retrieved contexts with k = 3 need a retriever/);
  await assert.rejects(one({ k: 0 }), /k must be a whole number ≥ 1/);
});

test('BM25 end to end: deterministic, byte-identical contexts', async () => {
  const corpus = await readRagtaxCorpus(fixture('corpus.jsonl'));
  const items = await readRagtaxItems(fixture('qa.jsonl'));
  const byId = new Map(corpus.map((d) => [d.id, d]));
  const bm25 = await createBm25Retriever(corpus);
  const opts: ContextOptions = { mode: 'retrieved', k: 3, order: 'ascending', seed: 3, corpusById: byId };
  const a = await buildContexts(items, bm25, opts);
  const b = await buildContexts(items, await createBm25Retriever(corpus), opts);
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  // The Paris duplicate (d2/d7) is never shown twice.
  for (const ctx of a) {
    const keys = ctx.docs.map((d) => `${d.title}\u0000${d.text}`);
    assert.equal(new Set(keys).size, keys.length);
  }
  assert.equal(a[0]!.docs.at(-1)!.id, 'd1', 'Eiffel question: best document last');
  const oracle = await buildContexts(items.slice(0, 4), bm25, { ...opts, mode: 'oracle' });
  oracle.forEach((ctx, i) => assert.equal(ctx.docs.at(-1)!.id, items[i]!.goldDocIds![0]));
  const distractors = await buildContexts(items, bm25, { ...opts, mode: 'distractors' });
  for (const [i, ctx] of distractors.entries()) {
    assert.equal(ctx.answerInContext, false);
    assert.ok(ctx.docs.every((d) => !docMentionsAnswer(d, items[i]!.answers)));
  }
});
