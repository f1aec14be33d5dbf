// A Generator that answers from the generation cache and sends only the misses to the generator it
// wraps (as lm-eval's CachingLM does). It knows nothing about backends: any Generator can be wrapped.
// Hits come back with `cached: true` and latencyMs 0, so callers keep them out of timing figures.
import { createHash } from 'node:crypto';
import type { GenerationRequest, GenerationResult, Generator, ModelFingerprint } from '../types.js';
import { generationKey, type CachedGeneration, type GenerationCache } from './generation-cache.js';
import { messageOf } from '../errors.js';

/**
 * The model part of a cache key: the content hashes of the model's files (not their location, so a
 * copied folder still hits) plus backend settings that can change the numbers (dtype picks the
 * weight file and is covered by its hash; the device is not).
 */
export function modelCacheKey(fingerprint: ModelFingerprint, settings: Record<string, string | number | boolean>): string {
  const files = [...fingerprint.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => [f.path, f.sha256, f.bytes]);
  const sortedSettings = Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify({ files, settings: sortedSettings })).digest('hex');
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Calls made to the wrapped generator. */
  modelCalls: number;
}

export class CachingGenerator implements Generator {
  readonly stats: CacheStats = { hits: 0, misses: 0, modelCalls: 0 };
  private cache: GenerationCache | null;

  constructor(
    private readonly inner: Generator,
    cache: GenerationCache,
    private readonly modelKey: string,
    /** Called once when the cache fails (it is then bypassed: a broken cache never fails a run). */
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    this.cache = cache;
  }

  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const keys = requests.map((r) => generationKey(this.modelKey, r));
    const found = this.lookup(keys);
    const results = new Array<GenerationResult>(requests.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = found.get(key);
      if (hit) results[i] = { ...hit, latencyMs: 0, cached: true };
      else missing.push(i);
    });
    this.stats.hits += requests.length - missing.length;
    this.stats.misses += missing.length;
    if (missing.length > 0) {
      this.stats.modelCalls += 1;
      const generated = await this.inner.generate(missing.map((i) => requests[i]!));
      if (generated.length !== missing.length) {
        throw new Error(`generator returned ${generated.length} results for ${missing.length} requests`);
      }
      const entries: [string, CachedGeneration][] = [];
      missing.forEach((index, j) => {
        const g = generated[j]!;
        results[index] = { ...g, cached: false };
        entries.push([keys[index]!, { text: g.text, finishReason: g.finishReason, promptTokens: g.promptTokens, completionTokens: g.completionTokens }]);
      });
      this.store(entries);
    }
    return results;
  }

  private lookup(keys: string[]): Map<string, CachedGeneration> {
    if (!this.cache) return new Map();
    try {
      return this.cache.getMany(keys);
    } catch (error) {
      this.disable(error);
      return new Map();
    }
  }

  private store(entries: [string, CachedGeneration][]): void {
    if (!this.cache) return;
    try {
      this.cache.putMany(this.modelKey, entries);
    } catch (error) {
      this.disable(error);
    }
  }

  private disable(error: unknown): void {
    const file = this.cache?.file ?? 'the generation cache';
    this.cache = null;
    this.onWarning(`generation cache ${file} failed (${messageOf(error)}); continuing without it`);
  }
}
