// `bm25.scoring: minisearch`: BM25 scored exactly as MiniSearch scores it (kept so that results made
// before ragtax's Lucene BM25 can be reproduced). The index is built once per corpus and persisted as
// MiniSearch JSON under a content hash, so re-runs skip indexing; writes go through a temp file and
// a rename, so an interrupted run never leaves a half-written index behind. The file is one JSON
// document, `{"format":"ragtax-bm25/1","documents":N,"sha256":"…","index":<MiniSearch JSON>}`: the
// checksum covers the MiniSearch JSON, so a damaged file that still parses is caught too. An unusable
// file is rebuilt with a warning (`build`), or an InputError (`verify`: `ragtax index --verify`).
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { makeDirectory } from '../util/atomic-write.js';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import MiniSearch, { type Options } from 'minisearch';
import { messageOf, RagtaxError, RuntimeFailure } from '../errors.js';
import type { Doc } from '../types.js';
import { TOKENIZER_VERSION, tokenize } from './tokenize.js';

const INDEX_CHUNK = 500;

export interface IndexedDoc {
  i: number;
  title: string;
  text: string;
}

/** MiniSearch's parameters (d = 0 turns its BM25+ off) and the stopwords of the tokenizer. */
export interface MiniSearchParams {
  k: number;
  b: number;
  d: number;
  stopwords: ReadonlySet<string>;
}

// Tokenisation happens in `tokenize`; processTerm must not lowercase or filter a second time.
/** Exported for the test that checks the fast scorer against MiniSearch's own search(). */
export function miniSearchOptions(params: MiniSearchParams): Options<IndexedDoc> {
  return {
    idField: 'i',
    fields: ['title', 'text'],
    storeFields: [],
    tokenize: (text) => tokenize(text, params.stopwords),
    processTerm: (term) => term,
    searchOptions: { bm25: { k: params.k, b: params.b, d: params.d }, fuzzy: false, prefix: false, combineWith: 'OR' },
  };
}

/** Identity of an index: every document (order included) and every scoring/tokenising choice (as before ragtax-bm25/2, so old cache files stay valid). */
export function miniSearchCacheKey(corpus: readonly Doc[], params: MiniSearchParams): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({ bm25: { k: params.k, b: params.b, d: params.d }, tokenizer: TOKENIZER_VERSION, stopwords: [...params.stopwords], fields: ['title', 'text'] }),
  );
  for (const doc of corpus) hash.update(`\u0001${doc.id}\u0000${doc.title}\u0000${doc.text}`);
  return hash.digest('hex');
}

export async function buildMiniSearch(corpus: readonly Doc[], options: Options<IndexedDoc>, onProgress?: (done: number, total: number) => void): Promise<MiniSearch<IndexedDoc>> {
  const index = new MiniSearch<IndexedDoc>(options);
  for (let start = 0; start < corpus.length; start += INDEX_CHUNK) {
    const chunk = corpus.slice(start, start + INDEX_CHUNK).map((doc, j) => ({ i: start + j, title: doc.title, text: doc.text }));
    index.addAll(chunk);
    onProgress?.(start + chunk.length, corpus.length);
    await yieldToEventLoop(); // keep progress bars and signals responsive on large corpora
  }
  return index;
}

const FILE_FORMAT = 'ragtax-bm25/1';
const HEADER = /^\{"format":"ragtax-bm25\/1","documents":(\d+),"sha256":"([0-9a-f]{64})","index":/;

export type Loaded = { index: MiniSearch<IndexedDoc> } | { problem: 'missing' } | { problem: 'unreadable' | 'corrupt'; reason: string };

export async function tryLoadMiniSearch(file: string, expectedSize: number, options: Options<IndexedDoc>): Promise<Loaded> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'missing' };
    return { problem: 'unreadable', reason: messageOf(err) };
  }
  const header = HEADER.exec(text.slice(0, 200));
  if (!header || !text.endsWith('}')) return { problem: 'corrupt', reason: `not a ragtax BM25 index file (${FILE_FORMAT}): damaged, or written by an older ragtax` };
  const json = text.slice(header[0].length, -1);
  if (createHash('sha256').update(json).digest('hex') !== header[2]) return { problem: 'corrupt', reason: 'its data does not match its checksum' };
  try {
    const index = MiniSearch.loadJSON<IndexedDoc>(json, options);
    const count = Number(header[1]) !== index.documentCount ? `${header[1]} documents by its header, ${index.documentCount} by its data` : `${index.documentCount} documents`;
    if (index.documentCount !== expectedSize || Number(header[1]) !== expectedSize) throw new Error(`holds ${count}, expected ${expectedSize}`);
    return { index };
  } catch (err) {
    return { problem: 'corrupt', reason: messageOf(err) };
  }
}

