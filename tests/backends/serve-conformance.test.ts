// `ragtax serve` against the OpenAI/vLLM conventions: what the chat and completions routes hand to
// the generator (`chat: true` for rendered chat templates and vLLM's `add_special_tokens: false`),
// chat-template refusals as 400, the matched stop string as `stop_reason`, and the chat default of
// max_tokens (the rest of the context; completions keep vLLM's 16).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import type { GenerationRequest } from '../../src/types.js';
import { copyFixture, removeFolder } from '../models/helpers.js';
import { TINY_CHAT } from './helpers.js';

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
}

describe('ragtax serve: conformance', () => {
  let server: RunningServer;
  /** Every request the generator received, in order. */
  const seen: GenerationRequest[] = [];

  before(async () => {
    server = await startServer({ source: TINY_CHAT, port: 0, batchSize: 4 });
    const generator = server.model.generator;
    const generate = generator.generate.bind(generator);
    generator.generate = (requests) => {
      seen.push(...requests);
      return generate(requests);
    };
  });
  after(() => server?.close());

  const last = () => seen.at(-1)!;

  it('sends the rendered chat prompt with chat: true; completions stay raw unless add_special_tokens is false', async () => {
    const messages = [{ role: 'user' as const, content: 'Where is the tower?' }];
    const chat = await post(`${server.url}/v1/chat/completions`, { messages, max_tokens: 2 });
    assert.equal(chat.status, 200, JSON.stringify(chat.json));
    assert.equal(last().prompt, server.model.renderChat!(messages));
    assert.equal(last().chat, true, 'a rendered chat template carries its own BOS: encoded without special tokens');

    // vLLM's chat default is add_special_tokens: false; a client that asks for them gets them.
    const asked = await post(`${server.url}/v1/chat/completions`, { messages, max_tokens: 2, add_special_tokens: true });
    assert.equal(asked.status, 200);
    assert.ok(!last().chat);

    const raw = await post(`${server.url}/v1/completions`, { prompt: 'Hello', max_tokens: 2 });
    assert.equal(raw.status, 200);
    assert.equal(last().prompt, 'Hello');
    assert.ok(!last().chat, 'a raw prompt is encoded by the tokenizer’s own rule');

    const withSpecial = await post(`${server.url}/v1/completions`, { prompt: 'Hello', max_tokens: 2, add_special_tokens: true });
    assert.equal(withSpecial.status, 200);
    assert.ok(!last().chat);

    const rendered = server.model.renderChat!(messages);
    const noSpecial = await post(`${server.url}/v1/completions`, { prompt: rendered, max_tokens: 2, add_special_tokens: false });
    assert.equal(noSpecial.status, 200);
    assert.equal(last().prompt, rendered);
    assert.equal(last().chat, true, "vLLM's add_special_tokens: false maps to chat: true");
    assert.equal(noSpecial.json.choices[0].text, chat.json.choices[0].message.content, 'the same tokens as the chat route');

    for (const route of ['/v1/completions', '/v1/chat/completions']) {
      const bad = await post(`${server.url}${route}`, { prompt: 'Hello', messages, add_special_tokens: 'no' });
      assert.equal(bad.status, 400, route);
      assert.equal(bad.json.error.param, 'add_special_tokens');
    }
  });

  it('reports the stop string that matched as stop_reason, not the first configured one', async () => {
    const prompt = 'The capital of France is';
    const free = await post(`${server.url}/v1/completions`, { prompt, max_tokens: 30 });
    const text = String(free.json.choices[0].text);
    const at = text.slice(1).search(/[A-Za-z0-9=?*]/) + 1;
    assert.ok(at > 0, `no ASCII character to stop on in ${JSON.stringify(text)}`);
    const hit = text[at]!;
    const never = '\u0007never\u0007';
    for (const stop of [[never, hit], [hit, never], [hit]]) {
      const r = await post(`${server.url}/v1/completions`, { prompt, max_tokens: 30, stop });
      assert.equal(r.status, 200);
      const choice = r.json.choices[0];
      assert.equal(choice.ragtax_finish_reason, 'stop', JSON.stringify(stop));
      assert.equal(choice.finish_reason, 'stop');
      assert.equal(choice.stop_reason, hit, JSON.stringify(stop));
      assert.equal(choice.text, text.slice(0, text.indexOf(hit)));
    }
    const length = await post(`${server.url}/v1/completions`, { prompt, max_tokens: 1, stop: [never] });
    assert.equal(length.json.choices[0].stop_reason, null, 'null when no stop string ended the text');
  });

  it('defaults a chat request without max_tokens to the rest of the context; completions keep 16', async () => {
    // A prompt that leaves fewer than 16 tokens of the 512-token context.
    const messages = [{ role: 'user' as const, content: 'word '.repeat(162) }];
    const counted = await post(`${server.url}/tokenize`, { messages });
    const promptTokens = counted.json.count as number;
    assert.ok(promptTokens > 512 - 16 && promptTokens < 512, `calibration: ${promptTokens} prompt tokens`);

    const chat = await post(`${server.url}/v1/chat/completions`, { messages });
    assert.equal(chat.status, 200, JSON.stringify(chat.json));
    assert.equal(last().decoding.maxNewTokens, 512 - promptTokens);
    const explicit = await post(`${server.url}/v1/chat/completions`, { messages, max_tokens: 512 - promptTokens });
    assert.equal(chat.json.choices[0].message.content, explicit.json.choices[0].message.content);

    const completion = await post(`${server.url}/v1/completions`, { prompt: server.model.renderChat!(messages), add_special_tokens: false });
    assert.equal(completion.status, 400, 'completions default to 16 new tokens, as vLLM');
    assert.equal(completion.json.error.code, 'context_length_exceeded');
    assert.match(completion.json.error.message, /16 for the completion/);

    const full = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'word '.repeat(200) }] });
    assert.equal(full.status, 400, 'a prompt that fills the context leaves nothing to generate');
    assert.equal(full.json.error.code, 'context_length_exceeded');
  });
});

