// Prompt rendering. `raw` is the study's skeleton, byte for byte (protocol.md, "Prompt skeleton"):
//   {instruction}\nDocuments:\n{one line per document}\nQuestion: {question}\nAnswer:
// `chat` puts the instruction in the system turn and the rest in the user turn, rendered with the
// model's own chat template. Few-shot exemplars repeat the block after the instruction (raw) or
// become alternating user/assistant turns (chat).
import type { ChatMessage, ChatRenderer, Doc, PromptFormat } from '../types.js';
import { InputError } from '../errors.js';
import type { InstructionPreset } from './presets.js';

/** Appended to the instruction for chain-of-thought cells; the cue line becomes `Reasoning:`. */
export const COT_INSTRUCTION =
  ' Think step by step: first write your reasoning on one line, then write the final answer on a new line starting with "Answer:".';

export interface Exemplar {
  question: string;
  docs: Doc[];
  answer: string;
  /** One line of reasoning, shown before the answer in CoT cells. */
  reasoning?: string;
}

export interface PromptInput {
  instruction: InstructionPreset;
  cot: boolean;
  question: string;
  /** Documents in prompt order (best last under the default ascending order). */
  docs: Doc[];
  exemplars: Exemplar[];
}

/** `Document [ID](Title: TITLE) TEXT`, on one line (newlines inside a passage become spaces). */
export function documentLine(doc: Doc): string {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  return `Document [${oneLine(doc.id)}](Title: ${oneLine(doc.title)}) ${oneLine(doc.text)}`;
}

function instructionText(input: PromptInput): string {
  return input.cot ? input.instruction.text + COT_INSTRUCTION : input.instruction.text;
}

function cue(cot: boolean): string {
  return cot ? 'Reasoning:' : 'Answer:';
}

/** The documents/question block with its final cue (`Answer:` or `Reasoning:`). */
function questionBlock(question: string, docs: Doc[], closedBook: boolean, cot: boolean): string {
  const lines = closedBook ? [] : ['Documents:', ...docs.map(documentLine)];
  lines.push(`Question: ${question}`, cue(cot));
  return lines.join('\n');
}

/** What follows the cue in an exemplar: ` answer`, or ` reasoning\nAnswer: answer` for CoT. */
function exemplarCompletion(exemplar: Exemplar, cot: boolean): string {
  if (!cot) return exemplar.answer;
  return `${exemplar.reasoning ?? ''}\nAnswer: ${exemplar.answer}`;
}

export function renderRaw(input: PromptInput): string {
  const closedBook = input.instruction.closedBook;
  const blocks = input.exemplars.map(
    (ex) => `${questionBlock(ex.question, ex.docs, closedBook, input.cot)} ${exemplarCompletion(ex, input.cot)}`,
  );
  blocks.push(questionBlock(input.question, input.docs, closedBook, input.cot));
  return `${instructionText(input)}\n${blocks.join('\n\n')}`;
}

export function buildMessages(input: PromptInput): ChatMessage[] {
  const closedBook = input.instruction.closedBook;
  const messages: ChatMessage[] = [{ role: 'system', content: instructionText(input) }];
  for (const ex of input.exemplars) {
    messages.push({ role: 'user', content: questionBlock(ex.question, ex.docs, closedBook, input.cot) });
    messages.push({ role: 'assistant', content: exemplarCompletion(ex, input.cot) });
  }
  messages.push({ role: 'user', content: questionBlock(input.question, input.docs, closedBook, input.cot) });
  return messages;
}

/** The exact string a model receives. `chat` needs the model's template; there is no silent raw fallback. */
export function renderPrompt(input: PromptInput, format: PromptFormat, renderChat?: ChatRenderer, modelName = 'model'): string {
  if (format === 'raw') return renderRaw(input);
  return renderChatPrompt(buildMessages(input), renderChat, modelName);
}

/** `messages` through the model's chat template; without one, an error saying to use `raw`. */
export function renderChatPrompt(messages: ChatMessage[], renderChat: ChatRenderer | undefined, modelName = 'model'): string {
  if (!renderChat) {
    throw new InputError(
      `model \`${modelName}\` has no chat_template in its tokenizer_config.json, so format \`chat\` is not possible; use format \`raw\` for it`,
    );
  }
  return renderChat(messages);
}
