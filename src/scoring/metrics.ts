// Per-sample metrics as small pure functions, and METRICS: the one table of the cell-level metrics
// that the aggregate, summary.csv, report.md, `ragtax compare` and `ragtax score` take their rows
// from. The text metrics compare the NORMALISED scored text with the NORMALISED gold answers, and
// all of them treat an item without (non-empty) gold answers as never correct.

import type { Cell, CellAggregate, SampleScores } from '../types.js';
import { normalizeAnswer, normalizedAnswers } from './normalize.js';

/** The paper's refusal marker. RGB-style runs pass e.g. `['insufficient information']`. */
export const DEFAULT_REFUSAL_MARKERS: readonly string[] = ['NO-RES'];

/** Paper accuracy: any normalised gold answer is a plain substring of the normalised text. */
export function paperAccuracy(text: string, answers: readonly string[]): boolean {
  const golds = normalizedAnswers(answers);
  if (golds.length === 0) return false;
  const haystack = normalizeAnswer(text);
  return golds.some((gold) => haystack.includes(gold));
}

/** Exact match: the normalised text equals a normalised gold answer. */
export function exactMatch(text: string, answers: readonly string[]): boolean {
  const prediction = normalizeAnswer(text);
  return prediction.length > 0 && normalizedAnswers(answers).includes(prediction);
}

function tokens(normalized: string): string[] {
  return normalized.length === 0 ? [] : normalized.split(' ');
}

