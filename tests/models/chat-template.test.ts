// renderChat: the model's own chat template, rendered by transformers.js' apply_chat_template.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { chatRendererFor, loadTransformersModel } from '../../src/models/transformers/engine.js';
import type { ChatMessage } from '../../src/types.js';
import { greedy, SMOLLM_TOKENIZER, TINY_BASE, TINY_CHAT } from './helpers.js';

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'Answer from the documents. Say NO-RES if they do not contain the answer.' },
  { role: 'user', content: 'Document [1] Hamlet is a tragedy by William Shakespeare.\n\nQuestion: who wrote Hamlet?' },
];

const CHATML =
  '<|im_start|>system\nAnswer from the documents. Say NO-RES if they do not contain the answer.<|im_end|>\n' +
  '<|im_start|>user\nDocument [1] Hamlet is a tragedy by William Shakespeare.\n\nQuestion: who wrote Hamlet?<|im_end|>\n' +
  '<|im_start|>assistant\n';

describe('renderChat', () => {
  it('is absent for tiny-base, which has no chat template', async () => {
    const model = await loadTransformersModel({ name: 'tiny-base', source: TINY_BASE });
    try {
      assert.equal(model.renderChat, undefined);
    } finally {
      await model.dispose();
    }
  });

  it('renders ChatML for tiny-chat, and the special tokens stay single tokens', async () => {
    const model = await loadTransformersModel({ name: 'tiny-chat', source: TINY_CHAT });
    try {
      assert.ok(model.renderChat);
      const prompt = model.renderChat(MESSAGES);
      assert.equal(prompt, CHATML);
      assert.equal(model.countTokens('<|im_start|>'), 1);
      assert.equal(model.countTokens('<|im_start|>assistant\n'), 1 + model.countTokens('assistant\n'));
      const [result] = await model.generator.generate([{ prompt, decoding: greedy(4) }]);
      assert.equal(result!.promptTokens, model.countTokens(prompt));
    } finally {
      await model.dispose();
    }
  });

  it(
    "renders the real SmolLM-Instruct ChatML template through the same path",
    { skip: !existsSync(SMOLLM_TOKENIZER) && `no SmolLM tokenizer fixture at ${SMOLLM_TOKENIZER}` },
    async () => {
      env.allowRemoteModels = false;
      const tokenizer = await AutoTokenizer.from_pretrained(SMOLLM_TOKENIZER, { local_files_only: true });
      const render = chatRendererFor(tokenizer);
      assert.ok(render, 'SmolLM tokenizer_config.json has a chat_template');
      assert.equal(render(MESSAGES), CHATML);
      const ids = tokenizer.encode(render([{ role: 'user', content: 'hi' }]));
      assert.deepEqual(ids.slice(0, 1), [1]); // <|im_start|>
      assert.ok(ids.includes(2)); // <|im_end|>
    },
  );
});
