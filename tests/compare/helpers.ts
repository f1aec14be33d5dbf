// Real run directories from the tiny fixture suite, and edited copies of them, for the compare and
// report tests.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSummary } from '../../src/rundir/types.js';
import type { SampleRecord } from '../../src/types.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/ragtax.js');
export const TINY_SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');

export function ragtax(tmp: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the tiny suite into `<tmp>/run` (a few seconds) and returns the directory. */
export function tinyRun(tmp: string): string {
  const out = path.join(tmp, 'run');
  const r = ragtax(tmp, 'run', TINY_SUITE, '--out', out, '--quiet');
  if (r.code !== 0) throw new Error(`tiny run failed (${r.code}): ${r.stderr}`);
  return out;
}

export function readSamples(dir: string): SampleRecord[] {
  return readFileSync(path.join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
}

export function readSummary(dir: string): RunSummary {
  return JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
}

/** A copy of a run directory with edited samples and/or summary. */
export function copyRun(from: string, to: string, edit: { samples?: SampleRecord[]; summary?: (s: RunSummary) => void } = {}): string {
  mkdirSync(to, { recursive: true });
  if (edit.samples) writeFileSync(path.join(to, 'samples.jsonl'), edit.samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
  else copyFileSync(path.join(from, 'samples.jsonl'), path.join(to, 'samples.jsonl'));
  const summary = readSummary(from);
  edit.summary?.(summary);
  writeFileSync(path.join(to, 'summary.json'), JSON.stringify(summary, null, 2));
  return to;
}

/** Every item repeated `copies` times under new ids (`q1#0`, `q1#1`, …), so paired tests have power. */
export function amplify(samples: readonly SampleRecord[], copies: number): SampleRecord[] {
  return samples.flatMap((s) => Array.from({ length: copies }, (_, i) => ({ ...s, itemId: `${s.itemId}#${i}`, scores: { ...s.scores } })));
}

/** A minimal synthetic sample of one cell (the cell named by `model`), no run needed. */
export function sample(itemId: string, correct: boolean, refusal = false, f1 = correct ? 1 : 0, model = 'm'): SampleRecord {
  return {
    itemId, model, format: 'raw', instruction: 'nores', context: 'retrieved', k: 1, shots: 0, cot: false,
    question: 'q', answers: ['a'], docIds: [], prompt: 'p', response: 'r', scoredText: 'r',
    scores: { correct, exactMatch: correct, f1, refusal, answerInContext: true },
    finishReason: 'eos', promptTokens: 1, completionTokens: 1, latencyMs: 0,
  };
}

/**
 * One cell's discordance table as samples: b items right only in the baseline, c only in the
 * candidate, `both` in both, `neither` in none.
 */
export function cellTables(model: string, b: number, c: number, both: number, neither: number): { base: SampleRecord[]; cand: SampleRecord[] } {
  const base: SampleRecord[] = [];
  const cand: SampleRecord[] = [];
  let i = 0;
  const add = (n: number, inBase: boolean, inCand: boolean) => {
    for (let j = 0; j < n; j++, i++) {
      const id = `i${String(i).padStart(3, '0')}`;
      base.push(sample(id, inBase, false, inBase ? 1 : 0, model));
      cand.push(sample(id, inCand, false, inCand ? 1 : 0, model));
    }
  };
  add(b, true, false);
  add(c, false, true);
  add(both, true, true);
  add(neither, false, false);
  return { base, cand };
}

export { mulberry32 } from '../../scripts/synthetic.js';
