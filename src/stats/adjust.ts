// Multiple-comparison adjustment of p-values: a suite tests many pairs and `compare` many cells ×
// metrics at one alpha, so without it false alarms grow with the size of the grid.

export type PAdjust = 'holm' | 'bh' | 'none';
export const P_ADJUST_METHODS: readonly PAdjust[] = ['holm', 'bh', 'none'];

/**
 * Holm's step-down adjustment (controls the family-wise error rate): the i-th smallest of m
 * p-values becomes max over j ≤ i of (m − j + 1) · p_(j), capped at 1. Returned in input order.
 */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, index], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Benjamini–Hochberg step-up adjustment (controls the false discovery rate): the i-th smallest of
 * m p-values becomes min over j ≥ i of m · p_(j) / j, capped at 1. Returned in input order.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const [p, index] = order[rank]!;
    running = Math.min(running, Math.min(1, (m * p) / (rank + 1)));
    adjusted[index] = running;
  }
  return adjusted;
}

export function adjustPValues(pValues: readonly number[], method: PAdjust): number[] {
  if (method === 'holm') return holm(pValues);
  if (method === 'bh') return benjaminiHochberg(pValues);
  return [...pValues];
}
