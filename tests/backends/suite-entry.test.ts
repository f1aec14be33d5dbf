// `backend: openai` model entries: validation and what the runner receives.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadSuite } from '../../src/suite/load.js';
import { FIXTURE_DATA, TINY_CHAT } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-entry-'));
let n = 0;
function suiteWith(models: string): string {
  const file = path.join(tmp, `s${n++}.yaml`);
  writeFileSync(
    file,
    `name: entry
dataset: { format: ragtax, path: ${JSON.stringify(path.join(FIXTURE_DATA, 'qa.jsonl'))}, corpus: ${JSON.stringify(path.join(FIXTURE_DATA, 'corpus.jsonl'))}, fewshot_size: 1 }
models:
${models}
pairs: [{ base: a, instruct: b }]
grid: [{ k: 1, instruction: nores }]
`,
  );
  return file;
}
const B = `  b: { path: ${JSON.stringify(TINY_CHAT)} }`;

describe('suite: backend openai entries', () => {
  it('reads endpoints, model, key variable name, chat mode and limits', async () => {
    const suite = await loadSuite(
      suiteWith(`  a: { backend: openai, endpoints: [http://h1:8000/v1, http://h2:8000], model: llama, api_key_env: MY_KEY, concurrency: 4, timeout_s: 30, max_retries: 2, chat_mode: rendered, tokenizer: ${JSON.stringify(TINY_CHAT)} }\n${B}`),
    );
    const a = suite.models.find((m) => m.name === 'a')!;
    assert.equal(a.backend, 'openai');
    assert.equal(a.source, 'openai:llama');
    assert.deepEqual(a.spec, {
      backend: 'openai',
      name: 'a',
      endpoints: ['http://h1:8000/v1', 'http://h2:8000'],
      model: 'llama',
      apiKeyEnv: 'MY_KEY',
      chatMode: 'rendered',
      tokenizer: TINY_CHAT,
      concurrency: 4,
      timeoutS: 30,
      maxRetries: 2,
      maxStops: undefined,
      contextLength: undefined,
      chat: {},
    });
    assert.equal(a.batchSize, 16, 'two requests per slot: 4 × 2 endpoints × 2');
  });

  it('refuses incomplete or contradictory entries with the field named', async () => {
    await assert.rejects(loadSuite(suiteWith(`  a: { backend: openai, model: llama }\n${B}`)), /needs `endpoints`/);
    await assert.rejects(loadSuite(suiteWith(`  a: { backend: openai, endpoints: [http://h:1], model: m, path: x }\n${B}`)), /takes no `path` or `hf_id`/);
    await assert.rejects(loadSuite(suiteWith(`  a: { backend: openai, endpoints: [http://h:1], model: m, chat_mode: rendered }\n${B}`)), /chat_mode.*needs `tokenizer/);
    await assert.rejects(loadSuite(suiteWith(`  a: { path: ${JSON.stringify(TINY_CHAT)}, endpoints: [http://h:1] }\n${B}`)), /models\.a\.endpoints` is for `backend: openai` only/);
    await assert.rejects(loadSuite(suiteWith(`  a: { backend: openai, endpoints: [http://h:1], model: m, device: cuda }\n${B}`)), /device` is for in-process backends/);
    await assert.rejects(loadSuite(suiteWith(`  a: { backend: openai, endpoints: [http://h:1], model: m, api_key: sk-123 }\n${B}`)), /unknown field `api_key`.*did you mean `api_key_env`/);
  });
});
