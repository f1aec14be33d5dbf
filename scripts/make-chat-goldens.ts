// Makes the chat-template goldens under tests/fixtures/chat-goldens: for every model family in
// ../shared/fixtures/chat-templates, ragtax's own chat messages for one small RAG item (0-shot,
// 2-shot, chain-of-thought), rendered by the Python reference renderer
// (../shared/tools/render_chat_reference.py, what transformers' apply_chat_template(tokenize=False)
// produces). Where a template raises an error or silently drops a message, the `merge` variant
// (system text prepended to the first user turn) is rendered too.
//
//     npx tsx scripts/make-chat-goldens.ts
//
// The goldens are committed; ../shared is not (tests/prompts/chat-goldens.test.ts skips without it).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExemplar } from '../src/prompts/exemplars.js';
import { PRESETS } from '../src/prompts/presets.js';
import { buildMessages, type PromptInput } from '../src/prompts/render.js';
import type { ChatMessage, Doc, QaItem } from '../src/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATES = path.resolve(ROOT, '../shared/fixtures/chat-templates');
const RENDERER = path.resolve(ROOT, '../shared/tools/render_chat_reference.py');
const OUT = path.join(ROOT, 'tests/fixtures/chat-goldens');

/** The one RAG item every golden is made from (also written to item.json). */
export const ITEM = {
  question: 'when was the eiffel tower completed',
  docs: [
    { id: '7', title: 'Paris', text: 'Paris is the capital and largest city of France.' },
    { id: '3', title: 'Eiffel Tower', text: 'The Eiffel Tower was completed in 1889 for the World\'s Fair.' },
  ] satisfies Doc[],
  answers: ['1889'],
  exemplars: [
    {
      item: { id: 'ex1', question: 'who wrote hamlet', answers: ['William Shakespeare', 'Shakespeare'] } satisfies QaItem,
      docs: [{ id: '11', title: 'Hamlet', text: 'Hamlet is a tragedy written by William Shakespeare around 1600.' }] satisfies Doc[],
    },
    {
      item: { id: 'ex2', question: 'what is the capital of australia', answers: ['Canberra'] } satisfies QaItem,
      docs: [{ id: '42', title: 'Sydney', text: 'Sydney is the most populous city in Australia.' }] satisfies Doc[],
    },
  ],
};

export type Status = 'ok' | 'error' | 'drops-system' | 'drops-messages';
export interface CaseEntry {
  status: Status;
  /** Messages file the case renders (several cases may share one). */
  messages: string;
  /** The golden: the rendered prompt (`.txt`) or the template's error (`.error.txt`). */
  golden: string;
  kwargs?: Record<string, unknown>;
  /** For `error`: the template's own message (stderr less the Python exception class). */
  error?: string;
  /** For `error`: whether `error` is text the template raises itself (raise_exception). */
  raisedByTemplate?: boolean;
  /** For drops: the roles whose content is missing from the rendered text. */
  dropped?: string[];
  /** The `system_role: merge` variant, made where the plain case errs or drops a message. */
  merged?: { status: Status; messages: string; golden: string; error?: string; raisedByTemplate?: boolean; dropped?: string[] };
}

function input(cot: boolean, shots: number): PromptInput {
  const instruction = PRESETS.nores!;
  const exemplars = ITEM.exemplars.slice(0, shots).map((ex) => makeExemplar(ex.item, ex.docs, instruction, cot));
  return { instruction, cot, question: ITEM.question, docs: ITEM.docs, exemplars };
}

const CASES: Record<string, PromptInput> = {
  '0shot': input(false, 0),
  '2shot': input(false, 2),
  cot: input(true, 0),
};

/** Families whose templates take extra variables: case → { variant: kwargs }. */
const KWARG_VARIANTS: Record<string, Record<string, Record<string, Record<string, unknown>>>> = {
  'qwen3-0.6b': {
    '0shot': { 'thinking-off': { enable_thinking: false }, 'thinking-on': { enable_thinking: true } },
  },
};

/** The `merge` option: system text + blank line prepended to the first user turn. */
export function mergeSystem(messages: ChatMessage[]): ChatMessage[] {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const rest = messages.filter((m) => m.role !== 'system').map((m) => ({ ...m }));
  const first = rest.find((m) => m.role === 'user');
  if (system.length > 0 && first) first.content = `${system.join('\n\n')}\n\n${first.content}`;
  return rest;
}

