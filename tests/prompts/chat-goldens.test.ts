// ragtax's chat rendering against goldens from the real chat templates of 14 model families
// (tests/fixtures/chat-goldens, made by scripts/make-chat-goldens.ts with the Python reference
// renderer, i.e. what transformers' apply_chat_template(tokenize=False) gives). The model folders
// live in ../shared/fixtures/chat-templates, which a clone of the project does not have: the tests
// skip when it is absent. Also the BOS rule, where a family has a real tokenizer.json.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { InputError, TemplateError } from '../../src/errors.js';
import { openChatRenderer } from '../../src/models/transformers/engine.js';
import { PRESETS } from '../../src/prompts/presets.js';
import { renderRaw } from '../../src/prompts/render.js';
import type { ChatMessage, Doc } from '../../src/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEMPLATES = path.resolve(ROOT, '../shared/fixtures/chat-templates');
const GOLDENS = path.join(ROOT, 'tests/fixtures/chat-goldens');
const SKIP = !existsSync(TEMPLATES) && 'shared chat-template fixtures absent (../shared/fixtures/chat-templates)';

type Status = 'ok' | 'error' | 'drops-system' | 'drops-messages';
interface Rendered {
  status: Status;
  messages: string;
  golden: string;
  error?: string;
  raisedByTemplate?: boolean;
  dropped?: string[];
}
interface CaseEntry extends Rendered {
  kwargs?: Record<string, unknown>;
  merged?: Rendered;
}
type Manifest = Record<string, Record<string, CaseEntry>>;

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const manifest = readJson<Manifest>(path.join(GOLDENS, 'manifest.json'));
const templateHashes = readJson<Record<string, { sha256: string }>>(path.join(GOLDENS, 'templates.json'));

function golden(family: string, file: string): string {
  return readFileSync(path.join(GOLDENS, family, file), 'utf8');
}

/** The TemplateError a golden `error`/`drops-*` case must raise in ragtax. */
function expectTemplateError(family: string, caseName: string, expected: Rendered, mergeFixes: boolean): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TemplateError, `${family} ${caseName}: expected a TemplateError, got ${String(error)}`);
    assert.ok(error instanceof InputError, `${family} ${caseName}: TemplateError must be an InputError`);
    assert.ok(error.message.includes(family), `${family} ${caseName}: the message names the model: ${error.message}`);
    if (expected.status === 'error' && expected.raisedByTemplate) {
      // The template's own raise_exception text; a Python/jinja2 runtime error (command-r's
      // "'NoneType' object is not iterable") is worded differently by @huggingface/jinja.
      assert.ok(error.message.includes(expected.error!), `${family} ${caseName}: the message quotes the template's "${expected.error}": ${error.message}`);
    }
    for (const role of expected.dropped ?? []) {
      assert.match(error.message, new RegExp(`\\b${role}\\b`), `${family} ${caseName}: the message names the dropped ${role} message: ${error.message}`);
    }
    // Named where the golden shows that it works (the merged variant renders); command-r's
    // template fails without `tools` either way, so the hint is not required there.
    if (mergeFixes) assert.ok(error.message.includes('system_role: merge'), `${family} ${caseName}: the message names the fix \`system_role: merge\`: ${error.message}`);
    return true;
  };
}

test('every shared chat-template family has goldens, made from the same template text', { skip: SKIP }, async () => {
  const families = readdirSync(TEMPLATES).filter((f) => statSync(path.join(TEMPLATES, f)).isDirectory()).sort();
  assert.deepEqual(Object.keys(manifest).sort(), families, 'run `npx tsx scripts/make-chat-goldens.ts` after changing ../shared/fixtures/chat-templates');
  for (const family of families) {
    const opened = await openChatRenderer(path.join(TEMPLATES, family), { modelName: family });
    assert.ok(opened, `${family}: has a chat template`);
    assert.equal(opened.template.source, 'tokenizer_config.json', family);
    assert.equal(opened.template.sha256, templateHashes[family]?.sha256, `${family}: the template changed since the goldens were made; regenerate them`);
  }
});