function tokenOverlapF1(predicted: readonly string[], gold: readonly string[]): number {
  if (predicted.length === 0 || gold.length === 0) return 0;
  const remaining = new Map<string, number>();
  for (const token of gold) remaining.set(token, (remaining.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predicted) {
    const left = remaining.get(token) ?? 0;
    if (left > 0) {
      common += 1;
      remaining.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predicted.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * SQuAD-style token F1, maximised over gold answers, computed on OUR normalisation (punctuation
 * becomes a space rather than being deleted, so "May 18 , 2018" and "May 18, 2018" agree).
 */
export function tokenF1(text: string, answers: readonly string[]): number {
  const predicted = tokens(normalizeAnswer(text));
  let best = 0;
  for (const gold of normalizedAnswers(answers)) best = Math.max(best, tokenOverlapF1(predicted, tokens(gold)));
  return best;
}

/**
 * Refusal: a normalised marker occurs in the normalised text as a whole-word sequence (both padded
 * with spaces). `NO-RES`, `no res`, `No-Res`, `NO-RES.` all count. This is stricter than the
 * paper's plain substring test, under which `casino restaurant` ("...o res...") would be a refusal.
 * A response that holds both an answer and the marker (`Lando Calrissian NO-RES`) is still counted
 * as correct AND as a refusal, as in the paper; reports should say so rather than hide it.
 */
export function isRefusal(text: string, markers: readonly string[] = DEFAULT_REFUSAL_MARKERS): boolean {
  const padded = ` ${normalizeAnswer(text)} `;
  return markers
    .map(normalizeAnswer)
    .filter((marker) => marker.length > 0)
    .some((marker) => padded.includes(` ${marker} `));
}

// ---- The metrics table ---------------------------------------------------------------------------
//
// Adding a cell-level metric: a field in CellAggregate (src/types.ts), an entry in METRICS below
// (the compiler insists on both), and the per-sample score in score.ts if it needs a new
// SampleScores field. Everything that lists metrics iterates METRIC_DEFS.

/** The samples (of one cell) a metric is computed over. In `compare`: the pairs where both samples are in it. */
export interface Subset {
  /** As `ragtax score` prints it in its "over" column. */
  label: string;
  includes: (scores: SampleScores) => boolean;
  /**
   * The value when the subset is empty: 0 where that only happens for an empty cell (`n = 0` says
   * why, and the field is not nullable), null otherwise. An empty subset never has a `ci95` entry.
   */
  empty: 0 | null;
  /** Cells that have the metric at all (default: every cell); elsewhere its field is left out. */
  appliesTo?: (cell: Cell, scored: readonly SampleScores[]) => boolean;
}

export const SUBSETS = {
  all: { label: 'all items', includes: () => true, empty: 0 },
  // Knowledge-conflict samples are in neither: a refusal there is not over-refusal, nor a right answer
  // parametric recall in the usual sense; they have their own subset, `conflict`.
  answerInContext: { label: 'answer in context', includes: (s) => s.answerInContext && s.followsContext === undefined, empty: null },
  answerAbsent: { label: 'answer absent', includes: (s) => !s.answerInContext && s.followsContext === undefined, empty: null },
  /** Every scored sample of a CoT cell. */
  cot: { label: 'CoT responses', includes: () => true, empty: 0, appliesTo: (cell) => cell.cot },
  /** Responses that gave a proof (a response without `Proof:` is not "incoherent"); proof-task cells only. */
  withProof: {
    label: 'responses with a proof',
    includes: (s) => s.proof !== undefined && s.proof !== null,
    empty: null,
    appliesTo: (_cell, scored) => scored.some((s) => s.proof !== undefined),
  },
  /** Every scored sample of a reasoning model's cell (`reasoning.strip`). */
  reasoning: {
    label: 'reasoning responses',
    includes: () => true,
    empty: 0,
    appliesTo: (_cell, scored) => scored.some((s) => s.reasoningClosed !== undefined),
  },
  /** Knowledge conflicts: the shown documents claim a context answer that is not a true answer (docs/conflicts.md). */
  conflict: {
    label: 'knowledge conflicts',
    includes: (s) => s.followsContext !== undefined,
    empty: null,
    appliesTo: (_cell, scored) => scored.some((s) => s.followsContext !== undefined),
  },
} as const satisfies Record<string, Subset>;

export type SubsetName = keyof typeof SUBSETS;

/** How `ragtax compare` tests a metric (paired, candidate − baseline). */
export interface CompareSpec<Gate extends string> {
  /** `MetricComparison.metric`. */
  id: string;
  /** Label in compare's text, Markdown and JUnit (default: the metric's `label`). */
  label?: string;
  /** Position among the compared metrics (their order in every compare output). */
  order: number;
  /** Whether a significant change in the bad direction is a regression: always, never, or with `--gate-refusal`. */
  gate: Gate;
}

interface MetricCommon {
  /** The subset of the cell's scored samples it is defined over. */
  over: SubsetName;
  /** Long label: `ragtax score`'s rows (and compare's, unless compare.label). */
  label: string;
  /** Column label of report.md and of compare's Markdown table. */
  short: string;
  higherIsBetter: boolean;
  /** summary.csv: the value with `_lo`/`_hi` interval columns, or the value alone. */
  csv: 'value+ci' | 'value';
  /**
   * report.md's cells table: a column (with the 95% interval after the value for `column+ci`), a
   * note in the CoT column (`yes (12.5% <short>)`, when non-zero), or not shown.
   */
  markdown: 'column' | 'column+ci' | 'cot-note' | null;
  /** `ragtax score`: a row of its table, a `<label>: <value>` line under it when present, or not shown. */
  score: 'row' | 'line' | null;
}

/** Share of the subset's samples for which `value` holds; Wilson interval. */
export interface RateMetric extends MetricCommon {
  kind: 'rate';
  value: (scores: SampleScores) => boolean;
  compare?: CompareSpec<'always' | 'never' | 'gateRefusal'>;
}

/** Mean of a per-sample score in [0, 1]; normal-approximation interval (meanInterval). Never gates (no McNemar test). */
export interface MeanMetric extends MetricCommon {
  kind: 'mean';
  value: (scores: SampleScores) => number;
  compare?: CompareSpec<'never'>;
}

export type MetricDef = RateMetric | MeanMetric;

/** CellAggregate's metric fields: everything but the cell coordinates, the counts and `ci95`. */
export type MetricName = Exclude<keyof CellAggregate, keyof Cell | 'n' | 'nAnswerInContext' | 'nAnswerAbsent' | 'ci95' | 'excludedContextOverflow' | 'smallSample' | 'clusters'>;

/**
 * Every cell-level metric, keyed by its field in CellAggregate / summary.json. The ORDER is the
 * order of summary.json's fields and `ci95` keys, of summary.csv's columns and of report.md's and
 * `ragtax score`'s rows; metrics of a subset with `appliesTo` come after `excludedContextOverflow`
 * in summary.json.
 */
export const METRICS = {
  accuracy: {
    kind: 'rate', value: (s) => s.correct, over: 'all', label: 'accuracy', short: 'accuracy', higherIsBetter: true,
    csv: 'value+ci', markdown: 'column+ci', score: 'row', compare: { id: 'accuracy', order: 1, gate: 'always' },
  },
  exactMatch: {
    kind: 'rate', value: (s) => s.exactMatch, over: 'all', label: 'exact match', short: 'EM', higherIsBetter: true,
    csv: 'value+ci', markdown: 'column', score: 'row', compare: { id: 'exactMatch', order: 4, gate: 'never' },
  },
  f1: {
    kind: 'mean', value: (s) => s.f1, over: 'all', label: 'token F1', short: 'F1', higherIsBetter: true,
    csv: 'value+ci', markdown: 'column', score: 'row', compare: { id: 'f1', label: 'F1', order: 5, gate: 'never' },
  },
  // Never gating: more refusals where the documents lack the answer is what NO-RES asks for.
  refusalRate: {
    kind: 'rate', value: (s) => s.refusal, over: 'all', label: 'refusal rate', short: 'refusal', higherIsBetter: false,
    csv: 'value+ci', markdown: 'column', score: 'row', compare: { id: 'refusalRate', order: 2, gate: 'never' },
  },
  negativeRejectionRate: {
    kind: 'rate', value: (s) => s.refusal, over: 'answerAbsent', label: 'negative rejection', short: 'neg. rejection', higherIsBetter: true,
    csv: 'value+ci', markdown: 'column', score: 'row',
  },
  overRefusalRate: {
    kind: 'rate', value: (s) => s.refusal, over: 'answerInContext', label: 'over-refusal', short: 'over-refusal', higherIsBetter: false,
    csv: 'value+ci', markdown: 'column', score: 'row', compare: { id: 'overRefusal', order: 3, gate: 'gateRefusal' },
  },
  parametricRecall: {
    kind: 'rate', value: (s) => s.correct, over: 'answerAbsent', label: 'parametric recall', short: 'parametric recall', higherIsBetter: true,
    csv: 'value+ci', markdown: 'column', score: 'row',
  },
  contextAccuracy: {
    kind: 'rate', value: (s) => s.correct, over: 'answerInContext', label: 'context accuracy', short: 'context acc.', higherIsBetter: true,
    csv: 'value+ci', markdown: 'column', score: 'row',
  },
  cotMissingAnswer: {
    kind: 'rate', value: (s) => s.cotAnswerFound !== true, over: 'cot', label: 'CoT responses without an Answer: line', short: 'without Answer:',
    higherIsBetter: false, csv: 'value', markdown: 'cot-note', score: 'line',
  },
  proofCoherence: {
    kind: 'rate', value: (s) => s.proofCoherent === true, over: 'withProof', label: 'proof coherence', short: 'proof coherence', higherIsBetter: true,
    csv: 'value', markdown: null, score: null,
  },
  reasoningUnclosed: {
    kind: 'rate', value: (s) => s.reasoningClosed === false, over: 'reasoning', label: 'thinking cut off (no closing tag)', short: 'thinking cut off',
    higherIsBetter: false, csv: 'value', markdown: 'column', score: 'line',
  },
  // Knowledge conflicts (docs/conflicts.md). A response can give both values (then it counts for
  // both); `conflictNeither` is neither value nor a refusal. No direction is right in general, so
  // none gates `compare`.
  followsContext: {
    kind: 'rate', value: (s) => s.followsContext === true, over: 'conflict', label: 'follows the context (gives what the documents claim)', short: 'follows context',
    higherIsBetter: true, csv: 'value+ci', markdown: 'column', score: null, compare: { id: 'followsContext', order: 6, gate: 'never' },
  },
  followsMemory: {
    kind: 'rate', value: (s) => s.correct, over: 'conflict', label: 'follows memory (gives the true answer against the documents)', short: 'follows memory',
    higherIsBetter: false, csv: 'value+ci', markdown: 'column', score: null, compare: { id: 'followsMemory', order: 7, gate: 'never' },
  },
  conflictRefusal: {
    kind: 'rate', value: (s) => s.refusal, over: 'conflict', label: 'refusal under conflict', short: 'conflict refusal',
    higherIsBetter: false, csv: 'value+ci', markdown: 'column', score: null, compare: { id: 'conflictRefusal', order: 8, gate: 'never' },
  },
  conflictNeither: {
    kind: 'rate', value: (s) => s.followsContext === false && !s.correct && !s.refusal, over: 'conflict', label: 'neither value nor a refusal under conflict', short: 'conflict neither',
    higherIsBetter: false, csv: 'value+ci', markdown: 'column', score: null, compare: { id: 'conflictNeither', order: 9, gate: 'never' },
  },
} as const satisfies Record<MetricName, MetricDef>;

/** The table as a list, in its order, each entry with its name. */
export const METRIC_DEFS: readonly (MetricDef & { name: MetricName })[] = (Object.keys(METRICS) as MetricName[]).map(
  (name): MetricDef & { name: MetricName } => ({ name, ...METRICS[name] }),
);

// Compile-time agreement with CellAggregate: a metric is nullable there exactly when its subset can
// be empty in a non-empty cell, and optional exactly when its subset has `appliesTo`.
type SubsetOf<K extends MetricName> = (typeof SUBSETS)[(typeof METRICS)[K]['over']];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type _NullableAgrees = Assert<
  Same<{ [K in MetricName]-?: null extends CellAggregate[K] ? K : never }[MetricName], { [K in MetricName]: SubsetOf<K>['empty'] extends null ? K : never }[MetricName]>
>;
export type _OptionalAgrees = Assert<
  Same<{ [K in MetricName]-?: undefined extends CellAggregate[K] ? K : never }[MetricName], { [K in MetricName]: SubsetOf<K> extends { appliesTo: unknown } ? K : never }[MetricName]>
>;
