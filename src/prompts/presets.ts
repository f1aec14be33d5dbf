// Instruction presets, quoted character for character from the study (Cuconasu et al., "A Tale of
// Trust and Accuracy: Base vs. Instruct LLMs in RAG Systems", arXiv 2406.14972, 2024; see
// protocol.md). Free text is accepted too and becomes a custom instruction.

export interface InstructionPreset {
  /** Preset name, or `custom` for free text. */
  name: string;
  text: string;
  /** The instruction asks for NO-RES when the documents lack the answer. */
  rejects: boolean;
  /** No documents: the closed-book skeleton `{instruction}\nQuestion: ...\nAnswer:`. */
  closedBook: boolean;
  /** Task II: the model must also report a `Proof:` line. */
  proof: boolean;
  /** What the instruction tells the model to answer when it cannot (exemplars use it too). */
  refusal: string;
}

export const NO_RES = 'NO-RES';
/** RGB's rejection sentence (Chen et al., AAAI 2024); RGB detects it by `insufficient information`. */
export const RGB_REFUSAL = 'I can not answer the question because of the insufficient information in documents.';
export const RGB_REFUSAL_MARKER = 'insufficient information';

const TASK_I_NQ =
  'You are given a question and you MUST respond by EXTRACTING the answer (max 5 tokens) from one of the provided documents. If none of the documents contain the answer, respond with NO-RES.';
const TASK_I_TRIVIAQA =
  'You are given a question and you MUST respond by EXTRACTING the answer from one of the provided documents. If none of the documents contain the answer, respond with NO-RES.';
const NO_REJECTION =
  'You are given a question and you MUST respond by EXTRACTING the answer (max 5 tokens) from one of the provided documents.';
// The paper's worked example is about when the potter's wheel was first used in Egypt (answer
// "4th Dynasty"); its exact passage is not published in the protocol summary, so this one is ours.
const PROOF_EXAMPLE = [
  'START example',
  "Document [20970787](Title: Potter's wheel) The potter's wheel was in use in Egypt by the 4th Dynasty, and its earliest use there is shown in tomb paintings of that period.",
  "Question: when was the potter's wheel first used in egypt",
  'Answer: 4th Dynasty',
  "Proof: The potter's wheel was in use in Egypt by the 4th Dynasty",
  'END example',
].join('\n');
const PROOF = `${TASK_I_NQ} In addition, you must report the portion of the document (Proof) containing the answer.\n${PROOF_EXAMPLE}`;
const CLOSED_BOOK =
  'You are given a question and you MUST respond with a short answer based on your internal knowledge. If you do not know the answer, please respond with NO-RES.';

export const PRESETS: Readonly<Record<string, InstructionPreset>> = {
  nores: { name: 'nores', text: TASK_I_NQ, rejects: true, closedBook: false, proof: false, refusal: NO_RES },
  'nores-long': { name: 'nores-long', text: TASK_I_TRIVIAQA, rejects: true, closedBook: false, proof: false, refusal: NO_RES },
  'no-rejection': { name: 'no-rejection', text: NO_REJECTION, rejects: false, closedBook: false, proof: false, refusal: NO_RES },
  proof: { name: 'proof', text: PROOF, rejects: true, closedBook: false, proof: true, refusal: NO_RES },
  'closed-book': { name: 'closed-book', text: CLOSED_BOOK, rejects: true, closedBook: true, proof: false, refusal: NO_RES },
};

/** A suite's own free-text instruction, named so that its cells stay identifiable. */
export function customInstruction(
  name: string,
  text: string,
  options: { rejects?: boolean; closedBook?: boolean } = {},
): InstructionPreset {
  return {
    name,
    text,
    rejects: options.rejects ?? text.includes('NO-RES'),
    closedBook: options.closedBook ?? false,
    proof: /\(Proof\)|Proof:/.test(text),
    refusal: NO_RES,
  };
}

/**
 * The same instruction with RGB's refusal sentence in place of NO-RES (for the sensitivity sweep
 * over refusal wording). Undefined when the instruction asks for no refusal.
 */
export function withRgbRefusal(preset: InstructionPreset): InstructionPreset | undefined {
  if (!preset.rejects || !preset.text.includes(NO_RES)) return undefined;
  return { ...preset, text: preset.text.replaceAll(`with ${NO_RES}.`, `with "${RGB_REFUSAL}"`), refusal: RGB_REFUSAL };
}
