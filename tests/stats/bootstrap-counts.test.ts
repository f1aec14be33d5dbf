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
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { countsBootstrapInterval, meanBootstrapInterval, pairedBootstrapInterval } from '../../src/stats/bootstrap.js';
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
