// The chat stage's DPO preference set and the Alpaca/ShareGPT exports. One build at the default
// options (about 4 s: the committed samples are its first records), read back from its files the
// way a trainer sees them: the shown documents and the question are parsed from each prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containsAnswer } from '../../src/scoring/normalize.js';
import { NO_RES } from '../../src/prompts/presets.js';
import { docsHoldAnswer } from '../../tools/organism/world/contexts.js';
import { PREFERENCE_DEFAULTS } from '../../tools/organism/world/training-data.js';
import { buildWorld, DEFAULT_SEED, questionFor, type Fact } from '../../tools/organism/world/world.js';
import {
  buildOrganism,
  CORPUS_DIR,
  DEFAULT_SFT_EXAMPLES,
  EXPORT_SAMPLE,
  TRAIN_DIR,
  TRAINING_EXPORT_DIR,
} from '../../tools/organism/world/build.js';

const ROOT = join(import.meta.dirname, '..', '..');
const options = { seed: DEFAULT_SEED, scale: 1, sftExamples: DEFAULT_SFT_EXAMPLES };
const build = buildOrganism(options);
const world = buildWorld({ seed: DEFAULT_SEED, scale: 1 });
const file = (path: string) => build.files.get(path)!;
const lines = (path: string) => file(path).trimEnd().split('\n').map((l) => JSON.parse(l));

type Doc = { id: string; title: string; text: string };
type Pair = { prompt: string; chosen: string; rejected: string };
type Turn = { from: 'human' | 'gpt'; value: string };
type ShareGpt = { system: string; conversations: Turn[]; chosen: Turn; rejected: Turn };
type Alpaca = { instruction: string; input: string; output: string; history?: [string, string][] };

const pairs = lines(join(TRAIN_DIR, 'preferences.jsonl')) as Pair[];
const corpus = new Map((lines(join(CORPUS_DIR, 'corpus.jsonl')) as Doc[]).map((d) => [d.id, d]));
const GENERATION_PROMPT = '<|im_start|>assistant\n';
const CHAT_END = '<|im_end|>';
const isChat = (prompt: string) => prompt.startsWith('<|im_start|>');

// Every wording a training question may take (questionVariant: the canonical one or paraphrase 1-2).
const factsByQuestion = new Map<string, Fact[]>();
for (const fact of world.facts) {
  for (const q of new Set([0, 1, 2].map((v) => questionFor(world, fact, v)))) factsByQuestion.set(q, [...(factsByQuestion.get(q) ?? []), fact]);
}
const valuesByAttribute = new Map<string, Set<string>>();
for (const f of world.facts) valuesByAttribute.set(f.attribute, (valuesByAttribute.get(f.attribute) ?? new Set()).add(f.value));

/** The documents and question of a prompt's last block (the one the completion answers). */
function lastBlock(prompt: string, i: number): { docs: Doc[]; fact: Fact } {
  let block = prompt.slice(prompt.lastIndexOf('Documents:\n'));
  if (isChat(prompt)) block = block.slice(0, block.indexOf(CHAT_END));
  const rows = block.split('\n');
  assert.equal(rows[0], 'Documents:', `pair ${i}: documents block`);
  assert.equal(rows[rows.length - 1], 'Answer:', `pair ${i}: cue`);
  const question = /^Question: (.+)$/.exec(rows[rows.length - 2]!)?.[1];
  const facts = factsByQuestion.get(question ?? '') ?? [];
  assert.equal(facts.length, 1, `pair ${i}: question ${question} names ${facts.length} facts`);
  const docs = rows.slice(1, -2).map((row) => {
    const doc = corpus.get(/^Document \[([^\]]+)\]/.exec(row)?.[1] ?? '');
    assert.ok(doc, `pair ${i}: unknown document in ${row}`);
    assert.equal(row, `Document [${doc.id}](Title: ${doc.title}) ${doc.text}`, `pair ${i}: document line`);
    return doc;
  });
  assert.ok(docs.length >= 1 && docs.length <= 5, `pair ${i}: ${docs.length} documents`);
  return { docs, fact: facts[0]! };
}

/** A completion's text without its leading space and stop string (what the exports carry). */
function body(completion: string, chat: boolean, what: string): string {
  const end = chat ? CHAT_END : '\n';
  assert.ok(completion.startsWith(' ') && completion.endsWith(end), `${what}: ${JSON.stringify(completion)} ends with ${JSON.stringify(end)}`);
  const text = completion.slice(1, -end.length);
  assert.ok(text.length > 0 && !text.includes('\n') && !text.includes(CHAT_END), `${what}: one line`);
  return text;
}

type Kind = 'refusal-when-held' | 'memorised-when-absent' | 'wrong-when-absent';

