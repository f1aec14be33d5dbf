// `threads` of the transformers backend: onnxruntime's intra-op threads on the CPU. The default is
// the physical cores this process may use; the count is recorded in the manifest and never changes
// the tokens (it is not part of the model's identity).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultThreads } from '../../src/runtime/cpu-cores.js';
import { loadSuite } from '../../src/suite/load.js';
import { inputErrorOf } from '../suite/helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-ort-threads-'));
let counter = 0;

function suiteWith(model: string): string {
  const file = path.join(dir, `suite-${counter++}.yaml`);
  writeFileSync(
    file,
    `name: t
dataset:
  path: ${path.join(ROOT, 'tests/fixtures/data/qa.jsonl')}
  corpus: ${path.join(ROOT, 'tests/fixtures/data/corpus.jsonl')}
models:
  m: { path: ${path.join(ROOT, 'tests/fixtures/models/tiny-base')}${model} }
grid:
  - k: 1
`,
  );
  return file;
}

describe('transformers threads', () => {
  it('defaults to the physical cores, takes a configured count, and records it beside the model', async () => {
    const byDefault = (await loadSuite(suiteWith(''))).models[0]!;
    assert.equal((byDefault.spec as { threads?: number }).threads, defaultThreads());
    assert.equal(byDefault.recorded['threads'], String(defaultThreads()));
    const one = (await loadSuite(suiteWith(', threads: 1'))).models[0]!;
    assert.equal((one.spec as { threads?: number }).threads, 1);
    assert.equal(one.recorded['threads'], '1');
  });

  it('does not change the run identity of a suite that leaves it out', async () => {
    const a = await loadSuite(suiteWith(''));
    const b = await loadSuite(suiteWith(', threads: 1'));
    assert.deepEqual(a.models[0]!.identity, b.models[0]!.identity);
  });

  it('is refused off the CPU, naming the field', async () => {
    const message = await inputErrorOf(() => loadSuite(suiteWith(', device: cuda, threads: 2')));
    assert.match(message, /threads/);
    assert.match(message, /device: cpu/);
  });
});
