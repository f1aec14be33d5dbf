// Reads a finished run directory (summary.json + samples.jsonl) back, for `compare` and `report`.
// Every problem is an InputError naming the file (and line), so a missing or corrupt run exits 2.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readJsonlRecords } from '../data/jsonl.js';
import { at, InputError, messageOf } from '../errors.js';
import type { SampleRecord } from '../types.js';
import { sampleKey, sampleRecordProblem } from './sample-record.js';
import { SAMPLES_FILE, SUMMARY_FILE, type RunSummary } from './types.js';

export interface LoadedRun {
  dir: string;
  summary: RunSummary;
  samples: SampleRecord[];
  /** Records that repeat an earlier (item, cell): the later one is kept. Counted, never silent. */
  duplicates: number;
}

function checkSample(file: string, line: number, value: unknown): SampleRecord {
  const problem = sampleRecordProblem(value);
  if (problem !== null) throw new InputError(at(file, line, problem));
  return value as SampleRecord;
}

async function requireDir(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new InputError(`${dir}: run directory not found`);
  }
  if (!info.isDirectory()) throw new InputError(`${dir}: not a directory (expected a ragtax run directory)`);
}

export async function readRunSummary(dir: string): Promise<RunSummary> {
  await requireDir(dir);
  const file = path.join(dir, SUMMARY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new InputError(`${file}: not found; is ${dir} a finished ragtax run? (summary.json is written last)`);
  }
  let summary: RunSummary;
  try {
    summary = JSON.parse(text) as RunSummary;
  } catch (err) {
    throw new InputError(`${file}: invalid JSON: ${messageOf(err)}`);
  }
  if (typeof summary !== 'object' || summary === null || typeof summary.suite !== 'string' || !Array.isArray(summary.cells) || !Array.isArray(summary.pairs)) {
    throw new InputError(`${file}: not a ragtax summary (needs \`suite\`, \`cells\` and \`pairs\`)`);
  }
  if (typeof summary.manifest?.suite?.configSha256 !== 'string') throw new InputError(`${file}: field \`manifest.suite.configSha256\` is missing`);
  return summary;
}

/** Samples of a run; a repeated (item, cell) keeps the later record and is counted in `duplicates`. */
export async function readRunSamples(dir: string): Promise<{ samples: SampleRecord[]; duplicates: number }> {
  const file = path.join(dir, SAMPLES_FILE);
  try {
    await stat(file);
  } catch {
    throw new InputError(`${file}: not found (expected a ragtax run directory)`);
  }
  const byKey = new Map<string, SampleRecord>();
  let duplicates = 0;
  for await (const { line, value } of readJsonlRecords(file)) {
    const sample = checkSample(file, line, value);
    const key = sampleKey(sample);
    if (byKey.has(key)) {
      duplicates += 1;
      byKey.delete(key); // re-insert so the order follows the latest record
    }
    byKey.set(key, sample);
  }
  return { samples: [...byKey.values()], duplicates };
}

export async function loadRun(dir: string): Promise<LoadedRun> {
  const summary = await readRunSummary(dir);
  const { samples, duplicates } = await readRunSamples(dir);
  return { dir, summary, samples, duplicates };
}
