// Seeded draws: every random choice ragtax makes (few-shot exemplars, the item sample, the
// random oracle position) comes from here, so a seed reproduces it exactly.
import { createHash } from 'node:crypto';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/**
 * A generator for one item: the run's seed and the item's id (with an optional purpose, so that two
 * draws for the same item are independent), hashed together.
 */
export function itemRng(seed: number, itemId: string, purpose?: string): RandomGenerator {
  const key = purpose === undefined ? `${seed}\u0000${itemId}` : `${seed}\u0000${purpose}\u0000${itemId}`;
  return xoroshiro128plus(createHash('sha256').update(key).digest().readInt32LE(0));
}

/** A generator for the whole run. */
export function runRng(seed: number): RandomGenerator {
  return xoroshiro128plus(seed);
}

/** The first `size` of a seeded partial Fisher–Yates shuffle of `pool` (which is left as it was). */
export function seededDraw<T>(pool: readonly T[], size: number, rng: RandomGenerator): T[] {
  const items = [...pool];
  const n = Math.min(size, items.length);
  for (let i = 0; i < n; i++) {
    const j = uniformInt(rng, i, items.length - 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items.slice(0, n);
}

/** A seeded whole number in [min, max]. */
export function seededInt(rng: RandomGenerator, min: number, max: number): number {
  return uniformInt(rng, min, max);
}
