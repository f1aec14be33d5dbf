// ragtax's BM25 engine: Okapi BM25 as Lucene's BM25Similarity computes it, over a compact postings
// file. Built with bounded memory (postings are collected in a fixed-size buffer, spilled to disk as
// sorted runs and concatenated term by term at the end); searched document-at-a-time with MaxScore,
// reading a term's postings from the file only when a query needs it (an LRU cache keeps recent
// ones). Scores are exact: pruning only skips documents that provably cannot enter the top k.
//
// File layout (little-endian; offsets in bytes; `ragtax-bm25/2`):
//   header (128 B): magic, documents N, documents with ≥ 1 token, total tokens, vocabulary V, the
//                   offsets and sizes of the sections, crc32 of lengths + dictionary, crc32 of itself
//   lengths:        Uint32 × N, each document's token count (exact; Lucene's quantisation is applied
//                   when scoring, so `lengths: exact` needs no other index)
//   postings:       per term: Int32 document numbers (ascending) × df, Uint16 term frequencies × df
//                   (saturated at 65,535), padded to 4 bytes
//   dictionary:     Float64 block offset × V, Uint32 term end × V, Uint32 df × V, Uint32 crc32 of each
//                   64 KiB page of the postings, then the terms' UTF-8 bytes, sorted (JavaScript
//                   string order) for binary search
// The small sections are checked when the file is opened, a postings page when it is first read,
// everything by verify().
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { RagtaxError, RuntimeFailure } from '../errors.js';
import { HeapGuard } from '../runtime/heap-guard.js';
import { writeFailure } from '../util/atomic-write.js';
import { tokenize } from './tokenize.js';

export const DISK_FORMAT = 'ragtax-bm25/2';
const MAGIC = Buffer.from('ragtax-bm25/2\n\0\0', 'latin1'); // 16 bytes
const HEADER_BYTES = 128;
const MAX_TF = 65535;

/** How a document's length enters the score. */
export type LengthMode = 'lucene' | 'exact';

/** The query-time BM25 parameters (the index does not depend on them). */
export interface LuceneScoring {
  k1: number;
  b: number;
  /** `lucene`: lengths as Lucene stores them (one byte, SmallFloat.intToByte4); `exact`: token counts as they are. */
  lengths: LengthMode;
}

// ---------------------------------------------------------------- Lucene's length quantisation