for (const [family, cases] of Object.entries(manifest)) {
  const folder = path.join(TEMPLATES, family);
  test(`chat goldens: ${family}`, { skip: SKIP || (!existsSync(folder) && `${folder} absent`) }, async (t) => {
    for (const [caseName, entry] of Object.entries(cases)) {
      await t.test(`${caseName}: ${entry.status}${entry.merged ? `, merge: ${entry.merged.status}` : ''}`, async () => {
        const messages = readJson<ChatMessage[]>(path.join(GOLDENS, family, entry.messages));
        const kwargs = entry.kwargs ? { templateKwargs: entry.kwargs } : {};
        const mergeFixes = messages.some((m) => m.role === 'system') && entry.merged?.status === 'ok';

        const keep = await openChatRenderer(folder, { modelName: family, ...kwargs });
        assert.ok(keep, `${family}: has a chat template`);
        if (entry.status === 'ok') {
          assert.equal(keep.render(messages), golden(family, entry.golden));
        } else {
          assert.throws(() => keep.render(messages), expectTemplateError(family, caseName, entry, mergeFixes));
        }

        if (!entry.merged) return;
        // The merged messages file is what `system_role: merge` must produce from the originals.
        const mergedMessages = readJson<ChatMessage[]>(path.join(GOLDENS, family, entry.merged.messages));
        assert.equal(mergedMessages.some((m) => m.role === 'system'), false);
        const merge = await openChatRenderer(folder, { modelName: family, systemRole: 'merge', ...kwargs });
        assert.ok(merge);
        if (entry.merged.status === 'ok') {
          assert.equal(merge.render(messages), golden(family, entry.merged.golden));
        } else {
          assert.throws(() => merge.render(messages), expectTemplateError(family, `${caseName} (merge)`, entry.merged, false));
        }
      });
    }
  });
}

// ---------------------------------------------------------------- BOS rule

interface TokenizerJson {
  post_processor?: { type?: string; single?: { SpecialToken?: { id: string } }[] } | null;
}

function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

/**
 * Whether transformers' `tokenizer(text)` (add_special_tokens=True) puts a BOS first: Llama-class
 * tokenizers rebuild their post-processor from `add_bos_token` (default true); the others use
 * tokenizer.json's post_processor as it is.
 */
function transformersAddsBos(config: Record<string, unknown>, tokenizerJson: TokenizerJson): boolean {
  const bos = tokenContent(config.bos_token);
  const postProcessorAddsBos =
    tokenizerJson.post_processor?.type === 'TemplateProcessing' && bos !== undefined && tokenizerJson.post_processor.single?.[0]?.SpecialToken?.id === bos;
  if (typeof config.add_bos_token === 'boolean') return config.add_bos_token;
  if (String(config.tokenizer_class ?? '').startsWith('Llama')) return true;
  return postProcessorAddsBos;
}

/** Number of leading ids equal to `id`. */
function leading(ids: number[], id: number | undefined): number {
  let n = 0;
  while (id !== undefined && ids[n] === id) n++;
  return n;
}

const sources: Record<string, { real_tokenizer_json?: boolean }> = existsSync(path.join(TEMPLATES, 'sources.json'))
  ? readJson(path.join(TEMPLATES, 'sources.json'))
  : {};
const realTokenizers = Object.entries(sources)
  .filter(([, s]) => s.real_tokenizer_json === true)
  .map(([family]) => family)
  .sort();

test('the shared fixtures mark the expected families as having a real tokenizer.json', { skip: SKIP }, () => {
  for (const family of ['llama-2-chat+llama2-tokenizer', 'phi-3-mini-4k-instruct-unsloth', 'smollm-360m-instruct', 'mistral-7b-instruct-v0.1', 'zephyr-7b-beta']) {
    assert.ok(realTokenizers.includes(family), family);
  }
});

