// The retriever table: adding a retriever is one file (its search) and one line here. Each entry
// declares the fields it adds to the suite's `retrieval` block (the suite schema is built from
// them) and how it opens, with its indexes built or loaded from the cache. Shared by `ragtax run`
// and `ragtax index`. A retriever's module is imported when it opens (a BM25 run never loads the
// dense, hybrid or precomputed code).
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { Doc, QaItem, Retriever } from '../types.js';
import { cacheRoot } from '../util/cache-dir.js';
import { createBm25Retriever, resolveBm25Settings, stopwordSet, type Bm25Retriever, type Bm25Settings } from './bm25.js';
import type { DenseRetriever, DenseStage } from './dense.js';
import type { Embedder } from './embedder.js';
import { denseCacheDir, openDenseEmbedder, type DenseSettings } from './embedding-settings.js';
import { createTrecRunRetriever, trecRunPath, trecRunSettings } from './trec-run.js';

/** What a retriever is opened with (everything resolved by the suite loader). */
export interface RetrieverContext {
  /** The suite file, for messages. */
  suiteFile: string;
  corpus: Doc[];
  /** Items that may carry precomputed contexts (evaluated and few-shot). */
  items: readonly QaItem[];
  /** The `retrieval.dense` block, resolved. */
  dense?: DenseSettings;
  /** `retrieval.cache_dir`, resolved. */
  cacheDir?: string;
  /** `verify`: load indexes only; a missing or unusable index is an error. */
  mode?: 'build' | 'verify';
  onWarning?: (message: string) => void;
  onProgress?: (stage: 'bm25' | DenseStage, done: number, total: number) => void;
}

/** An opened retriever, with the parts `ragtax index` reports on. */
export interface OpenedRetriever {
  /** Its dispose() frees what the retriever holds (the embedding model). */
  retriever: Retriever;
  /** Every index was loaded from the cache; null for a retriever without indexes. */
  fromCache: boolean | null;
  bm25?: Bm25Retriever;
  bm25Seconds?: number;
  dense?: DenseRetriever;
  embedder?: Embedder;
  /** One line `ragtax index` prints about what was read, for a retriever without an index. */
  note?: string;
}

export interface RetrieverDefinition<Settings extends z.ZodRawShape> {
  /** Fields this retriever adds to the suite's `retrieval` block. */
  settings: Settings;
  /** Searches a corpus (`dataset.corpus` or the format's own). */
  needsCorpus: boolean;
  /** Needs the `retrieval.dense` block (an embedding model). */
  needsEmbedder: boolean;
  open(own: z.infer<z.ZodObject<Settings>>, context: RetrieverContext): Promise<OpenedRetriever>;
}

function defineRetriever<Settings extends z.ZodRawShape>(definition: RetrieverDefinition<Settings>): RetrieverDefinition<Settings> {
  return definition;
}

function bm25CacheDir(retrievalCacheDir: string | undefined): string {
  return retrievalCacheDir ?? path.join(cacheRoot(), 'bm25');
}

/**
 * `retrieval.bm25`: BM25's own settings (bm25.ts), shared by `bm25` and `hybrid`. Defaults are
 * Lucene's (BM25Similarity, EnglishAnalyzer's stop set); `scoring: minisearch` gives ragtax's scores
 * from before the Lucene BM25 (its default stopwords are then ragtax's first list).
 */
const bm25Settings = {
  bm25: z
    .object({
      scoring: z.enum(['lucene', 'minisearch']).default('lucene').describe("`lucene` (Lucene's BM25) or `minisearch` (ragtax's scores before, for old results)"),
      k1: z.number().min(0).max(100).default(1.2).describe('Term-frequency saturation'),
      b: z.number().min(0).max(1).default(0.75).describe('Length normalisation'),
      lengths: z.enum(['lucene', 'exact']).optional().describe('`lucene`: token counts quantised to one byte as Lucene stores them (default); `exact`: as they are'),
      stopwords: z
        .union([z.enum(['lucene', 'ragtax', 'none']), z.array(z.string().min(1))])
        .optional()
        .describe("`lucene` (Lucene's 33 English stopwords; the default), `ragtax` (ragtax's first list; minisearch's default), `none`, or the words"),
    })
    .strict()
    .default({})
    .describe('BM25 settings (docs/retrieval.md)'),
};

type Bm25Block = z.infer<z.ZodObject<typeof bm25Settings>>['bm25'];

/** What the manifest records of BM25: every setting resolved, with the stopword list spelt out. */
export function bm25Manifest(block: Bm25Block | undefined): Record<string, unknown> {
  const settings = resolveBm25Settings(block ?? {});
  return { ...settings, stopwordList: [...stopwordSet(settings)].sort() };
}

async function openBm25(context: RetrieverContext, block: Bm25Block): Promise<{ bm25: Bm25Retriever; bm25Seconds: number }> {
  const cacheDir = bm25CacheDir(context.cacheDir);
  const started = performance.now();
  let settings: Bm25Settings;
  try {
    settings = resolveBm25Settings(block);
  } catch (error) {
    throw error instanceof InputError ? new InputError(`${context.suiteFile}: ${error.message}`) : error;
  }
  // Under verify, a missing or unusable index is an InputError naming it (createBm25Retriever).
  const bm25 = await createBm25Retriever(context.corpus, {
    settings,
    cacheDir,
    mode: context.mode,
    suiteFile: context.suiteFile,
    onWarning: context.onWarning,
    onProgress: (done, total) => context.onProgress?.('bm25', done, total),
  });
  return { bm25, bm25Seconds: (performance.now() - started) / 1000 };
}

