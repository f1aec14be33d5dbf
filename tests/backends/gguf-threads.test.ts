// The gguf backend's thread count: the default (the physical cores this process may use, never
// node-llama-cpp's "at least 4"), a configured count kept as given, a warning when it exceeds the
// cores, and the count the manifest records.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ggufBackendAvailable, openGgufModel } from '../../src/models/gguf/engine.js';
import { cpuCores, resolveThreads } from '../../src/models/gguf/settings.js';
import { loadSuite } from '../../src/suite/load.js';
import { FIXTURE_DATA, ROOT } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-threads-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('gguf threads: resolution', () => {
  it('defaults to the physical cores, at most the available ones', () => {
    assert.deepEqual(resolveThreads(undefined, { available: 2, physical: 2 }), { threads: 2 });
    assert.deepEqual(resolveThreads(undefined, { available: 8, physical: 4 }), { threads: 4 }, 'SMT siblings are not math cores');
    assert.deepEqual(resolveThreads(undefined, { available: 2, physical: 16 }), { threads: 2 }, 'a container quota or affinity mask wins');
    assert.deepEqual(resolveThreads(undefined, { available: 1, physical: 1 }), { threads: 1 });
  });

  it('keeps a configured count; warns in one line when it exceeds the available cores', () => {
    assert.deepEqual(resolveThreads(1, { available: 2, physical: 2 }), { threads: 1 });
    assert.deepEqual(resolveThreads(2, { available: 2, physical: 1 }), { threads: 2 }, 'SMT siblings may be asked for');
    const over = resolveThreads(4, { available: 2, physical: 2 });
    assert.equal(over.threads, 4);
    assert.match(over.warning!, /^threads: 4 is more than the 2 CPU cores this process may use; .* set threads to 2 or fewer/);
    assert.ok(!over.warning!.includes('\n'), 'one line');
  });

  it("reads this machine's cores: physical ≤ available, both at least 1", () => {
    const cores = cpuCores();
    assert.ok(cores.available >= 1 && cores.available <= os.availableParallelism(), JSON.stringify(cores));
    assert.ok(cores.physical >= 1 && cores.physical <= cores.available, JSON.stringify(cores));
  });
});

function suiteWith(model: string): string {
  const file = path.join(tmp, `s${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `name: threads
dataset: { format: ragtax, path: ${JSON.stringify(path.join(FIXTURE_DATA, 'qa.jsonl'))}, corpus: ${JSON.stringify(path.join(FIXTURE_DATA, 'corpus.jsonl'))}, fewshot_size: 1 }
models:
  g: ${model}
grid: [{ k: 1, instruction: nores }]
`,
  );
  return file;
}

describe('gguf threads: the suite entry', () => {
  it('records the resolved count in the settings the manifest keeps, and hands it to the engine', async () => {
    const { threads } = resolveThreads(undefined, cpuCores());
    const byDefault = (await loadSuite(suiteWith('{ backend: gguf, path: m.gguf }'))).models[0]!;
    assert.equal(byDefault.recorded.threads, String(threads));
    assert.equal((byDefault.spec as { threads?: number }).threads, threads);
    assert.ok(!('threads' in byDefault.identity), 'the thread count is not part of the generation-cache key');
    const one = (await loadSuite(suiteWith('{ backend: gguf, path: m.gguf, threads: 1 }'))).models[0]!;
    assert.equal(one.recorded.threads, '1');
  });
});

const GGUF = path.join(ROOT, 'models/gguf/quennland-instruct.gguf');
const skip = !(await ggufBackendAvailable()) ? 'node-llama-cpp is not installed' : !existsSync(GGUF) ? 'models/gguf/quennland-instruct.gguf is missing' : false;

describe('gguf threads: the engine', { skip }, () => {
  it('says so in the model notes (printed by the run, kept in the manifest) when threads exceed the cores', async () => {
    const { available } = cpuCores();
    const over = await openGgufModel({ name: 'g', source: GGUF, threads: available + 1 });
    try {
      assert.equal(over.notes?.length, 1);
      assert.match(over.notes![0]!, new RegExp(`^threads: ${available + 1} is more than the ${available} CPU core`));
    } finally {
      await over.dispose();
    }
    const fine = await openGgufModel({ name: 'g', source: GGUF, threads: 1 });
    try {
      assert.equal(fine.notes, undefined);
    } finally {
      await fine.dispose();
    }
  });
});