const item = readJson<{ question: string; docs: Doc[] }>(path.join(GOLDENS, 'item.json'));
const rawPrompt = renderRaw({ instruction: PRESETS.nores!, cot: false, question: item.question, docs: item.docs, exemplars: [] });

for (const family of realTokenizers) {
  const folder = path.join(TEMPLATES, family);
  test(`BOS rule: ${family}`, { skip: SKIP }, async (t) => {
    env.allowRemoteModels = false;
    env.localModelPath = '';
    const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
    const config = readJson<Record<string, unknown>>(path.join(folder, 'tokenizer_config.json'));
    const bosText = tokenContent(config.bos_token);
    const bosId = tokenizer.bos_token_id ?? undefined;
    const expectsBos = transformersAddsBos(config, readJson<TokenizerJson>(path.join(folder, 'tokenizer.json')));

    // Raw prompts: the tokenizer's own rule, as transformers' tokenizer(text) applies it.
    const plain = tokenizer.encode(rawPrompt, { add_special_tokens: false });
    const withSpecial = tokenizer.encode(rawPrompt);
    assert.equal(leading(plain, bosId), 0, `${family}: the raw text itself holds no BOS`);
    if (expectsBos) {
      assert.equal(leading(withSpecial, bosId), 1, `${family}: transformers adds exactly one BOS to a raw prompt`);
      assert.deepEqual(withSpecial.slice(1), plain, `${family}: nothing but the BOS is added`);
    } else {
      assert.deepEqual(withSpecial, plain, `${family}: transformers adds no special token to a raw prompt`);
    }

    // Chat prompts: encoded without special tokens (apply_chat_template(tokenize=True), vLLM): the
    // template's own BOS, exactly once, and none where the template writes none.
    const chats: string[] = [];
    for (const entry of Object.values(manifest[family] ?? {})) {
      if (entry.status === 'ok') chats.push(golden(family, entry.golden));
      if (entry.merged?.status === 'ok') chats.push(golden(family, entry.merged.golden));
    }
    assert.ok(chats.length > 0, `${family}: has a rendered golden`);
    const templateBos = new Set<number>();
    const doubledSeen = new Set<number>();
    for (const chat of chats) {
      const writesBos = bosText !== undefined && chat.startsWith(bosText) ? 1 : 0;
      templateBos.add(writesBos);
      const ids = tokenizer.encode(chat, { add_special_tokens: false });
      assert.equal(leading(ids, bosId), writesBos, `${family}: a chat prompt starts with the template's own BOS count (${writesBos})`);
      // What encoding the chat text like a raw prompt would do: a second BOS where both add one.
      const doubled = leading(tokenizer.encode(chat), bosId);
      doubledSeen.add(doubled);
      assert.equal(doubled, writesBos + (expectsBos ? 1 : 0), `${family}: tokenizer(chat) = template BOS + tokenizer BOS`);
    }
    if (family === 'llama-2-chat+llama2-tokenizer') {
      assert.equal(bosId, 1);
      assert.equal(expectsBos, true);
      assert.deepEqual([...templateBos], [1], 'the Llama-2 template writes <s> itself');
      assert.deepEqual([...doubledSeen], [2], 'encoding the chat text with special tokens would give <s><s>');
    }
    if (family === 'phi-3-mini-4k-instruct-unsloth' || family.startsWith('smollm')) assert.equal(expectsBos, false, `${family}: no BOS for raw prompts`);
    t.diagnostic(
      `${family}: bos ${bosText ?? 'none'} (${bosId ?? '-'}); raw prompt: ${expectsBos ? 'tokenizer adds one BOS' : 'no BOS added'}; ` +
        `chat prompt (no special tokens added): starts with ${[...templateBos].join('/')} bos_token id(s), all from the template's text; ` +
        `tokenizer(chat) with special tokens would start with ${[...doubledSeen].join('/')}`,
    );
  });
}
