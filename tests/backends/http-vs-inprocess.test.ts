// The same suite run in-process and over HTTP against `ragtax serve` (the real server, on loopback)
// gives identical responses; the API key never leaves the environment.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import type { RunSummary } from '../../src/rundir/types.js';
import type { SampleRecord } from '../../src/types.js';
import { FIXTURE_DATA, ragtax, ROOT, TINY_BASE, TINY_CHAT } from './helpers.js';

const KEY = 'sk-ragtax-test-7f3a9c1e5b'; // set in the environment of the run only
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-http-'));
const env = { RAGTAX_CACHE_DIR: path.join(tmp, 'cache'), RAGTAX_TEST_KEY: KEY };

const COMMON = `seed: 7
dataset:
  format: ragtax
  path: ${JSON.stringify(path.join(FIXTURE_DATA, 'qa.jsonl'))}
  corpus: ${JSON.stringify(path.join(FIXTURE_DATA, 'corpus.jsonl'))}
  fewshot_size: 2
pairs:
  - base: base
    instruct: instruct
grid:
  - k: [1, 2]
    instruction: nores
  - k: 2
    instruction: [no-rejection, proof]
    shots: [0, 1]
    cot: [false, true]
  - instruction: closed-book
decoding:
  max_new_tokens: 6
  stop: ["\\n"]
  cot: { max_new_tokens: 8 }
  proof: { max_new_tokens: 8 }
metrics:
  bootstrap_samples: 200
`;

