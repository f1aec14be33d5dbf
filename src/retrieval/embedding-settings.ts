// `retrieval.dense`: the embedding model and vector index that the dense and hybrid retrievers
// share. Declared here once: the suite schema takes the block, and the retrievers the resolved form.
import path from 'node:path';
import { z } from 'zod';
import { cacheRoot } from '../util/cache-dir.js';
import type { Embedder } from './embedder.js';

export const denseBlockSchema = z
  .object({
    /** Local embedding model folder (relative to the suite file) in transformers.js layout. */
    model: z.string().min(1).optional(),
    /** Hugging Face id (needs `allow_remote: true` unless already in the cache). */
    hf_id: z.string().min(1).optional(),
    /** Default: the model folder's own setting, else mean (pooling) and true (normalize). */
    pooling: z.enum(['mean', 'cls']).optional(),
    normalize: z.boolean().optional(),
    /** Prepended to questions / passages before embedding (e.g. E5's `query: ` and `passage: `). */
    query_prefix: z.string().optional(),
    passage_prefix: z.string().optional(),
    batch_size: z.number().int().min(1).max(4096).default(32),
    max_length: z.number().int().min(8).max(8192).optional(),
    dtype: z.string().default('fp32'),
    /** auto: exact below 20,000 documents, else hnsw. */
    index: z.enum(['auto', 'exact', 'hnsw']).default('auto'),
    m: z.number().int().min(2).max(256).default(16),
    ef_construction: z.number().int().min(1).max(10000).default(200),
    ef_search: z.number().int().min(1).max(10000).default(128),
    allow_remote: z.boolean().default(false),
    cache_dir: z.string().optional(),
  })
  .strict()
  .refine((d) => (d.model === undefined) !== (d.hf_id === undefined), {
    message: 'give exactly one of `model` (a local embedding model folder) or `hf_id` (a Hugging Face id)',
  });

export type DenseBlock = z.infer<typeof denseBlockSchema>;

/** The `retrieval.dense` block, paths resolved. */
export interface DenseSettings {
  /** Absolute folder or Hugging Face id of the embedding model. */
  source: string;
  pooling?: 'mean' | 'cls';
  normalize?: boolean;
  queryPrefix?: string;
  passagePrefix?: string;
  batchSize: number;
  maxLength?: number;
  dtype: string;
  index: 'auto' | 'exact' | 'hnsw';
  m: number;
  efConstruction: number;
  efSearch: number;
  allowRemote: boolean;
  /** Folder of persisted dense indexes (the block's `cache_dir`). */
  cacheDir?: string;
}

export function resolveDenseSettings(d: DenseBlock, resolve: (relative: string) => string): DenseSettings {
  return {
    source: d.model !== undefined ? resolve(d.model) : d.hf_id!,
    pooling: d.pooling,
    normalize: d.normalize,
    queryPrefix: d.query_prefix,
    passagePrefix: d.passage_prefix,
    batchSize: d.batch_size,
    maxLength: d.max_length,
    dtype: d.dtype,
    index: d.index,
    m: d.m,
    efConstruction: d.ef_construction,
    efSearch: d.ef_search,
    allowRemote: d.allow_remote,
    cacheDir: d.cache_dir !== undefined ? resolve(d.cache_dir) : undefined,
  };
}

/** Where dense indexes are kept: the dense block's cache_dir, else retrieval.cache_dir/dense, else <cache>/dense. */
export function denseCacheDir(dense: DenseSettings | undefined, retrievalCacheDir: string | undefined): string {
  return dense?.cacheDir ?? path.join(retrievalCacheDir ?? cacheRoot(), 'dense');
}

export async function openDenseEmbedder(d: DenseSettings): Promise<Embedder> {
  // Loaded with the first dense retriever: a run without one never imports the embedder.
  const { openEmbedder } = await import('./embedder.js');
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
