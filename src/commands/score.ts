// `ragtax score <predictions.jsonl> [--samples OUT.jsonl] [--json] [--rule R] [--refusal-markers A,B]
// [--cot]`: scores existing predictions with the study's scorer and the same aggregate code as a
// full run, treated as one pseudo-cell.

import { existsSync, realpathSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { aggregateCell } from '../aggregate/cells.js';
import { readTextLines } from '../data/jsonl.js';
import { at, InputError, messageOf } from '../errors.js';
import type { ScoringRule } from '../scoring/scoring-rules.js';
import { DEFAULT_REFUSAL_MARKERS, METRIC_DEFS, SUBSETS, type MetricName } from '../scoring/metrics.js';
import { normalizeAnswer } from '../scoring/normalize.js';
import { scoreResponse } from '../scoring/score.js';
import type { Cell, CellAggregate, Interval, SampleRecord } from '../types.js';

/** One line of the predictions file. */
export interface Prediction {
  id: string;
  response: string;
  answers: string[];
  /** Documents shown to the model; absent means none (closed book), so the answer is not in context. */
  context?: string[];
}

export interface ScoreCommandOptions {
  file: string;
  samplesOut?: string;
  json: boolean;
  /** Optional scorer settings (defaults: first-line rule, `NO-RES` marker, no CoT extraction). */
  rule?: ScoringRule;
  refusalMarkers?: string[];
  cot?: boolean;
}

/** Per-item line of `--samples`. */
export interface ScoredPrediction {
  id: string;
  correct: boolean;
  exactMatch: boolean;
  f1: number;
  refusal: boolean;
  answerInContext: boolean;
}

const LINE_SHAPE = 'each line must be a JSON object {"id": string, "response": string, "answers": string[], "context"?: string[]}';

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Validates one parsed line; `where` is `file:line`. */
export function parsePrediction(text: string, file: string, line: number): Prediction {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = messageOf(error);
    throw new InputError(at(file, line, `not valid JSON (${reason}); ${LINE_SHAPE}`));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InputError(at(file, line, `got ${describe(parsed)}; ${LINE_SHAPE}`));
  }
  const record = parsed as Record<string, unknown>;
  const fieldError = (field: string, allowed: string): InputError => {
    const got = field in record ? `got ${describe(record[field])}` : 'missing';
    return new InputError(at(file, line, `field "${field}" ${got}; allowed: ${allowed}`));
  };
  const { id, response, answers, context } = record;
  if (typeof id !== 'string') throw fieldError('id', 'a non-empty string');
  if (id.length === 0) throw new InputError(at(file, line, 'field "id" is empty; allowed: a non-empty string'));
  if (typeof response !== 'string') throw fieldError('response', 'a string (may be empty)');
  if (!isStringArray(answers)) throw fieldError('answers', 'an array of strings ([] for an unanswerable item)');
  if (context !== undefined && !isStringArray(context)) {
    throw fieldError('context', 'an array of strings (the documents shown), or leave the field out');
  }
  return context === undefined ? { id, response, answers } : { id, response, answers, context };
}

/**
 * Reads and validates every non-blank line (blank lines are allowed and skipped). Lines are read by
 * `readTextLines`: a line over MAX_JSONL_LINE_BYTES is refused without being held. A file with no
 * prediction is an error, not a score over 0 items.
 */
