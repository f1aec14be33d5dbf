// Seeded paired bootstrap for the difference of two means over the same items.
//
// Resampling n items with replacement only decides how many times each item is drawn, and the
// resample's mean depends only on how many draws land on each distinct value: the counts per
// distinct value are one multinomial draw, (m_1 … m_K) ~ Multinomial(n; c_1/n … c_K/n). When the
// values take few distinct values (a yes/no metric's paired difference takes three: −1, 0, +1),
// one such draw per resample (K − 1 conditional binomials) replaces n uniform draws: O(B·K), not
// O(B·n), with the same bootstrap distribution. Binomials come from d3-random (Knuth's exact
// beta-splitting recursion, then geometric waiting times: O(log n) per draw), or for small
// expected counts by inversion (InversionBinomial), fed by the same seeded xoroshiro128plus
// stream as before.

import { randomBinomial } from 'd3-random';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
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

/**
 * A memo of intervals that outlives the process (stats/lasting-intervals.ts keeps one in the cache
 * folder). Keys name everything an interval depends on except the implementation, which
 * `bootstrapFingerprint` identifies.
 */
export interface LastingIntervalMemo {
  get(key: string): Interval | undefined;
  set(key: string, interval: Interval): void;
}

let lasting: LastingIntervalMemo | undefined;

/**
 * Intervals are looked up in, and added to, `memo` until this is called again (undefined: none).
 * A run sets it around its summary; the functions stay pure: a remembered interval is the one they
 * would compute.
 */
export function rememberIntervalsIn(memo: LastingIntervalMemo | undefined): void {
  lasting = memo;
}

/** Bump when an interval would change for the same inputs (the fingerprint below catches most such changes, not all). */
const BOOTSTRAP_VERSION = 1;
let fingerprint: string | undefined;

/**
 * Identifies this bootstrap's implementation for lasting memos: the version above, and intervals
 * computed by the real code (not a memo) on small fixed inputs that take every path: cluster draws,
 * whole-number and fractional cluster numerators, percentiles at two levels, and the counts
 * bootstrap's inversion and d3-random binomial draws. A change to any of them changes it.
 */
export function bootstrapFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  // Few resamples: it runs in every run that remembers intervals, before V8 has compiled any of it
  // (64 resamples of d3-random's binomial took 7 ms there).
  const weights = drawClusterWeights(7, 12345, 32);
  const sizes = [1, 2, 3, 1, 3, 2, 2];
  const results = [
    computeClusterInterval([0, 1, 2, 0, 3, 1, 2], sizes, weights, 0.95),
    computeClusterInterval([0.5, 1.25, 0, 2, 0.75, 1, 0.3], sizes, weights, 0.9),
    computeCountsInterval([1, -1, 0], [3, 2, 5], 16, { seed: 7 }),
    // Expected draws above INVERSION_MAX_MEAN: d3-random's binomial.
    computeCountsInterval([1, -1, 0], [200, 150, 450], 8, { seed: 7, level: 0.9 }),
  ];
  return (fingerprint = `v${BOOTSTRAP_VERSION}:${JSON.stringify(results)}`);
}

/** Resamples per interval: the option, checked. */
function resampleCount(options: PairedBootstrapOptions, what: string): number {
  const resamples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`${what}: samples must be a positive integer, got ${resamples}`);
  return resamples;
}

/**
 * Percentile interval of resampled values (which it reorders): R type 7 quantiles (numpy's default:
 * linear interpolation between the order statistics around (n − 1)·q).
 */
export function percentileInterval(values: Float64Array, level: number): Interval {
  const tail = (1 - level) / 2;
  const low = quantileSelect(values, tail, 0);
  return [low, quantileSelect(values, 1 - tail, Math.floor((values.length - 1) * tail) + 1)];
}

