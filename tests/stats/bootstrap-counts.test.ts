// The paired bootstrap by counts (one multinomial draw per resample) against the per-item
// bootstrap ragtax used before (resample n item indices per resample), which is kept below as the
// reference, written out independently of src/stats/bootstrap.ts.
//
// Both resample the same distribution, so their intervals agree up to Monte-Carlo error. Tolerance
// of each endpoint: the two estimates are 2.5% / 97.5% quantiles of B independent resamples each,
// whose SD is √(q(1 − q)/B) / f(x_q) with f the bootstrap density at the quantile; with the normal
// approximation f = φ(1.96)/σ, σ = √(var_n(d)/n) (the bootstrap distribution's SD), the difference
// of the two estimates has SD √2 · √(0.025 · 0.975 / B) · σ / φ(1.96) ≈ 0.0267 σ at B = 20,000.
// Allowed: 5 of those SDs (a false failure about once in 10^6 endpoints under normality; the
// margin also absorbs the skew of rare-discordance cases) plus one lattice step 1/n, because the
// means of yes/no differences are multiples of 1/n and two quantile estimates can land on
// neighbouring points.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { clusterBootstrapInterval, clusterResampleWeights, countsBootstrapInterval, InversionBinomial, meanBootstrapInterval, pairedBootstrapInterval } from '../../src/stats/bootstrap.js';
import { mulberry32 } from '../../scripts/synthetic.js';

const B = 20_000;
const PHI_196 = 0.05844094433345147; // standard normal density at 1.959964

/** The per-item paired bootstrap, as ragtax computed every interval before the counts method. */
function perItemInterval(d: readonly number[], seed: number, resamples: number): [number, number] {
  const n = d.length;
  const rng = xoroshiro128plus(seed);
  const means: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let draw = 0; draw < n; draw++) sum += d[uniformInt(rng, 0, n - 1)]!;
    means.push(sum / n);
  }
  means.sort((a, b) => a - b);
  const at = (q: number) => {
    const position = (means.length - 1) * q;
    const low = means[Math.floor(position)]!;
    return low + (means[Math.ceil(position)]! - low) * (position - Math.floor(position));
  };
  const tail = (1 - 0.95) / 2; // as ragtax computes it (0.025000000000000022)
  return [at(tail), at(1 - tail)];
}

/** Paired yes/no outcomes: each item only-x right, only-y right, or concordant. */
function binaryData(n: number, onlyX: number, onlyY: number, seed: number): { x: number[]; y: number[] } {
  const rand = mulberry32(seed);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = rand();
    const both = rand() < 0.5 ? 1 : 0;
    if (u < onlyX) x.push(1), y.push(0);
    else if (u < onlyX + onlyY) x.push(0), y.push(1);
    else x.push(both), y.push(both);
  }
  return { x, y };
}

function bootstrapSd(d: readonly number[]): number {
  const n = d.length;
  const mean = d.reduce((s, v) => s + v, 0) / n;
  return Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / n / n);
}

function assertSameInterval(actual: [number, number], reference: [number, number], d: readonly number[], lattice: number, label: string): void {
  const tolerance = 5 * Math.SQRT2 * Math.sqrt((0.025 * 0.975) / B) * (bootstrapSd(d) / PHI_196) + lattice;
  for (const end of [0, 1] as const) {
    const gap = Math.abs(actual[end] - reference[end]);
    assert.ok(gap <= tolerance, `${label}: endpoint ${end}: counts ${actual[end]} vs per-item ${reference[end]} (|gap| ${gap} > ${tolerance})`);
  }
}

