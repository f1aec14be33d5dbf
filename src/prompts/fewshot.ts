// Few-shot exemplar choice: a seeded draw per item from the separate few-shot split, never the item
// itself, identical for every model and format so paired samples see byte-identical prompts.
import { createHash } from 'node:crypto';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { QaItem } from '../types.js';

function seedFor(seed: number, itemId: string): number {
  return createHash('sha256').update(`${seed}\u0000${itemId}`).digest().readInt32LE(0);
}

export function pickExemplars(pool: readonly QaItem[], item: QaItem, shots: number, seed: number): QaItem[] {
  if (shots === 0) return [];
  const candidates = pool.filter((ex) => ex.id !== item.id && ex.question !== item.question);
  const rng = xoroshiro128plus(seedFor(seed, item.id));
  // Partial Fisher-Yates: the first `shots` positions of a seeded shuffle.
  const chosen = [...candidates];
  const n = Math.min(shots, chosen.length);
  for (let i = 0; i < n; i++) {
    const j = uniformInt(rng, i, chosen.length - 1);
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  return chosen.slice(0, n);
}