async function openDense(context: RetrieverContext): Promise<{ dense: DenseRetriever; embedder: Embedder }> {
  const d = context.dense!;
  const { createDenseRetriever } = await import('./dense.js');
  const embedder = await openDenseEmbedder(d);
  try {
    const dense = await createDenseRetriever(context.corpus, embedder, {
      index: d.index,
      hnsw: { m: d.m, efConstruction: d.efConstruction, efSearch: d.efSearch },
      cacheDir: denseCacheDir(d, context.cacheDir),
      mode: context.mode,
      rebuildCommand: `ragtax index ${context.suiteFile}`,
      onWarning: context.onWarning,
      onProgress: context.onProgress,
    });
    return { dense, embedder };
  } catch (error) {
    await embedder.dispose();
    throw error;
  }
}

/** The retriever, whose dispose() also frees `embedder` (the retriever does not own it otherwise). */
function freeing(retriever: Retriever, embedder: Embedder): Retriever {
  return {
    name: retriever.name,
    search: (queries, k) => retriever.search(queries, k),
    dispose: async () => {
      await retriever.dispose();
      await embedder.dispose();
    },
  };
}

export const RETRIEVERS = {
  bm25: defineRetriever({
    settings: bm25Settings,
    needsCorpus: true,
    needsEmbedder: false,
    async open(own, context) {
      const { bm25, bm25Seconds } = await openBm25(context, own.bm25);
      return { retriever: bm25, fromCache: bm25.loadedFromCache, bm25, bm25Seconds };
    },
  }),
  dense: defineRetriever({
    settings: {},
    needsCorpus: true,
    needsEmbedder: true,
    async open(_own, context) {
      const { dense, embedder } = await openDense(context);
      return { retriever: freeing(dense, embedder), fromCache: dense.loadedFromCache, dense, embedder };
    },
  }),
  hybrid: defineRetriever({
    settings: {
      /** Reciprocal rank fusion constant. */
      rrf_k: z.number().min(0).max(100000).default(60),
      ...bm25Settings,
    },
    needsCorpus: true,
    needsEmbedder: true,
    async open(own, context) {
      const { bm25, bm25Seconds } = await openBm25(context, own.bm25);
      const { dense, embedder } = await openDense(context);
      const { createHybridRetriever } = await import('./hybrid.js');
      const fused = createHybridRetriever([{ retriever: bm25, sparse: true }, { retriever: dense }], { rrfK: own.rrf_k, corpusSize: context.corpus.length });
      return { retriever: freeing(fused, embedder), fromCache: bm25.loadedFromCache && dense.loadedFromCache, bm25, bm25Seconds, dense, embedder };
    },
  }),
  precomputed: defineRetriever({
    settings: {},
    needsCorpus: false,
    needsEmbedder: false,
    async open(_own, context) {
      const { createPrecomputedRetriever } = await import('./precomputed.js');
      return { retriever: createPrecomputedRetriever(context.items), fromCache: null };
    },
  }),
  'trec-run': defineRetriever({
    settings: trecRunSettings,
    needsCorpus: true,
    needsEmbedder: false,
    async open(own, context) {
      if (own.run_file === undefined) throw new InputError(`${context.suiteFile}: \`retrieval.run_file\` is needed by the trec-run retriever (a TREC run file: \`qid Q0 docid rank score tag\` lines)`);
      const file = trecRunPath(context.suiteFile, own.run_file);
      const retriever = await createTrecRunRetriever(file, { items: context.items, corpus: context.corpus, missing: own.run_missing });
      const s = retriever.stats;
      const missing = s.missingItems > 0 ? `, ${s.missingItems} without lines` : '';
      const note = `trec-run: read ${file} (${s.lines} lines, ${s.queries} queries; ${s.matchedItems} items ranked up to ${s.maxDepth} deep${missing}; ${s.seconds.toFixed(2)} s)`;
      return { retriever, fromCache: null, note };
    },
  }),
};

export type RetrieverName = keyof typeof RETRIEVERS;
export const RETRIEVER_NAMES = Object.keys(RETRIEVERS) as [RetrieverName, ...RetrieverName[]];

/** Every retriever's own fields, in table order: the per-retriever part of the suite's `retrieval` block. */
export const RETRIEVER_SETTINGS: z.ZodRawShape = Object.assign({}, ...Object.values(RETRIEVERS).map((r) => r.settings));

/**
 * Opens the retriever `name` with its fields taken from the suite's (validated) `retrieval` block.
 */
export async function openRetriever(name: RetrieverName, retrieval: Record<string, unknown>, context: RetrieverContext): Promise<OpenedRetriever> {
  const definition = RETRIEVERS[name] as RetrieverDefinition<z.ZodRawShape>;
  if (definition.needsCorpus && context.corpus.length === 0) {
    throw new InputError(`${context.suiteFile}: field \`dataset.corpus\` is needed: the ${name} retriever has no documents to search`);
  }
  if (definition.needsEmbedder && context.dense === undefined) {
    throw new InputError(`${context.suiteFile}: \`retrieval.dense\` is needed by the ${name} retriever`);
  }
  const own = Object.fromEntries(Object.keys(definition.settings).map((key) => [key, retrieval[key]]));
  return definition.open(own, context);
}

/** What a run's manifest records of its retrieval: the retriever, and BM25's settings when it uses BM25. */
export function retrievalManifest(retrieval: { retriever: RetrieverName } & Record<string, unknown>): Record<string, unknown> {
  const usesBm25 = 'bm25' in RETRIEVERS[retrieval.retriever].settings;
  return { retriever: retrieval.retriever, ...(usesBm25 ? { bm25: bm25Manifest(retrieval.bm25 as Bm25Block | undefined) } : {}) };
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
