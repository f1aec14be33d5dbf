import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedBootstrapInterval } from '../../src/stats/bootstrap.js';
import { meanInterval, wilsonInterval } from '../../src/stats/intervals.js';
import { binomialHalfCdf, mcnemarExactP } from '../../src/stats/mcnemar.js';

function near(actual: number, expected: number, tolerance = 1e-4): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

describe('exact McNemar', () => {
  it('b=1, c=5 → 2·7/64', () => near(mcnemarExactP(1, 5), 0.21875, 1e-12));
  it('b=0, c=6 → 2/64', () => near(mcnemarExactP(0, 6), 0.03125, 1e-12));
  it('symmetric in b and c', () => assert.equal(mcnemarExactP(5, 1), mcnemarExactP(1, 5)));
  it('b=2, c=10 → 2·79/4096', () => near(mcnemarExactP(2, 10), 158 / 4096, 1e-12));
  it('no discordant pairs → 1', () => assert.equal(mcnemarExactP(0, 0), 1));
  it('balanced → capped at 1', () => assert.equal(mcnemarExactP(3, 3), 1));
  it('stable for large n (scipy binomtest values)', () => {
    near(mcnemarExactP(400, 500), 0.0009564441369189373, 1e-12);
    near(mcnemarExactP(4500, 4700), 0.0380068800186796, 1e-10);
    assert.equal(mcnemarExactP(50_000, 50_000), 1);
    const tiny = mcnemarExactP(0, 2000);
    assert.ok(tiny >= 0 && tiny < 1e-300, String(tiny));
  });
  it('binomial CDF edges', () => {
    assert.equal(binomialHalfCdf(-1, 4), 0);
    assert.equal(binomialHalfCdf(4, 4), 1);
    near(binomialHalfCdf(2, 4), 11 / 16, 1e-12);
  });
  it('rejects bad counts', () => assert.throws(() => mcnemarExactP(-1, 2), RangeError));
});

describe('Wilson interval', () => {
  // z = 1.959964, z² = 3.841459, n + z² = 13.841459.
  it('0/10 → [0, 0.2775]', () => {
    const [low, high] = wilsonInterval(0, 10);
    assert.equal(low, 0);
    near(high, 0.277533);
  });
  it('5/10 → [0.2366, 0.7634]', () => {
    const [low, high] = wilsonInterval(5, 10);
    near(low, 0.236593);
    near(high, 0.763407);
  });
  it('10/10 → [0.7225, 1]', () => {
    const [low, high] = wilsonInterval(10, 10);
    near(low, 0.722467);
    assert.equal(high, 1);
  });
  it('n = 0 → [0, 1]', () => assert.deepEqual(wilsonInterval(0, 0), [0, 1]));
  it('rejects k > n', () => assert.throws(() => wilsonInterval(3, 2), RangeError));
});

describe('mean interval', () => {
  it('normal approximation with the sample sd', () => {
    // mean 0.5, sd = sqrt(0.5/3) = 0.408248, se = 0.204124, half-width = 0.400076
    const [low, high] = meanInterval([0, 1, 0.5, 0.5]);
    near(low, 0.099924);
    near(high, 0.900076);
  });
  it('clamped to [0, 1]', () => assert.deepEqual(meanInterval([1, 1, 1, 0.9])[1], 1));
  it('constant values → a point', () => assert.deepEqual(meanInterval([0.25, 0.25, 0.25]), [0.25, 0.25]));
  it('fewer than 2 values → [0, 1]', () => {
    assert.deepEqual(meanInterval([]), [0, 1]);
    assert.deepEqual(meanInterval([0.3]), [0, 1]);
  });
});

describe('paired bootstrap', () => {
  const x = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1];
  const y = [0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0];
  it('same seed → identical output', () => {
    assert.deepEqual(pairedBootstrapInterval(x, y, { seed: 42, samples: 500 }), pairedBootstrapInterval(x, y, { seed: 42, samples: 500 }));
  });
  it('different seeds differ somewhere (the seed is used)', () => {
    const results = new Set([1, 2, 3, 4, 5].map((seed) => JSON.stringify(pairedBootstrapInterval(x, y, { seed, samples: 200 }))));
    assert.ok(results.size > 1);
  });
  it('brackets the observed difference and stays within [−1, 1]', () => {
    const observed = (x.reduce((a, b) => a + b, 0) - y.reduce((a, b) => a + b, 0)) / x.length; // 0.3
    const [low, high] = pairedBootstrapInterval(x, y, { seed: 1 });
    assert.ok(low <= observed && observed <= high, `${low} ${observed} ${high}`);
    assert.ok(low > 0 && high < 0.6, `${low} ${high}`); // 7 discordant pairs favour x, 1 favours y
  });
  it('all pairs identical → [0, 0]', () => assert.deepEqual(pairedBootstrapInterval(x, x, { seed: 3, samples: 100 }), [0, 0]));
  it('constant difference → a point', () =>
    assert.deepEqual(pairedBootstrapInterval([1, 1, 1], [0, 0, 0], { seed: 3, samples: 50 }), [1, 1]));
  it('no items → [−1, 1]', () => assert.deepEqual(pairedBootstrapInterval([], [], { seed: 0 }), [-1, 1]));
  it('rejects unequal lengths', () => assert.throws(() => pairedBootstrapInterval([1], [1, 0], { seed: 0 }), RangeError));
});
