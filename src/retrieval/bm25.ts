// BM25 over title + text with MiniSearch. The index is built once per corpus and persisted as
// MiniSearch JSON under a content hash, so re-runs skip indexing; writes go through a temp file and
// a rename, so an interrupted run never leaves a half-written index behind.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import MiniSearch, { type Options } from 'minisearch';
import { RuntimeFailure } from '../errors.js';
import type { Doc, Retriever, ScoredDoc } from '../types.js';
import { STOPWORDS, TOKENIZER_VERSION, tokenize } from './tokenize.js';

/** Standard BM25 (d = 0 turns MiniSearch's BM25+ off). */
export const BM25_PARAMS = { k: 1.2, b: 0.75, d: 0 } as const;

const INDEX_CHUNK = 500;

export interface Bm25Options {
  /** Where the index is persisted; without it the index lives in memory only. */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** Called for a cache file that could not be used (default: console.warn). */
  onWarning?: (message: string) => void;
}

export interface Bm25Retriever extends Retriever {
  readonly name: 'bm25';
  /** True when the index was read from `cachePath` instead of built. */
  readonly loadedFromCache: boolean;
  /** The index file, or null without a cacheDir. */
  readonly cachePath: string | null;
  /** Number of indexed documents. */
  readonly size: number;
}

interface IndexedDoc {
  i: number;
  title: string;
  text: string;
}

// Tokenisation happens in `tokenize`; processTerm must not lowercase or filter a second time.
const MINISEARCH_OPTIONS: Options<IndexedDoc> = {
  idField: 'i',
  fields: ['title', 'text'],
  storeFields: [],
  tokenize: (text) => tokenize(text),
  processTerm: (term) => term,
  searchOptions: { bm25: { ...BM25_PARAMS }, fuzzy: false, prefix: false, combineWith: 'OR' },
};

/** Identity of an index: every document (order included) and every scoring/tokenising choice. */
export function bm25CacheKey(corpus: readonly Doc[]): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({ bm25: BM25_PARAMS, tokenizer: TOKENIZER_VERSION, stopwords: [...STOPWORDS], fields: ['title', 'text'] }),
  );
  for (const doc of corpus) hash.update(`\u0001${doc.id}\u0000${doc.title}\u0000${doc.text}`);
  return hash.digest('hex');
}

async function buildIndex(corpus: readonly Doc[], onProgress?: (done: number, total: number) => void): Promise<MiniSearch<IndexedDoc>> {
  const index = new MiniSearch<IndexedDoc>(MINISEARCH_OPTIONS);
  for (let start = 0; start < corpus.length; start += INDEX_CHUNK) {
    const chunk = corpus.slice(start, start + INDEX_CHUNK).map((doc, j) => ({ i: start + j, title: doc.title, text: doc.text }));
    index.addAll(chunk);
    onProgress?.(start + chunk.length, corpus.length);
    await yieldToEventLoop(); // keep progress bars and signals responsive on large corpora
  }
  return index;
}

async function tryLoadIndex(file: string, expectedSize: number, warn: (message: string) => void): Promise<MiniSearch<IndexedDoc> | null> {
  let json: string;
  try {
    json = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`BM25 index ${file} is unreadable (${String(err)}); rebuilding it`);
    return null;
  }
  try {
    const index = MiniSearch.loadJSON<IndexedDoc>(json, MINISEARCH_OPTIONS);
    if (index.documentCount !== expectedSize) throw new Error(`holds ${index.documentCount} documents, expected ${expectedSize}`);
    return index;
  } catch (err) {
    warn(`BM25 index ${file} is corrupt (${err instanceof Error ? err.message : String(err)}); rebuilding it`);
    return null;
  }
}

async function saveIndex(file: string, index: MiniSearch<IndexedDoc>): Promise<void> {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(temp, JSON.stringify(index));
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw new RuntimeFailure(`cannot write the BM25 index to ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A BM25 retriever over `corpus`. Results are best first; ties keep corpus order. When fewer than k
 * documents share a term with the query, the list is padded with score-0 documents in corpus order,
 * so every query gets min(k, corpus size) documents, as a dense retriever would give.
 * Scores are MiniSearch's: per-field BM25 summed over title and text, times the number of distinct
 * query terms matched (MiniSearch's coordination factor).
 */
export async function createBm25Retriever(corpus: Doc[], opts: Bm25Options = {}): Promise<Bm25Retriever> {
  const warn = opts.onWarning ?? ((message: string) => console.warn(`warning: ${message}`));
  const cachePath = opts.cacheDir ? path.join(opts.cacheDir, `bm25-${bm25CacheKey(corpus)}.json`) : null;
  let index = cachePath ? await tryLoadIndex(cachePath, corpus.length, warn) : null;
  const loadedFromCache = index !== null;
  if (!index) {
    index = await buildIndex(corpus, opts.onProgress);
    if (cachePath) await saveIndex(cachePath, index);
  } else {
    opts.onProgress?.(corpus.length, corpus.length);
  }
  const ready = index;

  function searchOne(query: string, k: number): ScoredDoc[] {
    const hits = ready
      .search(query)
      .map((hit) => ({ i: hit.id as number, score: hit.score }))
      .sort((x, y) => y.score - x.score || x.i - y.i);
    const top = hits.slice(0, k).map(({ i, score }) => ({ doc: corpus[i]!, score }));
    if (top.length < k) {
      const taken = new Set(hits.slice(0, k).map((h) => h.i));
      for (let i = 0; i < corpus.length && top.length < k; i++) if (!taken.has(i)) top.push({ doc: corpus[i]!, score: 0 });
    }
    return top;
  }

  return {
    name: 'bm25',
    loadedFromCache,
    cachePath,
    size: corpus.length,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      return queries.map((query) => searchOne(query, k));
    },
  };
}