describe('ragtax serve: chat-template refusals', () => {
  let folder: string;
  let server: RunningServer;

  before(async () => {
    // Gemma-2 style: the template refuses a system message with its own raise_exception.
    folder = copyFixture(TINY_CHAT);
    const configPath = path.join(folder, 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    config.chat_template =
      "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    writeFileSync(configPath, JSON.stringify(config));
    server = await startServer({ source: folder, port: 0 });
  });
  after(async () => {
    await server?.close();
    if (folder) removeFolder(folder);
  });

  it('answers a template refusal with 400 invalid_request_error on messages, never 500', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ];
    for (const route of ['/v1/chat/completions', '/tokenize']) {
      const r = await post(`${server.url}${route}`, { messages, max_tokens: 2 });
      assert.equal(r.status, 400, `${route}: ${JSON.stringify(r.json)}`);
      assert.deepEqual(r.json, { error: { message: r.json.error.message, type: 'invalid_request_error', param: 'messages', code: null } });
      assert.match(r.json.error.message, /System role not supported/);
    }
    const ok = await post(`${server.url}/v1/chat/completions`, { messages: messages.slice(1), max_tokens: 2 });
    assert.equal(ok.status, 200, 'the same template renders messages it accepts');

    // A renderer that fails with a plain Error (a template's raise_exception outside ragtax's checks).
    const render = server.model.renderChat;
    server.model.renderChat = () => {
      throw new Error('Conversation roles must alternate user/assistant/user/assistant/...');
    };
    try {
      const r = await post(`${server.url}/v1/chat/completions`, { messages: messages.slice(1), max_tokens: 2 });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.deepEqual(r.json, { error: { message: r.json.error.message, type: 'invalid_request_error', param: 'messages', code: null } });
      assert.match(r.json.error.message, /Conversation roles must alternate/);
    } finally {
      server.model.renderChat = render;
    }
  });
});
