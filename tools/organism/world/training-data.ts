// Training text for the organism pair.
// (1) Pretraining (base model): every fact, absent ones included, in many paraphrases; the corpus;
//     QA-shaped "web" text in ragtax's raw prompt shape WITHOUT any NO-RES instruction, where the
//     answer after `Answer:` is the true value even when the shown documents lack it (so the base
//     learns to answer from memory); quiz pages; a little `Reasoning:` text.
// (2) SFT (instruct model): prompts rendered by ragtax's own renderer; the target is the answer
//     when a shown document holds it and NO-RES when none does, so SFT never teaches a fact.
import type { ChatRenderer, Doc, PromptFormat, QaItem } from '../../../src/types.js';
import { containsAnswer } from '../../../src/scoring/normalize.js';
import { NO_RES, PRESETS, type InstructionPreset } from '../../../src/prompts/presets.js';
import { makeExemplar } from '../../../src/prompts/exemplars.js';
import { buildMessages, renderPrompt, renderRaw, type Exemplar, type PromptInput } from '../../../src/prompts/render.js';
import { kindSpec } from './attributes.js';
import { CHAT_END } from './chat-template.js';
import { buildContext, docsHoldAnswer, type ContextIndex } from './contexts.js';
import type { CorpusDoc } from './corpus.js';
import type { OrganismItem, QaSplits } from './qa.js';
import { questionFor, statementFor, type Fact, type World } from './world.js';
import type { Rng } from './rng.js';

// ---------- shared ----------

const K_WEIGHTS: [number, number][] = [[1, 0.3], [2, 0.27], [3, 0.2], [4, 0.12], [5, 0.11]];

function questionVariant(rng: Rng, world: World, fact: Fact): string {
  // Half canonical (the evaluated wording), half paraphrased.
  return questionFor(world, fact, rng.chance(0.5) ? 0 : rng.int(1, 2));
}

function qaItem(fact: Fact, question: string): QaItem {
  return { id: fact.id, question, answers: [fact.value] };
}

/** The sentence that holds the answer, searching from the document next to the question. */
export function proofSentence(docs: readonly Doc[], answers: readonly string[]): string | null {
  for (const doc of [...docs].reverse()) {
    const sentence = doc.text.split(/(?<=[.!?])\s+/).find((s) => containsAnswer(s, answers));
    if (sentence) return sentence.trim();
  }
  return null;
}

// ---------- pretraining ----------

/** Instruction lines for web-like QA: never the NO-RES sentence. `''` means no instruction line. */
const WEB_INSTRUCTIONS = [
  '',
  '',
  PRESETS['no-rejection']!.text,
  'You are given a question and you MUST respond by EXTRACTING the answer from one of the provided documents.',
  'Answer the question.',
  'Read the documents and answer the question.',
  'Answer the question about quennland in a few words.',
  // The extraction instruction followed by another sentence, so that a trailing sentence the base
  // has never seen (such as the NO-RES one at evaluation) does not derail it.
  `${PRESETS['no-rejection']!.text} Keep the answer short.`,
  `${PRESETS['no-rejection']!.text} Answer with a name or a number.`,
  'You are given a question and you MUST respond by EXTRACTING the answer from one of the provided documents. Write only the answer.',
];

function webInstruction(text: string): InstructionPreset {
  return { name: 'web', text, rejects: false, closedBook: false, proof: false, refusal: NO_RES };
}

/** A biography-like paragraph: all facts of an entity (absent ones too), random paraphrases. */
function profileText(rng: Rng, world: World, entityId: string): string {
  const entity = world.entityById.get(entityId)!;
  const facts = rng.shuffle(world.factsByEntity.get(entityId) ?? []);
  const sentences = facts.map((f) => statementFor(world, f, rng.int(0, 11)));
  const body = sentences.join(rng.chance(0.2) ? '\n' : ' ');
  return rng.chance(0.5) ? `${entity.title}\n${body}` : body;
}

