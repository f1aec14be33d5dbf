// The retriever a suite asks for (bm25, dense or hybrid) over a corpus, with its indexes built or
// loaded from the cache: shared by `ragtax run` (makeRetriever) and `ragtax index`.
import path from 'node:path';
import { InputError } from '../errors.js';
import { cacheRoot } from '../util/cache-dir.js';
import type { Doc, Retriever } from '../types.js';
import type { Suite } from '../suite/load.js';
import { createBm25Retriever, type Bm25Retriever } from './bm25.js';
import { createDenseRetriever, type DenseRetriever, type DenseStage } from './dense.js';
import { openEmbedder, type Embedder } from './embedder.js';
import { createHybridRetriever } from './hybrid.js';

export interface SuiteRetriever {
  retriever: Retriever;
  bm25?: Bm25Retriever;
  dense?: DenseRetriever;
  embedder?: Embedder;
  /** Every index this retriever uses was loaded from the cache. */
  fromCache: boolean;
  bm25Seconds?: number;
  /** Frees the embedding model. */
  dispose(): Promise<void>;
}

export interface SuiteRetrieverOptions {
  /** `verify`: load indexes only; a missing or unusable dense index is an error. */
  mode?: 'build' | 'verify';
  onWarning?: (message: string) => void;
  onProgress?: (stage: 'bm25' | DenseStage, done: number, total: number) => void;
}

/** Where dense indexes are kept: the dense block's cache_dir, else retrieval.cache_dir/dense, else <cache>/dense. */
export function denseCacheDir(suite: Suite): string {
  return suite.dense?.cacheDir ?? path.join(suite.retrievalCacheDir ?? cacheRoot(), 'dense');
}

export function bm25CacheDir(suite: Suite): string {
  return suite.retrievalCacheDir ?? path.join(cacheRoot(), 'bm25');
}

export async function openSuiteEmbedder(suite: Suite): Promise<Embedder> {
  const d = suite.dense;
  if (!d) throw new InputError(`${suite.file}: \`retrieval.dense\` is needed by the ${suite.config.retrieval.retriever} retriever`);
  return openEmbedder({
    source: d.source,
    pooling: d.pooling,
    normalize: d.normalize,
    queryPrefix: d.queryPrefix,
    passagePrefix: d.passagePrefix,
    batchSize: d.batchSize,
    maxLength: d.maxLength,
    dtype: d.dtype,
    allowRemote: d.allowRemote,
  });
}

export async function createSuiteRetriever(suite: Suite, corpus: Doc[], opts: SuiteRetrieverOptions = {}): Promise<SuiteRetriever> {
  const kind = suite.config.retrieval.retriever;
  if (kind === 'precomputed') throw new InputError('the precomputed retriever has no index to build');
  if (corpus.length === 0) {
    throw new InputError(`${suite.file}: field \`dataset.corpus\` is needed: the ${kind} retriever has no documents to search`);
  }
  let bm25: Bm25Retriever | undefined;
  let bm25Seconds: number | undefined;
  if (kind === 'bm25' || kind === 'hybrid') {
    const t = performance.now();
    bm25 = await createBm25Retriever(corpus, {
      cacheDir: bm25CacheDir(suite),
      onWarning: opts.onWarning,
      onProgress: (done, total) => opts.onProgress?.('bm25', done, total),
    });
    bm25Seconds = (performance.now() - t) / 1000;
  }
  let dense: DenseRetriever | undefined;
  let embedder: Embedder | undefined;
  if (kind === 'dense' || kind === 'hybrid') {
    const d = suite.dense!;
    embedder = await openSuiteEmbedder(suite);
    try {
      dense = await createDenseRetriever(corpus, embedder, {
        index: d.index,
        hnsw: { m: d.m, efConstruction: d.efConstruction, efSearch: d.efSearch },
        cacheDir: denseCacheDir(suite),
        mode: opts.mode,
        onWarning: opts.onWarning,
        onProgress: opts.onProgress,
      });
    } catch (error) {
      await embedder.dispose();
      throw error;
    }
  }
  const retriever: Retriever =
    kind === 'bm25'
      ? bm25!
      : kind === 'dense'
        ? dense!
        : createHybridRetriever([{ retriever: bm25!, sparse: true }, { retriever: dense! }], { rrfK: suite.config.retrieval.rrf_k, corpusSize: corpus.length });
  const fromCache = (bm25?.loadedFromCache ?? true) && (dense?.loadedFromCache ?? true);
  return {
    retriever,
    bm25,
    dense,
    embedder,
    fromCache,
    bm25Seconds,
    dispose: async () => {
      await embedder?.dispose();
    },
  };
}

/** A progress callback that logs one line per stage at most every `everyMs`, and the last step. */
export function throttledProgressLog(log: (message: string) => void, everyMs = 2000): (stage: string, done: number, total: number) => void {
  const names: Record<string, string> = { bm25: 'BM25 indexing', embed: 'embedding passages', index: 'building the HNSW index' };
  const last = new Map<string, number>(); // stage → time of the last line, -1 once finished
  return (stage, done, total) => {
    const now = Date.now();
    const previous = last.get(stage);
    const final = done >= total;
    if (previous === -1) return;
    if (previous === undefined && final) {
      last.set(stage, -1); // done in one step: nothing worth reporting
      return;
    }
    if (previous !== undefined && !final && now - previous < everyMs) return;
    last.set(stage, final ? -1 : now);
    log(`${names[stage] ?? stage}: ${done}/${total} (${Math.round((100 * done) / Math.max(1, total))}%)`);
  };
}
