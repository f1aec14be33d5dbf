// Reads a finished run directory (summary.json + samples.jsonl) back, for `compare` and `report`;
// samples.jsonl is streamed, never held whole.
// Every problem is an InputError naming the file (and line), so a missing or corrupt run exits 2.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readTextLines } from '../data/jsonl.js';
import { at, InputError, messageOf } from '../errors.js';
import { SampleTable, type Interner } from '../aggregate/sample-table.js';
import type { SampleRecord } from '../types.js';
import { sampleRecordProblem } from './sample-record.js';
import { SAMPLES_FILE, SUMMARY_FILE, type RunSummary } from './types.js';

export interface LoadedRun {
  dir: string;
  summary: RunSummary;
  /** The samples without prompts and responses (what compare needs). */
  samples: SampleTable;
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

/** samples.jsonl of a run directory, which must exist. */
async function samplesFileOf(dir: string): Promise<string> {
  const file = path.join(dir, SAMPLES_FILE);
  try {
    await stat(file);
  } catch {
    throw new InputError(`${file}: not found (expected a ragtax run directory)`);
  }
  return file;
}

/**
 * Streams a run's samples.jsonl line by line, each line checked as a sample record and handed to
 * `onSample`; nothing is kept here, so memory does not grow with the file.
 */
export async function forEachRunSample(dir: string, onSample: (sample: SampleRecord, line: number) => void): Promise<void> {
  const file = await samplesFileOf(dir);
  for await (const { line, text } of readTextLines(file)) {
    if (text.trim() === '') continue;
    // Plain JSON.parse: every number of a sample record fits a double (ids are strings), and the
    // exact-integer scan of dataset files cost a fifth of a million-record compare.
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InputError(at(file, line, `invalid JSON: ${messageOf(error).replace(/at position (\d+)/, (_, p: string) => `at column ${Number(p) + 1}`)}`));
    }
    onSample(checkSample(file, line, value), line);
  }
}

/**
 * A run's samples as a SampleTable (item, cell, scores; no prompts or responses), streamed; a
 * repeated (item, cell) keeps the later record and is counted in `duplicates`. `items` may be
 * shared with the table of another run.
 */
export async function readSampleTable(dir: string, items?: Interner): Promise<SampleTable> {
  const table = new SampleTable(items);
  await forEachRunSample(dir, (sample) => table.add(sample));
  return table;
}

export async function loadRun(dir: string, items?: Interner): Promise<LoadedRun> {
  const summary = await readRunSummary(dir);
  const samples = await readSampleTable(dir, items);
  return { dir, summary, samples, duplicates: samples.duplicates };
}