/**
 * The R-7 quantile q of `values`, which it reorders; `from`: every value before it is already ≤ the
 * answer (a lower quantile selected before), so the search starts there. The two order statistics
 * are found by selection, O(n), not a full sort: written out because the interval's ~2,000 values
 * are selected ~600 times on a warm quickstart, where a typed-array sort took 27 ms and d3-array's
 * quickselect (a comparator call per comparison) no less in a fresh process; this loop takes ~15.
 */
export function quantileSelect(values: Float64Array, q: number, from: number): number {
  const position = (values.length - 1) * q;
  const below = Math.floor(position);
  selectInPlace(values, below, from, values.length - 1);
  const low = values[below]!;
  if (position === below) return low;
  // After selection everything past `below` is ≥ values[below]: the next order statistic is their minimum.
  let high = Infinity;
  for (let i = below + 1; i < values.length; i++) if (values[i]! < high) high = values[i]!;
  return low + (high - low) * (position - below);
}

/** Hoare selection: afterwards values[k] is the k-th smallest of values[left..right], with no larger value before it nor smaller after. */
function selectInPlace(values: Float64Array, k: number, left: number, right: number): void {
  while (right > left) {
    const [x, y, z] = [values[left]!, values[(left + right) >>> 1]!, values[right]!];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y; // median of three
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i++] = values[j]!;
        values[j--] = t;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return; // values[j + 1 .. i − 1] equal the pivot, k among them
  }
}

/**
 * A binomial draw costs about as much as this many per-item draws (measured: ~1 µs against ~15 ns
 * at n = 10^6); below it, per-item resampling is the cheaper of two equal methods.
 */
const ITEM_DRAWS_PER_BINOMIAL = 64;

/** Up to this mean (n·min(p, 1 − p)), a binomial is drawn by inversion (below); above it, by d3-random. */
const INVERSION_MAX_MEAN = 64;

/**
 * Bin(n, p) draws by inversion of the distribution function: one uniform u, and the draw is the
 * smallest k with u ≤ P(X ≤ k) (counted from the rarer outcome), found by bisection in a table of
 * P(X ≤ k) made once per (n, p) and shared by every resample that draws with them. Exact up to
 * rounding, and no allocation per draw: d3-random's draw builds closures and beta variates on
 * every call, about 1 µs, which made the 36 tax intervals of a warm quickstart (100 items) cost
 * 0.1 s. The table stops where the rest of the distribution is below 1e-17; a u beyond it (never
 * in practice) walks on term by term. With n·min(p, 1 − p) ≤ INVERSION_MAX_MEAN, P(X = 0) ≥ e^−89
 * does not underflow.
 */
export class InversionBinomial {
  private readonly tables = new Map<number, Float64Array>();

  constructor(private readonly uniform: () => number) {}

  draw(n: number, p: number): number {
    const flip = p > 0.5;
    const q = flip ? 1 - p : p;
    if (q === 0) return flip ? n : 0;
    const key = n * 4 + (flip ? 1 : 0); // p is fixed per instance and category: n (and the side) tell tables apart
    let cdf = this.tables.get(key);
    if (!cdf) this.tables.set(key, (cdf = binomialCdf(n, q)));
    const u = this.uniform();
    let k: number;
    if (u <= cdf[cdf.length - 1]!) {
      let low = 0;
      let high = cdf.length - 1;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (u <= cdf[mid]!) high = mid;
        else low = mid + 1;
      }
      k = low;
    } else {
      k = walkTail(n, q, cdf.length - 1, cdf[cdf.length - 1]!, u);
    }
    return flip ? n - k : k;
  }
}

/** P(X ≤ k) of Bin(n, q), k = 0, 1, …, until the rest is negligible (or k = n). */
function binomialCdf(n: number, q: number): Float64Array {
  const ratio = q / (1 - q);
  const values: number[] = [];
  let probability = Math.pow(1 - q, n);
  let total = 0;
  for (let k = 0; k <= n; k++) {
    total += probability;
    values.push(total);
    if (k >= n * q && probability < 1e-17) break;
    probability *= ((n - k) / (k + 1)) * ratio;
  }
  return Float64Array.from(values);
}

