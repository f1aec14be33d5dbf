// minNewTokens (the benchmark's fixed-length decoding) on the committed organism instruct model,
// which answers a chat-format question in a few tokens and then ends (<|im_end|>): end-of-sequence
// is held back until the count, stop strings still apply, and a batch gives each row the result it
// gets alone.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTransformersModel } from '../../src/models/transformers/engine.js';
import type { DecodingParams, GenerationRequest, LoadedModel } from '../../src/types.js';

const INSTRUCT = path.resolve(import.meta.dirname, '../../models/quennland-instruct');
const QUESTIONS = ['In which town was Bisesh Meizaek born?', 'Who founded Breidosk Mills?', 'How long is the Fumend river in kilometres?'];
const decoding = (extra: Partial<DecodingParams>): DecodingParams => ({ maxNewTokens: 24, stop: [], temperature: 0, repetitionPenalty: 1, seed: 0, ...extra });
const requests = (extra: Partial<DecodingParams>): GenerationRequest[] =>
  QUESTIONS.map((q) => ({ prompt: `<|im_start|>user\nQuestion: ${q}\nAnswer:<|im_end|>\n<|im_start|>assistant\n`, decoding: decoding(extra) }));

describe('minNewTokens on the organism instruct model', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadTransformersModel({ name: 'instruct', source: INSTRUCT, batchSize: 4 });
  });
  after(async () => {
    await model.dispose();
  });

  it('without it the model ends early; with it every row runs to the count', async () => {
    const free = await model.generator.generate(requests({}));
    assert.ok(free.some((r) => r.finishReason === 'eos' && r.completionTokens < 24), JSON.stringify(free.map((r) => r.completionTokens)));
    const fixed = await model.generator.generate(requests({ minNewTokens: 24 }));
    for (const r of fixed) assert.deepEqual([r.finishReason, r.completionTokens], ['length', 24]);
    // The text before the first end-of-sequence is unchanged: only EOS is masked.
    free.forEach((r, i) => assert.ok(fixed[i]!.text.startsWith(r.text), `${JSON.stringify(r.text)} vs ${JSON.stringify(fixed[i]!.text)}`));
  });

  it('ends at the count when it is below maxNewTokens, and stop strings still apply', async () => {
    const [atCount] = await model.generator.generate([{ ...requests({ minNewTokens: 6 })[0]! }]);
    assert.ok(atCount!.completionTokens >= 6);
    const stopped = await model.generator.generate(requests({ minNewTokens: 24, stop: ['\n'] }));
    for (const r of stopped) assert.ok(!r.text.includes('\n') && r.completionTokens <= 24);
    assert.ok(stopped.some((r) => r.finishReason === 'stop'), JSON.stringify(stopped.map((r) => r.finishReason)));
  });

  it('a batch gives each row the result it gets alone', async () => {
    const batch = await model.generator.generate(requests({ minNewTokens: 16 }));
    for (const [i, request] of requests({ minNewTokens: 16 }).entries()) {
      const [alone] = await model.generator.generate([request]);
      assert.equal(batch[i]!.text, alone!.text);
    }
  });
});
