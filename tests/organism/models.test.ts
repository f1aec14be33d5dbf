// The committed organism lineage (base, instruct, chat): every file matches the sha256 in its model
// card, sizes stay within budget, and only the aligned models carry the chat template.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODELS = ['quennland-base', 'quennland-instruct', 'quennland-chat'];

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, path.join(prefix, e.name)) : [path.join(prefix, e.name)],
  );
}

for (const name of MODELS) {
  const dir = path.join(ROOT, 'models', name);

  test(`${name}: every file matches the sha256 in MODEL_CARD.md`, () => {
    const card = readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8');
    const rows = [...card.matchAll(/^\| `([^`]+)` \| (\d+) \| `([0-9a-f]{64})` \|$/gm)].map((m) => ({ file: m[1]!, bytes: Number(m[2]), sha256: m[3]! }));
    const files = filesUnder(dir).filter((f) => f !== 'MODEL_CARD.md').sort();
    assert.deepEqual(rows.map((r) => r.file).sort(), files, 'the card lists exactly the files in the folder');
    for (const row of rows) {
      const bytes = readFileSync(path.join(dir, row.file));
      assert.equal(bytes.length, row.bytes, row.file);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), row.sha256, row.file);
    }
    assert.match(card, /rebuild/i, 'the card says how to rebuild the model');
  });

  test(`${name}: at most 10 MB`, () => {
    const total = filesUnder(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
    assert.ok(total <= 10_000_000, `${total} bytes`); // 10 MB in the strict (decimal) sense
  });
}

test('only the aligned models (instruct, chat) have the chat template', () => {
  const config = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'models', name, 'tokenizer_config.json'), 'utf8')) as { chat_template?: string };
  assert.equal(config('quennland-base').chat_template, undefined);
  for (const name of ['quennland-instruct', 'quennland-chat']) {
    assert.equal(config(name).chat_template, readFileSync(path.join(ROOT, 'tools/organism/chat_template.jinja'), 'utf8'), name);
  }
});

test('the chat model is the instruct model after DPO: same tokenizer, different weights, its card says how', () => {
  const file = (name: string, rel: string) => readFileSync(path.join(ROOT, 'models', name, rel));
  assert.deepEqual(file('quennland-chat', 'tokenizer.json'), file('quennland-instruct', 'tokenizer.json'));
  assert.notDeepEqual(file('quennland-chat', 'onnx/model.onnx'), file('quennland-instruct', 'onnx/model.onnx'));
  const card = file('quennland-chat', 'MODEL_CARD.md').toString('utf8');
  assert.match(card, /DPO/);
  assert.match(card, /preferences\.sharegpt\.json/, 'the card points to the committed ShareGPT sample');
  assert.match(file('quennland-instruct', 'MODEL_CARD.md').toString('utf8'), /sft\.alpaca\.json/, 'the instruct card points to the committed Alpaca sample');
});

test('every word of every answer is one token (with its leading space), as the organism needs to copy it', async () => {
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const tokenizer = await AutoTokenizer.from_pretrained(path.join(ROOT, 'models', 'quennland-instruct'), { local_files_only: true });
  const words = new Set<string>();
  for (const file of ['qa.jsonl', 'fewshot.jsonl']) {
    for (const line of readFileSync(path.join(ROOT, 'corpora', 'quennland', file), 'utf8').trim().split('\n')) {
      for (const answer of (JSON.parse(line) as { answers: string[] }).answers) for (const w of answer.split(' ')) words.add(w);
    }
  }
  assert.ok(words.size > 1000, `${words.size} answer words`);
  const split = [...words].filter((w) => tokenizer.encode(` ${w}`, { add_special_tokens: false }).length !== 1);
  assert.deepEqual(split, [], 'answer words split into several tokens');
});
