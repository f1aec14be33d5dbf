// Dense retrieval: passages embedded once, indexed (exact scan or HNSW) and persisted under
// <cache>/dense/<key>/, where the key hashes the corpus, the embedding model's files and recipe,
// and the index parameters. A later run with the same key loads the index instead of embedding
// the corpus again; a changed corpus, model, recipe or parameter gives another key (a new build).
//
// A persisted index found under its key that cannot be used (damaged files, or a meta.json naming
// another model, dimension or corpus than its key promises, e.g. a folder copied by hand) is a
// cache fault, not a user error: in `build` mode it is rebuilt with a warning, since the corpus and
// the model are at hand to make it again. In `verify` mode (`ragtax index --verify`) nothing is
// built: a missing or unusable index is an InputError that says why.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Doc, Retriever, ScoredDoc } from '../types.js';
import type { Embedder } from './embedder.js';
import {
  AUTO_EXACT_BELOW,
  checkIndex,
  DEFAULT_HNSW,
  ExactIndex,
  HnswIndex,
  IndexProblem,
  loadIndex,
  saveIndex,
  type ExpectedIndex,
  type HnswParams,
  type IndexKind,
  type VectorIndex,
} from './vector-index.js';

/**
 * Verify errors end in "build it with `ragtax index <suite.yaml>`": this module does not know the
 * suite; `ragtax index --verify` puts its path in place of the placeholder.
 */

/** Changes when the passage text given to the embedder changes. */
const PASSAGE_FORMAT = 1;
const QUERY_MEMO_LIMIT = 100_000;

export type DenseStage = 'embed' | 'index';

export interface DenseOptions {
  /** `auto` (default): exact below 20,000 documents, HNSW from there. */
  index?: 'auto' | IndexKind;
  hnsw?: Partial<HnswParams>;
  /** Folder of persisted indexes (e.g. cacheRoot()/dense); without it the index lives in memory only. */
  cacheDir?: string;
  /** `build` (default) builds what is missing; `verify` only loads, and fails when it cannot. */
  mode?: 'build' | 'verify';
  /** The command that rebuilds the index, for verify's messages (default `ragtax index <suite.yaml>`). */
  rebuildCommand?: string;
  onProgress?: (stage: DenseStage, done: number, total: number) => void;
  /** Called for an index that was rebuilt (default: console.warn). */
  onWarning?: (message: string) => void;
}

export interface DenseRetriever extends Retriever {
  readonly name: 'dense';
  readonly kind: IndexKind;
  readonly loadedFromCache: boolean;
  /** The index folder, or null without a cacheDir. */
  readonly indexPath: string | null;
  readonly size: number;
  readonly dim: number;
  /** Bytes of the persisted data file (0 in memory). */
  readonly indexBytes: number;
  /** Time spent embedding and indexing in this call (0 when loaded). */
  readonly buildSeconds: number;
  /** Raw vector search, for benchmarks and tests. */
  readonly index: VectorIndex;
}

/** The text embedded for a passage. */
export function passageText(doc: Doc): string {
  return doc.title ? `${doc.title} ${doc.text}` : doc.text;
}

export function corpusHash(corpus: readonly Doc[]): string {
  const hash = createHash('sha256');
  hash.update(`ragtax-corpus/${PASSAGE_FORMAT}`);
  for (const doc of corpus) hash.update(`\u0001${doc.id}\u0000${doc.title}\u0000${doc.text}`);
  return hash.digest('hex');
}

export function chooseKind(index: DenseOptions['index'], corpusSize: number): IndexKind {
  if (index === 'exact' || index === 'hnsw') return index;
  return corpusSize < AUTO_EXACT_BELOW ? 'exact' : 'hnsw';
}

/** The folder name of an index: corpus × model × index parameters. */
export function denseIndexKey(corpus: string, model: string, kind: IndexKind, hnsw: HnswParams): string {
  const params = kind === 'hnsw' ? { m: hnsw.m, efConstruction: hnsw.efConstruction } : {};
  return createHash('sha256').update(JSON.stringify({ v: 1, corpus, model, kind, params })).digest('hex').slice(0, 32);
}

