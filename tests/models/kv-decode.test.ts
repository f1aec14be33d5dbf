// ragtax's own greedy loop over the ONNX session (kv-decode.ts) against transformers.js' generate():
// the same tokens, finish reasons and counts for every decoding option, on the random-weight
// fixtures and on the trained organism pair (short answers, EOS, NO-RES, chat and raw prompts).

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { kvDecoder } from '../../src/models/transformers/kv-decode.js';
import { loadTransformersModel } from '../../src/models/transformers/engine.js';
import type { DecodingParams, GenerationRequest, GenerationResult } from '../../src/types.js';
import { greedy, MIXED_PROMPTS, REPO_ROOT, TINY_BASE, TINY_CHAT } from './helpers.js';

const ORGANISM_BASE = path.join(REPO_ROOT, 'models/quennland-base');
const ORGANISM_INSTRUCT = path.join(REPO_ROOT, 'models/quennland-instruct');
const QUESTIONS = ['In which town was Bisesh Meizaek born?', 'Who founded Breidosk Mills?', 'How long is the Fumend river in kilometres?', 'Who first climbed Mount Brotofound?'];
const ORGANISM_PROMPTS = QUESTIONS.flatMap((q) => [
  `Question: ${q}\nAnswer:`,
  `<|im_start|>user\nAnswer the question. If you cannot, answer NO-RES.\nQuestion: ${q}\nAnswer:<|im_end|>\n<|im_start|>assistant\n`,
]);

const DECODINGS: Record<string, DecodingParams> = {
  plain: greedy(20),
  'stop strings': greedy(20, ['\n', ' was']),
  'repetition penalty': greedy(16, [], 1.3),
  'minNewTokens': { ...greedy(12), minNewTokens: 8 },
};

async function generateWith(source: string, decodeLoop: 'kv' | 'generate', requests: GenerationRequest[], batchSize: number): Promise<Omit<GenerationResult, 'latencyMs'>[]> {
  const model = await loadTransformersModel({ name: 'm', source, batchSize, decodeLoop });
  try {
    return (await model.generator.generate(requests)).map(({ latencyMs: _latency, ...rest }) => rest);
  } finally {
    await model.dispose();
  }
}

describe('kv decoding loop', () => {
  for (const [source, prompts, batchSize] of [
    [TINY_BASE, MIXED_PROMPTS, 4],
    [TINY_CHAT, MIXED_PROMPTS, 16],
    [ORGANISM_BASE, ORGANISM_PROMPTS, 3],
    [ORGANISM_INSTRUCT, ORGANISM_PROMPTS, 8],
  ] as const) {
    it(`gives generate()'s results on ${path.basename(source)} (batch ${batchSize}, left padding)`, async () => {
      const requests = Object.values(DECODINGS).flatMap((decoding) => prompts.map((prompt) => ({ prompt, decoding })));
      const viaKv = await generateWith(source, 'kv', requests, batchSize);
      const viaGenerate = await generateWith(source, 'generate', requests, batchSize);
      assert.deepEqual(viaKv, viaGenerate);
      // The comparison covers every way a row ends.
      const reasons = new Set(viaKv.map((r) => r.finishReason));
      if (source === ORGANISM_INSTRUCT) assert.deepEqual([...reasons].sort(), ['eos', 'length', 'stop']);
    });
  }

  it('drives models that follow the plain KV-cache contract, and leaves others to generate()', async () => {
    const model = await loadTransformersModel({ name: 'm', source: ORGANISM_INSTRUCT });
    try {
      const inner = (model.generator as unknown as { model: Parameters<typeof kvDecoder>[0] }).model;
      const decoder = kvDecoder(inner);
      assert.ok(decoder, 'the organism export follows the contract');
      assert.equal(decoder.past.length, 8, '4 layers × key and value');
      assert.ok(decoder.positionIds && decoder.logitsToKeep);
      // Position ids start at 1 for Gemma 3, and encoder-decoders need a decoder start: not this loop.
      const withConfig = (config: Record<string, unknown>) => Object.assign(Object.create(inner) as typeof inner, { config: { ...inner.config, ...config } });
      assert.equal(kvDecoder(withConfig({ model_type: 'gemma3_text' })), null);
      assert.equal(kvDecoder(withConfig({ is_encoder_decoder: true })), null);
    } finally {
      await model.dispose();
    }
  });
});
