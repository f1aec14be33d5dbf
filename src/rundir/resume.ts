// Crash safety for run directories. `run.json` is written when a run STARTS and says what the run
// is made of (suite config, data, model files, --limit); `samples.jsonl` holds every finished
// sample. `ragtax run --resume` checks that the suite and models are still the same ones, drops a
// torn last line left by a kill, keeps every complete record and generates only what is missing.
import { open, readFile, truncate } from 'node:fs/promises';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { cellKey } from '../aggregate/cells.js';
import { readTextLines } from '../data/jsonl.js';
import { at, InputError, messageOf } from '../errors.js';
import type { SampleRecord } from '../types.js';
import { isAtomicLeftover, writeAtomically, writeFailure } from '../util/atomic-write.js';
import { sampleKey, sampleRecordProblem } from './sample-record.js';
import { RUN_FILE, type RunFile, type RunIdentity } from './types.js';

const RUN_FORMAT = 'ragtax-run/1';

export async function writeRunFile(outDir: string, run: RunFile): Promise<void> {
  await writeAtomically(path.join(outDir, RUN_FILE), JSON.stringify(run, null, 2) + '\n');
}

/** Entries that do not make a directory a run: leftovers of an atomic write killed before its rename. */
function meaningfulEntries(outDir: string): string[] {
  return readdirSync(outDir).filter((name) => !isAtomicLeftover(name));
}

/**
 * The run.json of a directory to resume, or null when there is nothing to resume (no directory, or
 * an empty one: the run was killed before it wrote anything), in which case the run starts afresh.
 */
export async function readRunFileForResume(outDir: string): Promise<RunFile | null> {
  if (!existsSync(outDir)) return null;
  if (!statSync(outDir).isDirectory()) throw new InputError(`--out ${outDir}: is a file, not a directory`);
  const file = path.join(outDir, RUN_FILE);
  if (!existsSync(file)) {
    if (meaningfulEntries(outDir).length === 0) return null;
    throw new InputError(`${outDir}: cannot resume: no ${RUN_FILE} in this directory, so it is not a ragtax run directory (or was made by an older ragtax)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InputError(at(file, undefined, `cannot resume: not valid JSON (${messageOf(error)})`));
  }
  const run = parsed as Partial<RunFile>;
  if (run.format !== RUN_FORMAT || typeof run.identity !== 'object' || typeof run.manifest !== 'object') {
    throw new InputError(at(file, undefined, `cannot resume: not a ${RUN_FORMAT} file`));
  }
  return { format: RUN_FORMAT, identity: run.identity!, manifest: run.manifest!, resumed: Array.isArray(run.resumed) ? run.resumed : [] };
}

/** Human-readable differences between the stored identity and the current one (empty: same run). */
export function identityDifferences(stored: RunIdentity, current: RunIdentity): string[] {
  const out: string[] = [];
  if (stored.suiteConfigSha256 !== current.suiteConfigSha256) out.push('the suite configuration differs');
  for (const role of new Set([...Object.keys(stored.data ?? {}), ...Object.keys(current.data)])) {
    if ((stored.data?.[role] ?? null) !== (current.data[role] ?? null)) out.push(`the ${role} data file differs`);
  }
  const names = new Set([...Object.keys(stored.models ?? {}), ...Object.keys(current.models)]);
  for (const name of names) {
    const a = stored.models?.[name];
    const b = current.models[name];
    if (!a || !b) out.push(`model \`${name}\` is ${a ? 'no longer' : 'not'} in the suite${a ? '' : ' of the run'}`);
    else if (a.key !== b.key || (a.key === null && a.source !== b.source)) out.push(`model \`${name}\` has different files`);
  }
  if ((stored.limit ?? null) !== current.limit) out.push(`--limit differs (run: ${stored.limit ?? 'none'}, now: ${current.limit ?? 'none'})`);
  return out;
}

/** Offset just after the last LF of a file (0 when it has none), read backwards from its end in chunks. */
async function completeLength(file: string): Promise<{ size: number; end: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
    for (let stop = size; stop > 0; ) {
      const start = Math.max(0, stop - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, stop - start, start);
      const lf = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (lf !== -1) return { size, end: start + lf + 1 };
      stop = start;
    }
    return { size, end: 0 };
  } finally {
    await handle.close();
  }
}

/**
 * Reads the records of an interrupted run, streamed line by line (the file is never held whole).
 * Bytes after the last newline are a line torn by a kill: the file is truncated to its last
 * complete line (so appending continues cleanly) and the torn bytes are counted, never parsed. A
 * complete line that is not a sample record means the file was damaged some other way, which is
 * an error. Records whose key is not in `expected`, or appears twice, are errors too: they would
 * make the aggregates wrong.
 */
export async function recoverSamples(file: string, expected: ReadonlySet<string>): Promise<{ records: SampleRecord[]; tornBytesDropped: number }> {
  if (!existsSync(file)) return { records: [], tornBytesDropped: 0 };
  const { size, end } = await completeLength(file);
  const tornBytesDropped = size - end;
  if (tornBytesDropped > 0) {
    await truncate(file, end).catch((error: unknown) => {
      throw writeFailure(file, error);
    });
  }
  const records: SampleRecord[] = [];
  const seen = new Set<string>();
  if (end === 0) return { records, tornBytesDropped };
  // A JSON line holds no raw CR or LF (JSON escapes them), so these lines are the file's LF-separated lines.
  for await (const { line, text } of readTextLines(file)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InputError(at(file, line, `cannot resume: a complete line is not valid JSON (${messageOf(error)}); the file was damaged, not interrupted`));
    }
    const problem = sampleRecordProblem(value);
    if (problem !== null) throw new InputError(at(file, line, `cannot resume: the line is not a ragtax sample record: ${problem}`));
    const record = value as SampleRecord;
    const key = sampleKey(record);
    if (!expected.has(key)) {
      throw new InputError(at(file, line, `cannot resume: sample of item \`${record.itemId}\` for model \`${record.model}\` is not part of this suite's grid`));
    }
    if (seen.has(key)) throw new InputError(at(file, line, `cannot resume: duplicate sample of item \`${record.itemId}\` in cell ${cellKey(record)}`));
    seen.add(key);
    records.push(record);
  }
  return { records, tornBytesDropped };
}
