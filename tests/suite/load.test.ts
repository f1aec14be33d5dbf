import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { inputErrorOf } from './helpers.js';
import { pointKey } from '../../src/suite/grid.js';
import { loadSuite } from '../../src/suite/load.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-suite-'));
let counter = 0;
function suiteFile(text: string): string {
  const file = path.join(dir, `suite-${counter++}.yaml`);
  writeFileSync(file, text);
  return file;
}

const VALID = `name: demo
dataset:
  path: data/qa.jsonl
  corpus: data/corpus.jsonl
models:
  base:
    path: models/base
  chat:
    path: models/chat
    formats: [raw, chat]
pairs:
  - base: base
    instruct: chat
grid:
  - k: [1, 3]
    instruction: [nores, no-rejection]
    cot: [false, true]
  - instruction: closed-book
    k: [1, 3]
decoding:
  max_new_tokens: 15
  stop: ["\\n"]
`;

const loadError = (text: string): Promise<string> => inputErrorOf(() => loadSuite(suiteFile(text)));

test('a valid suite resolves paths, models and the expanded grid', async () => {
  const file = suiteFile(VALID);
  const suite = await loadSuite(file);
  assert.equal(suite.name, 'demo');
  assert.equal(suite.dataset.path, path.join(dir, 'data/qa.jsonl'));
  assert.deepEqual(suite.models.map((m) => [m.name, m.formats, m.source]), [
    ['base', ['raw'], path.join(dir, 'models/base')],
    ['chat', ['raw', 'chat'], path.join(dir, 'models/chat')],
  ]);
  // 2 k × 2 instructions × 2 cot + closed-book once per cot value (k collapses to 0)
  assert.equal(suite.points.length, 9);
  const closed = suite.points.filter((p) => p.context === 'closed-book');
  assert.deepEqual(closed.map(pointKey), ['closed-book|closed-book|k=0|shots=0|cot=false']);
  assert.match(suite.hash, /^[0-9a-f]{64}$/);
  const cot = suite.points.find((p) => p.cot)!.settings.decoding;
  assert.deepEqual([cot.maxNewTokens, cot.stop, cot.temperature], [64, [], 0]);
  const plain = suite.points.find((p) => !p.cot)!.settings.decoding;
  assert.deepEqual([plain.maxNewTokens, plain.stop], [15, ['\n']]);
});

test('unknown field: names file, line, field, a suggestion and what is allowed', async () => {
  const message = await loadError(VALID.replace('  max_new_tokens: 15', '  max_new_token: 15'));
  assert.match(message, /suite-\d+\.yaml:21: unknown field `max_new_token` in `decoding` \(did you mean `max_new_tokens`\?\); allowed: max_new_tokens, stop, repetition_penalty, cot, proof/);
});

test('unknown top-level field', async () => {
  const message = await loadError(`modles: {}\n${VALID}`);
  assert.match(message, /:1: unknown field `modles` \(did you mean `models`\?\)/);
});

test('wrong enum value lists what is allowed', async () => {
  const message = await loadError(VALID.replace('formats: [raw, chat]', 'formats: [raw, chatml]'));
  assert.match(message, /:10: field `models\.chat\.formats\[1\]` got "chatml"; allowed: "raw", "chat"/);
});

test('missing required field', async () => {
  const message = await loadError(VALID.replace('  path: data/qa.jsonl\n', ''));
  assert.match(message, /:3: field `dataset\.path` is required/);
});

test('malformed YAML names the line', async () => {
  const message = await loadError('name: demo\ndataset: [unclosed\nmodels: {}\n');
  assert.match(message, /:\d+: invalid YAML/);
});

test('unknown instruction suggests the preset', async () => {
  const message = await loadError(VALID.replace('instruction: [nores, no-rejection]', 'instruction: [nores, no-rejecton]'));
  assert.match(message, /:16: field `grid\[0\]\.instruction\[1\]` unknown instruction `no-rejecton` \(did you mean `no-rejection`\?\)/);
});

test('pairs must name declared models', async () => {
  const message = await loadError(VALID.replace('instruct: chat', 'instruct: chatty'));
  assert.match(message, /:13: field `pairs\[0\]\.instruct` names unknown model `chatty`; models: base, chat/);
});

test('a model needs exactly one of path or hf_id', async () => {
  const message = await loadError(VALID.replace('    path: models/base\n', '    path: models/base\n    hf_id: org/model\n'));
  assert.match(message, /models\.base.*exactly one of `path`/);
});

test('custom instructions are named data', async () => {
  const suite = await loadSuite(
    suiteFile(VALID.replace('instruction: [nores, no-rejection]', 'instruction: [nores, terse]') + 'instructions:\n  terse:\n    text: Answer in two words or say NO-RES.\n'),
  );
  assert.equal(suite.instructions.get('terse')!.rejects, true);
  const message = await loadError(VALID + 'instructions:\n  nores:\n    text: mine\n');
  assert.match(message, /redefines the preset `nores`/);
});

test('missing suite file', async () => {
  await assert.rejects(loadSuite(path.join(dir, 'nope.yaml')), /nope\.yaml: suite file not found/);
});