function templateSource(folder: string): string {
  const jinja = path.join(folder, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  const config = JSON.parse(readFileSync(path.join(folder, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
  return typeof config.chat_template === 'string' ? config.chat_template : JSON.stringify(config.chat_template ?? '');
}

interface Rendered {
  status: Status;
  golden: string;
  error?: string;
  raisedByTemplate?: boolean;
  dropped?: string[];
}

/** Renders `messagesFile` with the reference renderer; writes `<stem>.txt` or `<stem>.error.txt`. */
function render(folder: string, dir: string, messagesFile: string, stem: string, messages: ChatMessage[], kwargs?: Record<string, unknown>): Rendered {
  const args = [RENDERER, folder, path.join(dir, messagesFile)];
  if (kwargs) args.push('--kwargs', JSON.stringify(kwargs));
  const result = spawnSync('python3', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status === 3) {
    const stderr = result.stderr.trim();
    writeFileSync(path.join(dir, `${stem}.error.txt`), stderr);
    const message = stderr.replace(/^[A-Za-z_.]+: /, '');
    return { status: 'error', golden: `${stem}.error.txt`, error: message, raisedByTemplate: templateSource(folder).includes(message) };
  }
  if (result.status !== 0) throw new Error(`${folder} ${messagesFile}: renderer exited ${result.status}: ${result.stderr}`);
  const text = result.stdout;
  writeFileSync(path.join(dir, `${stem}.txt`), text);
  const dropped = [...new Set(messages.filter((m) => !text.includes(m.content.trim())).map((m) => m.role))];
  if (dropped.length === 0) return { status: 'ok', golden: `${stem}.txt` };
  return { status: dropped.length === 1 && dropped[0] === 'system' ? 'drops-system' : 'drops-messages', golden: `${stem}.txt`, dropped };
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function main(): void {
  if (!existsSync(TEMPLATES) || !existsSync(RENDERER)) {
    console.error(`needs ${TEMPLATES} and ${RENDERER}`);
    process.exit(2);
  }
  const families = readdirSync(TEMPLATES).filter((f) => statSync(path.join(TEMPLATES, f)).isDirectory()).sort();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  writeJson(path.join(OUT, 'item.json'), ITEM);
  const manifest: Record<string, Record<string, CaseEntry>> = {};
  for (const family of families) {
    const folder = path.join(TEMPLATES, family);
    const dir = path.join(OUT, family);
    mkdirSync(dir, { recursive: true });
    const cases: Record<string, CaseEntry> = {};
    for (const [name, promptInput] of Object.entries(CASES)) {
      const messages = buildMessages(promptInput);
      const messagesFile = `${name}.messages.json`;
      writeJson(path.join(dir, messagesFile), messages);
      const variants: [string, Record<string, unknown> | undefined][] = [[name, undefined]];
      for (const [variant, kwargs] of Object.entries(KWARG_VARIANTS[family]?.[name] ?? {})) variants.push([`${name}.${variant}`, kwargs]);
      for (const [stem, kwargs] of variants) {
        if (kwargs) writeJson(path.join(dir, `${stem}.kwargs.json`), kwargs);
        const rendered = render(folder, dir, messagesFile, stem, messages, kwargs);
        const entry: CaseEntry = { ...rendered, messages: messagesFile, ...(kwargs ? { kwargs } : {}) };
        if (rendered.status !== 'ok') {
          const merged = mergeSystem(messages);
          const mergedFile = `${stem}.merged.messages.json`;
          writeJson(path.join(dir, mergedFile), merged);
          entry.merged = { ...render(folder, dir, mergedFile, `${stem}.merged`, merged, kwargs), messages: mergedFile };
        }
        cases[stem] = entry;
        const merged = entry.merged ? `; merge: ${entry.merged.status}` : '';
        console.log(`${family.padEnd(32)} ${stem.padEnd(20)} ${entry.status}${entry.error ? ` (${entry.error})` : ''}${merged}`);
      }
    }
    manifest[family] = cases;
  }
  writeJson(path.join(OUT, 'manifest.json'), manifest);
  const templates = Object.fromEntries(
    families.map((family) => [family, { sha256: createHash('sha256').update(templateSource(path.join(TEMPLATES, family))).digest('hex') }]),
  );
  writeJson(path.join(OUT, 'templates.json'), templates);
  writeFileSync(path.join(OUT, 'README.md'), readme(manifest));
}

function jinjaVersion(): string {
  const result = spawnSync('python3', ['-c', 'import jinja2; print(jinja2.__version__)'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

function readme(manifest: Record<string, Record<string, CaseEntry>>): string {
  const rows = Object.entries(manifest).map(([family, cases]) => {
    const cells = Object.entries(cases).map(([name, c]) => {
      const merged = c.merged ? ` (merge: ${c.merged.status})` : '';
      return `${name}: ${c.status}${merged}`;
    });
    return `| \`${family}\` | ${cells.join('; ')} |`;
  });
  return `# Chat-template goldens

What Hugging Face transformers' \`apply_chat_template(messages, tokenize=False,
add_generation_prompt=True)\` renders for ragtax's own chat messages, for the real chat templates of
14 model families. \`tests/prompts/chat-goldens.test.ts\` compares ragtax's renderer with them byte
for byte (it skips when \`../shared/fixtures/chat-templates\` is absent; these files are committed).

Made on ${new Date().toISOString().slice(0, 10)} with

    npx tsx scripts/make-chat-goldens.ts

which needs \`../shared/fixtures/chat-templates\` (the model folders: \`tokenizer_config.json\` +
\`tokenizer.json\`, no weights) and \`../shared/tools/render_chat_reference.py\` (run with
\`python3\`, jinja2 ${jinjaVersion()}).

## Inputs

\`item.json\` is the one RAG item: a question, two documents, its answers and two exemplar items
(one answerable from its own document, one not). The messages are built by ragtax itself:
\`buildMessages\` (src/prompts/render.ts) with the \`nores\` preset (src/prompts/presets.ts) and
\`makeExemplar\` (src/prompts/exemplars.ts):

- \`0shot\`: system (the instruction) + user (documents, question, \`Answer:\`);
- \`2shot\`: two exemplar turns first, one answered from its document, one answered \`NO-RES\`;
- \`cot\`: chain of thought, 0 shots (instruction + the step-by-step sentence, cue \`Reasoning:\`);
- \`qwen3-0.6b\` only: \`0shot.thinking-off\` / \`0shot.thinking-on\`, rendered with the template
  variables in \`0shot.thinking-*.kwargs.json\` (\`enable_thinking\`).

## Renderer

\`render_chat_reference.py\` re-implements transformers' rendering on plain jinja2:
\`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)\` with \`loopcontrols\` and the
\`{% generation %}\` tag, \`tojson(ensure_ascii=False)\`, \`raise_exception\`, \`strftime_now\`;
the special tokens (\`bos_token\`, \`eos_token\`, ...) from \`tokenizer_config.json\`;
\`add_generation_prompt=True\`, and \`tools=None\`, \`documents=None\` passed explicitly, as
transformers >= 4.43 does. A named template list resolves to \`default\`, and a
\`chat_template.jinja\` beside the config wins over \`tokenizer_config.json\` (the renderer's header documents
this as transformers >= 4.43 behaviour; the separate-file loading was added in later releases, through
huggingface/transformers#33957 and #36588). None of these folders has a \`chat_template.jinja\` or
a named template list, so that rule does not change any golden here. The text is not the token ids:
transformers' \`apply_chat_template(tokenize=True)\` (and vLLM's chat endpoint) encodes the rendered
text with \`add_special_tokens=False\`, so a template that writes \`<s>\` itself gives one BOS.

## Files (per family folder)

- \`<case>.messages.json\`: the messages; \`<case>.txt\`: the rendered prompt, exact bytes (no
  newline added).
- \`<case>.error.txt\`: the template's error instead (the Python exception class, \`: \`, the message),
  when the renderer exited with 3.
- Where a case raised an error or its text lacks a message's content (trimmed), the
  \`system_role: merge\` variant too: \`<case>.merged.messages.json\` (system message removed, its
  content and a blank line prepended to the first user message) and \`<case>.merged.txt\` or
  \`<case>.merged.error.txt\`.
- \`manifest.json\`: family → case → \`{status: ok | error | drops-system, messages, golden, kwargs?,
  error?, raisedByTemplate?, dropped?, merged?}\`; \`raisedByTemplate\` says whether the error text is
  the template's own \`raise_exception\` message (otherwise it is a Python/jinja2 error, whose wording
  other jinja implementations do not share).
- \`templates.json\`: sha256 of each family's chat template text (what the goldens were made from).

## Results

| family | cases |
|---|---|
${rows.join('\n')}
`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