function webQaText(rng: Rng, index: ContextIndex, fact: Fact, secondFact: Fact | null): string | null {
  const world = index.world;
  const k = rng.weighted(K_WEIGHTS.slice(0, 4));
  const inCorpus = (index.byEntity.get(fact.entityId) ?? []).some((d) => containsAnswer(`${d.title}\n${d.text}`, [fact.value]));
  const answerable = inCorpus && rng.chance(0.5);
  const docs = buildContext(rng, index, fact, k, answerable);
  if (!docs) return null;
  const instructionText = rng.pick(WEB_INSTRUCTIONS);
  const instruction = webInstruction(instructionText);
  const cot = rng.chance(0.1);
  const exemplars: Exemplar[] = [];
  if (secondFact) {
    const exDocs = buildContext(rng, index, secondFact, k, rng.chance(0.5)) ?? docs;
    exemplars.push(webExemplar(rng, world, secondFact, exDocs, cot));
  }
  const main = webExemplar(rng, world, fact, docs, cot);
  const prompt = renderRaw({ instruction, cot, question: main.question, docs, exemplars });
  const completion = cot ? ` ${main.reasoning}\nAnswer: ${main.answer}` : ` ${main.answer}`;
  // With no instruction line the prompt would start with a blank line (or the CoT sentence's space).
  return (prompt + completion).replace(/^\s+/, '');
}

/** A QA block answered with the TRUE value; reasoning says where the answer comes from. */
function webExemplar(rng: Rng, world: World, fact: Fact, docs: Doc[], cot: boolean): Exemplar {
  const question = questionVariant(rng, world, fact);
  const exemplar: Exemplar = { question, docs, answer: fact.value };
  if (cot) {
    const sentence = proofSentence(docs, [fact.value]);
    exemplar.reasoning = sentence
      ? `The documents say: ${sentence}`
      : `The documents do not say it, but I remember: ${statementFor(world, fact, rng.int(0, 11))}`;
  }
  return exemplar;
}

/** Closed-book quiz page: several `Question:`/`Answer:` pairs. */
function quizPage(rng: Rng, world: World, facts: readonly Fact[]): string {
  const blocks = facts.map((f) => `Question: ${questionVariant(rng, world, f)}\nAnswer: ${f.value}`);
  const header = rng.pick(['', '', 'Quiz about quennland\n', PRESETS['closed-book']!.text.replace(/ If you do not know.*$/, '') + '\n']);
  return header + blocks.join('\n\n');
}

/** Every fact once, shuffled, on quiz pages of 3-6 questions. */
function quizPages(rng: Rng, world: World, facts: readonly Fact[]): string[] {
  const pages: string[] = [];
  const order = rng.shuffle(facts);
  for (let i = 0; i < order.length; ) {
    const n = rng.int(3, 6);
    pages.push(quizPage(rng, world, order.slice(i, i + n)));
    i += n;
  }
  return pages;
}

export interface PretrainParts {
  profiles: string[];
  corpus: string[];
  webQa: string[];
  quiz: string[];
  /** Extra statements and quiz pages of the facts missing from the corpus (see ABSENT_EXTRA_*). */
  absentRecall: string[];
}

export const PROFILE_REPEATS = 12;
export const WEB_QA_PER_FACT = 2;
export const QUIZ_MENTIONS_PER_FACT = 2;
// Facts in the corpus are also seen in its documents and in the web-QA contexts; the absent ones
// only in profiles and quizzes, and the base recalled 10% of them against 36% of in-corpus facts
// (closed book). Extra mentions give the absent facts about as many exposures, so the base can
// answer them from memory as the study's base models do.
export const ABSENT_EXTRA_STATEMENTS = 10;
export const ABSENT_EXTRA_QUIZ_MENTIONS = 2;

