// The BOS rule end to end with real tokenizers: a raw prompt gets the tokenizer's own special tokens
// (Llama-2: one `<s>`), a rendered chat prompt gets none added (its template writes its own `<s>`),
// in-process, through `ragtax serve` (/v1/chat/completions, and /v1/completions with vLLM's
// `add_special_tokens: false`) and through the openai backend with `chat_mode: rendered`.
//
// The weights are tests/fixtures/models/tiny-wide (tools/build-test-model.py --wide: 50,000-token
// vocabulary, no tokenizer files); each family's real tokenizer.json + tokenizer_config.json come
// from ../shared/fixtures/chat-templates, which a clone of the project does not have: the tests skip
// when it is absent.

import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { openOpenAIModel } from '../../src/models/openai/engine.js';
import { openTransformersModel } from '../../src/models/transformers/engine.js';
import { PRESETS } from '../../src/prompts/presets.js';
import { buildMessages, renderRaw, type PromptInput } from '../../src/prompts/render.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import type { DecodingParams, GenerationResult, LoadedModel } from '../../src/types.js';
import { ROOT } from './helpers.js';

const TEMPLATES = path.resolve(ROOT, '../shared/fixtures/chat-templates');
const TINY_WIDE = path.join(ROOT, 'tests/fixtures/models/tiny-wide');
const SKIP = !existsSync(TEMPLATES) ? 'shared chat-template fixtures absent (../shared/fixtures/chat-templates)' : false;
const BOS = 1; // `<s>` in the Llama-2 SentencePiece vocabulary

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bos-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const INPUT: PromptInput = {
  instruction: PRESETS.nores!,
  cot: false,
  question: 'Where is the Eiffel Tower?',
  docs: [
    { id: 'd1', title: 'Eiffel Tower', text: 'The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.' },
    { id: 'd2', title: 'Gustave Eiffel', text: 'Gustave Eiffel was a French civil engineer whose company designed and built the tower.' },
  ],
  exemplars: [],
};
const MESSAGES = buildMessages(INPUT);
const RAW = renderRaw(INPUT);
const DECODING: DecodingParams = { maxNewTokens: 2, stop: [], temperature: 0, repetitionPenalty: 1, seed: 0 };
const MODEL_ID = 'tiny-wide';

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
}

/** tiny-wide's weights with a family's real tokenizer files. */
function modelFolder(family: string): string {
  const folder = path.join(tmp, family);
  cpSync(TINY_WIDE, folder, { recursive: true });
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(TEMPLATES, family, file), path.join(folder, file));
  return folder;
}

const FAMILIES = [
  { family: 'llama-2-chat+llama2-tokenizer', addsBos: true },
  { family: 'phi-3-mini-4k-instruct-unsloth', addsBos: false },
  { family: 'smollm-360m-instruct', addsBos: false },
];