/** The draw for a u beyond the table's last entry (at `k`, total `total`): the terms after it, one by one. */
function walkTail(n: number, q: number, k: number, total: number, u: number): number {
  const ratio = q / (1 - q);
  let probability = Math.exp(logBinomialTerm(n, k, q));
  while (u > total && k < n) {
    probability *= ((n - k) / (k + 1)) * ratio;
    k += 1;
    total += probability;
  }
  return k;
}

/** log P(X = k) of Bin(n, q). */
function logBinomialTerm(n: number, k: number, q: number): number {
  let log = k * Math.log(q) + (n - k) * Math.log1p(-q);
  for (let i = 1; i <= k; i++) log += Math.log((n - k + i) / i);
  return log;
}

/**
 * Percentile interval of the mean of values that take `values[k]` `counts[k]` times, resampled with
 * replacement (n = Σ counts draws): each resample is ONE multinomial draw of the counts, made as
 * conditional binomials m_k ~ Bin(n − m_1 − … − m_{k−1}, c_k / (c_k + … + c_K)) in increasing order
 * of value (so the caller's order does not matter). O(resamples × distinct values). A yes/no
 * metric's paired difference is three counts: +1 (only the first side right), −1 (only the
 * second), 0 (both or neither). With no items the interval is [−1, 1], as for a difference of two
 * [0, 1] means.
 */
export function countsBootstrapInterval(values: readonly number[], counts: readonly number[], options: PairedBootstrapOptions): Interval {
  if (values.length !== counts.length) throw new RangeError(`countsBootstrapInterval: ${values.length} values but ${counts.length} counts`);
  const resamples = resampleCount(options, 'countsBootstrapInterval');
  // A pure function of its arguments, and pairs often repeat a 2×2 table (sweep variants that
  // change nothing for a pair; 21 distinct tables among a warm quickstart's 36 pairs).
  const key = `${options.seed}|${resamples}|${options.level ?? 0.95}|${values.join(',')}|${counts.join(',')}`;
  const known = countsIntervalMemo.get(key) ?? lasting?.get(`counts|${key}`);
  if (known) return [known[0], known[1]];
  const interval = computeCountsInterval(values, counts, resamples, options);
  lasting?.set(`counts|${key}`, interval);
  if (countsIntervalMemo.size >= COUNTS_MEMO_SIZE) countsIntervalMemo.delete(countsIntervalMemo.keys().next().value!);
  countsIntervalMemo.set(key, interval);
  return [interval[0], interval[1]];
}

/** Recent counts intervals, by their arguments. */
const countsIntervalMemo = new Map<string, Interval>();
const COUNTS_MEMO_SIZE = 4096;

function computeCountsInterval(values: readonly number[], counts: readonly number[], resamples: number, options: PairedBootstrapOptions): Interval {
  const categories = values
    .map((value, k) => ({ value, count: counts[k]! }))
    .filter((c) => {
      if (!Number.isInteger(c.count) || c.count < 0) throw new RangeError(`countsBootstrapInterval: counts must be non-negative integers, got ${c.count}`);
      return c.count > 0;
    })
    .sort((a, b) => a.value - b.value);
  const n = categories.reduce((sum, c) => sum + c.count, 0);
  if (n === 0) return [-1, 1];
  // What is left to draw from after category k: c_{k+1} + … + c_K.
  const after = categories.map((_, k) => categories.slice(k + 1).reduce((sum, c) => sum + c.count, 0));
  const rng = xoroshiro128plus(options.seed);
  const uniform = () => uniformFloat64(rng);
  const binomial = randomBinomial.source(uniform);
  // One inversion table set per category (its p is fixed; n is what is left to draw).
  const inversions = categories.map(() => new InversionBinomial(uniform));
  const last = categories.length - 1;
  const means = scratch(resamples);
  for (let b = 0; b < resamples; b++) {
    let left = n;
    let sum = 0;
    for (let k = 0; k < last && left > 0; k++) {
      const { value, count } = categories[k]!;
      const p = count / (count + after[k]!);
      const drawn = left * Math.min(p, 1 - p) <= INVERSION_MAX_MEAN ? inversions[k]!.draw(left, p) : binomial(left, p)();
      sum += drawn * value;
      left -= drawn;
    }
    sum += left * categories[last]!.value;
    means[b] = sum / n;
  }
  return percentileInterval(means, options.level ?? 0.95);
}