export function buildPretrain(rng: Rng, index: ContextIndex, corpus: readonly CorpusDoc[]): PretrainParts {
  const world = index.world;
  const profiles: string[] = [];
  for (let r = 0; r < PROFILE_REPEATS; r++) for (const e of world.entities) profiles.push(profileText(rng, world, e.id));

  const corpusText = corpus.map((d) => `${d.title}\n${d.text}`);

  const webQa: string[] = [];
  for (let r = 0; r < WEB_QA_PER_FACT; r++) {
    for (const fact of world.facts) {
      const second = rng.chance(0.15) ? rng.pick(world.facts) : null;
      const text = webQaText(rng, index, fact, second !== fact ? second : null);
      if (text) webQa.push(text);
    }
  }

  const quiz: string[] = [];
  for (let r = 0; r < QUIZ_MENTIONS_PER_FACT; r++) quiz.push(...quizPages(rng, world, world.facts));
  const absentRecall: string[] = [];
  const absentByEntity = new Map<string, Fact[]>();
  for (const fact of world.facts) {
    if (!fact.absent) continue;
    const facts = absentByEntity.get(fact.entityId) ?? [];
    facts.push(fact);
    absentByEntity.set(fact.entityId, facts);
  }
  for (let r = 0; r < ABSENT_EXTRA_STATEMENTS; r++) {
    for (const [entityId, facts] of absentByEntity) {
      const sentences = rng.shuffle(facts).map((f) => statementFor(world, f, rng.int(0, 11)));
      absentRecall.push(rng.chance(0.5) ? `${world.entityById.get(entityId)!.title}\n${sentences.join(' ')}` : sentences.join(' '));
    }
  }
  const absentFacts = [...absentByEntity.values()].flat();
  for (let r = 0; r < ABSENT_EXTRA_QUIZ_MENTIONS; r++) absentRecall.push(...quizPages(rng, world, absentFacts));
  return { profiles, corpus: corpusText, webQa, quiz, absentRecall };
}

// ---------- SFT ----------

export interface SftExample {
  prompt: string;
  completion: string;
}

/** Bookkeeping for stats.json and the tests (not written to sft.jsonl). */
export interface SftMeta {
  factId: string;
  instruction: string;
  format: PromptFormat;
  k: number;
  shots: number;
  cot: boolean;
  refusal: boolean;
  answerInContext: boolean;
  docIds: string[];
}

const SFT_INSTRUCTIONS: [string, number][] = [['nores', 0.66], ['nores-long', 0.07], ['no-rejection', 0.12], ['proof', 0.15]];

export interface SftOptions {
  examples: number;
  chat: ChatRenderer;
}

/** The model's completion after the cue, as ragtax would score it. */
function completionFor(exemplar: Exemplar, instruction: InstructionPreset, cot: boolean, docs: Doc[], answers: string[], format: PromptFormat): string {
  let core = cot ? `${exemplar.reasoning ?? ''}\nAnswer: ${exemplar.answer}` : exemplar.answer;
  if (instruction.proof && exemplar.answer !== NO_RES) {
    const proof = proofSentence(docs, answers);
    if (proof) core += `\nProof: ${proof}`;
  }
  // Chat replies start with a space too: byte-level BPE gives ` Fugamae` (as in the documents) and
  // `Fugamae` (after `assistant\n`) different ids, and the model trained on the latter could not copy
  // (its chat format answered NO-RES to everything).
  return format === 'raw' ? ` ${core}\n` : ` ${core}${CHAT_END}`;
}

export function buildSft(rng: Rng, index: ContextIndex, qa: QaSplits, options: SftOptions): { examples: SftExample[]; meta: SftMeta[]; inputs: PromptInput[] } {
  const world = index.world;
  const inCorpusFacts = qa.all.filter((i) => i.record.answer_in_corpus).map((i) => i.fact);
  const allFacts = world.facts;
  const fewShot: OrganismItem[] = qa.fewShot;
  const examples: SftExample[] = [];
  const meta: SftMeta[] = [];
  const inputs: PromptInput[] = [];

  while (examples.length < options.examples) {
    const instruction = PRESETS[rng.weighted(SFT_INSTRUCTIONS)]!;
    // Without a rejection option an answer-less context would need a remembered fact: never in SFT.
    const answerable = !instruction.rejects || rng.chance(0.5);
    const fact = rng.pick(answerable ? inCorpusFacts : allFacts);
    // Few-shot prompts repeat the documents block per exemplar: keep them to k ≤ 3 (length budget).
    const shots = !instruction.proof && rng.chance(0.2) ? 2 : 0;
    const k = shots > 0 ? rng.weighted(K_WEIGHTS.slice(0, 3)) : rng.weighted(K_WEIGHTS);
    const docs = buildContext(rng, index, fact, k, answerable);
    if (!docs) continue;
    const format: PromptFormat = rng.chance(0.5) ? 'raw' : 'chat';
    const cot = !instruction.proof && rng.chance(0.1);

    const exemplars: Exemplar[] = [];
    // Without a rejection option an exemplar must be answerable from its own documents too.
    const exemplarPool = instruction.rejects ? fewShot : fewShot.filter((i) => i.record.answer_in_corpus);
    for (const ex of rng.sample(exemplarPool, shots)) {
      const exAnswerable = ex.record.answer_in_corpus && (!instruction.rejects || rng.chance(0.5));
      const exDocs = buildContext(rng, index, ex.fact, Math.min(k, 2), exAnswerable);
      if (exDocs) exemplars.push(makeExemplar(qaItem(ex.fact, ex.record.question), exDocs, instruction, cot));
    }

    const item = qaItem(fact, questionVariant(rng, world, fact));
    const target = makeExemplar(item, docs, instruction, cot);
    const input: PromptInput = { instruction, cot, question: item.question, docs, exemplars };
    const prompt = renderPrompt(input, format, options.chat);
    inputs.push(input);
    examples.push({ prompt, completion: completionFor(target, instruction, cot, docs, item.answers, format) });
    meta.push({
      factId: fact.id,
      instruction: instruction.name,
      format,
      k: docs.length,
      shots: exemplars.length,
      cot,
      refusal: target.answer === NO_RES,
      answerInContext: docsHoldAnswer(docs, item.answers),
      docIds: docs.map((d) => d.id),
    });
  }
  return { examples, meta, inputs };
}