function readSamples(dir: string): SampleRecord[] {
  return readFileSync(path.join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
}
const cell = (s: SampleRecord) => `${s.itemId}|${s.format}|${s.instruction}|${s.context}|${s.k}|${s.shots}|${s.cot}`;

describe('backend openai against ragtax serve', () => {
  let base: RunningServer;
  let chat: RunningServer;
  let local: { code: number; stdout: string; stderr: string };
  let http: { code: number; stdout: string; stderr: string };
  const localOut = path.join(tmp, 'local');
  const httpOut = path.join(tmp, 'http');

  before(async () => {
    [base, chat] = await Promise.all([
      startServer({ source: TINY_BASE, port: 0, batchSize: 8, apiKey: KEY }),
      startServer({ source: TINY_CHAT, port: 0, batchSize: 8, apiKey: KEY }),
    ]);
    const localSuite = path.join(tmp, 'local.yaml');
    writeFileSync(
      localSuite,
      `name: tiny-backends\n${COMMON}models:\n  base: { path: ${JSON.stringify(TINY_BASE)} }\n  instruct: { path: ${JSON.stringify(TINY_CHAT)}, formats: [raw, chat] }\n`,
    );
    const httpSuite = path.join(tmp, 'http.yaml');
    writeFileSync(
      httpSuite,
      `name: tiny-backends\n${COMMON}models:
  base: { backend: openai, endpoints: [${base.url}], model: tiny-base, api_key_env: RAGTAX_TEST_KEY, concurrency: 4 }
  instruct: { backend: openai, endpoints: ["${chat.url}/v1"], model: tiny-chat, api_key_env: RAGTAX_TEST_KEY, formats: [raw, chat] }
  instruct-rendered:
    backend: openai
    endpoints: [${chat.url}]
    model: tiny-chat
    api_key_env: RAGTAX_TEST_KEY
    formats: [raw, chat]
    chat_mode: rendered
    tokenizer: ${JSON.stringify(TINY_CHAT)}
`,
    );
    // One after the other: two CPU-bound runs at once would only slow each other down.
    local = await ragtax(['run', localSuite, '--out', localOut, '--quiet'], env);
    http = await ragtax(['run', httpSuite, '--out', httpOut], env);
  });
  after(async () => {
    await Promise.all([base?.close(), chat?.close()]);
  });

  it('both runs finish', () => {
    assert.equal(local.code, 0, local.stderr);
    assert.equal(http.code, 0, http.stderr);
  });

  it('gives the in-process responses, token counts and context exclusions', () => {
    const inProcess = new Map(readSamples(localOut).map((s) => [`${s.model}|${cell(s)}`, s]));
    const overHttp = readSamples(httpOut);
    assert.equal(overHttp.length, inProcess.size + inProcess.size - readSamples(localOut).filter((s) => s.model === 'base').length);
    for (const s of overHttp) {
      const twin = inProcess.get(`${s.model === 'instruct-rendered' ? 'instruct' : s.model}|${cell(s)}`);
      assert.ok(twin, `${s.model} ${cell(s)}`);
      assert.equal(s.response, twin.response, `${s.model} ${cell(s)}`);
      assert.equal(s.excluded, twin.excluded, `${s.model} ${cell(s)}`);
      if (s.excluded) continue;
      assert.equal(s.finishReason, twin.finishReason, `${s.model} ${cell(s)}`);
      assert.equal(s.promptTokens, twin.promptTokens);
      assert.equal(s.completionTokens, twin.completionTokens);
      if (s.format === 'chat' && s.model === 'instruct') {
        // chat_mode server: the sample records the messages the server templated.
        const messages = JSON.parse(s.prompt) as { role: string; content: string }[];
        assert.equal(messages[0]!.role, 'system');
        assert.ok(twin.prompt.includes(messages.at(-1)!.content));
      } else {
        assert.equal(s.prompt, twin.prompt, 'raw and rendered prompts are the in-process strings');
      }
    }
    const a = JSON.parse(readFileSync(path.join(localOut, 'summary.json'), 'utf8')) as RunSummary;
    const b = JSON.parse(readFileSync(path.join(httpOut, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(b.contextOverflow.base, a.contextOverflow.base);
    assert.equal(b.contextOverflow.instruct, a.contextOverflow.instruct);
    assert.equal(b.contextOverflow['instruct-rendered'], a.contextOverflow.instruct);
    const accuracy = (s: RunSummary, model: string) => s.cells.filter((c) => c.model === model).map((c) => [c.format, c.instruction, c.k, c.shots, c.cot, c.accuracy, c.n]);
    assert.deepEqual(accuracy(b, 'instruct'), accuracy(a, 'instruct'));
    assert.deepEqual(accuracy(b, 'base'), accuracy(a, 'base'));
  });

  it('records the served models in the manifest', () => {
    const summary = JSON.parse(readFileSync(path.join(httpOut, 'summary.json'), 'utf8')) as RunSummary;
    const m = summary.manifest.models.instruct as unknown as { source: string; details: Record<string, unknown> };
    assert.equal(m.source, 'openai:tiny-chat');
    assert.equal(m.details.chatMode, 'server');
    assert.equal(m.details.chatPromptRecord, 'messages-json');
    assert.equal(m.details.tokenCounting, 'server');
    const servers = m.details.servers as { id: string; owned_by: string; root: string; max_model_len: number }[];
    assert.deepEqual(servers.map((s) => [s.id, s.owned_by, s.root, s.max_model_len]), [['tiny-chat', 'ragtax', TINY_CHAT, 512]]);
    const r = summary.manifest.models['instruct-rendered'] as unknown as { details: Record<string, unknown> };
    assert.equal(r.details.chatPromptRecord, 'rendered-string');
    assert.equal(r.details.tokenCounting, 'tokenizer');
    assert.ok(base.stats.maxBatch > 1, 'concurrent requests were batched by the server');
  });

  it('never writes the API key anywhere', () => {
    for (const text of [http.stdout, http.stderr]) assert.ok(!text.includes(KEY));
    for (const file of readdirSync(httpOut)) {
      assert.ok(!readFileSync(path.join(httpOut, file), 'utf8').includes(KEY), file);
    }
    assert.ok(!readFileSync(path.join(tmp, 'http.yaml'), 'utf8').includes(KEY));
  });

  it('a re-run is served from the generation cache without generating', async () => {
    const requestsBefore = chat.stats.requests + base.stats.requests;
    const again = await ragtax(['run', path.join(tmp, 'http.yaml'), '--out', path.join(tmp, 'http2'), '--quiet'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(chat.stats.requests + base.stats.requests, requestsBefore);
    const samples = readSamples(path.join(tmp, 'http2'));
    assert.ok(samples.filter((s) => !s.excluded).every((s) => s.cached === true));
  });
});

void ROOT;
