// summary.csv: one row per cell, every metric of the METRICS table (in its order) and, for most,
// its interval bounds. pairs.csv: one row per base-vs-instruct pair result.
//
// Units are in the column names, and match every other output (terminal, report.md, report.html):
// `_pct` columns are percentages (0-100), `_pp` columns are percentage points (a difference of two
// percentages, -100 to 100); the rest of the name is the summary.json field (which holds the same
// value as a fraction). p-values (`mcnemarP`) are probabilities, `designEffect` a ratio, other
// numbers counts; booleans are `true`/`false`; an empty field is a value that is undefined (e.g.
// over-refusal with no item whose documents hold the answer). README ("Run outputs") says the same.
import { stringify } from 'csv-stringify/sync';
import { METRIC_DEFS } from '../scoring/metrics.js';
import type { CellAggregate, PairRecord, TaxDecomposition } from '../types.js';

const bool = (value: boolean): string => (value ? 'true' : 'false');
/**
 * A fraction as a percentage (or a difference of fractions as points). toFixed(6) only removes the
 * binary noise of ×100 (0.29 × 100 = 28.999999999999996); six decimals keep every digit that a
 * count-based rate over fewer than 10^6 samples can need.
 */
const percent = (fraction: number | null | undefined): number | '' => (fraction == null ? '' : Number((fraction * 100).toFixed(6)));

export function renderCsv(cells: readonly CellAggregate[]): string {
  const header = [
    'model', 'format', 'instruction', 'context', 'k', 'shots', 'cot', 'variant', 'n', 'nAnswerInContext', 'nAnswerAbsent',
    ...METRIC_DEFS.flatMap(({ name, csv }) => (csv === 'value+ci' ? [`${name}_pct`, `${name}_pct_lo`, `${name}_pct_hi`] : [`${name}_pct`])),
    'excludedContextOverflow',
  ];
  const rows = cells.map((c) => [
    c.model, c.format, c.instruction, c.context, c.k, c.shots, bool(c.cot), c.variant ?? '', c.n, c.nAnswerInContext, c.nAnswerAbsent,
    ...METRIC_DEFS.flatMap(({ name, csv }) =>
      csv === 'value+ci' ? [percent(c[name]), percent(c.ci95[name]?.[0]), percent(c.ci95[name]?.[1])] : [percent(c[name])],
    ),
    c.excludedContextOverflow,
  ]);
  return stringify([header, ...rows]);
}

/**
 * pairs.csv: one row per pair result. `taxRelative_pct` = tax ÷ instruct accuracy (the study's
 * relative gap, as a percentage; empty when instruct accuracy is 0). The 2×2 counts are items: both right, base only, instruct
 * only, neither. `clusters`, `designEffect` and the naive (unclustered) interval only with
 * clustered items.
 * `baseFormat`: the earlier model's prompt format (`raw` for a base model; a lineage step between two
 * aligned models pairs them in one format, docs/lineages.md).
 */
export function renderPairsCsv(pairs: readonly PairRecord[]): string {
  // Knowledge-conflict columns only when some pair has conflict items: the conflict item count and,
  // per conflict metric, its paired difference instruct − base in points with the interval.
  const conflictMetrics = [...new Set(pairs.flatMap((p) => Object.keys(p.conflicts?.metrics ?? {})))];
  const conflictHeader = conflictMetrics.length === 0 ? [] : ['conflictN', ...conflictMetrics.flatMap((m) => [`${m}Delta_pp`, `${m}Delta_pp_lo`, `${m}Delta_pp_hi`])];
  const conflictCells = (p: PairRecord) =>
    conflictMetrics.length === 0
      ? []
      : [p.conflicts?.n ?? '', ...conflictMetrics.flatMap((m) => {
          const r = p.conflicts?.metrics[m];
          return [percent(r?.delta), percent(r?.ci95[0]), percent(r?.ci95[1])];
        })];
  // Where the tax comes from (docs/tax-decomposition.md): the parts of the tax in points, which add
  // up to tax_pp; the conflict part only when some pair has conflict items (empty for the others).
  const conflictPart = pairs.some((p) => p.decomposition?.conflict !== undefined);
  const parts: [keyof TaxDecomposition, string][] = [['answerAbsent', 'tax_absent_pp'], ['answerInContext', 'tax_in_context_pp'], ...(conflictPart ? [['conflict', 'tax_conflict_pp'] as [keyof TaxDecomposition, string]] : [])];
  const decompositionHeader = parts.flatMap(([, column]) => [column, `${column}_lo`, `${column}_hi`]);
  const decompositionCells = (p: PairRecord) =>
    parts.flatMap(([name]) => {
      const part = p.decomposition?.[name];
      return [percent(part?.tax), percent(part?.ci95[0]), percent(part?.ci95[1])];
    });
  const header = [
    'base', 'instruct', 'format', 'baseFormat', 'instruction', 'context', 'k', 'shots', 'cot', 'variant', 'n',
    'baseAccuracy_pct', 'instructAccuracy_pct', 'tax_pp', 'tax_pp_lo', 'tax_pp_hi', 'taxRelative_pct', 'mcnemarP', 'mcnemarPAdjusted', 'minimumDetectableTax_pp',
    'bothCorrect', 'baseOnly', 'instructOnly', 'neither', 'refusalDelta_pp', 'clusters', 'designEffect', 'naiveTax_pp_lo', 'naiveTax_pp_hi',
    ...conflictHeader,
    ...decompositionHeader,
  ];
  const rows = pairs.map((p) => [
    p.base, p.instruct, p.format, p.baseFormat ?? 'raw', p.instruction, p.context, p.k, p.shots, bool(p.cot), p.variant ?? '', p.n,
    percent(p.baseAccuracy), percent(p.instructAccuracy), percent(p.tax), percent(p.taxCi95[0]), percent(p.taxCi95[1]), percent(p.taxRelative),
    p.mcnemarP, p.mcnemarPAdjusted ?? '', percent(p.minimumDetectableTax),
    p.table.bothCorrect, p.table.baseOnly, p.table.instructOnly, p.table.neither, percent(p.refusalDelta),
    p.clusters ?? '', p.designEffect ?? '', percent(p.naiveTaxCi95?.[0]), percent(p.naiveTaxCi95?.[1]),
    ...conflictCells(p),
    ...decompositionCells(p),
  ]);
  return stringify([header, ...rows]);
}
