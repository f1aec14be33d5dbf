// Power of the paired (McNemar) comparison: how large a tax a run could detect, and how many items
// a follow-up needs. Normal approximation of Connor (1987) for paired proportions, with the
// discordance rate ψ = P(base right, instruct wrong) + P(base wrong, instruct right) taken from the
// run itself.
import { normalQuantile } from './distributions.js';

export const DEFAULT_POWER = 0.8;

/**
 * Items needed to detect a paired difference `effect` (a fraction, e.g. 0.02) with discordance rate
 * `discordance`, two-sided level `alpha` and the given power; null when the effect is impossible
 * with that discordance (|effect| > ψ) or ψ is 0.
 */
export function mcnemarSampleSize(effect: number, discordance: number, alpha: number, power = DEFAULT_POWER): number | null {
  const delta = Math.abs(effect);
  if (!(delta > 0) || !(discordance > 0) || delta > discordance) return null;
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  const root = zAlpha * Math.sqrt(discordance) + zBeta * Math.sqrt(discordance - delta * delta);
  return Math.ceil((root * root) / (delta * delta));
}

/**
 * The smallest paired difference detectable with `n` items at that power (the minimum detectable
 * effect), a fraction; null when nothing is discordant (ψ = 0) or no n.
 */
export function mcnemarMinimumDetectableEffect(n: number, discordance: number, alpha: number, power = DEFAULT_POWER): number | null {
  if (!(n > 0) || !(discordance > 0)) return null;
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  // n(δ) decreases in δ on (0, ψ]: bisection on the closed form above.
  const needed = (delta: number) => {
    const root = zAlpha * Math.sqrt(discordance) + zBeta * Math.sqrt(Math.max(0, discordance - delta * delta));
    return (root * root) / (delta * delta);
  };
  if (needed(discordance) > n) return null; // even the largest possible difference is out of reach
  let low = 1e-9;
  let high = discordance;
  for (let i = 0; i < 100; i++) {
    const mid = (low + high) / 2;
    if (needed(mid) > n) low = mid;
    else high = mid;
  }
  return high;
}
