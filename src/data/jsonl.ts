// Line-by-line JSON(L) reading with errors a user can act on: every failure names `file:line`.
// Lines are split from the raw bytes, so a line longer than MAX_JSONL_LINE_BYTES is refused by
// counting its bytes, never by holding it; integers too large for a double keep their digits.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { at, InputError, messageOf, RuntimeFailure } from '../errors.js';
import { HeapGuard } from '../runtime/heap-guard.js';

/**
 * The longest line (in bytes, without its line break) a JSONL input may have: 64 MiB. One record
 * of a dataset, corpus or predictions file is a question with its passages, far below this; a
 * longer line is a broken file (a missing line break, a whole dataset on one line), and reading it
 * whole would hit V8's string limit or the heap. It is refused as `file:line: line is N bytes,
 * over the limit of M bytes`, after its bytes are counted (not buffered).
 */
export const MAX_JSONL_LINE_BYTES = 64 * 1024 * 1024;

/** One JSONL record and the 1-based physical line it came from. */
export interface JsonlRecord {
  line: number;
  value: unknown;
}

/** One line of text (without its line break) and its 1-based physical line number. */
export interface TextLine {
  line: number;
  text: string;
}

/**
 * An integer whose digits a JavaScript number cannot hold (beyond ±2^53), as written in the file.
 * `parseJsonExact` gives these instead of rounded numbers; id fields take `text` as the id.
 */
export class ExactInteger {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

function describeFsError(file: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new InputError(at(file, undefined, 'file not found'));
  if (code === 'EISDIR') return new InputError(at(file, undefined, 'is a directory, expected a file'));
  const reason = messageOf(err);
  return new InputError(at(file, undefined, `cannot read: ${reason}`));
}

// ---- Exact integers ---------------------------------------------------------------------------------

const MINUS = 0x2d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS;
}

/** [start, end) of every integer token outside strings that a double cannot hold exactly. */
function unsafeIntegerTokens(text: string): [number, number][] {
  const found: [number, number][] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: the next quote not escaped by an odd number of backslashes.
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) return found; // unterminated: JSON.parse reports it
        let slashes = 0;
        while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
        j = q + 1;
        if (slashes % 2 === 0) break;
      }
      i = j;
    } else if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      const token = text.slice(i, j);
      if (/^-?[1-9]\d{15,}$/.test(token) && !Number.isSafeInteger(Number(token))) found.push([i, j]);
      i = j;
    } else i++;
  }
  return found;
}

/**
 * JSON.parse, except that an integer beyond ±2^53 (which JSON.parse would round: NQ's example id
 * -3290814144789249484 becomes -3290814144789249500) becomes an ExactInteger holding its digits.
 * Text without a run of 16 digits cannot hold one and goes straight to JSON.parse.
 */
export function parseJsonExact(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  const tokens = unsafeIntegerTokens(text);
  if (tokens.length === 0) return JSON.parse(text);
  // Each token becomes a string with a marker, turned back into an ExactInteger by the reviver. A
  // marker is tried only when the text does not spell it; should a string of the text still equal
  // one (written with escapes), more strings are converted than there are tokens: try the next.
  for (let nonce = 0; ; nonce++) {
    if (text.includes(`rtx${nonce}:`)) continue;
    const marker = `\u0000rtx${nonce}:`;
    const parts: string[] = [];
    let from = 0;
    for (const [start, end] of tokens) {
      parts.push(text.slice(from, start), `"\\u0000rtx${nonce}:${text.slice(start, end)}"`);
      from = end;
    }
    parts.push(text.slice(from));
    let converted = 0;
    let value: unknown;
    try {
      value = JSON.parse(parts.join(''), (_key, v: unknown) => {
        if (typeof v !== 'string' || !v.startsWith(marker)) return v;
        converted += 1;
        return new ExactInteger(v.slice(marker.length));
      });
    } catch (err) {
      JSON.parse(text); // report the problem of the text as written
      throw err;
    }
    if (converted === tokens.length) return value;
  }
}

function parseJsonLine(file: string, line: number, text: string): unknown {
  try {
    return parseJsonExact(text);
  } catch (err) {
    const reason = messageOf(err);
    // Within one line, V8's character position is a column: say so.
    const withColumn = reason.replace(/at position (\d+)/, (_, p: string) => `at column ${Number(p) + 1}`);
    throw new InputError(at(file, line, `invalid JSON: ${withColumn}`));
  }
}

// ---- Lines ------------------------------------------------------------------------------------------

const LF = 0x0a;
const CR = 0x0d;
const MIB = 1024 * 1024;

function sizeLabel(bytes: number): string {
  return bytes % MIB === 0 ? ` (${bytes / MIB} MiB)` : '';
}

/**
 * Yields each line of a text file (gunzipped when the name ends in `.gz`), split as readline
 * splits (LF, CRLF or a lone CR; a final line without a break counts, an empty one after the last
 * break does not), with a UTF-8 BOM removed from line 1. A line longer than `maxLineBytes`
 * (default MAX_JSONL_LINE_BYTES) is an InputError naming file:line and its length; its bytes are
 * counted as they stream past, never held.
 */
export async function* readTextLines(file: string, opts: { maxLineBytes?: number } = {}): AsyncGenerator<TextLine> {
  for await (const batch of readTextLineBatches(file, opts)) yield* batch;
}

