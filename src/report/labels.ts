// The one way a cell or a base-vs-instruct pair is named in every human-readable output (the
// terminal summary of `ragtax run`, `ragtax compare`'s stdout, Markdown and JUnit). A label carries
// every field that tells cells apart — model, prompt format, instruction, context, k, shots, CoT and
// the sensitivity-sweep variant — so no two cells of a run read the same.
import type { Cell, PairRecord } from '../types.js';

/** The fields after the model: `nores · retrieved k=3 · shots=0 · CoT · refusal=rgb`. */
export function settingLabel(cell: Omit<Cell, 'model' | 'format'>): string {
  // closed-book always has k = 0 (suite/grid.ts), so its k says nothing; nor does the context when
  // the instruction has the same name (the `closed-book` preset).
  const context = cell.context === 'closed-book' ? (cell.instruction === 'closed-book' ? [] : ['closed-book']) : [`${cell.context} k=${cell.k}`];
  const parts = [cell.instruction, ...context, `shots=${cell.shots}`];
  if (cell.cot) parts.push('CoT');
  if (cell.variant !== undefined) parts.push(cell.variant);
  return parts.join(' · ');
}

/** `instruct chat · nores · retrieved k=3 · shots=0 · CoT · refusal=rgb`. */
export function cellLabel(cell: Cell): string {
  return `${cell.model} ${cell.format} · ${settingLabel(cell)}`;
}

/**
 * `base vs instruct chat · nores · retrieved k=3 · shots=0` (the format is the instruct model's; the
 * base is always `raw`). With `models: false`, `chat · nores · …`, for a table under a
 * `base vs instruct` title.
 */
export function pairLabel(pair: Omit<Cell, 'model'> & Pick<PairRecord, 'base' | 'instruct' | 'baseFormat'>, options: { models?: boolean } = {}): string {
  // A lineage step between aligned models names the earlier one's format: `instruct (chat) vs chat chat`.
  const base = pair.baseFormat !== undefined ? `${pair.base} (${pair.baseFormat})` : pair.base;
  const head = options.models === false ? pair.format : `${base} vs ${pair.instruct} ${pair.format}`;
  return `${head} · ${settingLabel(pair)}`;
}