export async function saveMiniSearch(file: string, index: MiniSearch<IndexedDoc>): Promise<void> {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    makeDirectory(path.dirname(file), { label: 'BM25 index folder ' });
    const json = JSON.stringify(index);
    const sha256 = createHash('sha256').update(json).digest('hex');
    await writeFile(temp, `{"format":"${FILE_FORMAT}","documents":${index.documentCount},"sha256":"${sha256}","index":${json}}`);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    if (err instanceof RagtaxError) throw err; // already names the folder
    throw new RuntimeFailure(`cannot write the BM25 index to ${file}: ${messageOf(err)}`);
  }
}

// ---------------------------------------------------------------- fast top-k scoring
//
// MiniSearch's own search() builds a Map entry with term and field lists for every matching
// document and sorts them all: with frequent query words that is most of the corpus for every query
// (about 140 queries/s on 5,000 passages). FastScorer computes the same scores from the same index
// (MiniSearch's BM25 per field, summed in MiniSearch's order, times the number of distinct query
// terms matched) over typed arrays: per-term postings (converted once from MiniSearch's index when
// the retriever is made), one accumulator per document, and a bounded heap for the top k. Results equal
// MiniSearch's search() sorted by score, ties in corpus order (tests/retrieval/bm25.test.ts).

/** MiniSearch internals the scorer reads (stable within minisearch 7.x). */
interface MiniSearchInternals {
  _index: { get(term: string): Map<number, Map<number, number>> | undefined };
  _documentIds: Map<number, unknown>;
  _fieldLength: Map<number, number[]>;
  _avgFieldLength: number[];
  _documentCount: number;
  _fieldIds: Record<string, number>;
}

/** The documents holding a term and the term's score in each (its fields summed in MiniSearch's order). */
interface TermPostings {
  docs: Int32Array;
  scores: Float64Array;
}

export class FastScorer {
  private readonly internals: MiniSearchInternals;
  private readonly fieldIds: number[];
  /** MiniSearch's short document id → corpus position, and field lengths by short id (ids are dense: nothing is ever removed). */
  private readonly shortToIndex: Int32Array;
  private readonly fieldLengths: Float64Array[];
  private readonly cache = new Map<string, TermPostings | null>();
  private readonly acc: Float64Array;
  private readonly termScore: Float64Array;
  private readonly termStamp: Int32Array;
  private readonly matched: Int32Array;
  private readonly touched: Int32Array;
  private stamp = 0;

  constructor(
    index: MiniSearch<IndexedDoc>,
    size: number,
    private readonly params: MiniSearchParams,
  ) {
    this.internals = index as unknown as MiniSearchInternals;
    this.fieldIds = ['title', 'text'].map((f) => this.internals._fieldIds[f]!);
    let maxShort = 0;
    for (const shortId of this.internals._documentIds.keys()) maxShort = Math.max(maxShort, shortId);
    this.shortToIndex = new Int32Array(maxShort + 1);
    for (const [shortId, id] of this.internals._documentIds) this.shortToIndex[shortId] = id as number;
    this.fieldLengths = this.fieldIds.map(() => new Float64Array(maxShort + 1));
    for (const [shortId, lengths] of this.internals._fieldLength) {
      this.fieldIds.forEach((fieldId, f) => (this.fieldLengths[f]![shortId] = lengths[fieldId]!));
    }
    this.acc = new Float64Array(size);
    this.termScore = new Float64Array(size);
    this.termStamp = new Int32Array(size);
    this.matched = new Int32Array(size);
    this.touched = new Int32Array(size);
    // Every term's postings up front: a cold query would otherwise pay for converting the long
    // posting maps of its frequent terms (about 40% of query time over a fresh index).
    for (const [term] of this.internals._index as unknown as Iterable<[string, unknown]>) this.postings(term);
  }

