// Aggregates per cell (one evaluated configuration). Excluded samples (context overflow) are
// counted, never silently dropped and never scored.

import type { Cell, CellAggregate, Interval, SampleScores } from '../types.js';
import { METRIC_DEFS, SUBSETS, type MetricDef, type MetricName, type Subset } from '../scoring/metrics.js';
import { ClusterDraws, clusterBootstrapInterval, clusterTotals, indexClusters } from '../stats/bootstrap.js';
import { meanInterval, rateInterval, SMALL_SAMPLE } from '../stats/intervals.js';

export interface ScoredSample {
  itemId: string;
  scores: SampleScores;
  excluded?: 'context-overflow';
  cluster?: string;
}

/** A ScoredSample with its grid coordinates (a SampleRecord is one). */
export type CellSample = ScoredSample & Cell;

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
export function groupSamples<T extends Cell>(samples: Iterable<T>): Map<string, T[]> {
  const groups = new Map<string, T[]>();
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

/** How a cell's intervals are made when its items are clustered (resample whole clusters). */
export interface ClusterOptions {
  seed: number;
  bootstrapSamples: number;
}

/** A cell's clusters and its cluster draws, shared by all its metrics. */
interface CellClusters {
  index: Map<ScoredSample, number>;
  count: number;
  draws: ClusterDraws;
}

function cellClusters(kept: readonly ScoredSample[], options: ClusterOptions): CellClusters {
  const { index, count } = indexClusters(kept.map((s) => s.cluster!));
  return {
    index: new Map(kept.map((s, i) => [s, index[i]!])),
    count,
    draws: new ClusterDraws(count, { seed: options.seed, samples: options.bootstrapSamples }),
  };
}

/**
 * A metric over its subset's samples: null when the subset is empty (then it has no interval).
 * Rates get the Wilson interval, or the exact one below SMALL_SAMPLE items; with clusters, every
 * interval is the cluster bootstrap's.
 */
function evaluate(metric: MetricDef, samples: readonly ScoredSample[], clusters: CellClusters | undefined): { value: number | null; interval: Interval } {
  const n = samples.length;
  const values = samples.map((s) => Number(metric.value(s.scores)));
  const value = n > 0 ? values.reduce((sum, v) => sum + v, 0) / n : null;
  if (clusters && n > 0) {
    const { sums, sizes } = clusterTotals(values, samples.map((s) => clusters.index.get(s)!), clusters.count);
    const [low, high] = clusterBootstrapInterval(sums, sizes, clusters.draws);
    return { value, interval: [Math.max(0, low), Math.min(1, high)] };
  }
  if (metric.kind === 'rate') {
    const k = values.reduce((sum, v) => sum + v, 0);
    return { value, interval: rateInterval(k, n) };
  }
  return { value, interval: meanInterval(values) };
}

/**
 * Every metric of the METRICS table over the non-excluded samples. A metric over all of them
 * (`accuracy`, `exactMatch`, `f1`, `refusalRate`, `cotMissingAnswer`) is 0 for an empty cell (its
 * type is not nullable; `n = 0` says why); the conditional rates are null when their denominator is
 * 0. Either way such a metric has no `ci95` entry. Metrics that apply to some cells only (CoT, proof)
 * are left out elsewhere, and come after `excludedContextOverflow`.
 */
export function aggregateCell(cell: Cell, samples: readonly ScoredSample[], clustering?: ClusterOptions): CellAggregate {
  const kept = samples.filter((sample) => sample.excluded === undefined);
  const scored = kept.map((sample) => sample.scores);
  const n = scored.length;
  // Cluster intervals only when every scored sample has its cluster.
  const clustered = clustering && n > 0 && kept.every((s) => s.cluster !== undefined) ? cellClusters(kept, clustering) : undefined;

  const ci95: Record<string, Interval> = {};
  const always: Partial<Record<MetricName, number | null>> = {};
  const some: Partial<Record<MetricName, number | null>> = {};
  for (const metric of METRIC_DEFS) {
    const subset: Subset = SUBSETS[metric.over];
    if (subset.appliesTo && !subset.appliesTo(cell, scored)) continue;
    const { value, interval } = evaluate(metric, kept.filter((s) => subset.includes(s.scores)), clustered);
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
    ...(n > 0 && n < SMALL_SAMPLE && !clustered ? { smallSample: true } : {}),
    ...(clustered ? { clusters: clustered.count } : {}),
  } as CellAggregate;
}
