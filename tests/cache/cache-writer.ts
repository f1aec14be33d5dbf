// Child process for the concurrency test: writes and reads many entries in small transactions.
import { GenerationCache, generationKey } from '../../src/cache/generation-cache.js';

const [file, writer, count] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const cache = GenerationCache.open(file);
const decoding = { maxNewTokens: 8, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 0 };
for (let start = 0; start < count; start += 10) {
  const entries = [];
  for (let i = start; i < Math.min(count, start + 10); i++) {
    // Writers overlap on half of their keys (shared prompts) and own the other half.
    const prompt = i % 2 === 0 ? `shared ${i}` : `writer ${writer} prompt ${i}`;
    entries.push([generationKey('model', { prompt, decoding }), { text: `answer to ${prompt}`, finishReason: 'stop', promptTokens: i, completionTokens: 1 }] as const);
  }
  cache.putMany('model', entries);
  cache.getMany(entries.map(([k]) => k));
}
cache.close();