/**
 * Percentile interval of mean(values) resampled with replacement. Few distinct values (a yes/no
 * difference, or F1 differences that repeat) go through one multinomial draw per resample
 * (`countsBootstrapInterval`); otherwise each resample draws n item indices, in the given order.
 * Both are the same bootstrap; only the cost differs.
 */
export function meanBootstrapInterval(values: ArrayLike<number>, options: PairedBootstrapOptions): Interval {
  const n = values.length;
  const resamples = resampleCount(options, 'meanBootstrapInterval');
  if (n === 0) return [-1, 1];
  const histogram = new Map<number, number>();
  const limit = Math.max(3, Math.floor(n / ITEM_DRAWS_PER_BINOMIAL));
  for (let i = 0; i < n && histogram.size <= limit; i++) {
    const v = values[i]! + 0; // −0 and 0 are one value
    histogram.set(v, (histogram.get(v) ?? 0) + 1);
  }
  if (histogram.size <= limit) return countsBootstrapInterval([...histogram.keys()], [...histogram.values()], options);
  const rng = xoroshiro128plus(options.seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let draw = 0; draw < n; draw++) sum += values[uniformInt(rng, 0, n - 1)] ?? 0;
    means[b] = sum / n;
  }
  return percentileInterval(means, options.level ?? 0.95);
}

/**
 * Percentile interval of mean(x) − mean(y), resampling item indices with replacement so that each
 * item keeps its pair (x_i, y_i): the bootstrap of the per-item differences (`meanBootstrapInterval`).
 * Same inputs and seed → identical output. With no items the difference of two [0, 1] means is
 * unknown and the interval is [−1, 1].
 */
export function pairedBootstrapInterval(
  x: readonly number[],
  y: readonly number[],
  options: PairedBootstrapOptions,
): Interval {
  if (x.length !== y.length) {
    throw new RangeError(`pairedBootstrapInterval: ${x.length} x values but ${y.length} y values`);
  }
  resampleCount(options, 'pairedBootstrapInterval');
  // mean(x*) − mean(y*) equals the mean of the resampled per-item differences.
  return meanBootstrapInterval(x.map((xi, i) => xi - (y[i] ?? 0)), options);
}

/**
 * The cluster draws of a cluster bootstrap, made once and shared by every statistic of a cell:
 * `weights[b * clusters + c]` is how many times resample b drew cluster c (clusters drawn with
 * replacement, as many as there are).
 */
export function clusterResampleWeights(clusters: number, options: PairedBootstrapOptions): Int32Array {
  const resamples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
  checkResamples(resamples);
  // The draws depend on the cluster count, seed and resamples only: a run's cells and pairs share them.
  const key = drawsKey(clusters, options.seed, resamples);
  const known = weightMemo.get(key);
  if (known) return known;
  const weights = drawClusterWeights(clusters, options.seed, resamples);
  if (weightMemo.size >= WEIGHT_MEMO_SIZE) weightMemo.delete(weightMemo.keys().next().value!);
  weightMemo.set(key, weights);
  drawsIdentity.set(weights, key);
  return weights;
}

function checkResamples(resamples: number): void {
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`cluster bootstrap: samples must be a positive integer, got ${resamples}`);
  }
}

const drawsKey = (clusters: number, seed: number, resamples: number): string => `${clusters}|${seed}|${resamples}`;

