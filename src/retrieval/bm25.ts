// The BM25 retriever. By default Okapi BM25 as Lucene's BM25Similarity computes it (bm25-disk.ts: one
// field of title + text, lengths in tokens, no coordination factor), over an index file persisted
// under a content hash: re-runs skip indexing, writes go through a temporary name and a rename, and
// a damaged file (checksums over every section) is rebuilt with a warning (`build`) or reported as
// an InputError (`verify`: `ragtax index --verify`). `scoring: minisearch` keeps the scores ragtax
// gave before (bm25-minisearch.ts), so that old results can be reproduced.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import MiniSearch from 'minisearch';
import { InputError, messageOf, RuntimeFailure } from '../errors.js';
import type { Doc, Retriever, ScoredDoc } from '../types.js';
import { makeDirectory } from '../util/atomic-write.js';
import { Bm25DiskIndex, buildDiskIndex, CorruptIndex, DISK_FORMAT, type LengthMode, type Hit } from './bm25-disk.js';
import { buildMiniSearch, FastScorer, miniSearchCacheKey, miniSearchOptions, saveMiniSearch, tryLoadMiniSearch, type IndexedDoc, type MiniSearchParams } from './bm25-minisearch.js';
import { STOPWORD_LISTS, TOKENIZER_VERSION, tokenize, words } from './tokenize.js';

/** A suite's `retrieval.bm25` block, resolved. */
export interface Bm25Settings {
  scoring: 'lucene' | 'minisearch';
  k1: number;
  b: number;
  /** `lucene` scoring only: Lucene's one-byte length quantisation (`lucene`) or exact token counts. */
  lengths: LengthMode;
  /** A named list or the words themselves. */
  stopwords: keyof typeof STOPWORD_LISTS | string[];
}

/** Lucene's defaults (BM25Similarity(), EnglishAnalyzer's stop set). */
export const DEFAULT_BM25: Bm25Settings = { scoring: 'lucene', k1: 1.2, b: 0.75, lengths: 'lucene', stopwords: 'lucene' };

/** The settings with every default filled in: `minisearch` scoring keeps ragtax's first stopword list. */
export function resolveBm25Settings(given: Partial<Bm25Settings> = {}): Bm25Settings {
  const scoring = given.scoring ?? DEFAULT_BM25.scoring;
  if (scoring === 'minisearch' && given.lengths === 'exact') {
    throw new InputError('`retrieval.bm25.lengths` is for `scoring: lucene` only (MiniSearch counts distinct terms per field)');
  }
  return {
    scoring,
    k1: given.k1 ?? DEFAULT_BM25.k1,
    b: given.b ?? DEFAULT_BM25.b,
    lengths: given.lengths ?? 'lucene',
    stopwords: given.stopwords ?? (scoring === 'minisearch' ? 'ragtax' : 'lucene'),
  };
}

/** The stopword set of the settings (a given list is folded as the tokenizer folds words). */
export function stopwordSet(settings: Bm25Settings): ReadonlySet<string> {
  if (typeof settings.stopwords === 'string') return STOPWORD_LISTS[settings.stopwords];
  return new Set(settings.stopwords.flatMap((w) => words(w)));
}

export interface Bm25Options {
  /** Scoring, k1, b, lengths and stopwords (default: Lucene's BM25). */
  settings?: Partial<Bm25Settings>;
  /** Where the index is persisted; without it the index lives in memory only. */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** Called for a cache file that could not be used (default: console.warn). */
  onWarning?: (message: string) => void;
  /**
   * `build` (default) builds an index that is missing or unusable; `verify` only loads (and checks
   * every checksum), and a missing or unusable index is an InputError (nothing is built or written).
   */
  mode?: 'build' | 'verify';
  /** The suite, for the `ragtax index <suite>` hint of verify errors. */
  suiteFile?: string;
}

export interface Bm25Retriever extends Retriever {
  readonly name: 'bm25';
  /** True when the index was read from `cachePath` instead of built. */
  readonly loadedFromCache: boolean;
  /** The index file, or null without a cacheDir. */
  readonly cachePath: string | null;
  /** Number of indexed documents. */
  readonly size: number;
  readonly settings: Bm25Settings;
}

