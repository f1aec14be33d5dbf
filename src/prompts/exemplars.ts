// Few-shot exemplars: drawn from a separate split, shown with their own contexts, and answered the
// way the instruction asks (NO-RES when the instruction rejects and the shown documents lack the
// answer), so that the demonstrations never contradict the instruction.
import type { Doc, QaItem } from '../types.js';
import { containsAnswer } from '../scoring/normalize.js';
import type { InstructionPreset } from './presets.js';
import type { Exemplar } from './render.js';

const SENTENCE_END = /(?<=[.!?])\s+/;

/** One line of reasoning that points at the evidence, or says there is none. */
export function reasoningFor(docs: readonly Doc[], answers: readonly string[]): string {
  // The last document is the one next to the question (best under ascending order): search from there.
  for (const doc of [...docs].reverse()) {
    const sentence = doc.text.split(SENTENCE_END).find((s) => containsAnswer(s, answers));
    if (sentence) return `Document [${doc.id}] says: ${sentence.trim()}`;
    if (containsAnswer(doc.title, answers)) return `Document [${doc.id}] is titled ${doc.title}.`;
  }
  return 'None of the documents contain the answer.';
}

export function makeExemplar(item: QaItem, docs: Doc[], instruction: InstructionPreset, cot: boolean): Exemplar {
  const text = docs.map((d) => `${d.title} ${d.text}`).join('\n');
  const inContext = containsAnswer(text, item.answers);
  const answerable = item.answers.length > 0;
  const refuse = instruction.rejects && (instruction.closedBook ? !answerable : !inContext);
  const answer = refuse || !answerable ? instruction.refusal : item.answers[0]!;
  const exemplar: Exemplar = { question: item.question, docs, answer };
  if (cot) exemplar.reasoning = instruction.closedBook ? `The answer is ${answer}.` : reasoningFor(docs, item.answers);
  return exemplar;
}
