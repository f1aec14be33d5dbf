// Real generation through transformers.js on the tiny random-weight fixtures.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadTransformersModel } from '../../src/models/transformers/engine.js';
import { InputError } from '../../src/errors.js';
import type { GenerationRequest, GenerationResult, LoadedModel } from '../../src/types.js';
import { greedy, MIXED_PROMPTS, TINY_BASE, TINY_CHAT } from './helpers.js';

async function oneByOne(model: LoadedModel, requests: GenerationRequest[]): Promise<GenerationResult[]> {
  const results: GenerationResult[] = [];
  for (const request of requests) results.push(...(await model.generator.generate([request])));
  return results;
}

function withoutLatency(results: GenerationResult[]): Omit<GenerationResult, 'latencyMs'>[] {
  return results.map(({ latencyMs: _latency, ...rest }) => rest);
}

/** A short printable-ASCII piece of `text` after its start: a stop string the model really produces. */
function stopStringIn(text: string): string | undefined {
  for (let i = 2; i + 2 <= text.length; i++) {
    const piece = text.slice(i, i + 2);
    if (/^[a-zA-Z]{2}$/.test(piece) && text.indexOf(piece) === i) return piece;
  }
  return undefined;
}

describe('transformers backend: generation on tiny-base', () => {
  let model: LoadedModel;
  let batchSizes: number[] = [];

  before(async () => {
    model = await loadTransformersModel({ name: 'tiny-base', source: TINY_BASE, batchSize: 16, onBatch: (done) => batchSizes.push(done) });
  });
  after(async () => {
    await model.dispose();
  });

  it('reads the context length and counts tokens as generation does', async () => {
    assert.equal(model.contextLength, 512);
    // "hello" -> he l l o; " world" -> Ġw or l d (merges in the fixture tokenizer)
    assert.equal(model.countTokens('hello world'), 8);
    assert.equal(model.countTokens('<|im_start|>user\nhi'), 7);
    const [result] = await model.generator.generate([{ prompt: MIXED_PROMPTS[5]!, decoding: greedy(2) }]);
    assert.equal(result!.promptTokens, model.countTokens(MIXED_PROMPTS[5]!));
  });

  it('is deterministic: the same request gives the same text', async () => {
    const request = { prompt: MIXED_PROMPTS[0]!, decoding: greedy(24) };
    const [first] = await model.generator.generate([request]);
    const [second] = await model.generator.generate([request]);
    assert.deepEqual(withoutLatency([second!]), withoutLatency([first!]));
    assert.ok(first!.text.length > 0);
  });

  it('gives the same results in one left-padded batch as one by one, in request order', async () => {
    const requests = MIXED_PROMPTS.map((prompt) => ({ prompt, decoding: greedy(24) }));
    batchSizes = [];
    const batched = await model.generator.generate(requests);
    assert.deepEqual(batchSizes, [requests.length], 'one batch of mixed lengths');
    const single = await oneByOne(model, requests);
    assert.deepEqual(withoutLatency(batched), withoutLatency(single));
    batched.forEach((result, i) => assert.equal(result.promptTokens, model.countTokens(MIXED_PROMPTS[i]!)));
    const lengths = new Set(batched.map((r) => r.promptTokens));
    assert.ok(lengths.size > 5, 'prompts really differ in length');
  });

  it('respects max_new_tokens and reports length', async () => {
    const results = await model.generator.generate([
      { prompt: MIXED_PROMPTS[0]!, decoding: greedy(1) },
      { prompt: MIXED_PROMPTS[1]!, decoding: greedy(5) },
      { prompt: MIXED_PROMPTS[2]!, decoding: greedy(0) },
    ]);
    assert.deepEqual(results.map((r) => [r.finishReason, r.completionTokens]), [['length', 1], ['length', 5], ['length', 0]]);
    assert.equal(results[2]!.text, '');
    // A shorter run is a prefix of a longer one (greedy).
    const [long] = await model.generator.generate([{ prompt: MIXED_PROMPTS[1]!, decoding: greedy(12) }]);
    assert.ok(long!.text.startsWith(results[1]!.text.replace(/\uFFFD+$/, '')));
  });

  it('cuts at the first stop string, removes it and stops early', async () => {
    const [free] = await model.generator.generate([{ prompt: MIXED_PROMPTS[4]!, decoding: greedy(32) }]);
    const stop = stopStringIn(free!.text);
    assert.ok(stop, `no usable stop string in ${JSON.stringify(free!.text)}`);
    const [cut] = await model.generator.generate([{ prompt: MIXED_PROMPTS[4]!, decoding: greedy(32, [stop!, 'never-produced']) }]);
    assert.equal(cut!.finishReason, 'stop');
    assert.equal(cut!.text, free!.text.slice(0, free!.text.indexOf(stop!)));
    assert.ok(cut!.completionTokens < 32 && cut!.completionTokens > 0, `stopped early (${cut!.completionTokens})`);
  });

  it('applies per-row stops in a batch exactly as one by one', async () => {
    const [free] = await model.generator.generate([{ prompt: MIXED_PROMPTS[4]!, decoding: greedy(32) }]);
    const stop = stopStringIn(free!.text)!;
    const requests = MIXED_PROMPTS.map((prompt) => ({ prompt, decoding: greedy(32, [stop]) }));
    const batched = await model.generator.generate(requests);
    const single = await oneByOne(model, requests);
    assert.deepEqual(withoutLatency(batched), withoutLatency(single));
    const reasons = new Set(batched.map((r) => r.finishReason));
    assert.ok(reasons.has('stop') && reasons.has('length'), `both outcomes in one batch: ${[...reasons]}`);
  });

  it('applies the repetition penalty per row, ignoring the left padding', async () => {
    const requests = MIXED_PROMPTS.map((prompt) => ({ prompt, decoding: greedy(24, [], 1.3) }));
    const penalised = await model.generator.generate(requests);
    assert.deepEqual(withoutLatency(penalised), withoutLatency(await oneByOne(model, requests)));
    const plain = await model.generator.generate(MIXED_PROMPTS.map((prompt) => ({ prompt, decoding: greedy(24) })));
    assert.notDeepEqual(penalised.map((r) => r.text), plain.map((r) => r.text));
  });

  it('batches by batchSize, groups by decoding params and keeps request order', async () => {
    const progress: number[] = [];
    const small = await loadTransformersModel({ name: 'tiny-base-b3', source: TINY_BASE, batchSize: 3, onBatch: (done) => progress.push(done) });
    try {
      const requests = MIXED_PROMPTS.slice(0, 7).map((prompt, i) => ({ prompt, decoding: greedy(i % 2 === 0 ? 6 : 9) }));
      const results = await small.generator.generate(requests);
      assert.deepEqual(progress, [3, 4, 7]); // 4 rows of 6 tokens (3 + 1), then 3 rows of 9 tokens
      assert.deepEqual(withoutLatency(results), withoutLatency(await oneByOne(model, requests)));
      results.forEach((r) => assert.ok(r.latencyMs > 0));
    } finally {
      await small.dispose();
    }
  });

  it('refuses sampling, overlong prompts and empty prompts with InputError', async () => {
    await assert.rejects(model.generator.generate([{ prompt: 'hi', decoding: { ...greedy(4), temperature: 0.7 } }]), (e: unknown) => e instanceof InputError && /greedy/.test(e.message));
    await assert.rejects(model.generator.generate([{ prompt: 'word '.repeat(300), decoding: greedy(16) }]), (e: unknown) => e instanceof InputError && /context of 512 tokens/.test(e.message));
    await assert.rejects(model.generator.generate([{ prompt: '', decoding: greedy(4) }]), (e: unknown) => e instanceof InputError && /empty/.test(e.message));
  });
});

describe('transformers backend: EOS on tiny-chat', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadTransformersModel({ name: 'tiny-chat', source: TINY_CHAT });
  });
  after(async () => {
    await model.dispose();
  });

  it('ends a row at <|im_end|> with finish reason eos, the EOS token cut off', async () => {
    const requests = MIXED_PROMPTS.map((prompt) => ({ prompt, decoding: greedy(32) }));
    const results = await model.generator.generate(requests);
    const ended = results.filter((r) => r.finishReason === 'eos');
    assert.ok(ended.length > 0, 'some fixture prompt reaches EOS');
    for (const r of ended) {
      assert.ok(!r.text.includes('<|im_end|>'));
      assert.ok(r.completionTokens < 32);
    }
    assert.ok(results.some((r) => r.finishReason === 'length'));
    assert.deepEqual(withoutLatency(results), withoutLatency(await oneByOne(model, requests)));
  });
});
