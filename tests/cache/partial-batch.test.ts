// A batch that failed part-way (PartialGenerationError from the wrapped generator): every finished
// row is stored in the cache (it was paid for; a --resume gets it without a model call), then the
// error's cause is thrown, unchanged.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CachingGenerator } from '../../src/cache/caching-generator.js';
import { GenerationCache, generationKey } from '../../src/cache/generation-cache.js';
import { PartialGenerationError, RuntimeFailure } from '../../src/errors.js';
import type { DecodingParams, GenerationRequest, GenerationResult, Generator } from '../../src/types.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-partial-'));
const greedy: DecodingParams = { maxNewTokens: 8, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 1 };
const request = (prompt: string): GenerationRequest => ({ prompt, decoding: greedy });
const result = (r: GenerationRequest): GenerationResult => ({ text: `answer ${r.prompt}`, finishReason: 'stop', promptTokens: 4, completionTokens: 2, latencyMs: 7 });

/** Fails its first call part-way: the requests whose prompt is in `unfinished` did not finish. */
class FailingOnceGenerator implements Generator {
  calls: string[][] = [];
  constructor(
    private readonly unfinished: Set<string>,
    readonly cause: unknown,
    private readonly finished: (requests: GenerationRequest[]) => (GenerationResult | undefined)[] = (requests) =>
      requests.map((r) => (this.unfinished.has(r.prompt) ? undefined : result(r))),
  ) {}
  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    this.calls.push(requests.map((r) => r.prompt));
    if (this.calls.length === 1) throw new PartialGenerationError<GenerationResult>(this.finished(requests), this.cause);
    return requests.map(result);
  }
}

test('the finished rows of a failed batch are cached, then the cause is thrown; the retry sends only the rest', async () => {
  const cache = GenerationCache.open(path.join(tmp, 'partial.sqlite'), { onWarning: (w) => assert.fail(w) });
  try {
    // "hit" is cached beforehand, so the batch sent to the model is [a, b, c, d] (indices shift).
    cache.putMany('m', [[generationKey('m', request('hit')), { text: 'cached hit', finishReason: 'eos', promptTokens: 1, completionTokens: 1 }]]);
    const cause = new RuntimeFailure('model `m`: http://127.0.0.1:1: 500 Internal Server Error after 5 retries');
    const inner = new FailingOnceGenerator(new Set(['b', 'd']), cause);
    const notes: string[] = [];
    const caching = new CachingGenerator(inner, cache, 'm', (n) => notes.push(n));
    const batch = ['a', 'hit', 'b', 'c', 'd'].map(request);
    await assert.rejects(caching.generate(batch), (thrown) => thrown === cause);
    assert.deepEqual(inner.calls, [['a', 'b', 'c', 'd']]);
    const kept = cache.getMany(['a', 'b', 'c', 'd'].map((p) => generationKey('m', request(p))));
    assert.deepEqual([...kept.values()].map((e) => e.text).sort(), ['answer a', 'answer c'], 'each finished row under its own request');
    assert.deepEqual(notes, ['a batch of model calls failed; its 2 finished generation(s) were kept in the generation cache, so a --resume reuses them']);

    // The resumed call: the finished rows come from the cache, only b and d reach the model.
    const again = await caching.generate(batch);
    assert.deepEqual(inner.calls[1], ['b', 'd']);
    assert.deepEqual(again.map((r) => [r.text, r.cached]), [['answer a', true], ['cached hit', true], ['answer b', false], ['answer c', true], ['answer d', false]]);
  } finally {
    cache.close();
  }
});

test('finished rows that cannot be matched to the requests, or are not results, are not stored', async () => {
  const cache = GenerationCache.open(path.join(tmp, 'mismatch.sqlite'), { onWarning: (w) => assert.fail(w) });
  try {
    const cause = new Error('connection reset');
    // One result too few: no row can be trusted to belong to its request.
    const short = new FailingOnceGenerator(new Set(), cause, (requests) => requests.slice(1).map(result));
    const notes: string[] = [];
    await assert.rejects(new CachingGenerator(short, cache, 'm', (n) => notes.push(n)).generate(['a', 'b'].map(request)), (thrown) => thrown === cause);
    assert.equal(cache.size(), 0);
    assert.deepEqual(notes, ['a batch of model calls failed; its finished generations were not kept (1 results for 2 requests)']);
    // A malformed row is skipped, a good one kept.
    const malformed = new FailingOnceGenerator(new Set(), cause, (requests) => [{ ...result(requests[0]!), finishReason: null as unknown as 'stop' }, result(requests[1]!)]);
    await assert.rejects(new CachingGenerator(malformed, cache, 'm').generate(['a', 'b'].map(request)), (thrown) => thrown === cause);
    assert.deepEqual([...cache.getMany(['a', 'b'].map((p) => generationKey('m', request(p)))).values()].map((e) => e.text), ['answer b']);
  } finally {
    cache.close();
  }
});

test('any other error from the model passes through unchanged, and nothing is stored', async () => {
  const cache = GenerationCache.open(path.join(tmp, 'plain.sqlite'), { onWarning: (w) => assert.fail(w) });
  try {
    const failure = new RuntimeFailure('out of memory');
    const inner: Generator = { generate: async () => Promise.reject(failure) };
    await assert.rejects(new CachingGenerator(inner, cache, 'm').generate([request('a')]), (thrown) => thrown === failure);
    assert.equal(cache.size(), 0);
  } finally {
    cache.close();
  }
});
