import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { makeExemplar, reasoningFor } from '../../src/prompts/exemplars.js';
import { pickExemplars } from '../../src/prompts/fewshot.js';
import { PRESETS, customInstruction } from '../../src/prompts/presets.js';
import { buildMessages, documentLine, renderPrompt, renderRaw, COT_INSTRUCTION } from '../../src/prompts/render.js';
import type { ChatMessage, Doc, QaItem } from '../../src/types.js';

const SHARED_SMOLLM = path.resolve(import.meta.dirname, '../../../shared/fixtures/tokenizers/smollm-instruct');

const docs: Doc[] = [
  { id: '7', title: 'Paris', text: 'Paris is the capital of France.' },
  { id: '3', title: 'Eiffel Tower', text: 'The tower was completed in 1889.' },
];
const nores = PRESETS.nores!;

test('presets are the study texts, character for character', () => {
  assert.equal(
    nores.text,
    'You are given a question and you MUST respond by EXTRACTING the answer (max 5 tokens) from one of the provided documents. If none of the documents contain the answer, respond with NO-RES.',
  );
  assert.equal(PRESETS['nores-long']!.text, nores.text.replace(' (max 5 tokens)', ''));
  assert.equal(PRESETS['no-rejection']!.text, nores.text.replace(' If none of the documents contain the answer, respond with NO-RES.', ''));
  assert.ok(PRESETS.proof!.text.startsWith(`${nores.text} In addition, you must report the portion of the document (Proof) containing the answer.\nSTART example\n`));
  assert.ok(PRESETS.proof!.text.endsWith('\nEND example'));
  assert.match(PRESETS.proof!.text, /\nAnswer: 4th Dynasty\nProof: /);
  assert.equal(
    PRESETS['closed-book']!.text,
    'You are given a question and you MUST respond with a short answer based on your internal knowledge. If you do not know the answer, please respond with NO-RES.',
  );
  assert.equal(customInstruction('mine', 'Answer briefly or say NO-RES.').rejects, true);
});

test('raw format is the study skeleton byte for byte', () => {
  const prompt = renderRaw({ instruction: nores, cot: false, question: 'when was the tower completed', docs, exemplars: [] });
  assert.equal(
    prompt,
    `${nores.text}\nDocuments:\nDocument [7](Title: Paris) Paris is the capital of France.\nDocument [3](Title: Eiffel Tower) The tower was completed in 1889.\nQuestion: when was the tower completed\nAnswer:`,
  );
});

test('closed-book skeleton has no documents block', () => {
  const prompt = renderRaw({ instruction: PRESETS['closed-book']!, cot: false, question: 'q?', docs: [], exemplars: [] });
  assert.equal(prompt, `${PRESETS['closed-book']!.text}\nQuestion: q?\nAnswer:`);
});

test('document lines never break the one-line-per-document rule', () => {
  assert.equal(documentLine({ id: 'a', title: 'T\nx', text: 'one\n two' }), 'Document [a](Title: T x) one two');
});

test('few-shot raw blocks repeat the skeleton with answers; CoT ends with the Reasoning cue', () => {
  const ex = { question: 'capital of france', docs: [docs[0]!], answer: 'Paris', reasoning: 'Document [7] says: Paris is the capital of France.' };
  const plain = renderRaw({ instruction: nores, cot: false, question: 'q', docs: [docs[1]!], exemplars: [ex] });
  assert.ok(plain.includes('Question: capital of france\nAnswer: Paris\n\nDocuments:\n'));
  assert.ok(plain.endsWith('Question: q\nAnswer:'));
  const cot = renderRaw({ instruction: nores, cot: true, question: 'q', docs: [docs[1]!], exemplars: [ex] });
  assert.ok(cot.startsWith(nores.text + COT_INSTRUCTION + '\n'));
  assert.ok(cot.includes('Question: capital of france\nReasoning: Document [7] says: Paris is the capital of France.\nAnswer: Paris\n\n'));
  assert.ok(cot.endsWith('Question: q\nReasoning:'));
});

test('chat messages: instruction as system, exemplars as alternating turns, no silent raw fallback', () => {
  const ex = { question: 'capital of france', docs: [docs[0]!], answer: 'Paris' };
  const messages = buildMessages({ instruction: nores, cot: false, question: 'q', docs, exemplars: [ex] });
  assert.deepEqual(messages.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
  assert.equal(messages[0]!.content, nores.text);
  assert.equal(messages[2]!.content, 'Paris');
  assert.ok(messages[3]!.content.startsWith('Documents:\n') && messages[3]!.content.endsWith('Question: q\nAnswer:'));
  assert.throws(() => renderPrompt({ instruction: nores, cot: false, question: 'q', docs, exemplars: [] }, 'chat', undefined, 'base'), /model `base` has no chat_template/);
});

test('exemplars answer as the instruction demands', () => {
  const item: QaItem = { id: 'x', question: 'when was the tower completed', answers: ['1889'] };
  assert.equal(makeExemplar(item, [docs[1]!], nores, false).answer, '1889');
  assert.equal(makeExemplar(item, [docs[0]!], nores, false).answer, 'NO-RES');
  assert.equal(makeExemplar(item, [docs[0]!], PRESETS['no-rejection']!, false).answer, '1889');
  assert.equal(reasoningFor(docs, ['1889']), 'Document [3] says: The tower was completed in 1889.');
  assert.equal(reasoningFor([docs[0]!], ['1889']), 'None of the documents contain the answer.');
});

test('exemplar draws are seeded, never the item itself, and stable', () => {
  const pool: QaItem[] = Array.from({ length: 10 }, (_, i) => ({ id: `f${i}`, question: `q${i}`, answers: ['a'] }));
  const item: QaItem = { id: 'f3', question: 'q3', answers: ['a'] };
  const a = pickExemplars(pool, item, 4, 1);
  assert.equal(a.length, 4);
  assert.ok(a.every((ex) => ex.id !== 'f3'));
  assert.deepEqual(pickExemplars(pool, item, 4, 1), a);
  assert.notDeepEqual(pickExemplars(pool, item, 4, 2).map((x) => x.id), a.map((x) => x.id));
  assert.equal(pickExemplars(pool, item, 0, 1).length, 0);
});

test('chat rendering with a real ChatML template (SmolLM tokenizer files)', { skip: !existsSync(SHARED_SMOLLM) && 'shared tokenizer fixtures absent' }, async () => {
  env.allowRemoteModels = false;
  env.localModelPath = '';
  const tokenizer = await AutoTokenizer.from_pretrained(SHARED_SMOLLM, { local_files_only: true });
  const render = (messages: ChatMessage[]) =>
    tokenizer.apply_chat_template(messages as never, { tokenize: false, add_generation_prompt: true }) as string;
  const prompt = renderPrompt({ instruction: nores, cot: false, question: 'q', docs: [docs[0]!], exemplars: [] }, 'chat', render);
  assert.equal(
    prompt,
    `<|im_start|>system\n${nores.text}<|im_end|>\n<|im_start|>user\nDocuments:\nDocument [7](Title: Paris) Paris is the capital of France.\nQuestion: q\nAnswer:<|im_end|>\n<|im_start|>assistant\n`,
  );
});
