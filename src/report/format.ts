// Number formatting shared by the text reports.
import type { Interval } from '../types.js';

/** A fraction as percentage points with one decimal, or `–` when undefined. */
export function pct(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? '–' : (100 * value).toFixed(1);
}

export function pctInterval(interval: Interval | undefined): string {
  return interval ? `[${pct(interval[0])}, ${pct(interval[1])}]` : '';
}

/** Signed percentage points, e.g. `+12.5`. */
export function signedPct(value: number): string {
  const s = pct(value);
  return value > 0 ? `+${s}` : s;
}

export function pValue(p: number): string {
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}
