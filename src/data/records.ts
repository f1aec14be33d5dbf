// The records of a data file, whatever its shape: JSON Lines (one record a line), a JSON array
// (streamed element by element, so a file past V8's string limit still reads) or Parquet (row group
// by row group, through hyparquet). Every record says where it came from, for error messages.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { at, InputError, messageOf, RuntimeFailure } from '../errors.js';
import { HeapGuard } from '../runtime/heap-guard.js';
import { ExactInteger, MAX_JSONL_LINE_BYTES, parseJsonExact, readJsonlRecordBatches } from './jsonl.js';

export const SHAPES = ['auto', 'jsonl', 'json', 'parquet'] as const;
export type Shape = (typeof SHAPES)[number];

/** One record: its value, its 1-based number in the file, and the line it starts on (text shapes). */
export interface DataRecord {
  value: unknown;
  /** 1-based: the JSONL line, the array element's number, the Parquet row's number. */
  number: number;
  /** JSONL: the line; JSON array: the line the element starts on; Parquet: none. */
  line?: number;
}

/** Where a record is, for messages: `file:12: ` (JSONL), `file:40: record 3: ` (array), `file: row 3: `. */
export function recordPlace(file: string, shape: Exclude<Shape, 'auto'>, record: Pick<DataRecord, 'number' | 'line'>, message: string): string {
  if (shape === 'jsonl') return at(file, record.line, message);
  if (shape === 'json') return at(file, record.line, `record ${record.number}: ${message}`);
  return at(file, undefined, `row ${record.number}: ${message}`);
}

/** The shape of a file: `.parquet` (or the PAR1 magic) is Parquet, a first `[` a JSON array, else JSON Lines. */
export async function detectShape(file: string): Promise<Exclude<Shape, 'auto'>> {
  if (/\.parquet$/i.test(file)) return 'parquet';
  let head: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return 'jsonl'; // the reader names the problem (not found, a folder)
  }
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  if (file.endsWith('.gz')) head = await firstBytes(file);
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  return text.trimStart().startsWith('[') ? 'json' : 'jsonl';
}

async function firstBytes(file: string): Promise<Buffer> {
  const input = createReadStream(file).pipe(createGunzip());
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) return chunk.subarray(0, 4096);
  } catch {
    // corrupt gzip: the reader reports it
  } finally {
    input.destroy();
  }
  return Buffer.alloc(0);
}

/** Every record of `file` read as `shape`, a batch at a time (one await per read chunk or row group). */
export async function* readRecordBatches(file: string, shape: Exclude<Shape, 'auto'>): AsyncGenerator<DataRecord[]> {
  if (shape === 'jsonl') {
    for await (const batch of readJsonlRecordBatches(file)) yield batch.map(({ line, value }) => ({ value, number: line, line }));
  } else if (shape === 'json') yield* readJsonArray(file);
  else yield* readParquet(file);
}

// ---- JSON arrays --------------------------------------------------------------------------------

const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * The elements of a top-level JSON array, one at a time: a byte scanner finds where each element
 * ends (depth and strings tracked), then `parseJsonExact` parses it, so integers beyond 2^53 keep
 * their digits and no more than one element is held as text. An element larger than
 * MAX_JSONL_LINE_BYTES is refused like an over-long JSONL line.
 */
