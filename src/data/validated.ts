// "These bytes were checked with these settings": a small record per (file content, reader,
// mapping) in the cache folder, so a file read again unchanged skips its per-record checks. The
// content hash costs a fraction of the checks (figures: docs/datasets.md); a changed byte, another
// mapping or new rules (VALIDATION_RULES) make a new key, and the file is checked again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../errors.js';
import { makeDirectory, writeAtomically } from '../util/atomic-write.js';
import { sha256File } from '../util/hash.js';

/** Bump when a reader's checks change: records made under older rules then no longer count. */
export const VALIDATION_RULES = 1;

async function contentHash(file: string): Promise<string | undefined> {
  try {
    // The same hash as the run manifest's (made once per content: util/hash.ts).
    return await sha256File(file);
  } catch {
    return undefined; // unreadable: the checked read names the problem
  }
}

export interface ValidatedRead<T> {
  value: T;
  /** The checks were skipped: the same bytes passed them before. */
  skipped: boolean;
  /** A record could not be written (the run goes on; the next read checks again). */
  warning?: string;
}

/** The record in `dir` that checks keyed by `identity` passed: whether it is there, and how to write it. */
function passRecord(dir: string, identity: unknown): { passed: boolean; write(content: object, what: string): Promise<string | undefined> } {
  const record = path.join(dir, `${createHash('sha256').update(JSON.stringify(identity)).digest('hex')}.json`);
  return {
    passed: existsSync(record),
    /** Records the pass; a warning naming `what` when it cannot be recorded. */
    async write(content, what) {
      try {
        makeDirectory(dir);
        await writeAtomically(record, `${JSON.stringify({ ...content, validated: new Date().toISOString() })}\n`);
        return undefined;
      } catch (error) {
        return `cannot record that ${what} (${messageOf(error)}); it will be checked again next time`;
      }
    },
  };
}

/**
 * Reads `file` with `read(validate)`: without checks when `dir` holds a record that these bytes
 * passed them with `reader` (the format and its mapping, as data), otherwise with checks, and then
 * records that they passed. `dir` undefined: always checked, nothing recorded.
 */
export async function readValidated<T>(dir: string | undefined, file: string, reader: unknown, read: (validate: boolean) => Promise<T>): Promise<ValidatedRead<T>> {
  if (dir === undefined) return { value: await read(true), skipped: false };
  const digest = await contentHash(file);
  if (digest === undefined) return { value: await read(true), skipped: false };
  const record = passRecord(dir, { rules: VALIDATION_RULES, digest, reader });
  if (record.passed) return { value: await read(false), skipped: true };
  const value = await read(true);
  const warning = await record.write({ file, sha256: digest, reader, rules: VALIDATION_RULES }, `${file} passed its checks`);
  return warning === undefined ? { value, skipped: false } : { value, skipped: false, warning };
}

/**
 * Runs `check` (which throws when it fails) over what `inputs` hold, unless `dir` holds a record
 * that it passed on these same bytes, read by these same readers (the few-shot pool's
 * disjointness from the evaluated items: 2,188 questions normalised, ~20 ms of a warm quickstart
 * re-run). A pass is recorded; a failure throws and records nothing. `dir` undefined: always run.
 * Returns a warning when a pass could not be recorded.
 */
export async function checkOnce(dir: string | undefined, name: string, inputs: readonly { file: string; reader: unknown }[], check: () => void): Promise<string | undefined> {
  const digests = dir === undefined ? [] : await Promise.all(inputs.map((input) => contentHash(input.file)));
  if (dir === undefined || digests.some((digest) => digest === undefined)) {
    check();
    return undefined;
  }
  const identity = { rules: VALIDATION_RULES, check: name, inputs: inputs.map((input, i) => ({ digest: digests[i], reader: input.reader })) };
  const record = passRecord(dir, identity);
  if (record.passed) return undefined;
  check();
  return record.write({ ...identity, files: inputs.map((input) => input.file) }, `${name} passed for ${inputs.map((input) => input.file).join(' and ')}`);
}
