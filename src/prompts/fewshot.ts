// Few-shot exemplar choice: a seeded draw per item from the separate few-shot split, never the item
// itself, identical for every model and format so paired samples see byte-identical prompts.
import type { QaItem } from '../types.js';
import { itemRng, seededDraw } from '../util/seeded.js';

export function pickExemplars(pool: readonly QaItem[], item: QaItem, shots: number, seed: number): QaItem[] {
  if (shots === 0) return [];
  const candidates = pool.filter((ex) => ex.id !== item.id && ex.question !== item.question);
  // The same exemplars for every model and format: drawn with the item's own generator.
  return seededDraw(candidates, shots, itemRng(seed, item.id));
}