async function* readJsonArray(file: string): AsyncGenerator<DataRecord[]> {
  const raw = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let input: Readable = raw;
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  let state: 'start' | 'first' | 'in' | 'before' | 'done' = 'start';
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let bytes = 0;
  let startLine = 0;
  let number = 0;
  let bom = true;
  const fail = (where: number, message: string): never => {
    throw new InputError(at(file, where, message));
  };
  const finish = (): DataRecord => {
    number += 1;
    const text = Buffer.concat(parts, bytes).toString('utf8');
    parts = [];
    bytes = 0;
    let value: unknown;
    try {
      value = parseJsonExact(text);
    } catch (err) {
      fail(startLine, `record ${number}: invalid JSON: ${messageOf(err)}`);
    }
    return { value, number, line: startLine };
  };
  const guard = new HeapGuard(() => `reading ${file} at line ${line}`);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      guard.check();
      let i = 0;
      if (bom && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      bom = false;
      let from = state === 'in' ? 0 : -1; // start of the current element's bytes in this chunk
      const out: DataRecord[] = [];
      for (; i < chunk.length; i++) {
        const c = chunk[i]!;
        if (c === LF) line++;
        if (state !== 'in') {
          if (isSpace(c)) continue;
          if (state === 'start') {
            if (c !== 0x5b) fail(line, 'expected a JSON array of records (`[ {...}, {...} ]`); a file of one JSON object per line is JSON Lines (`shape: jsonl`)');
            state = 'first';
            continue;
          }
          if (state === 'done') fail(line, 'unexpected text after the closing `]` of the array');
          if (c === 0x5d && state === 'first') {
            state = 'done';
            continue;
          }
          if (c === 0x5d || c === 0x2c) fail(line, `expected a record after \`,\` (record ${number + 1})`);
          state = 'in'; // this byte starts an element: scanned below
          startLine = line;
          from = i;
          depth = 0;
        }
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) inString = true;
        else if (c === 0x5b || c === 0x7b) depth++;
        else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
        else if (depth === 0 && (c === 0x2c || c === 0x5d)) {
          parts.push(chunk.subarray(from, i));
          bytes += i - from;
          out.push(finish());
          state = c === 0x2c ? 'before' : 'done';
          from = -1;
        }
      }
      if (state === 'in' && from >= 0) {
        parts.push(chunk.subarray(from));
        bytes += chunk.length - from;
      }
      if (bytes > MAX_JSONL_LINE_BYTES) fail(startLine, `record ${number + 1} is over the limit of ${MAX_JSONL_LINE_BYTES} bytes`);
      if (out.length > 0) yield out;
    }
    const end = state as string; // assigned inside the loop, which TypeScript's narrowing does not follow
    if (end !== 'done') fail(line, end === 'start' ? 'the file is empty (expected a JSON array of records)' : 'the array is not closed (missing `]`)');
  } catch (err) {
    if (err instanceof InputError || err instanceof RuntimeFailure) throw err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw new InputError(at(file, undefined, 'file not found'));
    if (code === 'EISDIR') throw new InputError(at(file, undefined, 'is a directory, expected a file'));
    if (typeof code === 'string' && code.startsWith('Z_')) throw new InputError(at(file, undefined, `corrupt gzip data: ${messageOf(err)}`));
    throw new InputError(at(file, undefined, `cannot read: ${messageOf(err)}`));
  } finally {
    guard.close();
    input.destroy();
    raw.destroy();
  }
}

// ---- Parquet ------------------------------------------------------------------------------------

/** Parquet INT64 arrives as bigint: a safe one becomes a number, a larger one an ExactInteger (digits kept). */
function fromParquet(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : new ExactInteger(value.toString());
  if (Array.isArray(value)) return value.map(fromParquet);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromParquet(v);
    return out;
  }
  return value;
}

/** Rows of a Parquet file, one row group at a time (memory bounded by the largest group). */
async function* readParquet(file: string): AsyncGenerator<DataRecord[]> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw new InputError(at(file, undefined, 'file not found'));
    throw new InputError(at(file, undefined, `not a readable Parquet file: ${messageOf(err)}`));
  }
  let rowStart = 0;
  let number = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors });
    } catch (err) {
      throw new InputError(at(file, undefined, `rows ${rowStart + 1}-${rowEnd}: cannot read: ${messageOf(err)}`));
    }
    yield rows.map((row) => ({ value: fromParquet(row), number: ++number }));
    rowStart = rowEnd;
  }
}
