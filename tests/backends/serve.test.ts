// `ragtax serve`: the OpenAI-compatible routes, greedy-only decoding, batching of concurrent
// requests with responses identical to the in-process backend, device errors, and a failing
// server seen from `ragtax run` (exit 3, endpoint named, key never shown).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModel } from '../../src/models/backends.js';
import { startServer } from '../../src/serve/server.js';
import { MIXED_PROMPTS } from '../models/helpers.js';
import { CLI, FIXTURE_DATA, json, modelsList, ragtax, ROOT, testServer, TINY_BASE, TINY_CHAT } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-serve-'));

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, any> };
}

describe('ragtax serve (the command)', () => {
  it('serves /v1/models, refuses temperature > 0 and unknown models in OpenAI error shape, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', TINY_BASE, '--port', '0', '--batch-size', '4', '--model-id', 'tb'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    try {
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Record<string, unknown>[] };
      assert.equal(models.data.length, 1);
      assert.deepEqual([models.data[0]!.id, models.data[0]!.object, models.data[0]!.owned_by, models.data[0]!.root, models.data[0]!.max_model_len], ['tb', 'model', 'ragtax', TINY_BASE, 512]);
      const hot = await post(`${url}/v1/completions`, { model: 'tb', prompt: 'Hello', max_tokens: 3, temperature: 0.8 });
      assert.equal(hot.status, 400);
      assert.deepEqual(Object.keys(hot.json.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(hot.json.error.param, 'temperature');
      assert.match(hot.json.error.message, /greedily only/);
      const other = await post(`${url}/v1/completions`, { model: 'gpt-4', prompt: 'Hello' });
      assert.equal(other.status, 404);
      assert.equal(other.json.error.code, 'model_not_found');
      const noTemplate = await post(`${url}/v1/chat/completions`, { model: 'tb', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(noTemplate.status, 400);
      assert.match(noTemplate.json.error.message, /no chat_template/);
      const ok = await post(`${url}/v1/completions`, { model: 'tb', prompt: 'Hello', max_tokens: 3, temperature: 0, seed: 1 });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.usage.completion_tokens, 3);
      assert.equal(ok.json.usage.total_tokens, ok.json.usage.prompt_tokens + 3);
    } finally {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    assert.match(stderr, /closing/);
  });

  it('names an unavailable device and how to get it, without falling back', async () => {
    const cudaProvider = path.join(ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
    if (!existsSync(cudaProvider)) {
      const r = await ragtax(['serve', TINY_BASE, '--port', '0', '--device', 'cuda']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /device 'cuda' is unavailable.*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    }
    const bad = await ragtax(['serve', TINY_BASE, '--device', 'gpu']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid values:[\s\S]*device/);
  });
});

describe('ragtax serve (batching)', () => {
  it('batches concurrent requests and answers exactly as the in-process backend', async () => {
    const server = await startServer({ source: TINY_CHAT, port: 0, batchSize: 4 });
    const local = await loadModel({ backend: 'transformers', name: 'local', source: TINY_CHAT });
    try {
      const decoding = { maxNewTokens: 5, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 0 };
      const expected = await local.generator.generate(MIXED_PROMPTS.map((prompt) => ({ prompt, decoding })));
      const answers = await Promise.all(MIXED_PROMPTS.map((prompt) => post(`${server.url}/v1/completions`, { model: 'tiny-chat', prompt, max_tokens: 5, stop: '\n', temperature: 0 })));
      answers.forEach((a, i) => {
        assert.equal(a.status, 200);
        assert.equal(a.json.choices[0].text, expected[i]!.text, MIXED_PROMPTS[i]);
        assert.equal(a.json.choices[0].ragtax_finish_reason, expected[i]!.finishReason);
        assert.equal(a.json.usage.prompt_tokens, expected[i]!.promptTokens);
        assert.equal(a.json.usage.completion_tokens, expected[i]!.completionTokens);
      });
      assert.equal(server.stats.requests, MIXED_PROMPTS.length);
      assert.ok(server.stats.batches <= 4, `${MIXED_PROMPTS.length} concurrent requests in ${server.stats.batches} batches`);
      assert.equal(server.stats.maxBatch, 4, 'no batch exceeds --batch-size');
      // The chat route applies the model's own template.
      const messages = [{ role: 'user' as const, content: 'Where is the tower?' }];
      const [viaTemplate] = await local.generator.generate([{ prompt: local.renderChat!(messages), decoding }]);
      const chat = await post(`${server.url}/v1/chat/completions`, { model: 'tiny-chat', messages, max_tokens: 5, stop: ['\n'] });
      assert.equal(chat.json.choices[0].message.content, viaTemplate!.text);
      assert.equal(chat.json.object, 'chat.completion');
      const tooLong = await post(`${server.url}/v1/completions`, { prompt: 'word '.repeat(600), max_tokens: 5 });
      assert.equal(tooLong.status, 400);
      assert.equal(tooLong.json.error.code, 'context_length_exceeded');
    } finally {
      await server.close();
      await local.dispose();
    }
  });
});

describe('ragtax run against a failing server', () => {
  const KEY = 'sk-failing-server-5e6f7a8b';
  let failing: Awaited<ReturnType<typeof testServer>>;
  after(() => failing?.close());

  it('exits 3 naming the endpoint and status; the key appears nowhere', async () => {
    failing = await testServer((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m', { max_model_len: 4096 }));
      if (req.url === '/tokenize') return json(res, 404, {});
      json(res, 503, { error: { message: `busy; your header was ${String(req.headers.authorization)}` } });
    });
    const suite = path.join(tmp, 'failing.yaml');
    writeFileSync(
      suite,
      `name: failing
dataset: { format: ragtax, path: ${JSON.stringify(path.join(FIXTURE_DATA, 'qa.jsonl'))}, corpus: ${JSON.stringify(path.join(FIXTURE_DATA, 'corpus.jsonl'))}, fewshot_size: 1 }
models:
  base: { backend: openai, endpoints: [${failing.url}], model: m, api_key_env: RAGTAX_FAILING_KEY, max_retries: 1, concurrency: 2 }
  instruct: { path: ${JSON.stringify(TINY_CHAT)} }
pairs: [{ base: base, instruct: instruct }]
grid: [{ k: 1, instruction: nores }]
decoding: { max_new_tokens: 3 }
`,
    );
    const out = path.join(tmp, 'failing-run');
    const r = await ragtax(['run', suite, '--out', out, '--no-cache'], { RAGTAX_FAILING_KEY: KEY });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`model 'base': POST ${failing.url.replace(/[.]/g, '\\.')}/v1/completions failed: HTTP 503`));
    assert.match(r.stderr, /after 2 attempts/);
    assert.ok(!r.stderr.includes(KEY) && !r.stdout.includes(KEY));
    assert.ok(!existsSync(path.join(out, 'summary.json')));
    for (const file of readdirSync(out)) assert.ok(!readFileSync(path.join(out, file), 'utf8').includes(KEY), file);
    assert.ok(failing.requests.some((q) => q.headers.authorization === `Bearer ${KEY}`));
  });
});
