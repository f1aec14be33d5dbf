// Exact McNemar test on paired per-item correctness.
//
// Hand-written on purpose: it is a two-sided binomial test with p = 0.5 on the discordant pairs,
// about 15 lines, and the candidate packages (@stdlib/stats-binomial-test,
// @stdlib/stats-base-dists-binomial-cdf) are not installed; adding a dependency tree for this was
// not worth it. Tested against hand-computed tables.

/** log C(n, i) for i = 0..m, by the recurrence C(n, i) = C(n, i − 1) · (n − i + 1) / i. */
function logBinomialCoefficients(n: number, m: number): number[] {
  const logs = [0];
  let current = 0;
  for (let i = 1; i <= m; i++) {
    current += Math.log(n - i + 1) - Math.log(i);
    logs.push(current);
  }
  return logs;
}

/** P(X ≤ m) for X ~ Binomial(n, 0.5), summed in log space so large n neither overflows nor underflows early. */
export function binomialHalfCdf(m: number, n: number): number {
  if (m < 0) return 0;
  if (m >= n) return 1;
  const logTerms = logBinomialCoefficients(n, m);
  const largest = Math.max(...logTerms);
  let scaled = 0;
  for (const logTerm of logTerms) scaled += Math.exp(logTerm - largest);
  return Math.exp(largest + Math.log(scaled) - n * Math.LN2);
}

/**
 * Two-sided exact McNemar p-value for discordant counts b (base right, instruct wrong) and c
 * (base wrong, instruct right): min(1, 2 · P(X ≤ min(b, c))) with X ~ Bin(b + c, 0.5); 1 when b + c = 0.
 */
export function mcnemarExactP(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) {
    throw new RangeError(`mcnemarExactP: counts must be non-negative integers, got b=${b}, c=${c}`);
  }
  const n = b + c;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialHalfCdf(Math.min(b, c), n));
}