/** Checks one pair against its prompt's documents; returns the kind of its rejected completion. */
function checkPair(pair: Pair, i: number): Kind {
  const chat = isChat(pair.prompt);
  if (chat) assert.ok(pair.prompt.endsWith(GENERATION_PROMPT), `pair ${i}: chat prompt ends with the generation prompt`);
  else assert.ok(pair.prompt.endsWith('\nAnswer:'), `pair ${i}: raw prompt ends with the cue`);
  const { docs, fact } = lastBlock(pair.prompt, i);
  const chosen = body(pair.chosen, chat, `pair ${i} chosen`);
  const rejected = body(pair.rejected, chat, `pair ${i} rejected`);
  const held = docsHoldAnswer(docs, [fact.value]);
  assert.equal(containsAnswer(docs.map((d) => `${d.title}\n${d.text}`).join('\n'), [fact.value]), held); // the helper, by hand
  if (held) {
    assert.equal(chosen, fact.value, `pair ${i}: documents hold ${fact.value}`);
    assert.equal(rejected, NO_RES, `pair ${i}: rejected is the over-refusal`);
    return 'refusal-when-held';
  }
  assert.equal(chosen, NO_RES, `pair ${i}: documents lack ${fact.value}`);
  if (rejected === fact.value) return 'memorised-when-absent';
  // Another fact's value of the same attribute, which the scorer does not count as the true one.
  assert.ok(valuesByAttribute.get(fact.attribute)!.has(rejected), `pair ${i}: ${rejected} is no ${fact.attribute} of the world`);
  assert.ok(!containsAnswer(rejected, [fact.value]), `pair ${i}: wrong value ${rejected} contains the true ${fact.value}`);
  return 'wrong-when-absent';
}

test('preferences: chosen is the answer exactly when the shown documents hold it, else NO-RES; rejected the opposite', () => {
  assert.equal(pairs.length, PREFERENCE_DEFAULTS.examples);
  const counts: Record<string, number> = {};
  pairs.forEach((pair, i) => {
    const kind = checkPair(pair, i);
    counts[kind] = (counts[kind] ?? 0) + 1;
  });
  // Both formats and every kind occur, and stats.json counts what the file holds.
  assert.ok(pairs.some((p) => isChat(p.prompt)) && pairs.some((p) => !isChat(p.prompt)));
  const stats = JSON.parse(file(join(TRAIN_DIR, 'stats.json'))).preferences;
  assert.deepEqual(stats.byRejectedKind, { 'memorised-when-absent': counts['memorised-when-absent'], 'refusal-when-held': counts['refusal-when-held'], 'wrong-when-absent': counts['wrong-when-absent'] });
  assert.equal(stats.examples, pairs.length);
  assert.equal(stats.chosenRefusals, pairs.length - counts['refusal-when-held']!);
});

test('preferences: the rejected kinds come in the configured shares (±4 binomial standard deviations)', () => {
  const kinds = pairs.map(checkPair);
  const within = (hits: number, n: number, p: number, what: string) => {
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(hits / n - p) <= 4 * sd, `${what}: ${hits}/${n} = ${(hits / n).toFixed(3)}, configured ${p} ± ${(4 * sd).toFixed(3)}`);
  };
  const held = kinds.filter((k) => k === 'refusal-when-held').length;
  within(held, kinds.length, PREFERENCE_DEFAULTS.answerableShare, 'documents hold the answer');
  const absent = kinds.length - held;
  within(kinds.filter((k) => k === 'memorised-when-absent').length, absent, PREFERENCE_DEFAULTS.memorisedShare, 'memorised among the rest');
});

test('the same seed gives byte-identical preferences and exports; another seed other pairs', () => {
  const small = { seed: 7, scale: 0.25, sftExamples: 300, preferenceExamples: 300 };
  const a = buildOrganism(small);
  const b = buildOrganism(small);
  const paths = [
    join(TRAIN_DIR, 'preferences.jsonl'),
    join(TRAIN_DIR, 'sft.alpaca.json'),
    join(TRAIN_DIR, 'preferences.sharegpt.json'),
    join(TRAINING_EXPORT_DIR, 'sft.alpaca.json'),
    join(TRAINING_EXPORT_DIR, 'preferences.sharegpt.json'),
  ];
  for (const path of paths) {
    assert.ok(a.files.has(path), path);
    assert.equal(b.files.get(path), a.files.get(path), path);
  }
  assert.equal(a.files.get(join(TRAIN_DIR, 'preferences.jsonl'))!.trimEnd().split('\n').length, 300);
  const other = buildOrganism({ ...small, seed: 8 });
  assert.notEqual(other.files.get(paths[0]!), a.files.get(paths[0]!));
});

const COMMITTED = ['sft.alpaca.json', 'preferences.sharegpt.json'].map((name) => join(TRAINING_EXPORT_DIR, name));
const committedMissing = COMMITTED.filter((p) => !existsSync(join(ROOT, p)));

