// 95% intervals for rates and means. An empty sample gives the uninformative [0, 1] rather than
// null so that every `ci95` entry has the same type; `n` next to it tells the reader why.

import type { Interval } from '../types.js';
import { betaQuantile } from './distributions.js';

/** Two-sided 95% standard-normal quantile. */
export const Z_95 = 1.959963984540054;

function clampUnit(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** Wilson score interval for k successes in n trials (good coverage near 0 and 1, unlike Wald). */
export function wilsonInterval(k: number, n: number, z: number = Z_95): Interval {
  if (!(n > 0)) return [0, 1];
  if (k < 0 || k > n) throw new RangeError(`wilsonInterval: k=${k} is outside [0, n=${n}]`);
  const p = k / n;
  const z2 = z * z;
  const denominator = n + z2;
  const center = (k + z2 / 2) / denominator;
  const halfWidth = (z * Math.sqrt(n * p * (1 - p) + z2 / 4)) / denominator;
  // Exact endpoints at k = 0 and k = n; elsewhere clamp away floating-point spill.
  const lower = k === 0 ? 0 : clampUnit(center - halfWidth);
  const upper = k === n ? 1 : clampUnit(center + halfWidth);
  return [lower, upper];
}

/**
 * Normal-approximation interval for the mean of values in [0, 1] (e.g. per-item F1), clamped to
 * [0, 1]. Uses the sample standard deviation (n − 1); with fewer than 2 values the spread is
 * unknown and the interval is [0, 1].
 */
export function meanInterval(values: readonly number[], z: number = Z_95): Interval {
  const n = values.length;
  if (n < 2) return [0, 1];
  let sum = 0;
  for (const value of values) sum += value;
  const mean = sum / n;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  const standardError = Math.sqrt(squares / (n - 1) / n);
  return [clampUnit(mean - z * standardError), clampUnit(mean + z * standardError)];
}

/** Below this many items a rate's interval is exact (Clopper–Pearson) instead of Wilson. */
export const SMALL_SAMPLE = 30;

/** Exact (Clopper–Pearson) interval for k successes in n trials: conservative, for small n. */
export function clopperPearsonInterval(k: number, n: number, level = 0.95): Interval {
  if (!(n > 0)) return [0, 1];
  if (k < 0 || k > n) throw new RangeError(`clopperPearsonInterval: k=${k} is outside [0, n=${n}]`);
  const tail = (1 - level) / 2;
  return [k === 0 ? 0 : betaQuantile(tail, k, n - k + 1), k === n ? 1 : betaQuantile(1 - tail, k + 1, n - k)];
}

/** The interval ragtax reports for a rate: exact below SMALL_SAMPLE items, Wilson from there. */
export function rateInterval(k: number, n: number): Interval {
  return n < SMALL_SAMPLE ? clopperPearsonInterval(k, n) : wilsonInterval(k, n);
}
