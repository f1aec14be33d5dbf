// `compare --adjust`: the McNemar p-values of every gated (cell × gating metric) comparison of a run
// pair are adjusted together before the regression decision. Synthetic samples only (no runs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSamples, DEFAULT_COMPARE_OPTIONS, type CompareOptions, type ComparisonResult } from '../../src/compare/compare.js';
import { adjustPValues, type PAdjust } from '../../src/stats/adjust.js';
import type { SampleRecord } from '../../src/types.js';
import { cellTables, mulberry32, sample } from './helpers.js';

const options: CompareOptions = { ...DEFAULT_COMPARE_OPTIONS, seed: 7, bootstrapSamples: 100 };

/** Several cells' tables (one model name per cell) as two runs. */
function runs(cells: [string, number, number, number, number][]): { base: SampleRecord[]; cand: SampleRecord[] } {
  const base: SampleRecord[] = [];
  const cand: SampleRecord[] = [];
  for (const [model, b, c, both, neither] of cells) {
    const t = cellTables(model, b, c, both, neither);
    base.push(...t.base);
    cand.push(...t.cand);
  }
  return { base, cand };
}

/**
 * A null run pair: per item a latent chance of being right, both runs drawn from it independently
 * (so baseline and candidate are exchangeable: every flagged cell is a false alarm).
 */
function nullRuns(rng: () => number, cells: number, items: number): { base: SampleRecord[]; cand: SampleRecord[] } {
  const base: SampleRecord[] = [];
  const cand: SampleRecord[] = [];
  for (let c = 0; c < cells; c++) {
    for (let i = 0; i < items; i++) {
      const q = 0.2 + 0.7 * rng();
      base.push(sample(`i${i}`, rng() < q, false, 0, `cell${c}`));
      cand.push(sample(`i${i}`, rng() < q, false, 0, `cell${c}`));
    }
  }
  return { base, cand };
}

const accuracy = (result: ComparisonResult, model: string) => result.cells.find((c) => c.cell.model === model)!.metrics.find((m) => m.metric === 'accuracy')!;

