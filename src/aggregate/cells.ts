// Aggregates per cell (one evaluated configuration). Excluded samples (context overflow) are
// counted, never silently dropped and never scored.

import type { Cell, CellAggregate, Interval, SampleRecord } from '../types.js';
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

interface Rate {
  value: number | null;
  interval: Interval;
}

function rate(k: number, n: number): Rate {
  return { value: n > 0 ? k / n : null, interval: wilsonInterval(k, n) };
}

function count<T>(values: readonly T[], predicate: (value: T) => boolean): number {
  let total = 0;
  for (const value of values) if (predicate(value)) total += 1;
  return total;
}

/**
 * Rates over the non-excluded samples. `accuracy`, `exactMatch`, `f1` and `refusalRate` are 0 for
 * an empty cell (their type is not nullable; `n = 0` says why); the conditional rates are null when
 * their denominator is 0 and then have no `ci95` entry.
 */
export function aggregateCell(cell: Cell, samples: readonly SampleRecord[]): CellAggregate {
  const scored = samples.filter((sample) => sample.excluded === undefined);
  const n = scored.length;
  const withAnswer = scored.filter((sample) => sample.scores.answerInContext);
  const withoutAnswer = scored.filter((sample) => !sample.scores.answerInContext);

  const ci95: Record<string, Interval> = {};
  const record = (name: string, value: Rate): number | null => {
    if (value.value !== null) ci95[name] = value.interval;
    return value.value;
  };

  const accuracy = record('accuracy', rate(count(scored, (s) => s.scores.correct), n)) ?? 0;
  const exactMatch = record('exactMatch', rate(count(scored, (s) => s.scores.exactMatch), n)) ?? 0;
  const f1Values = scored.map((s) => s.scores.f1);
  const f1 = n > 0 ? f1Values.reduce((sum, value) => sum + value, 0) / n : 0;
  if (n > 0) ci95.f1 = meanInterval(f1Values);
  const refusalRate = record('refusalRate', rate(count(scored, (s) => s.scores.refusal), n)) ?? 0;

  const aggregate: CellAggregate = {
    ...cellOf(cell),
    n,
    nAnswerInContext: withAnswer.length,
    nAnswerAbsent: withoutAnswer.length,
    accuracy,
    exactMatch,
    f1,
    refusalRate,
    negativeRejectionRate: record(
      'negativeRejectionRate',
      rate(count(withoutAnswer, (s) => s.scores.refusal), withoutAnswer.length),
    ),
    overRefusalRate: record('overRefusalRate', rate(count(withAnswer, (s) => s.scores.refusal), withAnswer.length)),
    parametricRecall: record(
      'parametricRecall',
      rate(count(withoutAnswer, (s) => s.scores.correct), withoutAnswer.length),
    ),
    contextAccuracy: record('contextAccuracy', rate(count(withAnswer, (s) => s.scores.correct), withAnswer.length)),
    ci95,
    excludedContextOverflow: samples.length - n,
  };

  if (cell.cot) {
    // Share of responses without a final `Answer:` line (a fraction, like every rate here).
    aggregate.cotMissingAnswer =
      record('cotMissingAnswer', rate(count(scored, (s) => s.scores.cotAnswerFound !== true), n)) ?? 0;
  }
  if (scored.some((s) => s.scores.proof !== undefined)) {
    // Among responses that gave a proof at all; a response without `Proof:` is not "incoherent".
    const withProof = scored.filter((s) => s.scores.proof !== undefined && s.scores.proof !== null);
    aggregate.proofCoherence = record(
      'proofCoherence',
      rate(count(withProof, (s) => s.scores.proofCoherent === true), withProof.length),
    );
  }
  return aggregate;
}
