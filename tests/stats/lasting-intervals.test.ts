// Bootstrap intervals remembered across runs: read back exactly, looked up by everything an
// interval depends on, ignored when another implementation wrote them, and a broken record is
// reported and rewritten.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { bootstrapFingerprint, ClusterDraws, clusterBootstrapInterval, clusterResampleWeights, countsBootstrapInterval, rememberIntervalsIn } from '../../src/stats/bootstrap.js';
import { LASTING_INTERVALS_FILE, LastingIntervals } from '../../src/stats/lasting-intervals.js';
import { sha256Hex } from '../../src/util/hash.js';

const scratch = () => mkdtempSync(path.join(tmpdir(), 'ragtax-intervals-'));

function withMemo<T>(memo: LastingIntervals, work: () => T): T {
  rememberIntervalsIn(memo);
  try {
    return work();
  } finally {
    rememberIntervalsIn(undefined);
  }
}

test('intervals made with a record are saved, and read back to the same doubles', async () => {
  const dir = scratch();
  try {
    const first = LastingIntervals.open(dir);
    assert.equal(first.unreadable, null, 'no record yet is not an error');
    const weights = clusterResampleWeights(9, { seed: 101, samples: 300 });
    const made = withMemo(first, () => [
      clusterBootstrapInterval([0, 1, 2, 1, 0, 3, 1, 2, 1], [1, 2, 2, 1, 1, 3, 2, 2, 1], weights),
      clusterBootstrapInterval([0.25, 1.5, 0.1, 1, 0, 2.75, 1, 0.5, 1], [1, 2, 2, 1, 1, 3, 2, 2, 1], weights, 0.9),
      countsBootstrapInterval([1, -1, 0], [13, 4, 40], { seed: 101, samples: 300 }),
    ]);
    assert.equal(first.made, 3);
    await first.save();
    const record = JSON.parse(readFileSync(path.join(dir, LASTING_INTERVALS_FILE), 'utf8')) as { implementation: string; intervals: Record<string, [number, number]> };
    assert.equal(record.implementation, bootstrapFingerprint());
    assert.deepEqual(Object.values(record.intervals).sort(), made.map((i) => [...i]).sort(), 'the record holds exactly these intervals');

    // Nothing made: nothing rewritten.
    const again = LastingIntervals.open(dir);
    await again.save();
    assert.equal(again.made, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a remembered interval is the answer: planted values come back for inputs never computed in this process', () => {
  const dir = scratch();
  try {
    const sums = [3, 0, 1, 2, 2, 0, 1];
    const sizes = [3, 1, 2, 2, 3, 1, 1];
    const counts = [21, 8, 77];
    // The keys name the draws (clusters|seed|resamples), the level and the totals, or the seed,
    // resamples, level, values and counts of a counts interval.
    const clusterKey = `cluster|7|424242|250|0.95|${sums.join(',')}|${sizes.join(',')}`;
    const countsKey = `counts|424242|250|0.95|1,-1,0|${counts.join(',')}`;
    writeFileSync(
      path.join(dir, LASTING_INTERVALS_FILE),
      JSON.stringify({ format: 'ragtax-bootstrap-intervals/1', implementation: bootstrapFingerprint(), intervals: { [sha256Hex(clusterKey)]: [0.125, 0.5], [sha256Hex(countsKey)]: [-0.25, 0.75] } }),
    );
    const memo = LastingIntervals.open(dir);
    const weights = clusterResampleWeights(7, { seed: 424242, samples: 250 });
    assert.deepEqual(
      withMemo(memo, () => clusterBootstrapInterval(sums, sizes, weights)),
      [0.125, 0.5],
    );
    assert.deepEqual(
      withMemo(memo, () => countsBootstrapInterval([1, -1, 0], counts, { seed: 424242, samples: 250 })),
      [-0.25, 0.75],
    );
    assert.equal(memo.made, 0);
    // Another seed is another key: computed, not the planted value.
    const other = withMemo(memo, () => countsBootstrapInterval([1, -1, 0], counts, { seed: 424243, samples: 250 }));
    assert.notDeepEqual(other, [-0.25, 0.75]);
    assert.equal(memo.made, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("another implementation's record is not read; a broken one is reported and rewritten", async () => {
  const dir = scratch();
  const file = path.join(dir, LASTING_INTERVALS_FILE);
  const counts = [5, 9, 31];
  const key = sha256Hex(`counts|77|200|0.95|1,-1,0|${counts.join(',')}`);
  try {
    writeFileSync(file, JSON.stringify({ format: 'ragtax-bootstrap-intervals/1', implementation: 'v0:something else', intervals: { [key]: [0, 0] } }));
    const foreign = LastingIntervals.open(dir);
    assert.equal(foreign.unreadable, null);
    const interval = withMemo(foreign, () => countsBootstrapInterval([1, -1, 0], counts, { seed: 77, samples: 200 }));
    assert.notDeepEqual(interval, [0, 0]);
    assert.equal(foreign.made, 1);

    writeFileSync(file, '{"format": "ragtax-bootstrap-intervals/1", "intervals": {');
    const broken = LastingIntervals.open(dir);
    assert.match(broken.unreadable ?? '', /JSON/);
    await broken.save(); // nothing made, but the broken record is replaced
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { format: 'ragtax-bootstrap-intervals/1', implementation: bootstrapFingerprint(), intervals: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the fingerprint is computed once and names a version', () => {
  assert.equal(bootstrapFingerprint(), bootstrapFingerprint());
  assert.match(bootstrapFingerprint(), /^v\d+:\[\[/);
});

test('ClusterDraws: the same intervals as the drawn weights, and no draws when every interval is remembered', () => {
  let draws = 0;
  class CountedDraws extends ClusterDraws {
    override get weights(): Int32Array {
      draws += 1;
      return super.weights;
    }
  }
  const sums = [2, 0, 1, 3, 1, 0, 2, 1];
  const sizes = [2, 1, 1, 3, 2, 1, 2, 2];
  const options = { seed: 9090, samples: 400 };
  // Computed from lazy draws, then from the drawn array: one memo, the same numbers.
  const lazy = clusterBootstrapInterval(sums, sizes, new CountedDraws(8, options));
  assert.equal(draws, 1);
  assert.deepEqual(clusterBootstrapInterval(sums, sizes, clusterResampleWeights(8, options)), lazy);
  // A new interval with every one remembered: answered without drawing.
  const dir = scratch();
  try {
    const fresh = [1, 1, 1, 0, 0, 2, 2, 1];
    const key = `cluster|8|9090|400|0.95|${fresh.join(',')}|${sizes.join(',')}`;
    writeFileSync(
      path.join(dir, LASTING_INTERVALS_FILE),
      JSON.stringify({ format: 'ragtax-bootstrap-intervals/1', implementation: bootstrapFingerprint(), intervals: { [sha256Hex(key)]: [0.3, 0.7] } }),
    );
    const memo = LastingIntervals.open(dir);
    draws = 0;
    assert.deepEqual(
      withMemo(memo, () => clusterBootstrapInterval(fresh, sizes, new CountedDraws(8, options))),
      [0.3, 0.7],
    );
    assert.equal(draws, 0, 'no cluster draws were needed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => new ClusterDraws(8, { seed: 1, samples: 0 }), /samples must be a positive integer/);
});
