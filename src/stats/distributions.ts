// The distribution functions the statistics need (quantiles and CDFs), from jStat: a small,
// dependency-free library; writing inverse incomplete-beta functions by hand is where numerical
// code goes wrong.
import jStat from 'jstat';

/** Standard normal quantile Φ⁻¹(p). */
export function normalQuantile(p: number): number {
  return jStat.normal.inv(p, 0, 1);
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return jStat.normal.cdf(x, 0, 1);
}

/**
 * Quantile of Beta(a, b). jStat's incomplete beta converges to about 1e-9 relative (checked against
 * scipy in tests/stats/reference.test.ts): far below what an interval printed to 0.1 points shows.
 */
export function betaQuantile(p: number, a: number, b: number): number {
  return jStat.beta.inv(p, a, b);
}
