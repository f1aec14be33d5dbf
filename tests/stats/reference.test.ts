// ragtax's statistics against an independent implementation (statsmodels 0.13.5 / scipy 1.10.1).
//
// The reference values, and the fixed inputs they were computed from, live in
// tests/fixtures/stats-reference.json, written by tools/stats_reference.py (see its header for the
// exact calls; regenerate with `/usr/bin/python3 tools/stats_reference.py > tests/fixtures/stats-reference.json`).
// Nothing here is computed by ragtax and then compared with itself.
//
// Tolerances:
//  - Closed forms (McNemar exact p, Holm, BH, Clopper–Pearson, Wilson, Connor sample size and MDE):
//    relative 1e-9. Two absolute floors, both for values that are exactly 0 or 1 in exact
//    arithmetic: 1e-15 where statsmodels' unclamped Wilson endpoint at k = 0 or k = n carries
//    floating-point noise (ragtax pins those endpoints exactly), and 1e-300 for McNemar p-values that
//    underflow double precision (scipy returns 0). Sample sizes are integers and must match exactly.
//  - Monte-Carlo power of the Connor sample size: the simulated exact-McNemar power (20 000
//    replicates, Monte-Carlo SE ≈ 0.003) must lie within ±0.03 of the nominal 0.80. The exact test is
//    slightly conservative, so a shortfall of about 0.02 is expected; ±0.03 is what the formula has to
//    honour to "mean what it says".
//  - Bootstrap interval widths: a 95% percentile interval from B = 5000 resamples estimates each
//    2.5% / 97.5% quantile with relative SD ≈ √(0.025·0.975/B)/φ(1.96)/1.96 ≈ 1.9% of the half-width,
//    so the width has a Monte-Carlo SD of ≈ 1.4%; on top of that the bootstrap distribution of a
//    mean of binary differences over 60–120 clusters is not exactly normal, and the bootstrap
//    targets the uncorrected (CR0 / HC0) sandwich while statsmodels' default cluster SE carries the
//    G/(G − 1) correction (≈ 0.8% in SE at G = 60). Hence WIDTH_RELATIVE = 10% (≥ 5 Monte-Carlo SDs),
//    both for the width against 2·1.96·SE and for the design effect (clustered ÷ naive width)
//    against statsmodels' SE ratio.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { benjaminiHochberg, holm } from '../../src/stats/adjust.js';
import { clusteredPairedBootstrapInterval, pairedBootstrapInterval } from '../../src/stats/bootstrap.js';
import { clopperPearsonInterval, wilsonInterval } from '../../src/stats/intervals.js';
import { mcnemarExactP } from '../../src/stats/mcnemar.js';
import { mcnemarMinimumDetectableEffect, mcnemarSampleSize } from '../../src/stats/power.js';

const CLOSED_FORM_RELATIVE = 1e-9;
/**
 * Clopper–Pearson goes through jStat's inverse incomplete beta, whose continued fraction converges
 * to about 1e-9 relative (measured: up to 2.5e-9 against scipy, which agrees with 40-digit mpmath);
 * a thousand times finer than the 0.1 points an interval is printed to.
 */
const BETA_QUANTILE_RELATIVE = 1e-8;
const ENDPOINT_ABSOLUTE = 1e-15;
const UNDERFLOW_ABSOLUTE = 1e-300;
const POWER_TOLERANCE = 0.03;
const WIDTH_RELATIVE = 0.1;
/** The clustered-data case must show a design effect (clustered ÷ naive width) at least this large. */
const STRONG_DESIGN_EFFECT = 1.5;

