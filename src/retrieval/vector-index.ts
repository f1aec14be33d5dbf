// Vector indexes for dense retrieval: an exact inner-product scan over one Float32Array, and HNSW
// (hnswlib-node, inner-product space). Both return corpus positions best first, ties in corpus
// order. Persisted indexes live in one folder each: `meta.json` (what the index is: kind,
// dimension, count, parameters, the model and corpus it was made from, the data file's sha256)
// and the data file (`vectors.f32` or `hnsw.bin`). The folder is written under a temporary name
// and renamed into place, so a reader never sees half an index. hnswlib reads a file of another
// dimension without complaint and aborts on some corrupt files, so the meta and the checksum are
// checked before the native reader ever sees the file.
import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { makeDirectory } from '../util/atomic-write.js';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { messageOf, RuntimeFailure } from '../errors.js';
import { sha256File } from '../util/hash.js';

// hnswlib-node is a CommonJS native addon; load it on first use so BM25-only runs never pay for it.
const require = createRequire(import.meta.url);
type HnswModule = typeof import('hnswlib-node');
let hnswModule: HnswModule | undefined;
function hnsw(): HnswModule {
  hnswModule ??= require('hnswlib-node') as HnswModule;
  return hnswModule;
}

export type IndexKind = 'exact' | 'hnsw';

export interface HnswParams {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 200, efSearch: 128 };
/** hnswlib's level generator seed: the same vectors always give the same graph. */
const HNSW_SEED = 100;
/** Corpora below this many documents get an exact index under `index: auto`. */
export const AUTO_EXACT_BELOW = 20_000;

export interface VectorHits {
  /** Corpus positions, best first. */
  ids: Int32Array;
  /** Inner products, same order. */
  scores: Float32Array;
}

export interface VectorIndex {
  readonly kind: IndexKind;
  readonly dim: number;
  readonly size: number;
  /** Top-k positions by inner product with `query` (k is capped at the index size). */
  search(query: Float32Array, k: number): VectorHits;
  /** Writes the data file into `folder` and returns its name. */
  writeData(folder: string): Promise<string>;
}

/** Everything that identifies an index; compared field by field when it is read back. */
export interface IndexMeta {
  format: 'ragtax-dense/1';
  kind: IndexKind;
  dim: number;
  count: number;
  /** Identity of the embedding model and recipe (see embedder.ts). */
  model: string;
  /** Identity of the corpus (ids and texts, in order). */
  corpus: string;
  hnsw?: { m: number; efConstruction: number };
  dataFile: string;
  dataSha256: string;
  dataBytes: number;
  createdAt: string;
  buildSeconds: number;
}

// ---------------------------------------------------------------- top-k selection

/** Keeps the k best (score, position) pairs; ties prefer the lower position. A binary min-heap on "worse". */
class TopK {
  private readonly scores: Float32Array;
  private readonly ids: Int32Array;
  private n = 0;
  constructor(private readonly k: number) {
    this.scores = new Float32Array(k);
    this.ids = new Int32Array(k);
  }

  /** a is worse than b */
  private worse(i: number, j: number): boolean {
    const a = this.scores[i]!;
    const b = this.scores[j]!;
    return a < b || (a === b && this.ids[i]! > this.ids[j]!);
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i]!;
    this.scores[i] = this.scores[j]!;
    this.scores[j] = s;
    const d = this.ids[i]!;
    this.ids[i] = this.ids[j]!;
    this.ids[j] = d;
  }

  /** The worst score kept, or -Infinity while not full (a cheap pre-filter for the scan). */
  get threshold(): number {
    return this.n < this.k ? -Infinity : this.scores[0]!;
  }

  push(score: number, id: number): void {
    if (this.k === 0) return;
    if (this.n < this.k) {
      let i = this.n++;
      this.scores[i] = score;
      this.ids[i] = id;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return;
    }
    const root = this.scores[0]!;
    if (score < root || (score === root && id > this.ids[0]!)) return;
    this.scores[0] = score;
    this.ids[0] = id;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.n && this.worse(l, m)) m = l;
      if (r < this.n && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  /** Best first. */
  result(): VectorHits {
    const order = Array.from({ length: this.n }, (_, i) => i).sort(
      (a, b) => this.scores[b]! - this.scores[a]! || this.ids[a]! - this.ids[b]!,
    );
    return { ids: Int32Array.from(order, (i) => this.ids[i]!), scores: Float32Array.from(order, (i) => this.scores[i]!) };
  }
}

// ---------------------------------------------------------------- exact

/** Brute-force inner product over a row-major n × dim matrix. */
export class ExactIndex implements VectorIndex {
  readonly kind = 'exact' as const;
  readonly size: number;
  constructor(
    readonly vectors: Float32Array,
    readonly dim: number,
  ) {
    if (dim < 1 || vectors.length % dim !== 0) throw new RuntimeFailure(`exact index: ${vectors.length} values are not rows of ${dim}`);
    this.size = vectors.length / dim;
  }

