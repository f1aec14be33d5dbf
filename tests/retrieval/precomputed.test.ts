import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readLitm } from '../../src/data/formats/litm.js';
import { buildContexts } from '../../src/retrieval/contexts.js';
import { createPrecomputedRetriever } from '../../src/retrieval/precomputed.js';
import { fixture } from '../data/helpers.js';

test('precomputed: returns each item\'s own ctxs, best first, cut at k', async () => {
  const { items } = await readLitm(fixture('litm.jsonl'));
  const retriever = createPrecomputedRetriever(items);
  assert.equal(retriever.name, 'precomputed');
  const [a, b] = await retriever.search([items[1]!.question, items[0]!.question], 1);
  assert.deepEqual(a, items[1]!.ctxs!.slice(0, 1));
  assert.deepEqual(b, items[0]!.ctxs!.slice(0, 1));
  const [ctx] = await buildContexts([items[0]!], retriever, { mode: 'retrieved', k: 2, order: 'ascending', seed: 0 });
  assert.deepEqual(
    ctx!.docs.map((d) => d.title),
    ['Nobel Prize', 'List of Nobel laureates in Physics'],
  );
  assert.equal(ctx!.answerInContext, true);
});

test('precomputed: unknown questions and conflicting duplicates are errors', async () => {
  const { items } = await readLitm(fixture('litm.jsonl'));
  const retriever = createPrecomputedRetriever(items);
  await assert.rejects(retriever.search(['never asked'], 1), /no item with precomputed contexts asks "never asked"/);
  const twin = { ...items[1]!, id: 'twin', question: items[0]!.question };
  assert.throws(() => createPrecomputedRetriever([items[0]!, twin]), /items `litm-1` and `twin` ask the same question with different precomputed contexts/);
  assert.doesNotThrow(() => createPrecomputedRetriever([items[0]!, { ...items[0]!, id: 'copy' }]));
});
