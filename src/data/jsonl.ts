// Line-by-line JSON(L) reading with errors a user can act on: every failure names `file:line`.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { at, InputError, messageOf } from '../errors.js';

/** One parsed JSONL record and the 1-based physical line it came from. */
export interface JsonlRecord {
  line: number;
  value: unknown;
}

function describeFsError(file: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new InputError(at(file, undefined, 'file not found'));
  if (code === 'EISDIR') return new InputError(at(file, undefined, 'is a directory, expected a file'));
  const reason = messageOf(err);
  return new InputError(at(file, undefined, `cannot read: ${reason}`));
}

function parseJsonLine(file: string, line: number, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = messageOf(err);
    // Within one line, V8's character position is a column: say so.
    const withColumn = reason.replace(/at position (\d+)/, (_, p: string) => `at column ${Number(p) + 1}`);
    throw new InputError(at(file, line, `invalid JSON: ${withColumn}`));
  }
}

/**
 * Yields each non-blank line of a JSONL file parsed as JSON. Files ending in `.gz` are gunzipped.
 * Blank lines are skipped but still counted, so line numbers match an editor's.
 */
export async function* readJsonlRecords(file: string): AsyncGenerator<JsonlRecord> {
  const raw = createReadStream(file);
  let input: Readable = raw;
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  // readline swallows stream errors unless the stream is async-iterated; capture them ourselves.
  let streamError: unknown;
  input.on('error', (err) => {
    streamError = err;
  });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      const body = line === 1 ? text.replace(/^\uFEFF/, '') : text; // tolerate a UTF-8 BOM
      if (body.trim() === '') continue;
      const value = parseJsonLine(file, line, body);
      yield { line, value };
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw describeStreamError(file, line, err);
  } finally {
    lines.close();
    input.destroy();
  }
  if (streamError !== undefined) throw describeStreamError(file, line, streamError);
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
    return JSON.parse(text.replace(/^\uFEFF/, ''));
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