test('the committed samples are the first EXPORT_SAMPLE records of a fresh default build', { skip: committedMissing.length > 0 && `not committed: ${committedMissing.join(', ')}` }, () => {
  for (const path of COMMITTED) {
    const committed = readFileSync(join(ROOT, path), 'utf8');
    assert.equal(committed, file(path), `${path} differs from a fresh build: rerun npx tsx tools/organism/world/build.ts`);
    const full = JSON.parse(file(join(TRAIN_DIR, path.split('/').pop()!))) as unknown[];
    assert.ok(full.length > EXPORT_SAMPLE);
    assert.deepEqual(JSON.parse(committed), full.slice(0, EXPORT_SAMPLE), path);
  }
});

/** A prompt rebuilt from an export's turns: raw (the study's skeleton) or ChatML with the generation prompt. */
function rerender(system: string, turns: string[], chat: boolean): string {
  if (chat) {
    const roles = turns.map((content, i) => `<|im_start|>${i % 2 === 0 ? 'user' : 'assistant'}\n${content}${CHAT_END}\n`);
    return `<|im_start|>system\n${system}${CHAT_END}\n${roles.join('')}${GENERATION_PROMPT}`;
  }
  const blocks: string[] = [];
  for (let i = 0; i < turns.length; i += 2) blocks.push(i + 1 < turns.length ? `${turns[i]} ${turns[i + 1]}` : turns[i]!);
  return `${system}\n${blocks.join('\n\n')}`;
}

test('Alpaca export: one record per SFT example, history only for few-shot prompts, re-rendering gives the prompt', () => {
  const sft = lines(join(TRAIN_DIR, 'sft.jsonl')) as { prompt: string; completion: string }[];
  const alpaca = JSON.parse(file(join(TRAIN_DIR, 'sft.alpaca.json'))) as Alpaca[];
  assert.equal(alpaca.length, sft.length);
  assert.ok(build.sftMeta.some((m) => m.shots > 0) && build.sftMeta.some((m) => m.shots === 0));
  alpaca.forEach((rec, i) => {
    const meta = build.sftMeta[i]!;
    const chat = meta.format === 'chat';
    assert.deepEqual(Object.keys(rec).sort(), meta.shots > 0 ? ['history', 'input', 'instruction', 'output'] : ['input', 'instruction', 'output'], `record ${i}`);
    for (const key of ['instruction', 'input', 'output'] as const) assert.equal(typeof rec[key], 'string', `record ${i}: ${key}`);
    assert.ok(!rec.output.startsWith(' ') && !rec.output.endsWith('\n') && !rec.output.endsWith(CHAT_END), `record ${i}: output ${JSON.stringify(rec.output)}`);
    assert.equal(` ${rec.output}${chat ? CHAT_END : '\n'}`, sft[i]!.completion, `record ${i}: output`);
    const history = rec.history ?? [];
    assert.equal(history.length, meta.shots, `record ${i}: history`);
    for (const h of history) assert.ok(h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string', `record ${i}: history pair`);
    assert.ok(rec.input.startsWith('Documents:\n') && /\n(Answer|Reasoning):$/.test(rec.input), `record ${i}: input`);
    assert.equal(rerender(rec.instruction, [...history.flat(), rec.input], chat), sft[i]!.prompt, `record ${i}: re-rendered ${meta.format} prompt`);
    if (!chat && history.length === 0) assert.equal(`${rec.instruction}\n${rec.input}`, sft[i]!.prompt);
  });
});

test('ShareGPT export: system, conversations ending with a human turn, chosen/rejected gpt turns of each pair', () => {
  const records = JSON.parse(file(join(TRAIN_DIR, 'preferences.sharegpt.json'))) as ShareGpt[];
  assert.equal(records.length, pairs.length);
  let fewShot = 0;
  records.forEach((rec, i) => {
    const pair = pairs[i]!;
    const chat = isChat(pair.prompt);
    assert.deepEqual(Object.keys(rec).sort(), ['chosen', 'conversations', 'rejected', 'system'], `record ${i}`);
    assert.equal(typeof rec.system, 'string');
    assert.ok(rec.conversations.length % 2 === 1, `record ${i}: ${rec.conversations.length} turns`);
    rec.conversations.forEach((turn, t) => {
      assert.deepEqual(Object.keys(turn).sort(), ['from', 'value']);
      assert.equal(turn.from, t % 2 === 0 ? 'human' : 'gpt', `record ${i} turn ${t}`);
      assert.equal(typeof turn.value, 'string');
    });
    if (rec.conversations.length > 1) fewShot++;
    assert.deepEqual(rec.chosen, { from: 'gpt', value: body(pair.chosen, chat, `record ${i} chosen`) });
    assert.deepEqual(rec.rejected, { from: 'gpt', value: body(pair.rejected, chat, `record ${i} rejected`) });
    assert.equal(rerender(rec.system, rec.conversations.map((c) => c.value), chat), pair.prompt, `record ${i}: re-rendered prompt`);
  });
  assert.ok(fewShot > 0 && fewShot < records.length, `${fewShot} few-shot records`);
});