describe('compare --adjust', () => {
  it('`none` is the unadjusted gate: p_adj = p and regressions are exactly drop > max-drop with raw p < alpha', () => {
    const rng = mulberry32(3);
    for (let trial = 0; trial < 10; trial++) {
      const { base, cand } = nullRuns(rng, 12, 40);
      const result = compareSamples(base, cand, { ...options, adjust: 'none', gateRefusal: trial % 2 === 0 });
      let expected = 0;
      for (const c of result.cells) {
        for (const m of c.metrics) {
          if (m.gating) assert.equal(m.pAdjusted, m.p);
          const worse = m.higherIsBetter ? -m.diff : m.diff;
          const old = m.gating && m.n > 0 && worse * 100 > options.maxDrop + 1e-9 && m.p! < options.alpha;
          assert.equal(m.regression, old);
          if (old) expected += 1;
        }
      }
      assert.equal(result.regressions.length, expected);
      assert.deepEqual(result.adjustment, { method: 'none', comparisons: trial % 2 === 0 ? 24 : 12 });
    }
  });

  it('the family is every gated cell × metric; non-gating metrics keep the raw p and p_adj null', () => {
    const { base, cand } = runs([['a', 6, 0, 4, 0], ['b', 5, 1, 10, 4], ['c', 10, 2, 20, 8]]);
    const result = compareSamples(base, cand, options);
    assert.deepEqual(result.adjustment, { method: 'holm', comparisons: 3 });
    const ps = ['a', 'b', 'c'].map((m) => accuracy(result, m).p!);
    const holm = adjustPValues(ps, 'holm');
    assert.deepEqual(['a', 'b', 'c'].map((m) => accuracy(result, m).pAdjusted), holm);
    // p = 2/64 and 158/4096: Holm gives 3 · 2/64 = 0.094 and max(0.094, 2 · 0.0386), neither < 0.05.
    assert.ok(Math.abs(holm[0]! - 3 * 0.03125) < 1e-12);
    assert.equal(result.regressions.length, 0);
    for (const c of result.cells) {
      for (const m of c.metrics.filter((x) => !x.gating)) assert.equal(m.pAdjusted, null, `${m.metric} is not gating`);
    }
    assert.equal(compareSamples(base, cand, { ...options, gateRefusal: true }).adjustment.comparisons, 6);
    // Unadjusted, both raw p < 0.05 gate.
    assert.equal(compareSamples(base, cand, { ...options, adjust: 'none' }).regressions.length, 2);
  });

  it('planted regression among null cells: Holm keeps the real drop and drops the borderline null cell', () => {
    // 20 cells of 40 items: cell `real` loses 20 and gains 1 (p ≈ 2e-5); `borderline` loses 10 and
    // gains 2 (p = 158/4096 ≈ 0.039: significant unadjusted, a 20-point drop); 18 noise cells lose as
    // many as they gain.
    const cells: [string, number, number, number, number][] = [['real', 20, 1, 15, 4], ['borderline', 10, 2, 20, 8]];
    for (let i = 0; i < 18; i++) cells.push([`noise${String(i).padStart(2, '0')}`, 3 + (i % 4), 3 + (i % 4), 20, 10]);
    const { base, cand } = runs(cells);
    const flagged = (adjust: PAdjust) => compareSamples(base, cand, { ...options, adjust }).regressions.map((r) => r.cell.model).sort();
    assert.deepEqual(flagged('none'), ['borderline', 'real']);
    assert.deepEqual(flagged('holm'), ['real']);
    assert.deepEqual(flagged('bh'), ['real']);
    const result = compareSamples(base, cand, options);
    assert.equal(result.adjustment.comparisons, 20);
    const real = accuracy(result, 'real');
    const borderline = accuracy(result, 'borderline');
    assert.ok(borderline.p! < 0.05 && Math.abs(borderline.p! - 158 / 4096) < 1e-12);
    assert.ok(Math.abs(real.pAdjusted! - 20 * real.p!) < 1e-15, 'smallest p × 20');
    assert.ok(Math.abs(borderline.pAdjusted! - 19 * borderline.p!) < 1e-12, 'second smallest × 19');
    assert.equal(borderline.regression, false);
    assert.ok(borderline.beyondMaxDrop);
  });

  it('false alarms over 200 null run pairs of 20 cells: Holm keeps the family-wise rate near alpha, none does not', () => {
    const rng = mulberry32(20240611);
    const pairs = 200;
    const alarms: Record<PAdjust, number> = { none: 0, holm: 0, bh: 0 };
    for (let run = 0; run < pairs; run++) {
      const { base, cand } = nullRuns(rng, 20, 60);
      // Only the gate is measured: one bootstrap resample (the intervals do not gate).
      for (const adjust of ['none', 'holm', 'bh'] as const) {
        if (compareSamples(base, cand, { ...options, bootstrapSamples: 1, adjust }).regressions.length > 0) alarms[adjust] += 1;
      }
    }
    const rate = { none: alarms.none / pairs, holm: alarms.holm / pairs, bh: alarms.bh / pairs };
    console.log(
      `false-alarm rate (≥ 1 regression) over ${pairs} null run pairs × 20 cells × 60 items, alpha 0.05: ` +
        `--adjust none ${rate.none.toFixed(3)} (${alarms.none}/${pairs}), --adjust holm ${rate.holm.toFixed(3)} (${alarms.holm}/${pairs}), ` +
        `--adjust bh ${rate.bh.toFixed(3)} (${alarms.bh}/${pairs}; under the global null BH's FDR is its family-wise rate)`,
    );
    assert.ok(rate.holm <= 0.05 + 0.03, `holm family-wise false-alarm rate ${rate.holm}`);
    assert.ok(rate.none >= 0.15, `unadjusted false-alarm rate ${rate.none}`);
    assert.ok(rate.none >= 3 * Math.max(rate.holm, 0.01));
  });
});
