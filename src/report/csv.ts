// summary.csv: one row per cell, every metric and its interval bounds.
import { stringify } from 'csv-stringify/sync';
import type { CellAggregate } from '../types.js';

const METRICS = ['accuracy', 'exactMatch', 'f1', 'refusalRate', 'negativeRejectionRate', 'overRefusalRate', 'parametricRecall', 'contextAccuracy'] as const;

export function renderCsv(cells: readonly CellAggregate[]): string {
  const header = [
    'model', 'format', 'instruction', 'context', 'k', 'shots', 'cot', 'variant', 'n', 'nAnswerInContext', 'nAnswerAbsent',
    ...METRICS.flatMap((m) => [m, `${m}_lo`, `${m}_hi`]),
    'cotMissingAnswer', 'proofCoherence', 'excludedContextOverflow',
  ];
  const rows = cells.map((c) => [
    c.model, c.format, c.instruction, c.context, c.k, c.shots, c.cot, c.variant ?? '', c.n, c.nAnswerInContext, c.nAnswerAbsent,
    ...METRICS.flatMap((m) => [c[m] ?? '', c.ci95[m]?.[0] ?? '', c.ci95[m]?.[1] ?? '']),
    c.cotMissingAnswer ?? '', c.proofCoherence ?? '', c.excludedContextOverflow,
  ]);
  return stringify([header, ...rows]);
}