describe('paired bootstrap of a yes/no metric: counts method vs the per-item method', () => {
  const cases = [
    { name: 'n = 40, 25% discordant', n: 40, onlyX: 0.15, onlyY: 0.1, seed: 1 },
    { name: 'n = 200, balanced discordance', n: 200, onlyX: 0.08, onlyY: 0.08, seed: 2 },
    { name: 'n = 1000, a 10-point tax', n: 1000, onlyX: 0.2, onlyY: 0.1, seed: 3 },
    { name: 'n = 2000, rare discordance (0.6%)', n: 2000, onlyX: 0.004, onlyY: 0.002, seed: 4 },
    { name: 'n = 500, one-sided', n: 500, onlyX: 0.3, onlyY: 0, seed: 5 },
  ];
  for (const c of cases) {
    it(`${c.name}: equal within Monte-Carlo error (B = ${B})`, () => {
      const { x, y } = binaryData(c.n, c.onlyX, c.onlyY, c.seed);
      const d = x.map((xi, i) => xi - y[i]!);
      const counts = pairedBootstrapInterval(x, y, { seed: 100 + c.seed, samples: B });
      const reference = perItemInterval(d, 200 + c.seed, B);
      assertSameInterval(counts, reference, d, 1 / c.n, c.name);
    });
  }

  it('pairedBootstrapInterval of yes/no values is the counts bootstrap of (+1, −1, 0), whatever order the counts come in', () => {
    const { x, y } = binaryData(300, 0.1, 0.05, 9);
    const onlyX = x.filter((xi, i) => xi === 1 && y[i] === 0).length;
    const onlyY = x.filter((xi, i) => xi === 0 && y[i] === 1).length;
    const options = { seed: 5, samples: 2000 };
    const viaItems = pairedBootstrapInterval(x, y, options);
    assert.deepEqual(viaItems, countsBootstrapInterval([1, -1, 0], [onlyX, onlyY, 300 - onlyX - onlyY], options));
    assert.deepEqual(viaItems, countsBootstrapInterval([0, 1, -1], [300 - onlyX - onlyY, onlyX, onlyY], options));
    // The file order of the items does not matter either.
    assert.deepEqual(viaItems, pairedBootstrapInterval([...x].reverse(), [...y].reverse(), options));
  });

  it('degenerate tables: all concordant → [0, 0]; one-sided → a point; no items → [−1, 1]', () => {
    assert.deepEqual(countsBootstrapInterval([1, -1, 0], [0, 0, 50], { seed: 1, samples: 500 }), [0, 0]);
    assert.deepEqual(countsBootstrapInterval([1, -1, 0], [7, 0, 0], { seed: 1, samples: 500 }), [1, 1]);
    assert.deepEqual(countsBootstrapInterval([1, -1, 0], [0, 0, 0], { seed: 1, samples: 500 }), [-1, 1]);
    assert.deepEqual(countsBootstrapInterval([], [], { seed: 1 }), [-1, 1]);
  });

  it('a million items with three discordant pairs: the interval brackets the difference and spans a few items', () => {
    const n = 1_000_000;
    const [low, high] = countsBootstrapInterval([1, -1, 0], [2, 1, n - 3], { seed: 3, samples: 2000 });
    assert.ok(low <= 1 / n && 1 / n <= high, `${low} ${high}`);
    assert.ok(low >= -5 / n && high <= 8 / n, `${low} ${high}`);
    assert.ok(Number.isInteger(Math.round(low * n)) && Math.abs(low * n - Math.round(low * n)) < 1e-6, 'a multiple of 1/n');
  });

  it('is seeded: same seed, same interval; other seeds differ', () => {
    const args = [[1, -1, 0], [30, 20, 150]] as const;
    assert.deepEqual(countsBootstrapInterval(...args, { seed: 4, samples: 300 }), countsBootstrapInterval(...args, { seed: 4, samples: 300 }));
    const seen = new Set([1, 2, 3, 4, 5].map((seed) => JSON.stringify(countsBootstrapInterval(...args, { seed, samples: 300 }))));
    assert.ok(seen.size > 1);
  });

  it('rejects bad counts', () => {
    assert.throws(() => countsBootstrapInterval([1, 0], [1], { seed: 1 }), RangeError);
    assert.throws(() => countsBootstrapInterval([1, 0], [1, -2], { seed: 1 }), RangeError);
    assert.throws(() => countsBootstrapInterval([1, 0], [1, 0.5], { seed: 1 }), RangeError);
    assert.throws(() => countsBootstrapInterval([1, 0], [1, 2], { seed: 1, samples: 0 }), RangeError);
  });
});

