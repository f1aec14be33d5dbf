// A Generator that answers from the generation cache and sends only the misses to the generator it
// wraps (as lm-eval's CachingLM does). It knows nothing about backends: any Generator can be wrapped.
// Hits come back with `cached: true` and latencyMs 0, so callers keep them out of timing figures.
import { createHash } from 'node:crypto';
import type { GenerationRequest, GenerationResult, Generator, ModelFingerprint } from '../types.js';
import { asCachedGeneration, generationKey, type CachedGeneration, type GenerationCache } from './generation-cache.js';
import { PartialGenerationError } from '../errors.js';

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

  constructor(
    private readonly inner: Generator,
    /** Never throws: a cache that fails closes itself and warns (through its own `onWarning`). */
    private readonly cache: GenerationCache,
    private readonly modelKey: string,
    /** Told when the finished rows of a failed batch were kept in the cache. */
    private readonly onNote: (message: string) => void = () => {},
  ) {}

  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const keys = requests.map((r) => generationKey(this.modelKey, r));
    const found = this.cache.getMany(keys);
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
      let generated: GenerationResult[];
      try {
        generated = await this.inner.generate(missing.map((i) => requests[i]!));
      } catch (error) {
        // A batch that failed part-way: what finished was paid for, so it is kept (a --resume then
        // gets it without a model call); the run stops on the failure itself.
        if (error instanceof PartialGenerationError) {
          this.keepFinished(error as PartialGenerationError<GenerationResult>, missing, keys);
          throw error.cause ?? error;
        }
        throw error;
      }
      if (generated.length !== missing.length) {
        throw new Error(`generator returned ${generated.length} results for ${missing.length} requests`);
      }
      const entries: [string, CachedGeneration][] = [];
      missing.forEach((index, j) => {
        const g = generated[j]!;
        results[index] = { ...g, cached: false };
        entries.push([keys[index]!, cachedPart(g)]);
      });
      this.cache.putMany(this.modelKey, entries);
    }
    return results;
  }

  private keepFinished(error: PartialGenerationError<GenerationResult>, missing: number[], keys: string[]): void {
    // finished[j] answers the j-th request sent; any other length cannot be matched to requests.
    if (error.finished.length !== missing.length) {
      this.onNote(`a batch of model calls failed; its finished generations were not kept (${error.finished.length} results for ${missing.length} requests)`);
      return;
    }
    const entries: [string, CachedGeneration][] = [];
    error.finished.forEach((g, j) => {
      const entry = g === undefined ? undefined : asCachedGeneration(g);
      if (entry) entries.push([keys[missing[j]!]!, entry]);
    });
    if (entries.length === 0) return;
    this.cache.putMany(this.modelKey, entries);
    if (this.cache.usable) {
      this.onNote(`a batch of model calls failed; its ${entries.length} finished generation(s) were kept in the generation cache, so a --resume reuses them`);
    }
  }
}

function cachedPart(g: GenerationResult): CachedGeneration {
  return { text: g.text, finishReason: g.finishReason, promptTokens: g.promptTokens, completionTokens: g.completionTokens };
}
