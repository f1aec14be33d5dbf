// NaturalEndings: which earlier generation a request with another token budget may reuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CachedGeneration } from '../../src/cache/generation-cache.js';
import { NaturalEndings } from '../../src/cache/natural-endings.js';
import type { DecodingParams, GenerationRequest } from '../../src/types.js';

const greedy: DecodingParams = { maxNewTokens: 15, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 1 };
const request = (decoding: Partial<DecodingParams> = {}, extra: Partial<GenerationRequest> = {}): GenerationRequest => ({ prompt: 'Q: x\nA:', decoding: { ...greedy, ...decoding }, ...extra });
const ended = (finishReason: CachedGeneration['finishReason'], completionTokens: number): CachedGeneration => ({ text: ' Aldmoor', finishReason, promptTokens: 7, completionTokens });

test('a generation that ended on its own serves every budget above its length', () => {
  const endings = new NaturalEndings();
  const eos = ended('eos', 4);
  endings.add(request(), eos);
  assert.equal(endings.find(request({ maxNewTokens: 50 })), eos, 'a larger budget');
  assert.equal(endings.find(request({ maxNewTokens: 5 })), eos, 'a smaller budget that still exceeds its 4 tokens');
  assert.equal(endings.find(request({ maxNewTokens: 4 })), undefined, 'at exactly its length a backend may say `length`');
  assert.equal(endings.find(request({ maxNewTokens: 3 })), undefined, 'a budget it did not fit in');
  // Decoding fields in another order are the same decoding.
  assert.equal(endings.find({ prompt: 'Q: x\nA:', decoding: { seed: 1, repetitionPenalty: 1, temperature: 0, stop: ['\n'], maxNewTokens: 30 } }), eos);
});

test('a stop string counts as ending on its own; running out of budget does not', () => {
  const endings = new NaturalEndings();
  const stop = ended('stop', 6);
  endings.add(request(), stop);
  endings.add(request({}, { prompt: 'other' }), ended('length', 15));
  assert.equal(endings.find(request({ maxNewTokens: 50 })), stop);
  assert.equal(endings.find(request({ maxNewTokens: 50 }, { prompt: 'other' })), undefined, 'cut at its budget: a larger one may go on');
});

test('only the budget may differ: prompt, stop strings, penalty, seed, chat encoding and min tokens must match', () => {
  const endings = new NaturalEndings();
  endings.add(request(), ended('eos', 3));
  const others: GenerationRequest[] = [
    request({ maxNewTokens: 50 }, { prompt: 'Q: x\nA: ' }),
    request({ maxNewTokens: 50, stop: ['\n', '.'] }),
    request({ maxNewTokens: 50, repetitionPenalty: 1.1 }),
    request({ maxNewTokens: 50, seed: 2 }),
    request({ maxNewTokens: 50, minNewTokens: 2 }),
    request({ maxNewTokens: 50 }, { chat: true }),
  ];
  for (const other of others) assert.equal(endings.find(other), undefined, JSON.stringify(other));
});

test('sampled generations are never reused, nor kept', () => {
  const endings = new NaturalEndings();
  endings.add(request({ temperature: 0.7 }), ended('eos', 3));
  assert.equal(endings.find(request({ temperature: 0.7, maxNewTokens: 50 })), undefined);
  endings.add(request(), ended('eos', 3));
  assert.equal(endings.find(request({ temperature: 0.7, maxNewTokens: 50 })), undefined);
});