  search(query: Float32Array, k: number): VectorHits {
    const { vectors, dim, size } = this;
    if (query.length !== dim) throw new RuntimeFailure(`query has dimension ${query.length}, the index ${dim}`);
    const top = new TopK(Math.min(Math.max(0, k), size));
    for (let row = 0, base = 0; row < size; row++, base += dim) {
      let dot = 0;
      let j = 0;
      // Unrolled by 4: V8 keeps the accumulators in registers.
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (; j + 3 < dim; j += 4) {
        dot += vectors[base + j]! * query[j]!;
        d1 += vectors[base + j + 1]! * query[j + 1]!;
        d2 += vectors[base + j + 2]! * query[j + 2]!;
        d3 += vectors[base + j + 3]! * query[j + 3]!;
      }
      for (; j < dim; j++) dot += vectors[base + j]! * query[j]!;
      dot += d1 + d2 + d3;
      const score = Math.fround(dot);
      if (score >= top.threshold) top.push(score, row);
    }
    return top.result();
  }

  async writeData(folder: string): Promise<string> {
    const name = 'vectors.f32';
    await writeFile(path.join(folder, name), new Uint8Array(this.vectors.buffer, this.vectors.byteOffset, this.vectors.byteLength));
    return name;
  }

  static async read(file: string, dim: number): Promise<ExactIndex> {
    const bytes = await readFile(file);
    // Copy into an aligned buffer: a Buffer's offset into Node's pool need not be a multiple of 4.
    const vectors = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(vectors.buffer).set(bytes);
    return new ExactIndex(vectors, dim);
  }
}

// ---------------------------------------------------------------- HNSW

type Hnsw = InstanceType<HnswModule['HierarchicalNSW']>;

export class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  private ef: number;
  private constructor(
    private readonly index: Hnsw,
    readonly dim: number,
    readonly size: number,
    efSearch: number,
  ) {
    this.ef = efSearch;
    index.setEf(efSearch);
  }

  /** Adds the rows in chunks, yielding to the event loop between them so progress can be shown. */
  static async build(
    vectors: Float32Array,
    dim: number,
    params: HnswParams,
    onProgress?: (done: number, total: number) => void,
  ): Promise<HnswIndex> {
    const size = vectors.length / dim;
    const index = new (hnsw().HierarchicalNSW)('ip', dim);
    index.initIndex({ maxElements: Math.max(1, size), m: params.m, efConstruction: params.efConstruction, randomSeed: HNSW_SEED });
    const chunk = 1000;
    for (let start = 0; start < size; start += chunk) {
      const end = Math.min(size, start + chunk);
      for (let row = start; row < end; row++) index.addPoint(Array.from(vectors.subarray(row * dim, (row + 1) * dim)), row);
      onProgress?.(end, size);
      await yieldToEventLoop();
    }
    return new HnswIndex(index, dim, size, params.efSearch);
  }

  static read(file: string, dim: number, size: number, efSearch: number): HnswIndex {
    const index = new (hnsw().HierarchicalNSW)('ip', dim);
    try {
      index.readIndexSync(file);
    } catch (err) {
      throw new RuntimeFailure(`cannot read the HNSW index ${file}: ${messageOf(err)}`);
    }
    if (index.getCurrentCount() !== size) throw new RuntimeFailure(`HNSW index ${file} holds ${index.getCurrentCount()} vectors, expected ${size}`);
    return new HnswIndex(index, dim, size, efSearch);
  }

  /** The search-time candidate list size (at least k at each search). */
  setEf(ef: number): void {
    this.ef = ef;
  }

  search(query: Float32Array, k: number): VectorHits {
    if (query.length !== this.dim) throw new RuntimeFailure(`query has dimension ${query.length}, the index ${this.dim}`);
    const n = Math.min(Math.max(0, k), this.size);
    if (n === 0) return { ids: new Int32Array(0), scores: new Float32Array(0) };
    this.index.setEf(Math.max(this.ef, n));
    const { neighbors, distances } = this.index.searchKnn(Array.from(query), n);
    // 'ip' distance is 1 − dot.
    const order = neighbors.map((_, i) => i).sort((a, b) => distances[a]! - distances[b]! || neighbors[a]! - neighbors[b]!);
    return {
      ids: Int32Array.from(order, (i) => neighbors[i]!),
      scores: Float32Array.from(order, (i) => 1 - distances[i]!),
    };
  }

  async writeData(folder: string): Promise<string> {
    const name = 'hnsw.bin';
    await this.index.writeIndex(path.join(folder, name));
    return name;
  }
}

