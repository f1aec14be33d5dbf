// summary.csv: one row per cell, every metric of the METRICS table (in its order) and, for most,
// its interval bounds.
import { stringify } from 'csv-stringify/sync';
import { METRIC_DEFS } from '../scoring/metrics.js';
import type { CellAggregate } from '../types.js';

export function renderCsv(cells: readonly CellAggregate[]): string {
  const header = [
    'model', 'format', 'instruction', 'context', 'k', 'shots', 'cot', 'variant', 'n', 'nAnswerInContext', 'nAnswerAbsent',
    ...METRIC_DEFS.flatMap(({ name, csv }) => (csv === 'value+ci' ? [name, `${name}_lo`, `${name}_hi`] : [name])),
    'excludedContextOverflow',
  ];
  const rows = cells.map((c) => [
    c.model, c.format, c.instruction, c.context, c.k, c.shots, c.cot, c.variant ?? '', c.n, c.nAnswerInContext, c.nAnswerAbsent,
    ...METRIC_DEFS.flatMap(({ name, csv }) =>
      csv === 'value+ci' ? [c[name] ?? '', c.ci95[name]?.[0] ?? '', c.ci95[name]?.[1] ?? ''] : [c[name] ?? ''],
    ),
    c.excludedContextOverflow,
  ]);
  return stringify([header, ...rows]);
}