/** Lucene's SmallFloat.longToInt4: 4 significant bits (the top one implicit) and a 4-bit shift. */
function longToInt4(i: number): number {
  const numBits = i === 0 ? 0 : Math.floor(Math.log2(i)) + 1;
  if (numBits < 4) return i; // subnormal
  const shift = numBits - 4;
  let encoded = Math.floor(i / 2 ** shift) & 0x07; // the top bit is implicit
  encoded |= (shift + 1) << 3;
  return encoded;
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

const NUM_FREE_VALUES = 255 - longToInt4(2 ** 31 - 1); // 24: lengths below it are stored exactly

/** Lucene's SmallFloat.intToByte4: the norm byte BM25Similarity stores for a length. */
export function intToByte4(length: number): number {
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

/** Lucene's BM25Similarity.LENGTH_TABLE: the length a norm byte stands for. */
export const LENGTH_TABLE: Float64Array = Float64Array.from({ length: 256 }, (_, b) =>
  b < NUM_FREE_VALUES ? b : Math.min(NUM_FREE_VALUES + int4ToLong(b - NUM_FREE_VALUES), 2 ** 31 - 1),
);

// ---------------------------------------------------------------- small file helpers

const align = (n: number, to: number) => Math.ceil(n / to) * to;

const PAGE = 1 << 16;

/**
 * A buffered sequential writer over a file descriptor. From `trackPages(start)` on, it keeps the
 * crc32 of every PAGE bytes after `start` (computed per flush, so not per small write).
 */
class Writer {
  private readonly buffer = Buffer.allocUnsafe(1 << 22);
  private used = 0;
  position: number;
  private pageStart = -1;
  private pageCrc = 0;
  private pageFill = 0;
  private readonly pages: number[] = [];
  constructor(
    private readonly fd: number,
    start: number,
  ) {
    this.position = start;
  }
  write(bytes: Uint8Array): void {
    if (bytes.length > this.buffer.length - this.used) this.flush();
    if (bytes.length >= this.buffer.length) {
      this.writeAt(bytes, this.position);
      this.position += bytes.length;
      return;
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
    this.position += bytes.length;
  }
  pad(to: number): void {
    const n = align(this.position, to) - this.position;
    if (n > 0) this.write(new Uint8Array(n));
  }
  flush(): void {
    if (this.used === 0) return;
    this.writeAt(this.buffer.subarray(0, this.used), this.position - this.used);
    this.used = 0;
  }
  trackPages(): void {
    this.flush();
    this.pageStart = this.position;
  }
  /** The page checksums of everything written since trackPages(), the last page possibly short. */
  finishPages(): Uint32Array {
    this.flush();
    if (this.pageFill > 0) this.pages.push(this.pageCrc);
    this.pageStart = -1;
    return Uint32Array.from(this.pages);
  }
  private writeAt(bytes: Uint8Array, at: number): void {
    if (this.pageStart >= 0) {
      for (let off = 0; off < bytes.length; ) {
        const n = Math.min(PAGE - this.pageFill, bytes.length - off);
        this.pageCrc = crc32(bytes.subarray(off, off + n), this.pageCrc);
        this.pageFill += n;
        off += n;
        if (this.pageFill === PAGE) {
          this.pages.push(this.pageCrc);
          this.pageCrc = 0;
          this.pageFill = 0;
        }
      }
    }
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, at + done);
  }
}

/** `length` bytes of `fd` from `position` into a fresh (so aligned) ArrayBuffer. */
function readAt(fd: number, position: number, length: number): ArrayBuffer {
  const out = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new CorruptIndex('it ends before its data does');
    done += n;
  }
  return out.buffer;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A growable Uint32Array (vocabulary-sized arrays grow as terms appear). */
function grow<T extends Uint32Array | Int32Array>(array: T, need: number): T {
  if (need <= array.length) return array;
  const next = new (array.constructor as new (n: number) => T)(Math.max(need, array.length * 2));
  next.set(array);
  return next;
}

/** A damaged index file; `Bm25DiskIndex` users rebuild (or, verifying, report) it. */
export class CorruptIndex extends Error {}

/** Allocation failures (a typed array or Buffer too large for the memory left) as one ragtax line. */
function outOfMemory(what: string, error: unknown): unknown {
  if (error instanceof RangeError && /allocat|Array buffer|Invalid typed array length|memory/i.test(error.message)) {
    return new RuntimeFailure(`out of memory ${what} (${error.message}); free memory or use a smaller corpus`);
  }
  return error;
}

// ---------------------------------------------------------------- building

export interface BuildOptions {
  stopwords: ReadonlySet<string>;
  /** Postings held in memory before a sorted run is spilled to disk (default 8M, about 80 MB). */
  runPostings?: number;
  onProgress?: (done: number) => void;
}

export interface BuildStats {
  documents: number;
  vocabulary: number;
  postings: number;
  runs: number;
  bytes: number;
}

/**
 * A run: its terms (ascending ids), their posting counts, and their postings, in memory (the last
 * run) or in `file` (documents, frequencies, then terms and counts, so that memory does not grow
 * with the number of runs).
 */
interface Run {
  terms?: Uint32Array;
  counts?: Uint32Array;
  docs?: Int32Array;
  tfs?: Uint16Array;
  file?: string;
  postings: number;
  distinct: number;
}

/** Sequential reads of fixed-size elements from one region of a file, through a 4 MB buffer. */
class SequentialReader {
  private buffer = new Uint8Array(0);
  private at = 0; // in buffer
  private next: number; // file position of the next refill
  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
  ) {
    this.next = start;
  }
  /** The next `bytes` bytes: a view of the buffer (valid until the next call) or a copy. */
  take(bytes: number): Uint8Array {
    if (this.buffer.length - this.at >= bytes) {
      this.at += bytes;
      return this.buffer.subarray(this.at - bytes, this.at);
    }
    const out = new Uint8Array(bytes);
    let done = 0;
    while (done < bytes) {
      if (this.at === this.buffer.length) {
        const length = Math.min(1 << 22, this.end - this.next);
        if (length <= 0) throw new Error('a spilled run ended early');
        this.buffer = new Uint8Array(readAt(this.fd, this.next, length));
        this.next += length;
        this.at = 0;
      }
      const n = Math.min(bytes - done, this.buffer.length - this.at);
      out.set(this.buffer.subarray(this.at, this.at + n), done);
      this.at += n;
      done += n;
    }
    return out;
  }
}

/** A run's postings, term by term in term order: how many the next term has, and their bytes. */
class RunReader {
  private term = 0;
  private at = 0;
  private readonly fd: number | null;
  private readonly docs: SequentialReader | null = null;
  private readonly tfs: SequentialReader | null = null;
  private readonly termIds: SequentialReader | null = null;
  private readonly termCounts: SequentialReader | null = null;
  private readonly docBytes: Uint8Array | null = null;
  private readonly tfBytes: Uint8Array | null = null;
  /** The current term and its count (-1: none left). */
  private currentTerm = -1;
  private currentCount = 0;
  constructor(private readonly run: Run) {
    this.fd = run.file ? openSync(run.file, 'r') : null;
    if (this.fd !== null) {
      const p = run.postings;
      const termsAt = align(p * 6, 4);
      this.docs = new SequentialReader(this.fd, 0, p * 4);
      this.tfs = new SequentialReader(this.fd, p * 4, p * 6);
      this.termIds = new SequentialReader(this.fd, termsAt, termsAt + run.distinct * 4);
      this.termCounts = new SequentialReader(this.fd, termsAt + run.distinct * 4, termsAt + run.distinct * 8);
    } else {
      this.docBytes = bytesOf(run.docs!);
      this.tfBytes = bytesOf(run.tfs!);
    }
    this.load();
  }
  private load(): void {
    if (this.term >= this.run.distinct) {
      this.currentTerm = -1;
      return;
    }
    if (this.termIds && this.termCounts) {
      const id = this.termIds.take(4);
      const count = this.termCounts.take(4);
      this.currentTerm = id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24);
      this.currentCount = (count[0]! | (count[1]! << 8) | (count[2]! << 16) | (count[3]! << 24)) >>> 0;
    } else {
      this.currentTerm = this.run.terms![this.term]!;
      this.currentCount = this.run.counts![this.term]!;
    }
  }
  /** The number of postings of `termId` in this run (0 when none). */
  count(termId: number): number {
    return this.currentTerm === termId ? this.currentCount : 0;
  }
  /** Writes the document numbers of the current term's n postings. */
  writeDocs(w: Writer, n: number): void {
    w.write(this.docs ? this.docs.take(n * 4) : this.docBytes!.subarray(this.at * 4, (this.at + n) * 4));
  }
  /** Writes their frequencies, and moves on to the next term. */
  writeTfs(w: Writer, n: number): void {
    w.write(this.tfs ? this.tfs.take(n * 2) : this.tfBytes!.subarray(this.at * 2, (this.at + n) * 2));
    this.at += n;
    this.term++;
    this.load();
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
  }
}