function drawClusterWeights(clusters: number, seed: number, resamples: number): Int32Array {
  const weights = new Int32Array(resamples * clusters);
  const rng = xoroshiro128plus(seed);
  for (let b = 0; b < resamples; b++) {
    const row = b * clusters;
    for (let draw = 0; draw < clusters; draw++) weights[row + uniformInt(rng, 0, clusters - 1)]! += 1;
  }
  return weights;
}

/** What made each set of clusterResampleWeights' draws (clusters, seed, resamples): the draws' part of a lasting key. */
const drawsIdentity = new WeakMap<Int32Array, string>();

/** Recent cluster draws (callers must not modify them). */
const weightMemo = new Map<string, Int32Array>();
const WEIGHT_MEMO_SIZE = 8;

/**
 * Percentile interval of a ratio statistic under cluster resampling: each resample's value is
 * Σ w·sum ÷ Σ w·size over clusters (its items' summed values over its item count). Resamples that
 * drew no item of the subset carry no value and are left out.
 */
export function clusterBootstrapInterval(sums: readonly number[], sizes: readonly number[], draws: Int32Array | ClusterDraws, level = 0.95): Interval {
  // The interval is a pure function of (totals, draws, level); cells and metrics often repeat the
  // same totals (a sweep variant that changes nothing for a model, rates that are zero everywhere),
  // so repeats are answered from a memo per set of draws (a warm quickstart: about a third of its
  // 300 intervals).
  // Draws that clusterResampleWeights makes are known by what made them (clusters, seed,
  // resamples): their intervals can be remembered across runs, and drawn only when one is missing.
  const identity = draws instanceof ClusterDraws ? draws.identity : drawsIdentity.get(draws);
  let memo = identity !== undefined ? memoByIdentity.get(identity) : intervalMemo.get(draws as Int32Array);
  if (!memo) {
    memo = new Map();
    if (identity === undefined) intervalMemo.set(draws as Int32Array, memo);
    else {
      if (memoByIdentity.size >= WEIGHT_MEMO_SIZE) memoByIdentity.delete(memoByIdentity.keys().next().value!);
      memoByIdentity.set(identity, memo);
    }
  }
  const key = `${level}|${sums.join(',')}|${sizes.join(',')}`;
  const lastingKey = lasting && identity !== undefined ? `cluster|${identity}|${key}` : undefined;
  let interval = memo.get(key) ?? (lastingKey !== undefined ? lasting?.get(lastingKey) : undefined);
  if (!interval) {
    interval = computeClusterInterval(sums, sizes, draws instanceof ClusterDraws ? draws.weights : draws, level);
    if (lastingKey !== undefined) lasting?.set(lastingKey, interval);
  }
  memo.set(key, interval);
  return [interval[0], interval[1]];
}

/** Intervals per set of draws: by the draws' identity when known, else by the array. */
const memoByIdentity = new Map<string, Map<string, Interval>>();
const intervalMemo = new WeakMap<Int32Array, Map<string, Interval>>();

/**
 * The cluster draws of clusterResampleWeights(clusters, options), named by what makes them and
 * drawn on first use of `weights`: a cell whose intervals are all remembered (a re-run) draws none.
 */
export class ClusterDraws {
  readonly identity: string;
  constructor(
    readonly clusters: number,
    private readonly options: PairedBootstrapOptions,
  ) {
    const resamples = options.samples ?? DEFAULT_BOOTSTRAP_SAMPLES;
    checkResamples(resamples);
    this.identity = drawsKey(clusters, options.seed, resamples);
  }

  get weights(): Int32Array {
    return clusterResampleWeights(this.clusters, this.options);
  }
}