/** `readTextLines`, the lines of each read chunk together (one await per chunk, not per line). */
async function* readTextLineBatches(file: string, opts: { maxLineBytes?: number }): AsyncGenerator<TextLine[]> {
  const max = opts.maxLineBytes ?? MAX_JSONL_LINE_BYTES;
  // A small plain file is read whole, in one call: a stream of it costs a round trip to the thread
  // pool per open, read and close (a warm quickstart reads three such files: ~15 ms of waiting).
  const whole = wholeIfSmall(file);
  const raw = whole === undefined ? createReadStream(file, { highWaterMark: MIB }) : undefined;
  let input: Readable | undefined = raw;
  if (raw && file.endsWith('.gz')) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  let line = 0;
  let parts: Buffer[] = [];
  let bytes = 0; // of the current line, counted even once it is over the limit
  let skipLf = false; // the previous chunk ended in CR: a LF first in this one ends nothing
  const append = (chunk: Buffer, start: number, end: number): void => {
    if (end <= start) return;
    if (bytes <= max && bytes + (end - start) <= max) parts.push(chunk.subarray(start, end));
    else parts = [];
    bytes += end - start;
  };
  const tooLong = (): InputError => new InputError(at(file, line + 1, `line is ${bytes} bytes, over the limit of ${max} bytes${sizeLabel(max)}`));
  const finish = (): TextLine => {
    line += 1;
    let text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts, bytes).toString('utf8');
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // tolerate a UTF-8 BOM
    parts = [];
    bytes = 0;
    return { line, text };
  };
  const guard = new HeapGuard(() => `reading ${file} at line ${line}`);
  try {
    for await (const chunk of whole ?? (input as AsyncIterable<Buffer>)) {
      guard.check();
      const batch: TextLine[] = [];
      let pos = 0;
      if (skipLf && chunk.length > 0) {
        if (chunk[0] === LF) pos = 1;
        skipLf = false;
      }
      let lf = chunk.indexOf(LF, pos);
      let cr = chunk.indexOf(CR, pos);
      while (lf !== -1 || cr !== -1) {
        const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        append(chunk, pos, end);
        if (bytes > max) {
          if (batch.length > 0) yield batch; // the lines before it first: their errors come first
          throw tooLong();
        }
        batch.push(finish());
        pos = end + 1;
        if (end === cr) {
          if (pos < chunk.length) {
            if (chunk[pos] === LF) pos += 1;
          } else skipLf = true;
        }
        if (lf !== -1 && lf < pos) lf = chunk.indexOf(LF, pos);
        if (cr !== -1 && cr < pos) cr = chunk.indexOf(CR, pos);
      }
      append(chunk, pos, chunk.length);
      if (batch.length > 0) yield batch;
    }
    if (bytes > max) throw tooLong();
    if (bytes > 0) yield [finish()];
  } catch (err) {
    if (err instanceof InputError || err instanceof RuntimeFailure) throw err;
    throw describeStreamError(file, line, err);
  } finally {
    guard.close();
    input?.destroy();
    raw?.destroy();
  }
}

/** Files up to this size (not gzipped) are read whole by `readTextLineBatches`. */
const WHOLE_FILE_BYTES = 8 * MIB;

/**
 * The bytes of `file` as one chunk when it is a regular file of at most WHOLE_FILE_BYTES that is
 * not gzipped; undefined otherwise (then it is streamed, and any error shows up there).
 */
function wholeIfSmall(file: string): [Buffer] | undefined {
  if (file.endsWith('.gz')) return undefined;
  let size: number;
  try {
    const stats = statSync(file);
    if (!stats.isFile()) return undefined;
    size = stats.size;
  } catch {
    return undefined; // the stream reports it, as for any file
  }
  if (size > WHOLE_FILE_BYTES) return undefined;
  try {
    return [readFileSync(file)];
  } catch {
    return undefined;
  }
}

/**
 * Yields each non-blank line of a JSONL file parsed as JSON (see `parseJsonExact`); lines are read
 * by `readTextLines` (gzip, BOM, the line limit). Blank lines are skipped but still counted, so
 * line numbers match an editor's.
 */
export async function* readJsonlRecords(file: string): AsyncGenerator<JsonlRecord> {
  for await (const batch of readJsonlRecordBatches(file)) yield* batch;
}

/**
 * `readJsonlRecords`, the records of each read chunk together: one await per chunk, not per record
 * (per-record awaits cost more than parsing a short record). A bad line throws after the records
 * before it have been yielded, so their errors come first.
 */
export async function* readJsonlRecordBatches(file: string): AsyncGenerator<JsonlRecord[]> {
  for await (const lines of readTextLineBatches(file, {})) {
    const batch: JsonlRecord[] = [];
    for (const { line, text } of lines) {
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = parseJsonLine(file, line, text);
      } catch (err) {
        if (batch.length > 0) yield batch;
        throw err;
      }
      batch.push({ line, value });
    }
    if (batch.length > 0) yield batch;
  }
}

function describeStreamError(file: string, line: number, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const reason = messageOf(err);
    return new InputError(at(file, line > 0 ? line : undefined, `corrupt gzip data: ${reason}`));
  }
  return describeFsError(file, err);
}

/** All records of a JSONL file (see `readJsonlRecords`). */
export async function readJsonl(file: string): Promise<JsonlRecord[]> {
  const records: JsonlRecord[] = [];
  for await (const record of readJsonlRecords(file)) records.push(record);
  return records;
}

/** Parses a whole JSON file. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw describeFsError(file, err);
  }
  try {
    return parseJsonExact(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const reason = messageOf(err);
    throw new InputError(at(file, lineOfJsonError(text, reason), `invalid JSON: ${reason}`));
  }
}

/** V8 reports `... at position N` (and newer versions `(line L column C)`); turn that into a line. */
function lineOfJsonError(text: string, reason: string): number | undefined {
  const explicit = /line (\d+) column/.exec(reason);
  if (explicit?.[1]) return Number(explicit[1]);
  const position = /position (\d+)/.exec(reason);
  if (!position?.[1]) return undefined;
  const offset = Number(position[1]);
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
