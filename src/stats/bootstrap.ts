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