function computeClusterInterval(sums: readonly number[], sizes: readonly number[], weights: Int32Array, level: number): Interval {
  const g = sums.length;
  const resamples = weights.length / g;
  // Each resample's item count (Σ w·size) is shared by every metric over the same subset of a
  // cell: made once per set of sizes. Each resample's numerator Σ w·sum comes from one of two
  // paths with the same result to the last bit: whole-number sums (yes/no metrics and their
  // differences) are exact in any order and are made incrementally (`integerNumerators`); other
  // sums (F1) are added in cluster order, skipping the terms that are 0 (clusters whose sum is 0,
  // or draws of weight 0), as a scan of every cluster would (a skipped term adds exactly 0).
  const counts = resampledCounts(weights, g, sizes);
  const nonZero: number[] = [];
  let allOnes = true;
  for (let c = 0; c < g; c++) {
    if (sums[c] !== 0) nonZero.push(c);
    if (sums[c] !== sizes[c]) allOnes = false;
  }
  // A metric that is 0 for every item (a rate nobody reaches) or 1 for every item: each resample
  // that drew an item has exactly that mean (0/count, or count/count), so the interval is the point.
  if (nonZero.length === 0 || allOnes) {
    const drew = counts.some((count) => count > 0);
    return drew ? (nonZero.length === 0 ? [0, 0] : [1, 1]) : [-1, 1];
  }
  const numerators = sums.every(Number.isInteger) ? integerNumerators(weights, g, sums, nonZero.length) : scannedNumerators(weights, g, sums, nonZero);
  return percentileOfRatios(numerators, counts, level);
}

/** Σ w·sum of every resample, cluster by cluster in order, walking per resample whichever is shorter: the clusters with a non-zero sum, or the drawn clusters. */
function scannedNumerators(weights: Int32Array, g: number, sums: readonly number[], nonZero: readonly number[]): Float64Array {
  const resamples = weights.length / g;
  const { rowStart, cluster, weight } = nonZeroDraws(weights, g);
  const clusters = Int32Array.from(nonZero);
  const clusterSums = Float64Array.from(sums);
  const byNonZeroSums = clusters.length < cluster.length / resamples;
  const numerators = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    if (byNonZeroSums) {
      const row = b * g;
      for (let i = 0; i < clusters.length; i++) {
        const c = clusters[i]!;
        sum += weights[row + c]! * clusterSums[c]!;
      }
    } else {
      for (let i = rowStart[b]!, end = rowStart[b + 1]!; i < end; i++) sum += weight[i]! * clusterSums[cluster[i]!]!;
    }
    numerators[b] = sum;
  }
  return numerators;
}

/** Percentile interval of numerator/count over the resamples that drew an item (count > 0). */
function percentileOfRatios(numerators: Float64Array, counts: Float64Array, level: number): Interval {
  const means = scratch(numerators.length);
  let kept = 0;
  for (let b = 0; b < numerators.length; b++) {
    const count = counts[b]!;
    if (count > 0) means[kept++] = numerators[b]! / count;
  }
  if (kept === 0) return [-1, 1];
  return percentileInterval(means.subarray(0, kept), level);
}

/**
 * A reusable array of at least `length` values, for resampled means that live only while their
 * interval is read off. A fresh 16 KB array per interval (2,000 resamples) is memory outside the
 * JS heap that V8 must track and sweep: the ~300 intervals of a warm quickstart cost tens of ms of
 * garbage collection that way.
 */
function scratch(length: number): Float64Array {
  if (scratchValues.length < length) scratchValues = new Float64Array(length);
  return scratchValues.subarray(0, length);
}
let scratchValues = new Float64Array(0);

/** Numerators kept per set of draws, to start the next metric's from (most recent last). */
const numeratorBases = new WeakMap<Int32Array, { sums: readonly number[]; numerators: Float64Array }[]>();
/** The same for resampled item counts (sizes), apart so that the two do not push each other out. */
const countBases = new WeakMap<Int32Array, { sums: readonly number[]; numerators: Float64Array }[]>();
const NUMERATOR_BASES = 12;