describe('bootstrap of a continuous metric (F1 differences)', () => {
  it('few distinct values: resampled by counts, equal to the per-item method within Monte-Carlo error', () => {
    // F1 takes few values (0, 1 and some token ratios), so its paired differences repeat.
    const rand = mulberry32(11);
    const f1 = () => [0, 0, 0, 1, 1, 0.5, 0.667, 0.4][Math.floor(rand() * 8)]!;
    const d = Array.from({ length: 3000 }, () => f1() - f1());
    assert.ok(new Set(d).size <= 3000 / 64, 'the counts path applies');
    assertSameInterval(meanBootstrapInterval(d, { seed: 1, samples: B }), perItemInterval(d, 2, B), d, 0, 'F1 differences');
  });

  it('many distinct values: the per-item method itself, draw for draw', () => {
    const rand = mulberry32(12);
    const x = Array.from({ length: 400 }, () => rand());
    const y = Array.from({ length: 400 }, () => rand());
    const d = x.map((xi, i) => xi - y[i]!);
    assert.deepEqual(pairedBootstrapInterval(x, y, { seed: 8, samples: 500 }), perItemInterval(d, 8, 500));
  });
});

describe('binomial draws by inversion (small expected counts)', () => {
  /** Exact Bin(n, p) probabilities, summed term by term in log space (independent of the sampler's recurrence). */
  function pmf(n: number, p: number): number[] {
    const out: number[] = [];
    for (let k = 0; k <= n; k++) {
      let log = k * Math.log(p) + (n - k) * Math.log1p(-p);
      for (let i = 1; i <= k; i++) log += Math.log((n - k + i) / i);
      out.push(Math.exp(log));
    }
    return out;
  }

  for (const [n, p] of [[30, 0.2], [100, 0.45], [100, 0.93], [5000, 0.004]] as const) {
    it(`Bin(${n}, ${p}): frequencies of 200,000 draws match the distribution (chi-square, df ≤ 40)`, () => {
      const rng = xoroshiro128plus(7);
      const sampler = new InversionBinomial(() => uniformFloat64(rng));
      const draws = 200_000;
      const seen = new Map<number, number>();
      for (let i = 0; i < draws; i++) {
        const k = sampler.draw(n, p);
        assert.ok(Number.isInteger(k) && k >= 0 && k <= n);
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
      // Bins with at least 5 expected draws; the rest pooled into the two tails.
      const probabilities = pmf(n, p);
      const bins: { expected: number; observed: number }[] = [];
      let pooled = { expected: 0, observed: 0 };
      probabilities.forEach((q, k) => {
        pooled.expected += q * draws;
        pooled.observed += seen.get(k) ?? 0;
        if (pooled.expected >= 5) {
          bins.push(pooled);
          pooled = { expected: 0, observed: 0 };
        }
      });
      bins[bins.length - 1]!.expected += pooled.expected;
      bins[bins.length - 1]!.observed += pooled.observed;
      const chi2 = bins.reduce((sum, b) => sum + (b.observed - b.expected) ** 2 / b.expected, 0);
      // The 0.9999 quantile of chi-square with df = bins − 1 is below df + 6√(2·df) + 10 for these df.
      const df = bins.length - 1;
      assert.ok(chi2 < df + 6 * Math.sqrt(2 * df) + 10, `chi2 ${chi2.toFixed(1)} with ${df} df`);
    });
  }

  it('a uniform beyond the table (the last ulp below 1) still gives a valid draw at the top of the range', () => {
    const nearOne = 1 - Number.EPSILON / 2;
    const sampler = new InversionBinomial(() => nearOne);
    for (const [n, p] of [[50, 0.3], [1000, 0.01], [40, 0.9]] as const) {
      const k = sampler.draw(n, p);
      const mean = n * p;
      assert.ok(Number.isInteger(k) && k >= 0 && k <= n, `${k}`);
      assert.ok(Math.abs(k - mean) > 4 * Math.sqrt(mean * (1 - p)), `Bin(${n}, ${p}) at u ≈ 1 gave ${k}, expected the far tail`);
    }
    const zero = new InversionBinomial(() => 0);
    assert.equal(zero.draw(50, 0.3), 0);
    assert.equal(zero.draw(50, 0.7), 50, 'counted from the rarer outcome');
    assert.equal(zero.draw(10, 0), 0);
    assert.equal(zero.draw(10, 1), 10);
  });
});

describe('cluster bootstrap interval: the same to the last bit as a scan of every cluster', () => {
  /** Written out independently: each resample scans every cluster, skipping none. */
  function scanInterval(sums: number[], sizes: number[], weights: Int32Array, level: number): [number, number] {
    const g = sums.length;
    const means: number[] = [];
    for (let b = 0; b < weights.length / g; b++) {
      let sum = 0;
      let count = 0;
      for (let c = 0; c < g; c++) {
        const w = weights[b * g + c]!;
        if (w === 0 || sizes[c] === 0) continue;
        sum += w * sums[c]!;
        count += w * sizes[c]!;
      }
      if (count > 0) means.push(sum / count);
    }
    if (means.length === 0) return [-1, 1];
    means.sort((a, b) => a - b);
    const at = (q: number) => {
      const position = (means.length - 1) * q;
      const low = means[Math.floor(position)]!;
      return low + (means[Math.ceil(position)]! - low) * (position - Math.floor(position));
    };
    const tail = (1 - level) / 2;
    return [at(tail), at(1 - tail)];
  }

  it('dense and sparse sums, empty clusters, negative differences, both levels', () => {
    const rand = mulberry32(21);
    for (const g of [1, 7, 94, 300]) {
      const weights = clusterResampleWeights(g, { seed: g, samples: 700 });
      for (const density of [1, 0.5, 0.05, 0]) {
        const sizes = Array.from({ length: g }, () => (rand() < 0.2 ? 0 : 1 + Math.floor(rand() * 3)));
        const sums = sizes.map((size) => (size > 0 && rand() < density ? Math.floor(rand() * (2 * size + 1)) - size : 0));
        const allOnes = [...sizes];
        const noItems = sizes.map(() => 0);
        for (const level of [0.95, 0.9]) {
          assert.deepEqual(clusterBootstrapInterval(sums, sizes, weights, level), scanInterval(sums, sizes, weights, level), `g ${g}, density ${density}, level ${level}`);
          assert.deepEqual(clusterBootstrapInterval(allOnes, sizes, weights, level), scanInterval(allOnes, sizes, weights, level), `g ${g}: every item 1`);
          assert.deepEqual(clusterBootstrapInterval(noItems, noItems, weights, level), scanInterval(noItems, noItems, weights, level), `g ${g}: no items`);
        }
      }
    }
  });

  it('a run of metrics that differ in a few clusters (whole-number sums start from an earlier metric\'s numerators)', () => {
    const rand = mulberry32(5);
    const g = 94;
    const weights = clusterResampleWeights(g, { seed: 3, samples: 1000 });
    const sizes = Array.from({ length: g }, () => 1 + Math.floor(rand() * 4));
    let sums = sizes.map((size) => Math.floor(rand() * (size + 1)));
    for (let step = 0; step < 60; step++) {
      // Change a few clusters (sometimes to 0, sometimes negative, as a paired difference is), or many.
      const changes = step % 10 === 9 ? g : 1 + Math.floor(rand() * 4);
      sums = [...sums];
      for (let j = 0; j < changes; j++) {
        const c = Math.floor(rand() * g);
        sums[c] = Math.floor(rand() * (2 * sizes[c]! + 1)) - sizes[c]!;
      }
      assert.deepEqual(clusterBootstrapInterval(sums, sizes, weights, 0.95), scanInterval(sums, sizes, weights, 0.95), `step ${step}`);
    }
  });

  it('fractional sums (F1) take the scan', () => {
    const rand = mulberry32(8);
    const g = 40;
    const weights = clusterResampleWeights(g, { seed: 11, samples: 800 });
    const sizes = Array.from({ length: g }, () => 1 + Math.floor(rand() * 3));
    for (let step = 0; step < 10; step++) {
      const sums = sizes.map((size) => (rand() < 0.3 ? 0 : Math.round(rand() * size * 1000) / 997));
      assert.deepEqual(clusterBootstrapInterval(sums, sizes, weights, 0.95), scanInterval(sums, sizes, weights, 0.95), `step ${step}`);
    }
  });
});
