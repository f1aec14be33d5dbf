// `ragtax score <predictions.jsonl> [--samples OUT.jsonl] [--json]`: scores existing predictions
// with the study's scorer and the same aggregate code as a full run, treated as one pseudo-cell.

import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { aggregateCell } from '../aggregate/cells.js';
import { at, InputError, messageOf } from '../errors.js';
import type { ScoringRule } from '../scoring/scoring-rules.js';
import { METRIC_DEFS, SUBSETS } from '../scoring/metrics.js';
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

/** Reads and validates every non-blank line (blank lines are allowed and skipped). */
export async function readPredictions(file: string): Promise<Prediction[]> {
  const predictions: Prediction[] = [];
  const firstLineOfId = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const text of lines) {
      lineNumber += 1;
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
  } finally {
    lines.close();
  }
  return predictions;
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

/** The aggregate without the pseudo-cell's meaningless grid coordinates. */
export type ScoreSummary = { file: string } & Omit<CellAggregate, keyof Cell>;

export function summarize(file: string, aggregate: CellAggregate): ScoreSummary {
  const { model: _m, format: _f, instruction: _i, context: _c, k: _k, shots: _s, cot: _t, ...rest } = aggregate;
  return { file, ...rest };
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
}

function interval(value: Interval | undefined): string {
  return value === undefined ? '' : `[${(100 * value[0]).toFixed(1)}, ${(100 * value[1]).toFixed(1)}]`;
}

export function formatSummary(summary: ScoreSummary): string {
  const lines = [
    `${summary.file}: ${summary.n} items (${summary.nAnswerInContext} with a gold answer in context, ${summary.nAnswerAbsent} without)`,
    `${'metric'.padEnd(20)}${'value'.padStart(8)}  ${'95% CI'.padEnd(14)}  over`,
  ];
  // The METRICS entries with `score: 'row'`, then those with `score: 'line'` that this summary has.
  for (const m of METRIC_DEFS.filter((m) => m.score === 'row')) {
    lines.push(`${m.label.padEnd(20)}${percent(summary[m.name] ?? null).padStart(8)}  ${interval(summary.ci95[m.name]).padEnd(14)}  ${SUBSETS[m.over].label}`);
  }
  for (const m of METRIC_DEFS.filter((m) => m.score === 'line')) {
    const value = summary[m.name];
    if (value !== undefined) lines.push(`${m.label}: ${percent(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runScoreCommand(
  opts: ScoreCommandOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const predictions = await readPredictions(opts.file);
  const cell: Cell = { ...PSEUDO_CELL, cot: opts.cot ?? false };
  const samples = predictions.map((prediction) => toSample(prediction, cell, opts));
  const summary = summarize(opts.file, aggregateCell(cell, samples));

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
