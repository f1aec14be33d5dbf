// The generation cache: keys that change with everything a generation depends on, hits that return
// the identical text without calling the model, and concurrent writers that do not corrupt it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { CachingGenerator, modelCacheKey } from '../../src/cache/caching-generator.js';
import { GenerationCache, generationKey } from '../../src/cache/generation-cache.js';
import { fingerprintModel } from '../../src/models/transformers/engine.js';
import type { DecodingParams, GenerationRequest, GenerationResult, Generator } from '../../src/types.js';
import { copyFixture, removeFolder, TINY_BASE } from '../models/helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-cache-'));
const greedy: DecodingParams = { maxNewTokens: 8, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 1 };

/** A fake model: deterministic text from the prompt, counting its calls. */
class CountingGenerator implements Generator {
  calls: GenerationRequest[][] = [];
  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    this.calls.push(requests);
    return requests.map((r) => ({
      text: `${r.prompt.toUpperCase()}/${r.decoding.maxNewTokens}`,
      finishReason: 'length',
      promptTokens: r.prompt.length,
      completionTokens: r.decoding.maxNewTokens,
      latencyMs: 12,
    }));
  }
}

test('the key changes with the model, the exact prompt and every decoding parameter', () => {
  const base = generationKey('m', { prompt: 'Q: x\nA:', decoding: greedy });
  assert.equal(generationKey('m', { prompt: 'Q: x\nA:', decoding: { ...greedy } }), base);
  // Field order does not matter; field values do.
  const reordered = { seed: 1, repetitionPenalty: 1, temperature: 0, stop: ['\n'], maxNewTokens: 8 };
  assert.equal(generationKey('m', { prompt: 'Q: x\nA:', decoding: reordered }), base);
  const variants: DecodingParams[] = [
    { ...greedy, maxNewTokens: 9 },
    { ...greedy, stop: [] },
    { ...greedy, stop: ['\n', '.'] },
    { ...greedy, temperature: 0.7 },
    { ...greedy, repetitionPenalty: 1.1 },
    { ...greedy, seed: 2 },
  ];
  const keys = new Set([base, ...variants.map((decoding) => generationKey('m', { prompt: 'Q: x\nA:', decoding }))]);
  assert.equal(keys.size, variants.length + 1);
  assert.notEqual(generationKey('m2', { prompt: 'Q: x\nA:', decoding: greedy }), base);
  assert.notEqual(generationKey('m', { prompt: 'Q: x\nA: ', decoding: greedy }), base, 'a trailing space is another prompt');
});

test('keys stay those of earlier versions (the sha256 of the sorted JSON of version, model, prompt and decoding)', () => {
  const request: GenerationRequest = {
    prompt: 'Q: "x"\né <|im_start|>\u2028A:',
    decoding: { maxNewTokens: 8, stop: ['\n', '"'], temperature: 0, repetitionPenalty: 1, seed: 0, minNewTokens: 2 },
  };
  // Made by the version before keys were written out in order: a cache filled then still hits.
  assert.equal(generationKey('m', request), '5c33282c4643da3713ca16399ac823248daaf5ec22740132c702e38f9171fe51');
});

test('a changed model file changes the model key; moving the folder does not', async () => {
  const folder = copyFixture(TINY_BASE);
  try {
    const settings = { backend: 'transformers', device: 'cpu' };
    const original = modelCacheKey((await fingerprintModel({ name: 'm', source: TINY_BASE }))!, settings);
    const copy = modelCacheKey((await fingerprintModel({ name: 'm', source: folder }))!, settings);
    assert.equal(copy, original, 'same files, other folder: same key');
    assert.notEqual(modelCacheKey((await fingerprintModel({ name: 'm', source: folder }))!, { ...settings, device: 'cuda' }), original);
    writeFileSync(path.join(folder, 'generation_config.json'), '{"eos_token_id": 1}\n');
    const edited = modelCacheKey((await fingerprintModel({ name: 'm', source: folder }))!, settings);
    assert.notEqual(edited, original);
  } finally {
    removeFolder(folder);
  }
});

