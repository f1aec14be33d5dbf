// Percentile intervals find their order statistics by selection, not by sorting: the numbers must
// be exactly those of a full sort with R type 7 interpolation (numpy's default), written out here
// independently, for ties, lattices, tiny arrays and every coverage level.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { percentileInterval, quantileSelect } from '../../src/stats/bootstrap.js';

/** R type 7 from a sorted copy. */
function sortedQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

const values = fc.oneof(
  fc.array(fc.double({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }).map((v) => v + 0), { minLength: 1, maxLength: 300 }),
  // A lattice with many ties, as the means of yes/no differences over n items are.
  fc.array(fc.integer({ min: -5, max: 5 }).map((v) => v / 7), { minLength: 1, maxLength: 300 }),
  fc.array(fc.constant(0.5), { minLength: 1, maxLength: 50 }),
);

describe('quantileSelect', () => {
  it('equals the sorted R-7 quantile, bit for bit', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 1, noNaN: true }), (list, q) => {
        assert.equal(quantileSelect(Float64Array.from(list), q, 0), sortedQuantile(list, q));
      }),
      { numRuns: 3000 },
    );
  });

  it('one value, the extremes, and 2,000 resampled means', () => {
    assert.equal(quantileSelect(Float64Array.of(0.25), 0.975, 0), 0.25);
    const list = [3, -1, 2, 2, 0.5];
    assert.equal(quantileSelect(Float64Array.from(list), 0, 0), -1);
    assert.equal(quantileSelect(Float64Array.from(list), 1, 0), 3);
    const means = Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 61) / 37);
    assert.equal(quantileSelect(Float64Array.from(means), 0.025, 0), sortedQuantile(means, 0.025));
  });
});

describe('percentileInterval', () => {
  it('both ends equal the sorted quantiles at every level (the upper end starts past the lower one)', () => {
    fc.assert(
      fc.property(values, fc.double({ min: 0, max: 1, noNaN: true }), (list, level) => {
        const tail = (1 - level) / 2;
        assert.deepEqual(percentileInterval(Float64Array.from(list), level), [sortedQuantile(list, tail), sortedQuantile(list, 1 - tail)]);
      }),
      { numRuns: 3000 },
    );
  });

  it('works on a view of a larger array', () => {
    const all = Float64Array.from([9, 9, 0.1, 0.4, 0.2, 0.3, 9]);
    assert.deepEqual(percentileInterval(all.subarray(2, 6), 0.5), [sortedQuantile([0.1, 0.4, 0.2, 0.3], 0.25), sortedQuantile([0.1, 0.4, 0.2, 0.3], 0.75)]);
  });
});
