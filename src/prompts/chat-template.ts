// A model's own chat template, read and applied as Hugging Face transformers (≥ 4.43) and vLLM do,
// and checked: a template that refuses the messages (its `raise_exception`) or silently drops one
// of them is an input error naming the model and the fix, never a prompt without its instruction.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { messageOf, TemplateError } from '../errors.js';
import type { ChatMessage, ChatRenderer } from '../types.js';

/** Per-model chat settings from the suite (`system_role`, `chat_template_kwargs`, ...). */
export interface ChatOptions {
  /**
   * `keep` (default): the instruction is the system turn. `merge`: it opens the first user turn,
   * followed by a blank line (what Gemma-3's own template does with a system message), for
   * templates that reject or drop the system role.
   */
  systemRole?: 'keep' | 'merge';
  /** Extra template variables, e.g. `{ enable_thinking: false }` (Qwen3, SmolLM3). */
  templateKwargs?: Record<string, unknown>;
  /** Which of a model's named templates to use (default `default`). */
  templateName?: string;
  /** `strftime_now` in the template returns this day (YYYY-MM-DD), so prompts do not move with the calendar. */
  templateDate?: string;
}

/** The template text and where it came from. */
export interface ChatTemplate {
  text: string;
  /** `chat_template.jinja`, `tokenizer_config.json`, or `tokenizer_config.json#<name>` for a named one. */
  source: string;
  sha256: string;
}

const TEMPLATE_FILE = 'chat_template.jinja';

/**
 * The chat template of a model folder, as transformers ≥ 4.43 reads it: `chat_template.jinja`
 * wins over the `chat_template` key of tokenizer_config.json; a list of named templates gives the
 * one named `name`, else `default`. Undefined when the model has none.
 */
export function readChatTemplate(folder: string | undefined, tokenizerConfig: Record<string, unknown> | undefined, name?: string): ChatTemplate | undefined {
  const file = folder !== undefined ? path.join(folder, TEMPLATE_FILE) : undefined;
  if (file !== undefined && existsSync(file)) {
    if (name !== undefined) throw new TemplateError(`${file}: \`chat_template_name: ${name}\` names a template, but this model has one template file (no named templates)`);
    return withHash(readFileSync(file, 'utf8'), TEMPLATE_FILE);
  }
  const declared = tokenizerConfig?.chat_template;
  if (typeof declared === 'string') {
    if (name !== undefined) throw new TemplateError(`\`chat_template_name: ${name}\` names a template, but this model's tokenizer_config.json has one unnamed template`);
    return withHash(declared, 'tokenizer_config.json');
  }
  if (Array.isArray(declared)) {
    const named = new Map<string, string>();
    for (const entry of declared as { name?: unknown; template?: unknown }[]) {
      if (typeof entry?.name === 'string' && typeof entry.template === 'string') named.set(entry.name, entry.template);
    }
    const wanted = name ?? 'default';
    const text = named.get(wanted);
    if (text === undefined) {
      throw new TemplateError(`the model has no chat template named \`${wanted}\`; its templates: ${[...named.keys()].join(', ')} (choose one with \`chat_template_name\`)`);
    }
    return withHash(text, `tokenizer_config.json#${wanted}`);
  }
  if (name !== undefined) throw new TemplateError(`\`chat_template_name: ${name}\` is set, but the model has no chat template`);
  return undefined;
}

function withHash(text: string, source: string): ChatTemplate {
  return { text, source, sha256: createHash('sha256').update(text).digest('hex') };
}

/** The system message (if first) moved to the start of the first user turn, followed by a blank line. */
export function mergeSystemIntoFirstUser(messages: readonly ChatMessage[]): ChatMessage[] {
  if (messages[0]?.role !== 'system') return [...messages];
  const [system, ...rest] = messages;
  const firstUser = rest.findIndex((m) => m.role === 'user');
  if (firstUser === -1) return [{ role: 'user', content: system!.content }, ...rest];
  return rest.map((m, i) => (i === firstUser ? { role: 'user', content: `${system!.content}\n\n${m.content}` } : m));
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * `strftime` for a fixed day (midnight), with the directives the Jinja engine's own `strftime_now`
 * knows (%Y %m %d %b %B %H %M %%). Written here because @huggingface/jinja does not export its
 * implementation, and the template must see the pinned day, not the clock.
 */
export function strftimeOn(day: string, format: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new TemplateError(`template_date must be a day as YYYY-MM-DD, got ${JSON.stringify(day)}`);
  const [, year, month, date] = match as unknown as [string, string, string, string];
  const monthName = MONTHS[Number(month) - 1] ?? '?';
  return format.replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y':
        return year;
      case '%m':
        return month;
      case '%d':
        return date;
      case '%b':
        return monthName.slice(0, 3);
      case '%B':
        return monthName;
      case '%H':
      case '%M':
        return '00';
      default:
        return '%';
    }
  });
}

