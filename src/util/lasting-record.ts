// The JSON records of derived results that the cache folder keeps across runs (bootstrap
// intervals, rendered chat prompts): read whole; a missing record is simply empty, and one that
// cannot be read or is not of the expected format is empty with the reason (its owner warns, and
// rewrites it).
import { readFileSync } from 'node:fs';
import { messageOf } from '../errors.js';

export interface LastingRecord {
  /** The whole record, or null when there is no usable one. */
  fields: Record<string, unknown> | null;
  /** Its entries (under `entriesKey`); empty without a usable record. */
  entries: Record<string, unknown>;
  /** Why the record on disk could not be used, if it could not (a missing one is not a reason). */
  unreadable: string | null;
}

/** Reads `file`, a JSON object whose `format` is `format` and whose `entriesKey` is an object. */
export function readLastingRecord(file: string, format: string, entriesKey: string): LastingRecord {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return { fields: null, entries: {}, unreadable: missing ? null : messageOf(error) };
  }
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    const entries = parsed?.[entriesKey];
    if (parsed?.format !== format || typeof entries !== 'object' || entries === null) throw new Error(`not a ${format} record`);
    return { fields: parsed, entries: entries as Record<string, unknown>, unreadable: null };
  } catch (error) {
    return { fields: null, entries: {}, unreadable: messageOf(error) };
  }
}