/**
 * Builds the index of `docs` (corpus order = document numbers) into `file`, atomically: through a
 * temporary name and a rename, its spilled runs in a temporary folder beside it, removed at the end.
 * Memory: the run buffer, the vocabulary (a Map of the distinct terms) and 4 bytes per document.
 */
export async function buildDiskIndex(docs: Iterable<{ title: string; text: string }> | AsyncIterable<{ title: string; text: string }>, file: string, options: BuildOptions): Promise<BuildStats> {
  const stamp = `${process.pid}.${Date.now()}`;
  const temp = `${file}.${stamp}.tmp`;
  const runsDir = `${file}-runs.${stamp}.tmp`;
  try {
    return await build(docs, file, temp, runsDir, options);
  } catch (error) {
    rmSync(temp, { force: true });
    throw outOfMemory(`building the BM25 index ${file}`, writeFailure(file, error));
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
}

type DocumentSource = Iterable<{ title: string; text: string }> | AsyncIterable<{ title: string; text: string }>;

async function build(docs: DocumentSource, file: string, temp: string, runsDir: string, options: BuildOptions): Promise<BuildStats> {
  const progress = { documentsRead: 0 };
  // The build's own memory is bounded, but the vocabulary grows with the corpus.
  const heapGuard = new HeapGuard(() => `building the BM25 index ${file} after ${progress.documentsRead} documents`);
  try {
    return await buildGuarded(docs, file, temp, runsDir, options, heapGuard, progress);
  } finally {
    heapGuard.close();
  }
}

async function buildGuarded(
  docs: DocumentSource,
  file: string,
  temp: string,
  runsDir: string,
  options: BuildOptions,
  heapGuard: HeapGuard,
  progress: { documentsRead: number },
): Promise<BuildStats> {
  const capacity = options.runPostings ?? 8_000_000;
  const dictionary = new Map<string, number>();
  let termStamp = new Int32Array(1 << 16).fill(-1);
  let termTf = new Uint32Array(1 << 16);
  let touched = new Uint32Array(1024);
  let lengths = new Uint32Array(1 << 16);
  let runTerm = new Uint32Array(capacity);
  let runDoc = new Int32Array(capacity);
  let runTf = new Uint16Array(capacity);
  let used = 0;
  const runs: Run[] = [];
  let totalPostings = 0;
  let totalTokens = 0;
  let withTokens = 0;
  let n = 0;

  /** Sorts the buffered postings by term (counting sort: documents stay ascending) into a run. */
  const spill = (toDisk: boolean) => {
    const vocabulary = dictionary.size;
    const counts = new Uint32Array(vocabulary);
    for (let j = 0; j < used; j++) counts[runTerm[j]!]!++;
    const starts = new Uint32Array(vocabulary);
    let distinct = 0;
    for (let t = 0, at = 0; t < vocabulary; t++) {
      starts[t] = at;
      at += counts[t]!;
      if (counts[t]! > 0) distinct++;
    }
    const terms = new Uint32Array(distinct);
    const termCounts = new Uint32Array(distinct);
    for (let t = 0, d = 0; t < vocabulary; t++) {
      if (counts[t]! > 0) {
        terms[d] = t;
        termCounts[d++] = counts[t]!;
      }
    }
    const docsSorted = new Int32Array(used);
    const tfsSorted = new Uint16Array(used);
    for (let j = 0; j < used; j++) {
      const at = starts[runTerm[j]!]!++;
      docsSorted[at] = runDoc[j]!;
      tfsSorted[at] = runTf[j]!;
    }
    const run: Run = { postings: used, distinct };
    if (toDisk) {
      mkdirSync(runsDir, { recursive: true });
      run.file = path.join(runsDir, `run-${runs.length}`);
      const fd = openSync(run.file, 'w');
      try {
        const w = new Writer(fd, 0);
        w.write(bytesOf(docsSorted));
        w.write(bytesOf(tfsSorted));
        w.pad(4);
        w.write(bytesOf(terms));
        w.write(bytesOf(termCounts));
        w.flush();
      } finally {
        closeSync(fd);
      }
    } else {
      Object.assign(run, { terms, counts: termCounts, docs: docsSorted, tfs: tfsSorted });
    }
    runs.push(run);
    used = 0;
  };

  for await (const doc of docs) {
    const terms = tokenize(`${doc.title} ${doc.text}`, options.stopwords);
    let distinct = 0;
    for (const term of terms) {
      let id = dictionary.get(term);
      if (id === undefined) {
        id = dictionary.size;
        dictionary.set(term, id);
        if (id >= termStamp.length) {
          const old = termStamp.length;
          termStamp = grow(termStamp, id + 1);
          termStamp.fill(-1, old);
          termTf = grow(termTf, id + 1);
        }
      }
      if (termStamp[id] !== n) {
        termStamp[id] = n;
        termTf[id] = 1;
        touched = grow(touched, distinct + 1);
        touched[distinct++] = id;
      } else termTf[id]!++;
    }
    if (used + distinct > runTerm.length) spill(true);
    if (distinct > runTerm.length) {
      // One document with more distinct terms than a run holds: a run of its own size.
      runTerm = new Uint32Array(distinct);
      runDoc = new Int32Array(distinct);
      runTf = new Uint16Array(distinct);
    }
    for (let j = 0; j < distinct; j++) {
      const id = touched[j]!;
      runTerm[used] = id;
      runDoc[used] = n;
      runTf[used++] = Math.min(termTf[id]!, MAX_TF);
    }
    totalPostings += distinct;
    lengths = grow(lengths, n + 1);
    lengths[n] = terms.length;
    totalTokens += terms.length;
    if (terms.length > 0) withTokens++;
    n++;
    if (n % 2000 === 0) {
      options.onProgress?.(n);
      progress.documentsRead = n;
      heapGuard.check();
      await yieldToEventLoop(); // keeps progress lines and signals responsive
    }
  }
  spill(false);
  // The buffers are not needed during the merge.
  runTerm = new Uint32Array(0);
  runDoc = new Int32Array(0);
  runTf = new Uint16Array(0);

  // Sorted dictionary: term ids in JavaScript string order (the default sort, much faster than one with a comparator).
  const termOf: string[] = new Array<string>(dictionary.size);
  for (const [term, id] of dictionary) termOf[id] = term;
  const vocabulary = termOf.length;
  const order = Uint32Array.from(termOf.slice().sort(), (term) => dictionary.get(term)!);
  dictionary.clear();

  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(temp, 'w');
  try {
    const lengthsBytes = bytesOf(lengths.subarray(0, n));
    const postingsOffset = align(HEADER_BYTES + lengthsBytes.length, 8);
    const w = new Writer(fd, HEADER_BYTES);
    w.write(lengthsBytes);
    w.pad(8);
    // Postings in term-id order: every run holds its terms ascending, so each run is read once, in order.
    const blockAt = new Float64Array(vocabulary);
    const dfs = new Uint32Array(vocabulary);
    const readers = runs.map((run) => new RunReader(run));
    const counts = new Uint32Array(readers.length);
    const zeros = new Uint8Array(4);
    w.trackPages();
    try {
      for (let t = 0; t < vocabulary; t++) {
        let df = 0;
        for (let r = 0; r < readers.length; r++) df += counts[r] = readers[r]!.count(t);
        blockAt[t] = w.position - postingsOffset;
        dfs[t] = df;
        for (let r = 0; r < readers.length; r++) if (counts[r]! > 0) readers[r]!.writeDocs(w, counts[r]!);
        for (let r = 0; r < readers.length; r++) if (counts[r]! > 0) readers[r]!.writeTfs(w, counts[r]!);
        if (df % 2 === 1) w.write(zeros.subarray(0, 2));
        if (t % 100_000 === 0) await yieldToEventLoop();
      }
    } finally {
      for (const r of readers) r.close();
    }
    const postingsBytes = w.position - postingsOffset;
    const pages = w.finishPages();
    w.pad(8);
    const dictionaryOffset = w.position;
    const sortedAt = new Float64Array(vocabulary);
    const sortedEnd = new Uint32Array(vocabulary);
    const sortedDf = new Uint32Array(vocabulary);
    const blob = Buffer.from(Array.from(order, (t) => termOf[t]!).join(''), 'utf8');
    let end = 0;
    order.forEach((t, j) => {
      sortedAt[j] = blockAt[t]!;
      end += Buffer.byteLength(termOf[t]!, 'utf8');
      sortedEnd[j] = end;
      sortedDf[j] = dfs[t]!;
    });
    let smallCrc = crc32(lengthsBytes);
    for (const part of [bytesOf(sortedAt), bytesOf(sortedEnd), bytesOf(sortedDf), bytesOf(pages), blob]) {
      smallCrc = crc32(part, smallCrc);
      w.write(part);
    }
    const dictionaryBytes = w.position - dictionaryOffset;
    w.flush();

    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(n, 16);
    header.writeUInt32LE(withTokens, 20);
    header.writeDoubleLE(totalTokens, 24);
    header.writeUInt32LE(vocabulary, 32);
    header.writeDoubleLE(HEADER_BYTES, 40);
    header.writeDoubleLE(dictionaryOffset, 48);
    header.writeDoubleLE(dictionaryBytes, 56);
    header.writeDoubleLE(postingsOffset, 64);
    header.writeDoubleLE(postingsBytes, 72);
    header.writeUInt32LE(smallCrc, 80);
    header.writeUInt32LE(pages.length, 84);
    header.writeUInt32LE(crc32(header.subarray(0, 124)), 124);
    writeSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  const bytes = fstatSafe(file);
  return { documents: n, vocabulary, postings: totalPostings, runs: runs.length, bytes };
}

function fstatSafe(file: string): number {
  const fd = openSync(file, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- searching

/** Postings per block of the block-max bounds. */
const BLOCK_SHIFT = 6;

interface Postings {
  docs: Int32Array;
  tfs: Uint16Array;
  /** max over the postings of tf / (tf + norm): the term's score bound before its idf. */
  bound: number;
  /** The same per block of 2^BLOCK_SHIFT postings. */
  blockMax: Float64Array;
  bytes: number;
}

export interface Hit {
  i: number;
  score: number;
}

/** An opened index file. `search` is synchronous; close() releases the file. */
export class Bm25DiskIndex {
  readonly documents: number;
  readonly vocabulary: number;
  /** Documents with at least one token: Lucene's docCount, the N of idf. */
  readonly documentsWithTokens: number;
  readonly averageLength: number;
  readonly fileBytes: number;
  private readonly fd: number;
  private readonly postingsOffset: number;
  private readonly postingsBytes: number;
  private readonly blockAt: Float64Array;
  private readonly termEnd: Uint32Array;
  private readonly dfs: Uint32Array;
  private readonly pageCrcs: Uint32Array;
  private readonly blob: Buffer;
  /** k1 · (1 − b + b · length / avgdl) per document. */
  private readonly norm: Float64Array;
  private readonly cache = new Map<number, Postings>();
  private cachedBytes = 0;
  private readonly verified: Uint8Array;

  private constructor(fd: number, header: Buffer, fileBytes: number, expectedDocuments: number, scoring: LuceneScoring, private readonly cacheBytes: number) {
    this.fd = fd;
    this.fileBytes = fileBytes;
    if (!header.subarray(0, 16).equals(MAGIC)) throw new CorruptIndex(`not a ragtax BM25 index file (${DISK_FORMAT}): damaged, or written by another ragtax version`);
    if (crc32(header.subarray(0, 124)) !== header.readUInt32LE(124)) throw new CorruptIndex('its header does not match its checksum');
    this.documents = header.readUInt32LE(16);
    this.documentsWithTokens = header.readUInt32LE(20);
    const totalTokens = header.readDoubleLE(24);
    this.vocabulary = header.readUInt32LE(32);
    const dictionaryOffset = header.readDoubleLE(48);
    const dictionaryBytes = header.readDoubleLE(56);
    this.postingsOffset = header.readDoubleLE(64);
    this.postingsBytes = header.readDoubleLE(72);
    if (this.documents !== expectedDocuments) throw new CorruptIndex(`holds ${this.documents} documents, expected ${expectedDocuments}`);
    if (dictionaryOffset + dictionaryBytes !== fileBytes) throw new CorruptIndex(`its size (${fileBytes} bytes) is not the ${dictionaryOffset + dictionaryBytes} its header gives`);
    const lengths = new Uint32Array(readAt(fd, HEADER_BYTES, this.documents * 4));
    const dictionary = readAt(fd, dictionaryOffset, dictionaryBytes);
    let crc = crc32(bytesOf(lengths));
    crc = crc32(new Uint8Array(dictionary), crc);
    if (crc !== header.readUInt32LE(80)) throw new CorruptIndex('its data does not match its checksum');
    const v = this.vocabulary;
    this.blockAt = new Float64Array(dictionary, 0, v);
    this.termEnd = new Uint32Array(dictionary, v * 8, v);
    this.dfs = new Uint32Array(dictionary, v * 12, v);
    const pages = header.readUInt32LE(84);
    if (pages !== Math.ceil(this.postingsBytes / PAGE)) throw new CorruptIndex(`its header gives ${pages} postings pages for ${this.postingsBytes} bytes`);
    this.pageCrcs = new Uint32Array(dictionary, v * 16, pages);
    this.blob = Buffer.from(dictionary, v * 16 + pages * 4);
    this.verified = new Uint8Array(pages);
    this.averageLength = this.documentsWithTokens > 0 ? totalTokens / this.documentsWithTokens : 1;
    const { k1, b } = scoring;
    const avgdl = this.averageLength;
    this.norm = new Float64Array(this.documents);
    if (scoring.lengths === 'lucene') {
      // Lucene's BM25Scorer cache: one value per norm byte.
      const byNorm = Float64Array.from(LENGTH_TABLE, (length) => k1 * (1 - b + (b * length) / avgdl));
      for (let i = 0; i < this.documents; i++) this.norm[i] = byNorm[intToByte4(lengths[i]!)]!;
    } else {
      for (let i = 0; i < this.documents; i++) this.norm[i] = k1 * (1 - b + (b * lengths[i]!) / avgdl);
    }
  }

  /**
   * Opens `file`, checking its header, lengths and dictionary (postings pages are checked when
   * first read). Throws CorruptIndex for a damaged file; fs errors (ENOENT, ...) as they are.
   */
  static open(file: string, expectedDocuments: number, scoring: LuceneScoring, cacheBytes = 2 ** 30): Bm25DiskIndex {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < HEADER_BYTES) throw new CorruptIndex(`not a ragtax BM25 index file (${DISK_FORMAT}): it is only ${size} bytes long`);
      return new Bm25DiskIndex(fd, Buffer.from(readAt(fd, 0, HEADER_BYTES)), size, expectedDocuments, scoring, cacheBytes);
    } catch (error) {
      closeSync(fd);
      throw error instanceof CorruptIndex || error instanceof RagtaxError ? error : outOfMemory(`opening the BM25 index ${file}`, error);
    }
  }

  close(): void {
    closeSync(this.fd);
    this.cache.clear();
  }

  /** Checks every postings page against its checksum (`ragtax index --verify`). */
  verify(): void {
    this.checkPages(0, this.pageCrcs.length);
  }

  /** Checks the pages [first, last) not checked yet. */
  private checkPages(first: number, last: number): void {
    for (let p = first; p < last; p++) {
      if (this.verified[p]) continue;
      const start = p * PAGE;
      const data = new Uint8Array(readAt(this.fd, this.postingsOffset + start, Math.min(PAGE, this.postingsBytes - start)));
      if (crc32(data) !== this.pageCrcs[p]) throw new CorruptIndex(`its data does not match its checksum (postings bytes ${start}–${start + data.length})`);
      this.verified[p] = 1;
    }
  }

  private termAt(j: number): string {
    return this.blob.toString('utf8', j === 0 ? 0 : this.termEnd[j - 1]!, this.termEnd[j]!);
  }

  /** The dictionary position of `term`, or −1. */
  lookup(term: string): number {
    let lo = 0;
    let hi = this.vocabulary - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.termAt(mid);
      if (t === term) return mid;
      if (t < term) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private block(t: number): { docs: Int32Array; tfs: Uint16Array } {
    const df = this.dfs[t]!;
    const length = align(df * 6, 4);
    const at = this.blockAt[t]!;
    if (at + length > this.postingsBytes) throw new CorruptIndex('a term points outside the postings');
    if (length > 0) this.checkPages(Math.floor(at / PAGE), Math.floor((at + length - 1) / PAGE) + 1);
    const data = readAt(this.fd, this.postingsOffset + at, length);
    return { docs: new Int32Array(data, 0, df), tfs: new Uint16Array(data, df * 4, df) };
  }

  private postings(t: number): Postings {
    const hit = this.cache.get(t);
    if (hit) {
      this.cache.delete(t); // most recently used last
      this.cache.set(t, hit);
      return hit;
    }
    const { docs, tfs } = this.block(t);
    const norm = this.norm;
    let bound = 0;
    const blockMax = new Float64Array((docs.length + (1 << BLOCK_SHIFT) - 1) >> BLOCK_SHIFT);
    for (let j = 0; j < docs.length; j++) {
      const tf = tfs[j]!;
      const s = tf / (tf + norm[docs[j]!]!);
      if (s > blockMax[j >> BLOCK_SHIFT]!) blockMax[j >> BLOCK_SHIFT] = s;
      if (s > bound) bound = s;
    }
    const postings = { docs, tfs, bound, blockMax, bytes: docs.byteLength * 1.5 + blockMax.byteLength };
    this.cache.set(t, postings);
    this.cachedBytes += postings.bytes;
    for (const [key, old] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes || key === t) break;
      this.cache.delete(key);
      this.cachedBytes -= old.bytes;
    }
    return postings;
  }

  /** idf = ln(1 + (N − n + 0.5) / (n + 0.5)), N the documents with ≥ 1 token, n the term's df. */
  idf(df: number): number {
    const total = this.documentsWithTokens;
    return Math.log(1 + (total - df + 0.5) / (df + 0.5));
  }

  /**
   * The top k documents for the query terms (repeated terms count as often as they occur), best
   * first, ties in document order; only documents that hold a query term. Each score is
   * Σ over distinct query terms in first-occurrence order of (qtf · idf) · tf / (tf + norm).
   */
  search(queryTerms: readonly string[], k: number): Hit[] {
    if (k <= 0) return [];
    // Distinct terms in first-occurrence order with their query frequency.
    const qtf = new Map<string, number>();
    for (const term of queryTerms) qtf.set(term, (qtf.get(term) ?? 0) + 1);
    const lists: { docs: Int32Array; tfs: Uint16Array; blockMax: Float64Array; weight: number; bound: number; slot: number; pos: number }[] = [];
    let slot = 0;
    for (const [term, count] of qtf) {
      const t = this.lookup(term);
      if (t < 0) continue;
      const p = this.postings(t);
      const weight = count * this.idf(p.docs.length);
      lists.push({ docs: p.docs, tfs: p.tfs, blockMax: p.blockMax, weight, bound: weight * p.bound, slot: slot++, pos: 0 });
    }
    const m = lists.length;
    if (m === 0) return [];
    const norm = this.norm;
    // Lowest bound first: the non-essential lists are a prefix [0, essential).
    lists.sort((x, y) => x.bound - y.bound || x.slot - y.slot);
    // Bounds are summed in another order than scores: a little slack keeps them upper bounds.
    const cumulative = new Float64Array(m);
    for (let i = 0, s = 0; i < m; i++) cumulative[i] = (s += lists[i]!.bound) * (1 + 1e-9) + 1e-300;

    // A first threshold from the strongest list alone: its k best one-term scores are lower bounds of
    // k documents' full scores. It only excludes documents strictly below it (ties must be scored).
    let floor = -Infinity;
    {
      const top = lists[m - 1]!;
      if (top.docs.length >= k) {
        // The k-th largest of its one-term scores, with a min-heap of k.
        const best = new Float64Array(k);
        for (let j = 0; j < top.docs.length; j++) {
          const tf = top.tfs[j]!;
          const s = (top.weight * tf) / (tf + norm[top.docs[j]!]!);
          if (j < k) {
            let i = j;
            while (i > 0 && best[(i - 1) >> 1]! > s) {
              best[i] = best[(i - 1) >> 1]!;
              i = (i - 1) >> 1;
            }
            best[i] = s;
          } else if (s > best[0]!) {
            let i = 0;
            for (;;) {
              const l = 2 * i + 1;
              if (l >= k) break;
              const c = l + 1 < k && best[l + 1]! < best[l]! ? l + 1 : l;
              if (best[c]! >= s) break;
              best[i] = best[c]!;
              i = c;
            }
            best[i] = s;
          }
        }
        floor = best[0]!;
      }
    }

    const heapScore = new Float64Array(k);
    const heapDoc = new Int32Array(k);
    let size = 0;
    // A document is out when its best possible score cannot beat the k-th best so far: ≤ it once
    // the heap is full (later documents lose ties), < the first threshold.
    const out = (bound: number) => bound < floor || (size === k && bound <= heapScore[0]!);
    let essential = 0;
    while (essential < m && out(cumulative[essential]!)) essential++;
    const contributions = new Float64Array(m); // by query slot
    let checkedTo = -1; // documents up to here lie in a block range that could still enter the top k

    for (;;) {
      let current = 2147483647;
      for (let i = essential; i < m; i++) {
        const l = lists[i]!;
        if (l.pos < l.docs.length && l.docs[l.pos]! < current) current = l.docs[l.pos]!;
      }
      if (current === 2147483647) break;
      // Block-max: every document from `current` up to the first end of the essential lists'
      // current blocks scores at most the sum of those blocks' maxima (plus the non-essential
      // bounds). When that cannot enter the top k, all of them are skipped at once.
      // A list whose next document lies beyond that end adds nothing in between. Checked once per
      // range: within a range that passed, documents are judged one by one.
      if (current > checkedTo) {
        let boundary = 2147483647;
        for (let i = essential; i < m; i++) {
          const l = lists[i]!;
          if (l.pos >= l.docs.length) continue;
          const last = l.docs[Math.min(((l.pos >> BLOCK_SHIFT) + 1) << BLOCK_SHIFT, l.docs.length) - 1]!;
          if (last < boundary) boundary = last;
        }
        let blockBound = essential > 0 ? cumulative[essential - 1]! : 0;
        for (let i = essential; i < m; i++) {
          const l = lists[i]!;
          if (l.pos < l.docs.length && l.docs[l.pos]! <= boundary) blockBound += l.weight * l.blockMax[l.pos >> BLOCK_SHIFT]!;
        }
        if (out(blockBound * (1 + 1e-9) + 1e-300)) {
          for (let i = essential; i < m; i++) {
            const l = lists[i]!;
            l.pos = advance(l.docs, l.pos, boundary + 1);
          }
          continue;
        }
        checkedTo = boundary;
      }
      let partial = 0;
      for (let i = essential; i < m; i++) {
        const l = lists[i]!;
        if (l.pos < l.docs.length && l.docs[l.pos] === current) {
          const tf = l.tfs[l.pos++]!;
          const c = (l.weight * tf) / (tf + norm[current]!);
          contributions[l.slot] = c;
          partial += c;
        }
      }
      let pruned = false;
      for (let i = essential - 1; i >= 0; i--) {
        if (out(partial + cumulative[i]!)) {
          pruned = true;
          break;
        }
        const l = lists[i]!;
        l.pos = advance(l.docs, l.pos, current);
        if (l.pos < l.docs.length && l.docs[l.pos] === current) {
          const tf = l.tfs[l.pos]!;
          const c = (l.weight * tf) / (tf + norm[current]!);
          contributions[l.slot] = c;
          partial += c;
        }
      }
      // The score summed in query order, so that it does not depend on k or on pruning.
      let score = 0;
      for (let s = 0; s < m; s++) {
        score += contributions[s]!;
        contributions[s] = 0;
      }
      if (pruned) continue;
      if (score < floor) continue;
      if (size < k) {
        let i = size++;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (!worse(score, current, heapScore[parent]!, heapDoc[parent]!)) break;
          heapScore[i] = heapScore[parent]!;
          heapDoc[i] = heapDoc[parent]!;
          i = parent;
        }
        heapScore[i] = score;
        heapDoc[i] = current;
      } else if (score > heapScore[0]!) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= size) break;
          const r = l + 1;
          const c = r < size && worse(heapScore[r]!, heapDoc[r]!, heapScore[l]!, heapDoc[l]!) ? r : l;
          if (!worse(heapScore[c]!, heapDoc[c]!, score, current)) break;
          heapScore[i] = heapScore[c]!;
          heapDoc[i] = heapDoc[c]!;
          i = c;
        }
        heapScore[i] = score;
        heapDoc[i] = current;
      } else continue;
      while (essential < m && out(cumulative[essential]!)) essential++;
      if (essential === m) break;
    }
    const hits = Array.from({ length: size }, (_, j) => ({ i: heapDoc[j]!, score: heapScore[j]! }));
    return hits.sort((x, y) => y.score - x.score || x.i - y.i);
  }
}

/** Heap order: the root is the worst hit (lowest score; among equal scores the latest document). */
const worse = (s1: number, d1: number, s2: number, d2: number) => s1 < s2 || (s1 === s2 && d1 > d2);

/** The first position ≥ pos whose document is ≥ target (galloping, then binary search). */
function advance(docs: Int32Array, pos: number, target: number): number {
  const n = docs.length;
  if (pos >= n || docs[pos]! >= target) return pos;
  let step = 1;
  let lo = pos;
  let hi = pos + 1;
  while (hi < n && docs[hi]! < target) {
    lo = hi;
    step *= 2;
    hi = pos + step;
  }
  if (hi > n) hi = n;
  // docs[lo] < target; docs[hi] ≥ target (or hi = n)
  while (lo + 1 < hi) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < target) lo = mid;
    else hi = mid;
  }
  return hi;
}