export async function readPredictions(file: string): Promise<Prediction[]> {
  const predictions: Prediction[] = [];
  const firstLineOfId = new Map<string, number>();
  try {
    for await (const { line: lineNumber, text } of readTextLines(file)) {
      if (text.trim().length === 0) continue;
      const prediction = parsePrediction(text, file, lineNumber);
      const earlier = firstLineOfId.get(prediction.id);
      if (earlier !== undefined) {
        throw new InputError(
          at(file, lineNumber, `field "id": duplicate id ${JSON.stringify(prediction.id)} (first on line ${earlier}); ids must be unique`),
        );
      }
      firstLineOfId.set(prediction.id, lineNumber);
      predictions.push(prediction);
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    const reason = messageOf(error);
    throw new InputError(at(file, undefined, `cannot read predictions (${reason})`));
  }
  if (predictions.length === 0) {
    throw new InputError(`no predictions in ${file} (it is empty or every line is blank); ${LINE_SHAPE}`);
  }
  return predictions;
}

const MARKERS_ALLOWED = 'allowed: comma-separated markers, each with a letter or digit, e.g. --refusal-markers "NO-RES,insufficient information"';

/** Checks refusal markers: each must keep a letter or digit after normalisation, or it could never match. */
export function checkRefusalMarkers(markers: readonly string[]): void {
  if (markers.length === 0) throw new InputError(`--refusal-markers: no marker given; ${MARKERS_ALLOWED}`);
  markers.forEach((marker, i) => {
    if (marker.trim() === '') throw new InputError(`--refusal-markers: marker ${i + 1} is empty; ${MARKERS_ALLOWED}`);
    if (normalizeAnswer(marker) === '') {
      throw new InputError(
        `--refusal-markers: marker ${i + 1} \`${marker}\` has no letters or digits once normalised (punctuation and a/an/the are dropped), so it could never match; ${MARKERS_ALLOWED}`,
      );
    }
  });
}

/** `--refusal-markers A,B`: the comma-separated markers, trimmed and checked. */
export function parseRefusalMarkers(text: string): string[] {
  const markers = text.split(',').map((m) => m.trim());
  checkRefusalMarkers(markers);
  return markers;
}

/** The file's identity on disk when it exists: its real path and its device and inode (hard links). */
function identity(file: string): { real: string; dev: number; ino: number } | null {
  try {
    const { dev, ino } = statSync(file);
    return { real: realpathSync(file), dev, ino };
  } catch {
    return null;
  }
}

/** Refuses a --samples file that is the predictions file itself (by any path, symlink or hard link). */
function checkSamplesPath(file: string, samplesOut: string): void {
  const input = identity(file);
  const output = identity(samplesOut);
  let same = input !== null && output !== null && (input.real === output.real || (input.dev === output.dev && input.ino === output.ino));
  // A --samples path that does not exist yet cannot be the input; compare its would-be real path anyway.
  if (!same && input !== null && output === null && existsSync(path.dirname(samplesOut))) {
    same = path.join(realpathSync(path.dirname(samplesOut)), path.basename(samplesOut)) === input.real;
  }
  if (same) {
    throw new InputError(
      `--samples ${samplesOut} is the predictions file ${file} itself; writing it would overwrite the input: choose another file for the per-item scores`,
    );
  }
}

const PSEUDO_CELL: Cell = {
  model: 'predictions',
  format: 'raw',
  instruction: 'external',
  context: 'retrieved',
  k: 0,
  shots: 0,
  cot: false,
};

function toSample(prediction: Prediction, cell: Cell, options: ScoreCommandOptions): SampleRecord {
  const docs = prediction.context ?? [];
  const scoreInput = {
    response: prediction.response,
    answers: prediction.answers,
    contextText: docs.join('\n'),
    cot: options.cot ?? false,
    ...(options.rule === undefined ? {} : { rule: options.rule }),
    ...(options.refusalMarkers === undefined ? {} : { refusalMarkers: options.refusalMarkers }),
  };
  const { scoredText, scores } = scoreResponse(scoreInput);
  return {
    ...cell,
    itemId: prediction.id,
    question: '',
    answers: prediction.answers,
    docIds: [],
    prompt: '',
    response: prediction.response,
    scoredText,
    scores,
    finishReason: null,
    promptTokens: 0,
    completionTokens: 0,
    latencyMs: 0,
  };
}

/** Metrics defined over the answer-in-context / answer-absent split: they need the documents shown. */
const CONTEXT_METRICS = METRIC_DEFS.filter((m) => m.over === 'answerInContext' || m.over === 'answerAbsent').map((m) => m.name);
type ContextMetric = 'negativeRejectionRate' | 'overRefusalRate' | 'parametricRecall' | 'contextAccuracy';

/** The scorer settings a summary was made with. */
export interface ScoringSettings {
  rule: ScoringRule;
  refusalMarkers: string[];
  cot: boolean;
}

/**
 * The aggregate without the pseudo-cell's meaningless grid coordinates. Without any `context` in
 * the file, the metrics that need it are left out (they would only repeat refusal rate and
 * accuracy) and `notes` says so.
 */
export type ScoreSummary = { file: string; scoring?: ScoringSettings; notes?: string[] } & Omit<CellAggregate, keyof Cell | ContextMetric> &
  Partial<Pick<CellAggregate, ContextMetric>>;

export const NO_CONTEXT_NOTE =
  'no line has `context`, so every item counts as "answer absent": negative rejection, over-refusal, parametric recall and context accuracy need the documents shown and are left out (refusal rate and accuracy are the numbers they would repeat)';

export function summarize(file: string, aggregate: CellAggregate, opts: { hasContext?: boolean; scoring?: ScoringSettings } = {}): ScoreSummary {
  const { model: _m, format: _f, instruction: _i, context: _c, k: _k, shots: _s, cot: _t, ...rest } = aggregate;
  const summary: ScoreSummary = { file, ...(opts.scoring ? { scoring: opts.scoring } : {}), ...rest };
  if (opts.hasContext === false) {
    const ci95 = { ...summary.ci95 };
    for (const name of CONTEXT_METRICS as MetricName[]) {
      delete (summary as Partial<Record<MetricName, unknown>>)[name];
      delete ci95[name];
    }
    summary.ci95 = ci95;
    summary.notes = [NO_CONTEXT_NOTE];
  }
  return summary;
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
}

function interval(value: Interval | undefined): string {
  return value === undefined ? '' : `[${(100 * value[0]).toFixed(1)}, ${(100 * value[1]).toFixed(1)}]`;
}

function describeScoring(scoring: ScoringSettings): string {
  const markers = scoring.refusalMarkers.map((m) => JSON.stringify(m)).join(', ');
  const text = scoring.cot ? 'the last Answer: line (--cot)' : `${scoring.rule} rule`;
  return `scoring: ${text}, refusal markers ${markers}`;
}

export function formatSummary(summary: ScoreSummary): string {
  const hasContext = summary.notes === undefined;
  const lines = [
    hasContext
      ? `${summary.file}: ${summary.n} items (${summary.nAnswerInContext} with a gold answer in context, ${summary.nAnswerAbsent} without)`
      : `${summary.file}: ${summary.n} items; no line has \`context\``,
  ];
  if (summary.scoring) lines.push(describeScoring(summary.scoring));
  lines.push(`${'metric'.padEnd(20)}${'value'.padStart(8)}  ${'95% CI'.padEnd(14)}  over`);
  // The METRICS entries with `score: 'row'` this summary has, then those with `score: 'line'`.
  for (const m of METRIC_DEFS.filter((m) => m.score === 'row')) {
    if (!(m.name in summary)) continue;
    lines.push(`${m.label.padEnd(20)}${percent(summary[m.name] ?? null).padStart(8)}  ${interval(summary.ci95[m.name]).padEnd(14)}  ${SUBSETS[m.over].label}`);
  }
  for (const m of METRIC_DEFS.filter((m) => m.score === 'line')) {
    const value = summary[m.name];
    if (value !== undefined) lines.push(`${m.label}: ${percent(value)}`);
  }
  for (const note of summary.notes ?? []) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}

export async function runScoreCommand(
  opts: ScoreCommandOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (opts.refusalMarkers !== undefined) checkRefusalMarkers(opts.refusalMarkers);
  if (opts.cot && opts.rule !== undefined) {
    throw new InputError('--rule does not apply with --cot (a CoT response is scored on its last `Answer:` line); give one of them');
  }
  if (opts.samplesOut !== undefined) checkSamplesPath(opts.file, opts.samplesOut);
  const predictions = await readPredictions(opts.file);
  const cell: Cell = { ...PSEUDO_CELL, cot: opts.cot ?? false };
  const samples = predictions.map((prediction) => toSample(prediction, cell, opts));
  const scoring: ScoringSettings = {
    rule: opts.rule ?? 'first-line',
    refusalMarkers: [...(opts.refusalMarkers ?? DEFAULT_REFUSAL_MARKERS)],
    cot: opts.cot ?? false,
  };
  const hasContext = predictions.some((p) => p.context !== undefined);
  const summary = summarize(opts.file, aggregateCell(cell, samples), { hasContext, scoring });

  if (opts.samplesOut !== undefined) {
    const lines = samples.map((sample) => {
      const { correct, exactMatch, f1, refusal, answerInContext } = sample.scores;
      const scored: ScoredPrediction = { id: sample.itemId, correct, exactMatch, f1, refusal, answerInContext };
      return `${JSON.stringify(scored)}\n`;
    });
    try {
      await writeFile(opts.samplesOut, lines.join(''), 'utf8');
    } catch (error) {
      const reason = messageOf(error);
      throw new InputError(at(opts.samplesOut, undefined, `cannot write --samples file (${reason})`));
    }
  }
  out.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
}
