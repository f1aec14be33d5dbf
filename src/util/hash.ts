// sha256 of files and values: the identities of runs, models, data and indexes.
//
// Files are hashed once per content: a file whose stat identity (device, inode, size, mtime and
// ctime, to the nanosecond) is unchanged since it was hashed is not read again, within a process
// (data files are hashed by their reader and by the manifest) and, for files of 1 MiB or more
// (model weights), across runs through a small record in the cache folder (`file-sha256.json`).
// ctime cannot be set by any user-level tool (cp -p, touch and rsync set mtime only) and changes on
// every write, so a rewritten file always misses. A file changed within a second of being hashed is
// never remembered (timestamps can be coarser than its writes: git's "racy clean" problem).
// Measured: re-hashing the quickstart's three 9.8 MB models cost 0.2–0.3 s of a 1.9 s warm re-run;
// a 16 GB checkpoint would cost about 15 s every run.
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors.js';
import { writeAtomically } from './atomic-write.js';
import { cacheRoot } from './cache-dir.js';

/** Read size: few round trips to the thread pool, bounded memory for multi-gigabyte weights. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Files at least this large are remembered across runs (smaller ones hash faster than the record is read). */
const REMEMBER_ACROSS_RUNS_BYTES = 1024 * 1024;
/** A file whose last change is more recent than this, before it was hashed, is not remembered. */
const RACY_NS = 2_000_000_000n;
/** Entries kept in the record (most recent first); older ones are dropped. */
const MAX_REMEMBERED = 2000;
const MEMO_FILE = 'file-sha256.json';

interface Remembered {
  /** `dev:ino:size:mtimeNs:ctimeNs`. */
  identity: string;
  sha256: string;
}

const identityOf = (s: BigIntStats): string => `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;

/** Hashes made in this process, by absolute path. */
const inProcess = new Map<string, Remembered>();
/** The record in the cache folder, read once per process (null: none, or it cannot be used). */
let acrossRuns: { file: string; entries: Record<string, Remembered> } | null | undefined;
let warnedMemo = false;

function memoFile(): { file: string; entries: Record<string, Remembered> } | null {
  if (acrossRuns !== undefined) return acrossRuns;
  let root: string;
  try {
    root = cacheRoot();
  } catch {
    // The cache folder cannot be made: whatever needs it says so; files are simply hashed again.
    return (acrossRuns = null);
  }
  if (root === '') return (acrossRuns = null);
  const file = path.join(root, MEMO_FILE);
  let entries: Record<string, Remembered> = {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; files?: Record<string, Remembered> };
    if (parsed.format === 'ragtax-file-sha256/1' && parsed.files && typeof parsed.files === 'object') entries = parsed.files;
  } catch {
    // Missing or unreadable (a torn write cannot happen: it is replaced atomically): start afresh.
  }
  return (acrossRuns = { file, entries });
}

async function remember(full: string, entry: Remembered): Promise<void> {
  const memo = memoFile();
  if (!memo) return;
  // Most recent first, so that the oldest fall off the end.
  const { [full]: _previous, ...others } = memo.entries;
  memo.entries = Object.fromEntries([[full, entry], ...Object.entries(others).slice(0, MAX_REMEMBERED - 1)]);
  try {
    await writeAtomically(memo.file, `${JSON.stringify({ format: 'ragtax-file-sha256/1', files: memo.entries })}\n`);
  } catch (error) {
    if (!warnedMemo) process.stderr.write(`warning: cannot record file hashes in ${memo.file} (${messageOf(error)}); large files will be hashed again next run\n`);
    warnedMemo = true;
  }
}

async function hashBytes(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** sha256 of a file's bytes (hex): read in chunks, and not read again while the file is unchanged (see above). */
export async function sha256File(file: string): Promise<string> {
  const full = path.resolve(file);
  const before = await stat(full, { bigint: true });
  const identity = identityOf(before);
  const known = inProcess.get(full) ?? (before.size >= REMEMBER_ACROSS_RUNS_BYTES ? memoFile()?.entries[full] : undefined);
  if (known?.identity === identity) return known.sha256;
  const startedNs = BigInt(Date.now()) * 1_000_000n;
  // A file that fits one read is read in one call (an async open, read and close are three round
  // trips to the thread pool; a run hashes its data files, tokenizer and config files this way).
  const sha256 = before.size <= CHUNK_BYTES ? createHash('sha256').update(readFileSync(full)).digest('hex') : await hashBytes(full);
  const after = statSync(full, { bigint: true });
  // Changed while read, or changed too recently to be told apart from a next change: not remembered.
  if (identityOf(after) !== identity || startedNs - (before.ctimeNs > before.mtimeNs ? before.ctimeNs : before.mtimeNs) < RACY_NS) return sha256;
  const entry = { identity, sha256 };
  inProcess.set(full, entry);
  if (before.size >= REMEMBER_ACROSS_RUNS_BYTES) await remember(full, entry);
  return sha256;
}

/**
 * Node's one-shot hash (Node ≥ 20.12), absent from older Node 20 releases. It skips the Hash object
 * of createHash: a warm quickstart hashes ~7,000 short strings (cache keys and row checksums), which
 * cost 25–40 ms through createHash against 5–7 ms this way.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** sha256 of a string (UTF-8), as hex. */
export function sha256Hex(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}

/** sha256 of a value's JSON (key order as given). */
export function sha256Json(value: unknown): string {
  return sha256Hex(JSON.stringify(value));
}