/**
 * Identity of an index: every document (order included), the tokenizer and the stopwords (and for
 * MiniSearch k1 and b, which its index bakes in). Lucene's k1, b and lengths apply at query time.
 */
export function bm25CacheKey(corpus: readonly Doc[], given: Partial<Bm25Settings> = {}): string {
  const settings = resolveBm25Settings(given);
  if (settings.scoring === 'minisearch') return miniSearchCacheKey(corpus, miniSearchParams(settings));
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: DISK_FORMAT, tokenizer: TOKENIZER_VERSION, stopwords: [...stopwordSet(settings)].sort(), field: 'title text' }));
  for (const doc of corpus) hash.update(`\u0001${doc.id}\u0000${doc.title}\u0000${doc.text}`);
  return hash.digest('hex');
}

function miniSearchParams(settings: Bm25Settings): MiniSearchParams {
  return { k: settings.k1, b: settings.b, d: 0, stopwords: stopwordSet(settings) };
}

/** The index file of `corpus` under `cacheDir`. */
export function bm25CachePath(cacheDir: string, corpus: readonly Doc[], given: Partial<Bm25Settings> = {}): string {
  const settings = resolveBm25Settings(given);
  return path.join(cacheDir, `bm25-${bm25CacheKey(corpus, settings)}.${settings.scoring === 'minisearch' ? 'json' : 'idx'}`);
}

/**
 * A BM25 retriever over `corpus`. Results are best first; ties keep corpus order. When fewer than k
 * documents share a term with the query, the list is padded with score-0 documents in corpus order,
 * so every query gets min(k, corpus size) documents, as a dense retriever would give.
 */
export async function createBm25Retriever(corpus: Doc[], opts: Bm25Options = {}): Promise<Bm25Retriever> {
  const settings = resolveBm25Settings(opts.settings);
  return settings.scoring === 'minisearch' ? createMiniSearchRetriever(corpus, settings, opts) : createLuceneRetriever(corpus, settings, opts);
}

/** Top-k hits as documents, padded with score-0 documents in corpus order. */
function padded(corpus: Doc[], hits: Hit[], k: number): ScoredDoc[] {
  const top = hits.map(({ i, score }) => ({ doc: corpus[i]!, score }));
  if (top.length < k) {
    const taken = new Set(hits.map((h) => h.i));
    for (let i = 0; i < corpus.length && top.length < k; i++) if (!taken.has(i)) top.push({ doc: corpus[i]!, score: 0 });
  }
  return top;
}

const rebuildHint = (opts: Bm25Options) => `\`ragtax index ${opts.suiteFile ?? '<suite.yaml>'}\``;

function verifyError(opts: Bm25Options, file: string, problem: 'missing' | 'unreadable' | 'corrupt', reason = ''): InputError {
  return new InputError(
    problem === 'missing'
      ? `the BM25 index for this corpus is missing (${file}); build it with ${rebuildHint(opts)}`
      : `the BM25 index for this corpus at ${file} cannot be used (${problem}: ${reason}); rebuild it with ${rebuildHint(opts)}`,
  );
}