interface Reference {
  versions: Record<string, string>;
  z_95: number;
  mcnemar: { b: number; c: number; p: number }[];
  adjust: { name: string; p: number[]; holm: number[]; bh: number[] }[];
  clopper_pearson: { k: number; n: number; level: number; low: number; high: number }[];
  wilson: { k: number; n: number; low: number; high: number }[];
  sample_size: { effect: number; discordance: number; alpha: number; power: number; n_raw: number; n: number }[];
  sample_size_null: { effect: number; discordance: number; alpha: number; power: number }[];
  mde: { n: number; discordance: number; alpha: number; power: number; mde: number | null }[];
  power_monte_carlo: {
    effect: number;
    discordance: number;
    alpha: number;
    nominal_power: number;
    n: number;
    replicates: number;
    empirical_power: number;
    monte_carlo_se: number;
  }[];
  bootstrap: {
    name: string;
    kind: string;
    seed: number;
    samples: number;
    x: number[];
    y: number[];
    clusters: string[];
    expected: {
      mean: number;
      n_clusters: number;
      se_cluster: number;
      se_cluster_uncorrected: number;
      se_hc0: number;
      width_cluster: number;
      width_cluster_uncorrected: number;
      width_hc0: number;
      design_effect_se_ratio: number;
    };
  }[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ref = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/stats-reference.json'), 'utf8')) as Reference;

function close(actual: number, expected: number, label: string, absolute = 0, relative = CLOSED_FORM_RELATIVE): void {
  const allowed = relative * Math.abs(expected) + absolute;
  assert.ok(
    Number.isFinite(actual) && Math.abs(actual - expected) <= allowed,
    `${label}: ragtax ${actual} vs reference ${expected} (|diff| ${Math.abs(actual - expected)} > ${allowed})`,
  );
}

function closeArrays(actual: readonly number[], expected: readonly number[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  expected.forEach((e, i) => close(actual[i]!, e, `${label}[${i}]`));
}

describe('reference fixture', () => {
  it('was generated by the pinned libraries', () => {
    assert.match(ref.versions.statsmodels!, /^0\.13\.5/);
    assert.equal(ref.versions.scipy, '1.10.1');
  });
});

describe('exact McNemar vs statsmodels mcnemar(exact=True)', () => {
  for (const { b, c, p } of ref.mcnemar) {
    it(`b=${b}, c=${c} → ${p}`, () => close(mcnemarExactP(b, c), p, `mcnemarExactP(${b}, ${c})`, UNDERFLOW_ABSOLUTE));
  }
  it('covers b + c = 0, b = c and b + c ≈ 2000', () => {
    assert.ok(ref.mcnemar.some(({ b, c }) => b + c === 0));
    assert.ok(ref.mcnemar.some(({ b, c }) => b === c && b > 0));
    assert.ok(ref.mcnemar.filter(({ b, c }) => b + c === 2000).length >= 5);
  });
});

describe('Holm and Benjamini–Hochberg vs statsmodels multipletests', () => {
  for (const { name, p, holm: expectedHolm, bh } of ref.adjust) {
    it(`holm: ${name}`, () => closeArrays(holm(p), expectedHolm, `holm(${name})`));
    it(`fdr_bh: ${name}`, () => closeArrays(benjaminiHochberg(p), bh, `benjaminiHochberg(${name})`));
  }
});

describe('Clopper–Pearson vs statsmodels proportion_confint(method="beta")', () => {
  for (const { k, n, level, low, high } of ref.clopper_pearson) {
    it(`k=${k}, n=${n}, level=${level}`, () => {
      const [lower, upper] = clopperPearsonInterval(k, n, level);
      close(lower, low, `clopperPearsonInterval(${k}, ${n}, ${level}) lower`, 0, BETA_QUANTILE_RELATIVE);
      close(upper, high, `clopperPearsonInterval(${k}, ${n}, ${level}) upper`, 0, BETA_QUANTILE_RELATIVE);
    });
  }
});

describe('Wilson vs statsmodels proportion_confint(method="wilson")', () => {
  for (const { k, n, low, high } of ref.wilson) {
    it(`k=${k}, n=${n}`, () => {
      const [lower, upper] = wilsonInterval(k, n);
      close(lower, low, `wilsonInterval(${k}, ${n}) lower`, ENDPOINT_ABSOLUTE);
      close(upper, high, `wilsonInterval(${k}, ${n}) upper`, ENDPOINT_ABSOLUTE);
    });
  }
});

describe('McNemar power (Connor 1987) vs scipy re-implementation', () => {
  for (const { effect, discordance, alpha, power, n, n_raw } of ref.sample_size) {
    it(`sample size: effect=${effect}, ψ=${discordance}, α=${alpha}, power=${power} → ${n}`, () => {
      assert.equal(mcnemarSampleSize(effect, discordance, alpha, power), n, `unrounded reference n = ${n_raw}`);
    });
  }
  for (const { effect, discordance, alpha, power } of ref.sample_size_null) {
    it(`sample size is null: effect=${effect}, ψ=${discordance}`, () => {
      assert.equal(mcnemarSampleSize(effect, discordance, alpha, power), null);
    });
  }
  for (const { n, discordance, alpha, power, mde } of ref.mde) {
    it(`MDE: n=${n}, ψ=${discordance}, α=${alpha}, power=${power} → ${mde}`, () => {
      const actual = mcnemarMinimumDetectableEffect(n, discordance, alpha, power);
      if (mde === null) assert.equal(actual, null);
      else {
        assert.notEqual(actual, null);
        close(actual!, mde, `mcnemarMinimumDetectableEffect(${n}, ${discordance}, ${alpha}, ${power})`);
      }
    });
  }
});

describe('Connor sample size delivers its power (Monte-Carlo, exact McNemar, statsmodels)', () => {
  for (const mc of ref.power_monte_carlo) {
    it(`effect=${mc.effect}, ψ=${mc.discordance}: n=${mc.n}, simulated power ${mc.empirical_power}`, () => {
      // The simulation ran at the n the reference formula gives; ragtax must ask for the same n.
      assert.equal(mcnemarSampleSize(mc.effect, mc.discordance, mc.alpha, mc.nominal_power), mc.n);
      assert.ok(mc.replicates >= 10_000 && mc.monte_carlo_se < 0.01, 'too few replicates for a ±0.03 check');
      assert.ok(
        Math.abs(mc.empirical_power - mc.nominal_power) <= POWER_TOLERANCE,
        `simulated power ${mc.empirical_power} (SE ${mc.monte_carlo_se}) is not within ${POWER_TOLERANCE} of ${mc.nominal_power}`,
      );
    });
  }
});

describe('bootstrap interval widths vs statsmodels sandwich standard errors', () => {
  const width = ([low, high]: readonly [number, number]) => high - low;
  const relativeGap = (actual: number, expected: number) => Math.abs(actual - expected) / expected;

  for (const data of ref.bootstrap) {
    const e = data.expected;
    const options = { seed: data.seed, samples: data.samples };
    const clustered = clusteredPairedBootstrapInterval(data.x, data.y, data.clusters, options);
    const naive = pairedBootstrapInterval(data.x, data.y, options);

    it(`${data.name}: fixture is what the test assumes`, () => {
      assert.ok(e.n_clusters >= 60, `${e.n_clusters} clusters`);
      assert.ok(data.samples >= 5000);
      assert.equal(new Set(data.clusters).size, e.n_clusters);
      const mean = data.x.reduce((s, xi, i) => s + xi - data.y[i]!, 0) / data.x.length;
      close(mean, e.mean, 'mean difference', 1e-15);
    });

    it(`${data.name}: cluster bootstrap width ≈ 2·1.96·SE(cluster, use_correction=True) within ${WIDTH_RELATIVE * 100}%`, () => {
      const gap = relativeGap(width(clustered), e.width_cluster);
      assert.ok(
        gap <= WIDTH_RELATIVE,
        `clustered width ${width(clustered)} vs ${e.width_cluster} (uncorrected ${e.width_cluster_uncorrected}): ${(gap * 100).toFixed(2)}%`,
      );
      assert.ok(clustered[0] < e.mean && e.mean < clustered[1], `interval ${clustered} misses the mean ${e.mean}`);
    });

    it(`${data.name}: paired bootstrap width ≈ 2·1.96·SE(HC0) within ${WIDTH_RELATIVE * 100}%`, () => {
      const gap = relativeGap(width(naive), e.width_hc0);
      assert.ok(gap <= WIDTH_RELATIVE, `naive width ${width(naive)} vs ${e.width_hc0}: ${(gap * 100).toFixed(2)}%`);
    });

    it(`${data.name}: design effect (clustered ÷ naive width) ≈ SE(cluster) ÷ SE(HC0) within ${WIDTH_RELATIVE * 100}%`, () => {
      const designEffect = width(clustered) / width(naive);
      const gap = relativeGap(designEffect, e.design_effect_se_ratio);
      assert.ok(gap <= WIDTH_RELATIVE, `design effect ${designEffect} vs statsmodels ${e.design_effect_se_ratio}: ${(gap * 100).toFixed(2)}%`);
      if (data.kind === 'shared') {
        assert.ok(e.design_effect_se_ratio > STRONG_DESIGN_EFFECT, `reference design effect ${e.design_effect_se_ratio}`);
        assert.ok(designEffect > STRONG_DESIGN_EFFECT, `ragtax design effect ${designEffect}`);
      }
    });
  }
});
