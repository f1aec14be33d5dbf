// summary.csv: one row per cell, every metric of the METRICS table (in its order) and, for most,
// its interval bounds. pairs.csv: one row per base-vs-instruct pair result.
//
// Units: the column names are the summary.json field names (machine-friendly, no units in them);
// every rate, accuracy, tax and interval bound is a fraction in [0, 1] (tax in [-1, 1]), never a
// percentage; p-values are probabilities; booleans are `true`/`false`; an empty field is a value
// that is undefined (e.g. over-refusal with no item whose documents hold the answer). README
// ("Run outputs") says the same.
import { stringify } from 'csv-stringify/sync';
import { METRIC_DEFS } from '../scoring/metrics.js';
import type { CellAggregate, PairRecord } from '../types.js';

const bool = (value: boolean): string => (value ? 'true' : 'false');

export function renderCsv(cells: readonly CellAggregate[]): string {
  const header = [
    'model', 'format', 'instruction', 'context', 'k', 'shots', 'cot', 'variant', 'n', 'nAnswerInContext', 'nAnswerAbsent',
    ...METRIC_DEFS.flatMap(({ name, csv }) => (csv === 'value+ci' ? [name, `${name}_lo`, `${name}_hi`] : [name])),
    'excludedContextOverflow',
  ];
  const rows = cells.map((c) => [
    c.model, c.format, c.instruction, c.context, c.k, c.shots, bool(c.cot), c.variant ?? '', c.n, c.nAnswerInContext, c.nAnswerAbsent,
    ...METRIC_DEFS.flatMap(({ name, csv }) =>
      csv === 'value+ci' ? [c[name] ?? '', c.ci95[name]?.[0] ?? '', c.ci95[name]?.[1] ?? ''] : [c[name] ?? ''],
    ),
    c.excludedContextOverflow,
  ]);
  return stringify([header, ...rows]);
}

/**
 * pairs.csv: one row per pair result. `taxRelative` = tax ÷ instruct accuracy (the study's relative
 * gap; empty when instruct accuracy is 0). The 2×2 counts are items: both right, base only, instruct
 * only, neither. `clusters`, `designEffect` and the naive (unclustered) interval only with
 * clustered items.
 */
export function renderPairsCsv(pairs: readonly PairRecord[]): string {
  const header = [
    'base', 'instruct', 'format', 'instruction', 'context', 'k', 'shots', 'cot', 'variant', 'n',
    'baseAccuracy', 'instructAccuracy', 'tax', 'tax_lo', 'tax_hi', 'taxRelative', 'mcnemarP', 'mcnemarPAdjusted', 'minimumDetectableTax',
    'bothCorrect', 'baseOnly', 'instructOnly', 'neither', 'refusalDelta', 'clusters', 'designEffect', 'naiveTax_lo', 'naiveTax_hi',
  ];
  const rows = pairs.map((p) => [
    p.base, p.instruct, p.format, p.instruction, p.context, p.k, p.shots, bool(p.cot), p.variant ?? '', p.n,
    p.baseAccuracy, p.instructAccuracy, p.tax, p.taxCi95[0], p.taxCi95[1], p.taxRelative ?? '', p.mcnemarP, p.mcnemarPAdjusted ?? '', p.minimumDetectableTax ?? '',
    p.table.bothCorrect, p.table.baseOnly, p.table.instructOnly, p.table.neither, p.refusalDelta,
    p.clusters ?? '', p.designEffect ?? '', p.naiveTaxCi95?.[0] ?? '', p.naiveTaxCi95?.[1] ?? '',
  ]);
  return stringify([header, ...rows]);
}