async function createLuceneRetriever(corpus: Doc[], settings: Bm25Settings, opts: Bm25Options): Promise<Bm25Retriever> {
  const warn = opts.onWarning ?? ((message: string) => console.warn(`warning: ${message}`));
  const cachePath = opts.cacheDir ? bm25CachePath(opts.cacheDir, corpus, settings) : null;
  if (opts.mode === 'verify' && !cachePath) throw new InputError(`verify needs a cache directory holding the BM25 index; build it with ${rebuildHint(opts)}`);
  const stopwords = stopwordSet(settings);
  const scoring = { k1: settings.k1, b: settings.b, lengths: settings.lengths };

  const build = async (file: string): Promise<Bm25DiskIndex> => {
    makeDirectory(path.dirname(file), { label: 'BM25 index folder ' });
    await buildDiskIndex(
      corpus,
      file,
      { stopwords, onProgress: (done) => opts.onProgress?.(done, corpus.length) },
    );
    opts.onProgress?.(corpus.length, corpus.length);
    return Bm25DiskIndex.open(file, corpus.length, scoring);
  };
  /** Without a cache folder: built in a temporary folder, opened, and the file unlinked (the open descriptor keeps it). */
  const buildTemporary = async (): Promise<Bm25DiskIndex> => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bm25-'));
    try {
      return await build(path.join(dir, 'index.idx'));
    } finally {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Windows cannot remove an open file: it stays in the OS temporary folder.
      }
    }
  };

  let index: Bm25DiskIndex | null = null;
  if (cachePath) {
    try {
      index = Bm25DiskIndex.open(cachePath, corpus.length, scoring);
      if (opts.mode === 'verify') index.verify();
    } catch (error) {
      index?.close();
      index = null;
      const code = (error as NodeJS.ErrnoException).code;
      const problem = code === 'ENOENT' ? 'missing' : error instanceof CorruptIndex ? 'corrupt' : 'unreadable';
      if (problem === 'unreadable' && error instanceof RuntimeFailure) throw error; // out of memory
      if (opts.mode === 'verify') throw verifyError(opts, cachePath, problem, messageOf(error));
      if (problem !== 'missing') warn(`BM25 index ${cachePath} is ${problem} (${messageOf(error)}); rebuilding it`);
    }
  }
  const loadedFromCache = index !== null;
  if (index) opts.onProgress?.(corpus.length, corpus.length);
  else index = cachePath ? await build(cachePath) : await buildTemporary();
  let open = index;

  return {
    name: 'bm25',
    loadedFromCache,
    cachePath,
    size: corpus.length,
    settings,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      const out: ScoredDoc[][] = [];
      for (const query of queries) {
        let hits: Hit[];
        try {
          hits = open.search(tokenize(query, stopwords), k);
        } catch (error) {
          // A postings block is checked when first read: a damaged one is found here.
          if (!(error instanceof CorruptIndex)) throw error;
          open.close();
          if (opts.mode === 'verify' || !cachePath) throw new RuntimeFailure(`the BM25 index ${cachePath ?? '(temporary)'} is corrupt (${error.message})`);
          warn(`BM25 index ${cachePath} is corrupt (${error.message}); rebuilding it`);
          open = await build(cachePath);
          hits = open.search(tokenize(query, stopwords), k);
        }
        out.push(padded(corpus, hits, k));
      }
      return out;
    },
    dispose: async () => open.close(),
  };
}

async function createMiniSearchRetriever(corpus: Doc[], settings: Bm25Settings, opts: Bm25Options): Promise<Bm25Retriever> {
  const warn = opts.onWarning ?? ((message: string) => console.warn(`warning: ${message}`));
  const params = miniSearchParams(settings);
  const options = miniSearchOptions(params);
  const cachePath = opts.cacheDir ? bm25CachePath(opts.cacheDir, corpus, settings) : null;
  if (opts.mode === 'verify' && !cachePath) throw new InputError(`verify needs a cache directory holding the BM25 index; build it with ${rebuildHint(opts)}`);
  let index: MiniSearch<IndexedDoc> | null = null;
  if (cachePath) {
    const loaded = await tryLoadMiniSearch(cachePath, corpus.length, options);
    if ('index' in loaded) index = loaded.index;
    else if (opts.mode === 'verify') throw verifyError(opts, cachePath, loaded.problem, 'reason' in loaded ? loaded.reason : '');
    else if (loaded.problem !== 'missing') warn(`BM25 index ${cachePath} is ${loaded.problem} (${loaded.reason}); rebuilding it`);
  }
  const loadedFromCache = index !== null;
  if (!index) {
    index = await buildMiniSearch(corpus, options, opts.onProgress);
    if (cachePath) await saveMiniSearch(cachePath, index);
  } else {
    opts.onProgress?.(corpus.length, corpus.length);
  }
  const scorer = new FastScorer(index, corpus.length, params);
  return {
    name: 'bm25',
    loadedFromCache,
    cachePath,
    size: corpus.length,
    settings,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      return queries.map((query) => padded(corpus, scorer.search(tokenize(query, params.stopwords), k), k));
    },
    // The index is plain memory, freed with the retriever.
    dispose: async () => {},
  };
}