// ---------------------------------------------------------------- persistence

/** Writes `index` and its meta into `folder` atomically (temp folder + rename). */
export async function saveIndex(folder: string, index: VectorIndex, meta: Omit<IndexMeta, 'dataFile' | 'dataSha256' | 'dataBytes' | 'format'>): Promise<IndexMeta> {
  const temp = `${folder}.${process.pid}.${Date.now()}.tmp`;
  try {
    makeDirectory(temp, { label: 'dense index folder ' });
    const dataFile = await index.writeData(temp);
    const full = path.join(temp, dataFile);
    const written: IndexMeta = {
      format: 'ragtax-dense/1',
      ...meta,
      dataFile,
      dataSha256: await sha256File(full),
      dataBytes: (await stat(full)).size,
    };
    await writeFile(path.join(temp, 'meta.json'), `${JSON.stringify(written, null, 1)}\n`);
    await rm(folder, { recursive: true, force: true }); // a corrupt index being replaced
    await rename(temp, folder);
    return written;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (existsSync(path.join(folder, 'meta.json'))) return JSON.parse(await readFile(path.join(folder, 'meta.json'), 'utf8')) as IndexMeta; // a concurrent writer won
    throw new RuntimeFailure(`cannot write the dense index to ${folder}: ${messageOf(err)}`);
  }
}

/** Why a persisted index cannot be used. `missing`: there is none; the others: it is not the one asked for, or damaged. */
export class IndexProblem extends Error {
  constructor(
    readonly reason: 'missing' | 'corrupt' | 'dimension' | 'model' | 'corpus' | 'parameters',
    message: string,
  ) {
    super(message);
  }
}

export interface ExpectedIndex {
  kind: IndexKind;
  dim: number;
  count: number;
  model: string;
  corpus: string;
  hnsw?: HnswParams;
}

/** Reads and checks meta.json (and the data file's size and checksum) without loading the index. */
export async function checkIndex(folder: string, expected: ExpectedIndex): Promise<IndexMeta> {
  const metaFile = path.join(folder, 'meta.json');
  let meta: IndexMeta;
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8')) as IndexMeta;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new IndexProblem('missing', `no dense index at ${folder}`);
    throw new IndexProblem('corrupt', `${metaFile} is unreadable (${messageOf(err)})`);
  }
  if (meta?.format !== 'ragtax-dense/1' || typeof meta.dataFile !== 'string' || meta.dataFile.includes('/')) {
    throw new IndexProblem('corrupt', `${metaFile} is not a ragtax dense index description`);
  }
  if (meta.model !== expected.model) {
    throw new IndexProblem('model', `${folder} was built with another embedding model or recipe (index model ${meta.model.slice(0, 12)}…, expected ${expected.model.slice(0, 12)}…)`);
  }
  if (meta.dim !== expected.dim) {
    throw new IndexProblem('dimension', `${folder} holds ${meta.dim}-dimensional vectors but the embedding model gives ${expected.dim}`);
  }
  if (meta.corpus !== expected.corpus || meta.count !== expected.count) {
    throw new IndexProblem('corpus', `${folder} was built from another corpus (${meta.count} documents; this corpus has ${expected.count})`);
  }
  if (meta.kind !== expected.kind || (expected.kind === 'hnsw' && (meta.hnsw?.m !== expected.hnsw?.m || meta.hnsw?.efConstruction !== expected.hnsw?.efConstruction))) {
    throw new IndexProblem('parameters', `${folder} is a ${meta.kind} index with other parameters than asked for`);
  }
  const data = path.join(folder, meta.dataFile);
  let bytes: number;
  try {
    bytes = (await stat(data)).size;
  } catch {
    throw new IndexProblem('corrupt', `${data} is missing`);
  }
  if (bytes !== meta.dataBytes) throw new IndexProblem('corrupt', `${data} has ${bytes} bytes, its meta.json says ${meta.dataBytes}`);
  if (meta.kind === 'exact' && bytes !== meta.count * meta.dim * 4) throw new IndexProblem('corrupt', `${data} does not hold ${meta.count} × ${meta.dim} floats`);
  if ((await sha256File(data)) !== meta.dataSha256) throw new IndexProblem('corrupt', `${data} does not match the checksum in its meta.json`);
  return meta;
}

/** Loads an index that `checkIndex` accepted. */
export async function loadIndex(folder: string, meta: IndexMeta, efSearch: number): Promise<VectorIndex> {
  const data = path.join(folder, meta.dataFile);
  try {
    return meta.kind === 'exact' ? await ExactIndex.read(data, meta.dim) : HnswIndex.read(data, meta.dim, meta.count, efSearch);
  } catch (err) {
    throw new IndexProblem('corrupt', messageOf(err));
  }
}