for (const { family, addsBos } of FAMILIES) {
  describe(`BOS rule with the real ${family} tokenizer`, { skip: SKIP }, () => {
    let folder: string;
    let loaded: LoadedModel;
    let tokenizer: PreTrainedTokenizer;
    let server: RunningServer;
    let chatPrompt: string;
    let chatIds: number[];
    let local: GenerationResult;

    before(async () => {
      folder = modelFolder(family);
      loaded = await openTransformersModel({ name: family, source: folder, batchSize: 2 });
      tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
      chatPrompt = loaded.renderChat!(MESSAGES);
      chatIds = loaded.encode!(chatPrompt, true);
      local = (await loaded.generator.generate([{ prompt: chatPrompt, decoding: DECODING, chat: true }]))[0]!;
      server = await startServer({ source: folder, port: 0, batchSize: 2, modelId: MODEL_ID });
    });
    after(async () => {
      await server?.close();
      await loaded?.dispose();
    });

    it('encodes raw prompts by the tokenizer rule and rendered chat prompts without special tokens', (t) => {
      const raw = loaded.encode!(RAW, false);
      const rawPlain = tokenizer.encode(RAW, { add_special_tokens: false });
      assert.deepEqual(raw, tokenizer.encode(RAW), 'raw: tokenizer(text)');
      assert.deepEqual(chatIds, tokenizer.encode(chatPrompt, { add_special_tokens: false }), 'chat: add_special_tokens false');
      assert.equal(loaded.countTokens(chatPrompt, true), chatIds.length);
      assert.equal(loaded.countTokens(RAW, false), raw.length);
      if (addsBos) {
        assert.ok(chatPrompt.startsWith('<s>'), 'the Llama-2 template writes its own <s>');
        assert.deepEqual(chatIds.slice(0, 2).map((id) => id === BOS), [true, false], `chat starts with exactly one <s>: ${chatIds.slice(0, 3)}`);
        assert.deepEqual(raw.slice(0, 2).map((id) => id === BOS), [true, false], `raw starts with exactly one <s>: ${raw.slice(0, 3)}`);
        assert.deepEqual(raw, [BOS, ...rawPlain]);
        // What encoding the rendered text by the raw rule would give: the doubled BOS.
        assert.deepEqual(loaded.encode!(chatPrompt, false).slice(0, 2), [BOS, BOS]);
        const stack = loaded.promptStack as { bos: { raw: string; chat: string } };
        t.diagnostic(`promptStack: ${JSON.stringify(loaded.promptStack)}`);
        assert.match(stack.bos.raw, /<s> \(1\)/);
        assert.match(stack.bos.chat, /none added/);
      } else {
        assert.deepEqual(raw, rawPlain, 'raw: no special token added');
        assert.deepEqual(loaded.encode!(chatPrompt, false), chatIds, 'chat: the same either way');
        // The first token is the template's own first piece (Phi-3 `<|system|>`, SmolLM `<|im_start|>`), nothing in front.
        const first = tokenizer.decode([chatIds[0]!], { skip_special_tokens: false });
        assert.ok(chatPrompt.startsWith(first), `chat starts with ${JSON.stringify(first)}`);
        t.diagnostic(`promptStack.bos: ${JSON.stringify((loaded.promptStack as { bos: unknown }).bos)}`);
      }
      t.diagnostic(`chat prompt ${chatIds.length} tokens, raw prompt ${raw.length} tokens; first ids chat ${chatIds.slice(0, 3)} raw ${raw.slice(0, 3)}`);
    });

    it('generates in-process with the one-BOS prompt count', (t) => {
      assert.equal(local.promptTokens, chatIds.length);
      assert.equal(local.completionTokens, 2);
      t.diagnostic(`in-process: ${local.promptTokens} prompt tokens, text ${JSON.stringify(local.text)} (${local.finishReason})`);
    });

    it('ragtax serve: /v1/chat/completions counts and answers as in-process', async () => {
      const r = await post(`${server.url}/v1/chat/completions`, { model: MODEL_ID, messages: MESSAGES, max_tokens: 2, temperature: 0 });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.usage.prompt_tokens, local.promptTokens);
      assert.equal(r.json.usage.completion_tokens, local.completionTokens);
      assert.equal(r.json.choices[0].message.content, local.text);
    });

    it('ragtax serve: /v1/completions honours add_special_tokens: false', async (t) => {
      const body = { model: MODEL_ID, prompt: chatPrompt, max_tokens: 2, temperature: 0 };
      const without = await post(`${server.url}/v1/completions`, { ...body, add_special_tokens: false });
      assert.equal(without.status, 200, JSON.stringify(without.json));
      assert.equal(without.json.usage.prompt_tokens, local.promptTokens);
      assert.equal(without.json.choices[0].text, local.text);
      const withSpecial = await post(`${server.url}/v1/completions`, body);
      assert.equal(withSpecial.status, 200, JSON.stringify(withSpecial.json));
      assert.equal(withSpecial.json.usage.prompt_tokens, local.promptTokens + (addsBos ? 1 : 0), 'the tokenizer rule adds its BOS in front of the template\'s');
      const raw = await post(`${server.url}/v1/completions`, { model: MODEL_ID, prompt: RAW, max_tokens: 2, temperature: 0 });
      assert.equal(raw.json.usage.prompt_tokens, loaded.countTokens(RAW, false));
      t.diagnostic(`completions prompt_tokens: add_special_tokens false ${without.json.usage.prompt_tokens}, default ${withSpecial.json.usage.prompt_tokens}; raw ${raw.json.usage.prompt_tokens}`);
    });

    it('backend openai, chat_mode rendered: same prompt, count and text as in-process', async () => {
      const remote = await openOpenAIModel({
        name: `${family}-http`,
        endpoints: [server.url],
        model: MODEL_ID,
        chatMode: 'rendered',
        tokenizer: folder,
        maxRetries: 0,
        timeoutS: 60,
      });
      try {
        assert.equal(remote.renderChat!(MESSAGES), chatPrompt);
        assert.deepEqual(remote.encode!(chatPrompt, true), chatIds);
        assert.deepEqual(remote.promptStack, loaded.promptStack);
        const [viaHttp] = await remote.generator.generate([{ prompt: chatPrompt, decoding: DECODING, chat: true }]);
        assert.equal(viaHttp!.promptTokens, local.promptTokens);
        assert.equal(viaHttp!.completionTokens, local.completionTokens);
        assert.equal(viaHttp!.text, local.text);
      } finally {
        await remote.dispose();
      }
    });
  });
}