/**
 * The template text as ragtax renders it: with a template date, every `strftime_now("<format>")`
 * call becomes the string it gives on that day. (The Jinja engine declares `strftime_now` itself and
 * refuses a variable of that name, and node-llama-cpp cannot pass functions to its renderer, so the
 * calls are replaced in the text; the recorded sha256 is of the model's own text.)
 */
export function pinnedTemplate(text: string, options: ChatOptions): string {
  const day = options.templateDate;
  if (day === undefined) return text;
  strftimeOn(day, ''); // validates the day
  const pinned = text.replace(/\bstrftime_now\s*\(\s*(["'])((?:(?!\1).)*)\1\s*\)/g, (_call, _quote, format: string) => JSON.stringify(strftimeOn(day, format)));
  if (/\bstrftime_now\b/.test(pinned)) {
    throw new TemplateError('the chat template calls strftime_now with a computed format, so its date cannot be pinned to `template_date`');
  }
  return pinned;
}

/** Template variables that ragtax sets: the suite's `chat_template_kwargs`. */
export function templateVariables(options: ChatOptions): Record<string, unknown> {
  return { ...(options.templateKwargs ?? {}) };
}

/** The special-token variables a template sees, from tokenizer_config.json (as transformers.js passes them). */
const SPECIAL_TOKEN_VARIABLES = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

/** A special token's text: a string, or an AddedToken's `content`. */
function specialTokenText(value: unknown, key: string): string | undefined {
  if (!value) return undefined;
  if (typeof value !== 'object') return String(value);
  const added = value as { __type?: unknown; content?: unknown };
  if (added.__type === 'AddedToken' && typeof added.content === 'string') return added.content;
  throw new TemplateError(`tokenizer_config.json: \`${key}\` is an object but not an AddedToken`);
}

/**
 * Renders a chat template with @huggingface/jinja (the engine transformers.js bundles), with the
 * variables transformers.js' `apply_chat_template(messages, { tokenize: false,
 * add_generation_prompt: true, ...variables })` gives it: the messages, `add_generation_prompt`,
 * `tools` and `documents` (null unless set), the special tokens of tokenizer_config.json and the
 * suite's variables. Nothing of transformers.js is loaded.
 */
export function jinjaChatRenderer(text: string, tokenizerConfig: Record<string, unknown> | undefined, variables: Record<string, unknown>): (messages: ChatMessage[]) => string {
  // Compiled on the first render, so that a template that does not parse fails there, as a
  // template error naming the model (checkedChatRenderer), like one that refuses the messages.
  let template: Template | undefined;
  const specialTokens: Record<string, string> = {};
  for (const key of SPECIAL_TOKEN_VARIABLES) {
    const value = tokenizerConfig && Object.hasOwn(tokenizerConfig, key) ? specialTokenText(tokenizerConfig[key], key) : undefined;
    if (value) specialTokens[key] = value;
  }
  // What apply_chat_template takes out of its options before the rest become template variables.
  const {
    tools = null,
    documents = null,
    add_generation_prompt: addGenerationPrompt = true,
    chat_template: _template,
    tokenize: _tokenize,
    padding: _padding,
    truncation: _truncation,
    max_length: _maxLength,
    return_tensor: _returnTensor,
    return_dict: _returnDict,
    tokenizer_kwargs: _tokenizerKwargs,
    ...rest
  } = variables;
  const identity = JSON.stringify([text, specialTokens, addGenerationPrompt, tools, documents, rest]);
  const shared = sharedRenderers.get(identity);
  if (shared) return shared;
  // A prompt is a pure function of the template, its variables and the messages, and a run asks
  // for the same messages many times: grid points that differ only in decoding or scoring, and
  // models of one lineage that share a tokenizer (instruct and chat). The runner builds each
  // message list once and hands the same array to every model (run/runner.ts, planModel), so a
  // prompt is remembered by its array, which must not change after it was rendered (a warm
  // quickstart: 700 renders instead of 1,800, 0.1 s). Remembered as long as the array lives.
  const rendered = new WeakMap<readonly ChatMessage[], string>();
  let identityDigest: string | undefined;
  const render = (messages: ChatMessage[]): string => {
    const known = rendered.get(messages);
    if (known !== undefined) return known;
    // Across runs (a run sets `lastingRenders`): by this renderer's identity and the messages' JSON.
    const lasting = lastingRenders;
    const renderer = lasting ? (identityDigest ??= createHash('sha256').update(identity).digest('hex')) : '';
    const messagesJson = lasting ? JSON.stringify(messages) : '';
    let prompt = lasting?.get(renderer, messagesJson);
    if (prompt === undefined) {
      prompt = (template ??= new Template(text)).render({ messages, add_generation_prompt: addGenerationPrompt, tools, documents, ...specialTokens, ...rest });
      lasting?.set(renderer, messagesJson, prompt);
    }
    rendered.set(messages, prompt);
    return prompt;
  };
  if (sharedRenderers.size >= SHARED_RENDERERS_KEPT) sharedRenderers.clear();
  sharedRenderers.set(identity, render);
  return render;
}

/**
 * A memo of rendered prompts that outlives the process (prompts/lasting-renders.ts keeps one in
 * the cache folder): by the renderer's identity (template, special tokens, variables) and the
 * messages' JSON.
 */
export interface LastingRenderMemo {
  get(renderer: string, messages: string): string | undefined;
  set(renderer: string, messages: string, prompt: string): void;
}

let lastingRenders: LastingRenderMemo | undefined;

/** jinjaChatRenderer's renderers look prompts up in, and add them to, `memo` until this is called again (undefined: none). A run sets it while it plans. */
export function rememberRendersIn(memo: LastingRenderMemo | undefined): void {
  lastingRenders = memo;
}

/** Renderers by template and variables: models with the same template share one (and its memo). */
const sharedRenderers = new Map<string, (messages: ChatMessage[]) => string>();
const SHARED_RENDERERS_KEPT = 64;

/** A message's text as a template may print it (most trim it). */
function printable(content: string): string {
  return content.trim();
}

/**
 * Wraps a backend's raw template renderer: applies `system_role`, turns template errors into
 * TemplateError with the fix, and checks that every message's content is in the rendered prompt.
 */
export function checkedChatRenderer(render: (messages: ChatMessage[]) => string, options: ChatOptions, modelName: string): ChatRenderer {
  const merge = options.systemRole === 'merge';
  // The merged list of a given list is made once, so that the renderer's memo (by array) holds.
  const merged = new WeakMap<readonly ChatMessage[], ChatMessage[]>();
  const mergedOf = (input: ChatMessage[]): ChatMessage[] => {
    let messages = merged.get(input);
    if (!messages) merged.set(input, (messages = mergeSystemIntoFirstUser(input)));
    return messages;
  };
  return (input) => {
    const messages = merge ? mergedOf(input) : input;
    const hasSystem = messages.some((m) => m.role === 'system');
    const remedy = hasSystem ? '; set `system_role: merge` for this model to put the instruction at the start of the first user turn instead' : '';
    let prompt: string;
    try {
      prompt = render(messages);
    } catch (error) {
      const message = messageOf(error);
      // Only a refusal about roles is fixed by merging the system turn.
      const hint = /system|role|alternat/i.test(message) ? remedy : '';
      throw new TemplateError(`model \`${modelName}\`: its chat template refuses the prompt's messages: "${message}"${hint}`);
    }
    for (const message of messages) {
      const text = printable(message.content);
      if (text.length > 0 && !prompt.includes(text)) {
        throw new TemplateError(
          `model \`${modelName}\`: its chat template drops the ${message.role} message (its text is not in the rendered prompt, so the model would never see it)${remedy}`,
        );
      }
    }
    return prompt;
  };
}
