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
import { renderPrompt, renderRaw, type Exemplar } from '../../../src/prompts/render.js';
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

export function buildSft(rng: Rng, index: ContextIndex, qa: QaSplits, options: SftOptions): { examples: SftExample[]; meta: SftMeta[] } {
  const world = index.world;
  const inCorpusFacts = qa.all.filter((i) => i.record.answer_in_corpus).map((i) => i.fact);
  const allFacts = world.facts;
  const fewShot: OrganismItem[] = qa.fewShot;
  const examples: SftExample[] = [];
  const meta: SftMeta[] = [];

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
    const prompt = renderPrompt({ instruction, cot, question: item.question, docs, exemplars }, format, options.chat);
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
  return { examples, meta };
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