test('hits return the identical result, flagged, without a model call; misses go to the model', async () => {
  const cache = GenerationCache.open(path.join(tmp, 'hits.sqlite'));
  try {
    const inner = new CountingGenerator();
    const caching = new CachingGenerator(inner, cache, 'model-a');
    const requests = ['a', 'b', 'c'].map((prompt) => ({ prompt, decoding: greedy }));
    const first = await caching.generate(requests);
    assert.equal(inner.calls.length, 1);
    assert.ok(first.every((r) => r.cached === false && r.latencyMs === 12));

    const second = await caching.generate(requests);
    assert.equal(inner.calls.length, 1, 'no model call on a full hit');
    assert.deepEqual(second.map((r) => r.text), first.map((r) => r.text));
    assert.deepEqual(second.map((r) => [r.finishReason, r.promptTokens, r.completionTokens]), first.map((r) => [r.finishReason, r.promptTokens, r.completionTokens]));
    assert.ok(second.every((r) => r.cached === true && r.latencyMs === 0));

    // A mixed batch: only the misses reach the model, results stay in request order.
    const mixed = [{ prompt: 'a', decoding: greedy }, { prompt: 'a', decoding: { ...greedy, maxNewTokens: 3 } }, { prompt: 'd', decoding: greedy }];
    const third = await caching.generate(mixed);
    assert.deepEqual(inner.calls[1]!.map((r) => [r.prompt, r.decoding.maxNewTokens]), [['a', 3], ['d', 8]]);
    assert.deepEqual(third.map((r) => r.text), ['A/8', 'A/3', 'D/8']);
    assert.deepEqual(third.map((r) => r.cached), [true, false, false]);
    assert.deepEqual(caching.stats, { hits: 4, misses: 5, modelCalls: 2 });

    // Another model never sees model-a's entries.
    const other = new CountingGenerator();
    await new CachingGenerator(other, cache, 'model-b').generate(requests);
    assert.equal(other.calls.length, 1);
  } finally {
    cache.close();
  }
});

test('an unusable entry is never stored or served, and a broken cache is bypassed with a warning', async () => {
  const file = path.join(tmp, 'broken.sqlite');
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  const key = generationKey('m', { prompt: 'p', decoding: greedy });
  cache.putMany('m', [[key, { text: 'x', finishReason: 'oops' as 'eos', promptTokens: 1, completionTokens: 1 }]]);
  assert.equal(cache.size(), 0, 'an entry that is not a valid result is not stored');
  assert.equal(cache.getMany([key]).size, 0);
  const inner = new CountingGenerator();
  const caching = new CachingGenerator(inner, cache, 'm');
  // Another process drops the table: every statement of this one now fails.
  const other = new Database(file);
  other.exec('DROP TABLE generations');
  other.close();
  const results = await caching.generate([{ prompt: 'p', decoding: greedy }]);
  assert.equal(results[0]!.text, 'P/8');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^the generation cache .*broken\.sqlite failed \(no such table: generations\); the run goes on without it: delete .*broken\.sqlite \(and broken\.sqlite-wal, broken\.sqlite-shm beside it, if present\) to start a new cache$/);
  assert.equal(cache.usable, false);
  await caching.generate([{ prompt: 'p', decoding: greedy }]);
  assert.equal(inner.calls.length, 2, 'no cache any more: the model answers');
  assert.equal(warnings.length, 1, 'warned once');
  cache.close();

  const garbage = path.join(tmp, 'garbage.sqlite');
  writeFileSync(garbage, 'this is not a database '.repeat(100));
  assert.throws(() => GenerationCache.open(garbage), /not a database/);
});

test('concurrent writers (separate processes) do not corrupt the cache', async () => {
  const file = path.join(tmp, 'concurrent.sqlite');
  GenerationCache.open(file).close();
  const writers = [0, 1, 2].map(
    (w) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'cache-writer.ts'), file, String(w), '200'], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', reject);
        child.on('exit', resolve);
      }),
  );
  assert.deepEqual(await Promise.all(writers), [0, 0, 0]);
  const cache = GenerationCache.open(file);
  try {
    assert.equal(cache.size(), 100 + 3 * 100, 'shared keys once, own keys per writer');
    for (const prompt of ['shared 0', 'shared 198', 'writer 2 prompt 199']) {
      const hit = cache.getMany([generationKey('model', { prompt, decoding: { maxNewTokens: 8, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 0 } })]);
      assert.equal([...hit.values()][0]?.text, `answer to ${prompt}`);
    }
  } finally {
    cache.close();
  }
});