/**
 * Σ_c w[b, c]·sums[c] of every resample b, for whole-number sums (a yes/no metric, or the paired
 * difference of two). Every product and partial sum is then a whole number far below 2^53, so
 * floating-point addition is exact and its order does not matter: the numerators equal those of the
 * cluster-by-cluster scan bit for bit, and they can be made from another metric's numerators plus
 * the clusters where the two sums differ. A cell's metrics, and one metric across cells and pairs,
 * mostly differ in a few clusters (a warm quickstart: 2,600 cluster columns of 2,000 draws instead
 * of 5,800), so each starts from the closest of the last few.
 */
function integerNumerators(weights: Int32Array, g: number, sums: readonly number[], nonZero: number, basesBy = numeratorBases): Float64Array {
  const resamples = weights.length / g;
  let bases = basesBy.get(weights);
  if (!bases) basesBy.set(weights, (bases = []));
  let closest: { sums: readonly number[]; numerators: Float64Array } | null = null;
  let cost = nonZero; // columns to add from zero
  for (const base of bases) {
    let differing = 0;
    for (let c = 0; c < g && differing < cost; c++) if (base.sums[c] !== sums[c]) differing++;
    if (differing < cost) [closest, cost] = [base, differing];
  }
  // The oldest base makes room, and its array is reused (fresh 16 KB arrays cost GC time, see `scratch`).
  const numerators = bases.length >= NUMERATOR_BASES ? bases.shift()!.numerators : new Float64Array(resamples);
  if (!closest) numerators.fill(0);
  else if (closest.numerators !== numerators) numerators.set(closest.numerators); // else: the evicted base was the closest, and holds its values
  const from = closest?.sums;
  for (let c = 0; c < g; c++) {
    const delta = sums[c]! - (from ? from[c]! : 0);
    if (delta === 0) continue;
    for (let b = 0, at = c; b < resamples; b++, at += g) numerators[b]! += weights[at]! * delta;
  }
  bases.push({ sums: [...sums], numerators });
  return numerators;
}

/** Σ w·size of each resample, per set of draws and set of sizes. */
const countsMemo = new WeakMap<Int32Array, Map<string, Float64Array>>();
function resampledCounts(weights: Int32Array, g: number, sizes: readonly number[]): Float64Array {
  let memo = countsMemo.get(weights);
  if (!memo) countsMemo.set(weights, (memo = new Map()));
  const key = sizes.join(',');
  const known = memo.get(key);
  if (known) return known;
  // Sizes are whole numbers: Σ w·size by the same exact, incremental sums as a metric's numerators.
  const nonZero = sizes.reduce((n, size) => n + (size !== 0 ? 1 : 0), 0);
  const counts = integerNumerators(weights, g, sizes, nonZero, countBases).slice();
  memo.set(key, counts);
  return counts;
}

/** Non-zero cluster draws of each resample (compressed rows), per set of draws (which must not change after use, as clusterResampleWeights' never do). */
const nonZeroMemo = new WeakMap<Int32Array, { rowStart: Int32Array; cluster: Int32Array; weight: Float64Array }>();
function nonZeroDraws(weights: Int32Array, g: number): { rowStart: Int32Array; cluster: Int32Array; weight: Float64Array } {
  const known = nonZeroMemo.get(weights);
  if (known) return known;
  const resamples = weights.length / g;
  let n = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) n++;
  const rowStart = new Int32Array(resamples + 1);
  const cluster = new Int32Array(n);
  const weight = new Float64Array(n);
  n = 0;
  for (let b = 0; b < resamples; b++) {
    rowStart[b] = n;
    for (let c = 0; c < g; c++) {
      const w = weights[b * g + c]!;
      if (w === 0) continue;
      cluster[n] = c;
      weight[n++] = w;
    }
  }
  rowStart[resamples] = n;
  const made = { rowStart, cluster, weight };
  nonZeroMemo.set(weights, made);
  return made;
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
  return clusterBootstrapInterval(sums, sizes, new ClusterDraws(count, options), options.level ?? 0.95);
}
