// Seeded paired bootstrap for the difference of two means over the same items.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Interval } from '../types.js';

export const DEFAULT_BOOTSTRAP_SAMPLES = 2000;

export interface PairedBootstrapOptions {
  seed: number;
  /** Number of resamples B (default 2000). */
  samples?: number;
  /** Interval coverage (default 0.95). */
  level?: number;
}

/** Quantile of sorted values with linear interpolation between order statistics (R type 7, numpy default). */
function quantileSorted(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] ?? 0;
  const high = sorted[above] ?? low;
  return low + (high - low) * (position - below);
}

/**
 * Percentile interval of mean(x) − mean(y), resampling item indices with replacement so that each
 * item keeps its pair (x_i, y_i). Same inputs and seed → identical output. With no items the
 * difference of two [0, 1] means is unknown and the interval is [−1, 1].
 */
export function pairedBootstrapInterval(
  x: readonly number[],
  y: readonly number[],
  options: PairedBootstrapOptions,
): Interval {
  if (x.length !== y.length) {
    throw new RangeError(`pairedBootstrapInterval: ${x.length} x values but ${y.length} y values`);
  }
  const n = x.length;
  if (n === 0) return [-1, 1];
  const resamples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`pairedBootstrapInterval: samples must be a positive integer, got ${resamples}`);
  }

  // mean(x*) − mean(y*) equals the mean of the resampled per-item differences.
  const differences = x.map((xi, i) => xi - (y[i] ?? 0));
  const rng = xoroshiro128plus(options.seed);
  const means = new Array<number>(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let draw = 0; draw < n; draw++) sum += differences[uniformInt(rng, 0, n - 1)] ?? 0;
    means[b] = sum / n;
  }
  means.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return [quantileSorted(means, tail), quantileSorted(means, 1 - tail)];
}

/**
 * The cluster draws of a cluster bootstrap, made once and shared by every statistic of a cell:
 * `weights[b * clusters + c]` is how many times resample b drew cluster c (clusters drawn with
 * replacement, as many as there are).
 */
export function clusterResampleWeights(clusters: number, options: PairedBootstrapOptions): Int32Array {
  const resamples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`cluster bootstrap: samples must be a positive integer, got ${resamples}`);
  }
  // The draws depend on the cluster count, seed and resamples only: a run's cells and pairs share them.
  const key = `${clusters}|${options.seed}|${resamples}`;
  const known = weightMemo.get(key);
  if (known) return known;
  const weights = new Int32Array(resamples * clusters);
  const rng = xoroshiro128plus(options.seed);
  for (let b = 0; b < resamples; b++) {
    const row = b * clusters;
    for (let draw = 0; draw < clusters; draw++) weights[row + uniformInt(rng, 0, clusters - 1)]! += 1;
  }
  if (weightMemo.size >= WEIGHT_MEMO_SIZE) weightMemo.delete(weightMemo.keys().next().value!);
  weightMemo.set(key, weights);
  return weights;
}

/** Recent cluster draws (callers must not modify them). */
const weightMemo = new Map<string, Int32Array>();
const WEIGHT_MEMO_SIZE = 8;

/**
 * Percentile interval of a ratio statistic under cluster resampling: each resample's value is
 * Σ w·sum ÷ Σ w·size over clusters (its items' summed values over its item count). Resamples that
 * drew no item of the subset carry no value and are left out.
 */
export function clusterBootstrapInterval(sums: readonly number[], sizes: readonly number[], weights: Int32Array, level = 0.95): Interval {
  const g = sums.length;
  const resamples = weights.length / g;
  const means: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    let count = 0;
    const row = b * g;
    for (let c = 0; c < g; c++) {
      const w = weights[row + c]!;
      if (w === 0) continue;
      sum += w * sums[c]!;
      count += w * sizes[c]!;
    }
    if (count > 0) means.push(sum / count);
  }
  if (means.length === 0) return [-1, 1];
  means.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return [quantileSorted(means, tail), quantileSorted(means, 1 - tail)];
}

/** Per-cluster sums and sizes of `values`, clusters indexed by `indexOf` (first-seen order otherwise). */
export function clusterTotals(values: readonly number[], clusterIndex: readonly number[], clusters: number): { sums: number[]; sizes: number[] } {
  const sums = new Array<number>(clusters).fill(0);
  const sizes = new Array<number>(clusters).fill(0);
  values.forEach((v, i) => {
    const c = clusterIndex[i]!;
    sums[c]! += v;
    sizes[c]! += 1;
  });
  return { sums, sizes };
}

/** Index of each item's cluster (first-seen order) and the number of clusters. */
export function indexClusters(clusters: readonly string[]): { index: number[]; count: number } {
  const ids = new Map<string, number>();
  const index = clusters.map((cluster) => {
    let c = ids.get(cluster);
    if (c === undefined) ids.set(cluster, (c = ids.size));
    return c;
  });
  return { index, count: ids.size };
}

/**
 * Cluster bootstrap percentile interval of mean(x) − mean(y): whole clusters are drawn with
 * replacement (each item keeps its pair and its cluster-mates), and each resample's difference is
 * its items' summed differences over its item count. For items that are not independent (several
 * questions per entity, page or paragraph) this is the honest interval; with one item per cluster
 * it is the paired bootstrap.
 */
export function clusteredPairedBootstrapInterval(
  x: readonly number[],
  y: readonly number[],
  clusters: readonly string[],
  options: PairedBootstrapOptions,
): Interval {
  if (x.length !== y.length || x.length !== clusters.length) {
    throw new RangeError(`clusteredPairedBootstrapInterval: ${x.length} x, ${y.length} y and ${clusters.length} cluster values`);
  }
  if (x.length === 0) return [-1, 1];
  const { index, count } = indexClusters(clusters);
  const { sums, sizes } = clusterTotals(x.map((xi, i) => xi - y[i]!), index, count);
  return clusterBootstrapInterval(sums, sizes, clusterResampleWeights(count, options), options.level ?? 0.95);
}
