// Aggregates per cell (one evaluated configuration). Excluded samples (context overflow) are
// counted, never silently dropped and never scored.

import type { Cell, CellAggregate, Interval, SampleRecord, SampleScores } from '../types.js';
import { METRIC_DEFS, SUBSETS, type MetricDef, type MetricName, type Subset } from '../scoring/metrics.js';
import { meanInterval, wilsonInterval } from '../stats/intervals.js';

const CELL_FIELDS = ['model', 'format', 'instruction', 'context', 'k', 'shots', 'cot'] as const;

/** Just the grid coordinates (a SampleRecord or CellAggregate may be passed). */
export function cellOf(cell: Cell): Cell {
  const { model, format, instruction, context, k, shots, cot, variant } = cell;
  return variant === undefined ? { model, format, instruction, context, k, shots, cot } : { model, format, instruction, context, k, shots, cot, variant };
}

/** Stable, unambiguous key of a cell: the coordinates in a fixed order, JSON-encoded. */
export function cellKey(cell: Cell): string {
  return JSON.stringify([...CELL_FIELDS.map((field) => cell[field]), cell.variant ?? null]);
}

/** Samples grouped by cell, in first-seen order (excluded samples included, so they get counted). */
export function groupSamples(samples: Iterable<SampleRecord>): Map<string, SampleRecord[]> {
  const groups = new Map<string, SampleRecord[]>();
  for (const sample of samples) {
    const key = cellKey(sample);
    const group = groups.get(key);
    if (group) group.push(sample);
    else groups.set(key, [sample]);
  }
  return groups;
}

function count<T>(values: readonly T[], predicate: (value: T) => boolean): number {
  let total = 0;
  for (const value of values) if (predicate(value)) total += 1;
  return total;
}

/** A metric over its subset's samples: null when the subset is empty (then it has no interval). */
function evaluate(metric: MetricDef, scores: readonly SampleScores[]): { value: number | null; interval: Interval } {
  const n = scores.length;
  if (metric.kind === 'rate') {
    const k = count(scores, metric.value);
    return { value: n > 0 ? k / n : null, interval: wilsonInterval(k, n) };
  }
  const values = scores.map(metric.value);
  return { value: n > 0 ? values.reduce((sum, value) => sum + value, 0) / n : null, interval: meanInterval(values) };
}

/**
 * Every metric of the METRICS table over the non-excluded samples. A metric over all of them
 * (`accuracy`, `exactMatch`, `f1`, `refusalRate`, `cotMissingAnswer`) is 0 for an empty cell (its
 * type is not nullable; `n = 0` says why); the conditional rates are null when their denominator is
 * 0. Either way such a metric has no `ci95` entry. Metrics that apply to some cells only (CoT, proof)
 * are left out elsewhere, and come after `excludedContextOverflow`.
 */
export function aggregateCell(cell: Cell, samples: readonly SampleRecord[]): CellAggregate {
  const scored = samples.filter((sample) => sample.excluded === undefined).map((sample) => sample.scores);
  const n = scored.length;

  const ci95: Record<string, Interval> = {};
  const always: Partial<Record<MetricName, number | null>> = {};
  const some: Partial<Record<MetricName, number | null>> = {};
  for (const metric of METRIC_DEFS) {
    const subset: Subset = SUBSETS[metric.over];
    if (subset.appliesTo && !subset.appliesTo(cell, scored)) continue;
    const { value, interval } = evaluate(metric, scored.filter(subset.includes));
    if (value !== null) ci95[metric.name] = interval;
    (subset.appliesTo ? some : always)[metric.name] = value ?? subset.empty;
  }

  // The table and CellAggregate agree field by field (checked at compile time in scoring/metrics.ts).
  return {
    ...cellOf(cell),
    n,
    nAnswerInContext: count(scored, SUBSETS.answerInContext.includes),
    nAnswerAbsent: count(scored, SUBSETS.answerAbsent.includes),
    ...always,
    ci95,
    excludedContextOverflow: samples.length - n,
    ...some,
  } as CellAggregate;
}