export async function createDenseRetriever(corpus: Doc[], embedder: Embedder, opts: DenseOptions = {}): Promise<DenseRetriever> {
  if (corpus.length === 0) throw new InputError('dense retrieval needs a corpus with at least one document');
  const warn = opts.onWarning ?? ((message: string) => console.warn(`warning: ${message}`));
  const hnsw: HnswParams = { ...DEFAULT_HNSW, ...opts.hnsw };
  for (const [name, value] of Object.entries(hnsw)) {
    if (!Number.isInteger(value) || value < 1) throw new InputError(`dense index parameter ${name} must be a whole number ≥ 1, got ${value}`);
  }
  const kind = chooseKind(opts.index, corpus.length);
  const corpusId = corpusHash(corpus);
  const expected: ExpectedIndex = { kind, dim: embedder.dim, count: corpus.length, model: embedder.fingerprint, corpus: corpusId, hnsw };
  const folder = opts.cacheDir ? path.join(opts.cacheDir, denseIndexKey(corpusId, embedder.fingerprint, kind, hnsw)) : null;

  let index: VectorIndex | null = null;
  let indexBytes = 0;
  if (folder) {
    try {
      const meta = await checkIndex(folder, expected);
      index = await loadIndex(folder, meta, hnsw.efSearch);
      indexBytes = meta.dataBytes;
    } catch (err) {
      if (!(err instanceof IndexProblem)) throw err;
      if (opts.mode === 'verify') {
        const what = err.reason === 'missing' ? 'is missing; build' : `cannot be used (${err.reason}): ${err.message}; rebuild`;
        throw new InputError(`the dense index ${folder} for this corpus and embedding model ${what} it with \`${opts.rebuildCommand ?? 'ragtax index <suite.yaml>'}\``);
      }
      if (err.reason !== 'missing') warn(`dense index ${folder} cannot be used (${err.reason}: ${err.message}); rebuilding it`);
    }
  } else if (opts.mode === 'verify') {
    throw new InputError(`verify needs a cache directory holding the dense index; build it with \`${opts.rebuildCommand ?? 'ragtax index <suite.yaml>'}\``);
  }

  const loadedFromCache = index !== null;
  let buildSeconds = 0;
  if (!index) {
    const started = performance.now();
    const vectors = await embedder.embed(corpus.map(passageText), 'passage', (done, total) => opts.onProgress?.('embed', done, total));
    index =
      kind === 'exact'
        ? new ExactIndex(vectors, embedder.dim)
        : await HnswIndex.build(vectors, embedder.dim, hnsw, (done, total) => opts.onProgress?.('index', done, total));
    buildSeconds = (performance.now() - started) / 1000;
    if (folder) {
      const meta = await saveIndex(folder, index, {
        kind,
        dim: embedder.dim,
        count: corpus.length,
        model: embedder.fingerprint,
        corpus: corpusId,
        ...(kind === 'hnsw' ? { hnsw: { m: hnsw.m, efConstruction: hnsw.efConstruction } } : {}),
        createdAt: new Date().toISOString(),
        buildSeconds,
      });
      indexBytes = meta.dataBytes;
    }
  } else {
    opts.onProgress?.('index', corpus.length, corpus.length);
  }
  const ready = index;

  // Contexts ask for the same questions at several depths: embed each question once.
  const memo = new Map<string, Float32Array>();
  async function queryVectors(queries: string[]): Promise<Float32Array[]> {
    const missing = [...new Set(queries.filter((q) => !memo.has(q)))];
    if (missing.length > 0) {
      const vectors = await embedder.embed(missing, 'query');
      if (memo.size + missing.length > QUERY_MEMO_LIMIT) memo.clear();
      missing.forEach((q, i) => memo.set(q, vectors.slice(i * embedder.dim, (i + 1) * embedder.dim)));
    }
    return queries.map((q) => memo.get(q)!);
  }

  return {
    name: 'dense',
    kind,
    loadedFromCache,
    indexPath: folder,
    size: corpus.length,
    dim: embedder.dim,
    indexBytes,
    buildSeconds,
    index: ready,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      const vectors = await queryVectors(queries);
      return vectors.map((v) => {
        const { ids, scores } = ready.search(v, k);
        return Array.from(ids, (id, i) => ({ doc: corpus[id]!, score: scores[i]! }));
      });
    },
    // The embedder belongs to whoever opened it (retrievers.ts frees it with the retriever).
    dispose: async () => {
      memo.clear();
    },
  };
}