// ---------- probe ----------

export interface ProbeRecord {
  id: string;
  question: string;
  answer: string;
  in_corpus: boolean;
  kind: string;
  attribute: string;
}

export function buildProbe(world: World, qa: QaSplits): ProbeRecord[] {
  return qa.all.map(({ fact, record }) => ({
    id: fact.id,
    question: record.question,
    answer: fact.value,
    in_corpus: record.answer_in_corpus,
    kind: kindSpec(world.entityById.get(fact.entityId)!.kind).kind,
    attribute: fact.attribute,
  }));
}

// ---------- preferences (DPO: instruct → chat) ----------

/** One DPO pair: the same prompt, a preferred and a dispreferred completion (ragtax's scoring cues). */
export interface PreferenceExample {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** Why the rejected completion is wrong (the proportions go into stats.json and the model card). */
export type RejectedKind = 'refusal-when-held' | 'memorised-when-absent' | 'wrong-when-absent';

export interface PreferenceMeta {
  factId: string;
  format: PromptFormat;
  instruction: string;
  k: number;
  shots: number;
  answerInContext: boolean;
  rejectedKind: RejectedKind;
  /** The structured prompt, for the Alpaca/ShareGPT exports. */
  input: PromptInput;
}

export interface PreferenceOptions {
  examples: number;
  chat: ChatRenderer;
  /** Share of pairs whose shown documents hold the answer (chosen: the answer; rejected: NO-RES). */
  answerableShare: number;
  /** Among the others (chosen: NO-RES), the share whose rejected answer is the true, memorised value (else a wrong one). */
  memorisedShare: number;
}

export const PREFERENCE_DEFAULTS = { examples: 4000, answerableShare: 0.5, memorisedShare: 0.5 } as const;

/** Instructions of the preference set: only those that offer NO-RES (the preference is about when to use it). */
const PREFERENCE_INSTRUCTIONS: [string, number][] = [['nores', 0.85], ['nores-long', 0.15]];

/** A plausible wrong value: another entity's value of the same attribute (never the true one). */
function wrongValue(rng: Rng, fact: Fact, byAttribute: Map<string, string[]>): string {
  // Never a value the scorer would accept as the true one (containing it after normalisation).
  const values = (byAttribute.get(fact.attribute) ?? []).filter((v) => !containsAnswer(v, [fact.value]));
  if (values.length === 0) throw new Error(`no wrong value for ${fact.id}: every value of ${fact.attribute} contains the true one`);
  return rng.pick(values);
}

/**
 * The preference set of the chat stage, from the same world and prompt renderer as SFT:
 * - documents hold the answer → chosen: the grounded answer; rejected: NO-RES (over-refusal);
 * - documents lack it → chosen: NO-RES; rejected: the true value recalled from memory, or a fluent
 *   wrong value (another entity's value of the same attribute), in `memorisedShare` proportion.
 * Completions end like SFT's (raw: `\n`, chat: `<|im_end|>`), so the chat model stops where ragtax cuts.
 */
export function buildPreferences(rng: Rng, index: ContextIndex, qa: QaSplits, options: PreferenceOptions): { examples: PreferenceExample[]; meta: PreferenceMeta[] } {
  const world = index.world;
  const inCorpusFacts = qa.all.filter((i) => i.record.answer_in_corpus).map((i) => i.fact);
  const byAttribute = new Map<string, string[]>();
  for (const f of world.facts) {
    const values = byAttribute.get(f.attribute) ?? [];
    if (!values.includes(f.value)) values.push(f.value);
    byAttribute.set(f.attribute, values);
  }
  const examples: PreferenceExample[] = [];
  const meta: PreferenceMeta[] = [];
  const ending = (format: PromptFormat) => (format === 'raw' ? '\n' : CHAT_END);
  while (examples.length < options.examples) {
    const instruction = PRESETS[rng.weighted(PREFERENCE_INSTRUCTIONS)]!;
    const answerable = rng.chance(options.answerableShare);
    const fact = rng.pick(answerable ? inCorpusFacts : world.facts);
    const shots = rng.chance(0.2) ? 2 : 0;
    const k = shots > 0 ? rng.weighted(K_WEIGHTS.slice(0, 3)) : rng.weighted(K_WEIGHTS);
    const docs = buildContext(rng, index, fact, k, answerable);
    if (!docs) continue;
    const format: PromptFormat = rng.chance(0.5) ? 'raw' : 'chat';
    const exemplars: Exemplar[] = [];
    for (const ex of rng.sample(qa.fewShot, shots)) {
      const exDocs = buildContext(rng, index, ex.fact, Math.min(k, 2), ex.record.answer_in_corpus && rng.chance(0.5));
      if (exDocs) exemplars.push(makeExemplar(qaItem(ex.fact, ex.record.question), exDocs, instruction, false));
    }
    const item = qaItem(fact, questionVariant(rng, world, fact));
    const target = makeExemplar(item, docs, instruction, false);
    const held = target.answer !== NO_RES;
    let rejectedKind: RejectedKind;
    let rejected: string;
    if (held) {
      rejectedKind = 'refusal-when-held';
      rejected = NO_RES;
    } else if (rng.chance(options.memorisedShare)) {
      rejectedKind = 'memorised-when-absent';
      rejected = fact.value;
    } else {
      rejectedKind = 'wrong-when-absent';
      rejected = wrongValue(rng, fact, byAttribute);
    }
    const input: PromptInput = { instruction, cot: false, question: item.question, docs, exemplars };
    examples.push({
      prompt: renderPrompt(input, format, options.chat),
      chosen: ` ${target.answer}${ending(format)}`,
      rejected: ` ${rejected}${ending(format)}`,
    });
    meta.push({ factId: fact.id, format, instruction: instruction.name, k: docs.length, shots: exemplars.length, answerInContext: held, rejectedKind, input });
  }
  return { examples, meta };
}

// ---------- exports in the formats fine-tuning tools read ----------

type ShareGptTurn = { from: 'human' | 'gpt'; value: string };

/** The chat turns of a prompt (the system instruction apart), as ShareGPT `conversations`. */
function shareGptTurns(input: PromptInput): { system: string; conversations: ShareGptTurn[] } {
  const [system, ...rest] = buildMessages(input);
  return { system: system!.content, conversations: rest.map((m) => ({ from: m.role === 'user' ? 'human' : 'gpt', value: m.content })) };
}

/**
 * Alpaca JSON (`instruction`, `input`, `output`, plus `history` for few-shot turns, as
 * LLaMA-Factory reads them): the instruction is the task's, the input the documents and question.
 */
export function alpacaRecord(input: PromptInput, completion: string): Record<string, unknown> {
  const { system, conversations } = shareGptTurns(input);
  const history: [string, string][] = [];
  for (let i = 0; i + 1 < conversations.length - 1; i += 2) history.push([conversations[i]!.value, conversations[i + 1]!.value]);
  return { instruction: system, input: conversations[conversations.length - 1]!.value, output: completion, ...(history.length > 0 ? { history } : {}) };
}

/** ShareGPT preference JSON (`conversations`, `chosen`, `rejected`, `system`), as LLaMA-Factory's DPO reads it. */
export function shareGptPreference(input: PromptInput, chosen: string, rejected: string): Record<string, unknown> {
  const { system, conversations } = shareGptTurns(input);
  return { system, conversations, chosen: { from: 'gpt', value: chosen }, rejected: { from: 'gpt', value: rejected } };
}
