// The tokenizer and chat renderer that open a model without transformers.js give what
// transformers.js gives: the same ids (with and without special tokens), the same decoded text,
// the same special-token ids and the same rendered chat prompt, on the fixture and organism models
// and on every real tokenizer of the shared chat-template fixtures (skipped when absent).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { jinjaChatRenderer } from '../../src/prompts/chat-template.js';
import { loadFolderTokenizer } from '../../src/models/transformers/tokenizer.js';
import { InputError } from '../../src/errors.js';
import type { ChatMessage } from '../../src/types.js';
import { MIXED_PROMPTS, REPO_ROOT, TINY_BASE, TINY_CHAT } from './helpers.js';

env.allowRemoteModels = false;
const SHARED = path.resolve(REPO_ROOT, '../shared/fixtures/chat-templates');
const shared = existsSync(SHARED)
  ? readdirSync(SHARED)
      .map((name) => path.join(SHARED, name))
      .filter((folder) => statSync(folder).isDirectory() && existsSync(path.join(folder, 'tokenizer.json')))
  : [];
const FOLDERS = [TINY_BASE, TINY_CHAT, path.join(REPO_ROOT, 'models/quennland-base'), path.join(REPO_ROOT, 'models/quennland-instruct'), ...shared];

/** A call's value, or its error's message: the two sides must agree on both. */
function outcome<T>(call: () => T): T | { error: string } {
  try {
    return call();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const TEXTS = [
  ...MIXED_PROMPTS,
  'Documents:\nDocument [p001-3](Title: Bisesh Meizaek) Bisesh Meizaek was born in Bukeikri.\nQuestion: In which town was Bisesh Meizaek born?\nAnswer:',
  '<|im_start|>system\nSay NO-RES.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
  '<s>[INST] héllo — 東京 \t  spaces  [/INST]',
  '',
];

for (const folder of FOLDERS) {
  test(`the folder tokenizer equals transformers.js': ${path.basename(folder)}`, async () => {
    const reference = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
    const ours = await loadFolderTokenizer(folder, 'm');
    assert.equal(ours.eos_token_id ?? undefined, reference.eos_token_id ?? undefined, 'eos id');
    assert.equal(ours.pad_token_id ?? undefined, reference.pad_token_id ?? undefined, 'pad id');
    assert.deepEqual(ours.config, reference.config);
    for (const text of TEXTS) {
      const ids = reference.encode(text);
      assert.deepEqual(ours.encode(text), ids, `with special tokens: ${JSON.stringify(text)}`);
      assert.deepEqual(ours.encode(text, { add_special_tokens: false }), reference.encode(text, { add_special_tokens: false }), `without: ${JSON.stringify(text)}`);
      // (Some shared fixtures carry a cut-down vocabulary: decoding may fail, then on both sides alike.)
      for (const skip of [true, false]) {
        const options = { skip_special_tokens: skip, clean_up_tokenization_spaces: false };
        assert.deepEqual(outcome(() => ours.decode(ids, options)), outcome(() => reference.decode(ids, options)), `decode (skip ${skip}): ${JSON.stringify(text)}`);
      }
    }
  });
}

test('the jinja renderer equals transformers.js apply_chat_template, special tokens and variables included', async () => {
  const reference = await AutoTokenizer.from_pretrained(TINY_CHAT, { local_files_only: true });
  // A template that prints every variable transformers.js passes, plus a suite variable.
  const template =
    "{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ documents is none }}|{{ flag }}|{% for m in messages %}[{{ m['role'] }}:{{ m['content'] }}]{% endfor %}{% if add_generation_prompt %}>{% endif %}";
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Answer.' },
    { role: 'user', content: 'Q?' },
  ];
  for (const variables of [{}, { flag: true }, { add_generation_prompt: false, flag: 'x' }]) {
    const expected = reference.apply_chat_template(messages, { chat_template: template, tokenize: false, add_generation_prompt: true, ...variables }) as string;
    assert.equal(jinjaChatRenderer(template, reference.config as Record<string, unknown>, variables)(messages), expected, JSON.stringify(variables));
  }
});

test('a folder without a readable tokenizer is an input error naming the model and the folder', async () => {
  await assert.rejects(loadFolderTokenizer(path.join(REPO_ROOT, 'tests'), 'broken'), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.match(error.message, /^model 'broken': cannot load the tokenizer from .*tests: .*tokenizer\.json/);
    return true;
  });
});

test('folders with byte-identical tokenizer files share one tokenizer; a changed file gets its own', async () => {
  const { copyFileSync, mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const copy = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-tok-share-'));
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(TINY_CHAT, file), path.join(dir, file));
    return dir;
  };
  const [a, b, c] = [copy(), copy(), copy()];
  const config = JSON.parse(readFileSync(path.join(c, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(c, 'tokenizer_config.json'), JSON.stringify({ ...config, model_max_length: 77 }));
  const [ta, tb, tc] = [await loadFolderTokenizer(a, 'a'), await loadFolderTokenizer(b, 'b'), await loadFolderTokenizer(c, 'c')];
  assert.equal(tb, ta, 'identical files: one instance');
  assert.notEqual(tc, ta, 'another tokenizer_config.json: another instance');
  assert.equal(tc.config.model_max_length, 77);
  assert.deepEqual(tb.encode(TEXTS[0]!), ta.encode(TEXTS[0]!));
});