  /** Built on first use from MiniSearch's index, then cached. */
  private postings(term: string): TermPostings | null {
    const cached = this.cache.get(term);
    if (cached !== undefined) return cached;
    const data = this.internals._index.get(term);
    let result: TermPostings | null = null;
    if (data) {
      const { k, b, d } = this.params;
      const total = this.internals._documentCount;
      const { termScore, termStamp } = this;
      const stamp = ++this.stamp;
      const docs: number[] = [];
      for (const [f, fieldId] of this.fieldIds.entries()) {
        const freqs = data.get(fieldId);
        if (!freqs) continue;
        const matching = freqs.size;
        const avg = this.internals._avgFieldLength[fieldId]!;
        const lengths = this.fieldLengths[f]!;
        // Exactly MiniSearch's calcBM25Score, operation for operation ...
        const invDocFreq = Math.log(1 + (total - matching + 0.5) / (matching + 0.5));
        for (const [shortId, termFreq] of freqs) {
          const fieldLength = lengths[shortId]!;
          const score = invDocFreq * (d + (termFreq * (k + 1)) / (termFreq + k * (1 - b + (b * fieldLength) / avg)));
          const doc = this.shortToIndex[shortId]!;
          // ... summed over the fields in field order (MiniSearch's termResults).
          if (termStamp[doc] === stamp) termScore[doc] = termScore[doc]! + score;
          else {
            termStamp[doc] = stamp;
            termScore[doc] = score;
            docs.push(doc);
          }
        }
      }
      result = { docs: Int32Array.from(docs), scores: Float64Array.from(docs, (doc) => termScore[doc]!) };
    }
    this.cache.set(term, result);
    return result;
  }

  search(terms: readonly string[], k: number): { i: number; score: number }[] {
    const { acc, matched, touched } = this;
    let nTouched = 0;
    const seen = new Set<string>();
    for (const term of terms) {
      const postings = this.postings(term);
      const first = !seen.has(term);
      seen.add(term);
      if (!postings) continue;
      const { docs, scores } = postings;
      // Term scores are added to each document's total (MiniSearch's OR combination); a repeated
      // query term adds its score again but counts once towards the matched-terms factor.
      for (let j = 0; j < docs.length; j++) {
        const doc = docs[j]!;
        if (matched[doc] === 0) {
          touched[nTouched++] = doc;
          acc[doc] = scores[j]!;
          matched[doc] = 1;
        } else {
          acc[doc] = acc[doc]! + scores[j]!;
          if (first) matched[doc] = matched[doc]! + 1;
        }
      }
    }
    // Top k by score × distinct query terms matched; ties in corpus order.
    const want = Math.min(k, nTouched);
    const heapScores = new Float64Array(want);
    const heapDocs = new Int32Array(want);
    let size = 0;
    const worse = (s1: number, d1: number, s2: number, d2: number) => s1 < s2 || (s1 === s2 && d1 > d2);
    for (let t = 0; t < nTouched; t++) {
      const doc = touched[t]!;
      const score = acc[doc]! * matched[doc]!;
      matched[doc] = 0;
      if (want === 0) continue;
      if (size < want) {
        let i = size++;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (!worse(score, doc, heapScores[parent]!, heapDocs[parent]!)) break;
          heapScores[i] = heapScores[parent]!;
          heapDocs[i] = heapDocs[parent]!;
          i = parent;
        }
        heapScores[i] = score;
        heapDocs[i] = doc;
      } else if (worse(heapScores[0]!, heapDocs[0]!, score, doc)) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= size) break;
          const r = l + 1;
          const c = r < size && worse(heapScores[r]!, heapDocs[r]!, heapScores[l]!, heapDocs[l]!) ? r : l;
          if (!worse(heapScores[c]!, heapDocs[c]!, score, doc)) break;
          heapScores[i] = heapScores[c]!;
          heapDocs[i] = heapDocs[c]!;
          i = c;
        }
        heapScores[i] = score;
        heapDocs[i] = doc;
      }
    }
    const out = Array.from({ length: size }, (_, j) => ({ i: heapDocs[j]!, score: heapScores[j]! }));
    return out.sort((x, y) => y.score - x.score || x.i - y.i);
  }
}
