// `ragtax compare`: pairs two runs of the same suite by (item, cell) and tests, per cell and metric,
// the paired difference candidate − baseline (seeded paired bootstrap 95% interval, exact McNemar
// p-value for the yes/no metrics).
//
// What gates (a "regression"):
// - accuracy: a drop of more than `maxDrop` points that is significant (McNemar p, adjusted across
//   the gating family below, < alpha);
// - over-refusal (refusals among items whose shown documents hold the answer), only with
//   `gateRefusal`: a RISE of more than `maxDrop` points, significant likewise. Overall refusal rate
//   is never gating: more refusals where the documents lack the answer is the behaviour NO-RES asks
//   for, so its direction alone does not say better or worse.
// Exact match, F1 and the overall refusal rate are reported, never gating.
//
// Multiple comparisons: one run pair tests every shared cell × gating metric at one alpha, so with
// many cells some null cell often crosses p < alpha by chance alone. The McNemar p-values of
// the whole gating family (every cell × gating metric with n > 0) are adjusted together
// (`options.adjust`: Holm by default, which bounds the chance of any false alarm at alpha; BH
// bounds the expected share of false alarms instead; `none` is the unadjusted gate) BEFORE the
// regression decision, which then needs the ADJUSTED p < alpha plus the drop threshold.
// Non-gating metrics keep their raw p, reported as description, and `pAdjusted: null`: they decide
// nothing, and adjusting them in a family of their own would only add a number no gate reads.
// Which metrics are compared, in which order, and how they gate: the `compare` of each METRICS entry.
import { cellOf } from '../aggregate/cells.js';
import { Interner, SampleTable, type CellSample, type ScoredSample } from '../aggregate/sample-table.js';
import { METRIC_DEFS, SUBSETS, type MetricDef, type METRICS, type MetricName, type Subset } from '../scoring/metrics.js';
import { countsBootstrapInterval, pairedBootstrapInterval } from '../stats/bootstrap.js';
import { adjustPValues, type PAdjust } from '../stats/adjust.js';
import { mcnemarExactP } from '../stats/mcnemar.js';
import type { Cell, Interval } from '../types.js';

/** `MetricComparison.metric`: the `compare.id` of the METRICS entries that compare tests. */
export type CompareMetric = {
  [K in MetricName]: (typeof METRICS)[K] extends { readonly compare: { readonly id: infer Id extends string } } ? Id : never;
}[MetricName];

/** A METRICS entry that compare tests, with its compare settings resolved. */
export interface ComparedMetric {
  id: CompareMetric;
  label: string;
  gate: 'always' | 'never' | 'gateRefusal';
  def: MetricDef & { name: MetricName };
}

/** The metrics compare tests, in their `compare.order`: the order of every compare output. */
export const COMPARED_METRICS: readonly ComparedMetric[] = METRIC_DEFS.flatMap((def) => (def.compare ? [{ def, compare: def.compare }] : []))
  .sort((a, b) => a.compare.order - b.compare.order)
  .map(({ def, compare }) => ({ id: compare.id as CompareMetric, label: compare.label ?? def.label, gate: compare.gate, def }));

export const METRIC_LABELS = Object.fromEntries(COMPARED_METRICS.map((m) => [m.id, m.label])) as Record<CompareMetric, string>;

export interface CompareOptions {
  /** Largest tolerated change in percentage points (default 2). */
  maxDrop: number;
  /** Significance level of the exact McNemar test (default 0.05). */
  alpha: number;
  /** Also gate on a significant rise in over-refusal. */
  gateRefusal: boolean;
  seed: number;
  bootstrapSamples: number;
  /** Multiple-comparison adjustment of the gating McNemar p-values across the run pair (default holm). */
  adjust: PAdjust;
}

export const DEFAULT_COMPARE_OPTIONS: CompareOptions = { maxDrop: 2, alpha: 0.05, gateRefusal: false, seed: 1, bootstrapSamples: 2000, adjust: 'holm' };

/** Bounds of `--bootstrap` (whole numbers): fewer resamples make a noisy interval, more only burn time. */
export const BOOTSTRAP_SAMPLES_MIN = 100;
export const BOOTSTRAP_SAMPLES_MAX = 100_000;

/** How a method is named in outputs. */
export const P_ADJUST_LABELS: Record<PAdjust, string> = { holm: 'Holm', bh: 'Benjamini–Hochberg', none: 'none' };

/** Discordance table of a yes/no metric: baseline × candidate. */
export interface BinaryTable {
  both: number;
  baselineOnly: number;
  candidateOnly: number;
  neither: number;
}

export interface MetricComparison {
  metric: CompareMetric;
  /** Paired items the metric is defined on. */
  n: number;
  baseline: number;
  candidate: number;
  /** candidate − baseline, a fraction. */
  diff: number;
  ci95: Interval;
  /** Exact McNemar p-value, unadjusted (null for F1, which is not yes/no). */
  p: number | null;
  /**
   * `p` adjusted by `options.adjust` across the run pair's gating family (equal to `p` with
   * `none`); null where p is null, for non-gating metrics (their raw p is descriptive), and for a
   * gating metric with n = 0 (nothing tested, so not in the family).
   */
  pAdjusted: number | null;
  table?: BinaryTable;
  higherIsBetter: boolean;
  gating: boolean;
  /** Moved the wrong way by more than `maxDrop` points (the threshold half of the gate). */
  beyondMaxDrop: boolean;
  /** Gating, beyond `maxDrop`, and `pAdjusted` < alpha. */
  regression: boolean;
}

export interface CellComparison {
  cell: Cell;
  /** Items scored (not excluded) in both runs. */
  n: number;
  /** Item ids of this cell present in only one run. */
  onlyBaseline: string[];
  onlyCandidate: string[];
  /** Items present in both runs but excluded (context overflow) in at least one. */
  excluded: string[];
  metrics: MetricComparison[];
}

export interface ComparisonResult {
  options: CompareOptions;
  cells: CellComparison[];
  onlyBaselineCells: Cell[];
  onlyCandidateCells: Cell[];
  /** Paired, scored (item, cell) samples over all shared cells. */
  pairedSamples: number;
  /** The multiple-comparison family: the method and how many (cell × gating metric) p-values it spans. */
  adjustment: { method: PAdjust; comparisons: number };
  regressions: { cell: Cell; metric: MetricComparison }[];
}

const EPSILON = 1e-9;

function binaryMetric(
  metric: CompareMetric,
  pairs: readonly [ScoredSample, ScoredSample][],
  value: (s: ScoredSample) => boolean,
  higherIsBetter: boolean,
  gating: boolean,
  options: CompareOptions,
): MetricComparison {
  const table: BinaryTable = { both: 0, baselineOnly: 0, candidateOnly: 0, neither: 0 };
  for (const [b, c] of pairs) {
    const vb = value(b);
    const vc = value(c);
    if (vb && vc) table.both += 1;
    else if (vb) table.baselineOnly += 1;
    else if (vc) table.candidateOnly += 1;
    else table.neither += 1;
  }
  const n = pairs.length;
  const baseline = n > 0 ? (table.both + table.baselineOnly) / n : 0;
  const candidate = n > 0 ? (table.both + table.candidateOnly) / n : 0;
  const diff = candidate - baseline;
  const p = mcnemarExactP(table.baselineOnly, table.candidateOnly);
  const worse = higherIsBetter ? -diff : diff;
  // `pAdjusted` and `regression` are settled by `adjustFamily` once every cell's p is known.
  return {
    metric,
    n,
    baseline,
    candidate,
    diff,
    // candidate − baseline per item is +1, −1 or 0: one multinomial draw of these counts per resample.
    ci95: countsBootstrapInterval([1, -1, 0], [table.candidateOnly, table.baselineOnly, table.both + table.neither], {
      seed: options.seed,
      samples: options.bootstrapSamples,
    }),
    p,
    pAdjusted: null,
    table,
    higherIsBetter,
    gating,
    beyondMaxDrop: n > 0 && worse * 100 > options.maxDrop + EPSILON,
    regression: false,
  };
}

function meanMetric(
  metric: CompareMetric,
  pairs: readonly [ScoredSample, ScoredSample][],
  value: (s: ScoredSample) => number,
  higherIsBetter: boolean,
  options: CompareOptions,
): MetricComparison {
  const x = pairs.map(([, c]) => value(c));
  const y = pairs.map(([b]) => value(b));
  const n = pairs.length;
  const mean = (v: number[]) => (n > 0 ? v.reduce((a, b) => a + b, 0) / n : 0);
  const baseline = mean(y);
  const candidate = mean(x);
  return {
    metric,
    n,
    baseline,
    candidate,
    diff: candidate - baseline,
    ci95: pairedBootstrapInterval(x, y, { seed: options.seed, samples: options.bootstrapSamples }),
    p: null,
    pAdjusted: null,
    higherIsBetter,
    gating: false,
    beyondMaxDrop: false,
    regression: false,
  };
}

/** The gating family: every gating comparison that tested something (n > 0), in cell then metric order. */
function gatingFamily(cells: readonly CellComparison[]): MetricComparison[] {
  return cells.flatMap((c) => c.metrics.filter((m) => m.gating && m.n > 0 && m.p !== null));
}

/**
 * Adjusts the family's p-values together (`options.adjust`) and decides each regression on the
 * adjusted p. Returns the family size.
 */
function adjustFamily(cells: readonly CellComparison[], options: CompareOptions): number {
  const family = gatingFamily(cells);
  const adjusted = adjustPValues(family.map((m) => m.p!), options.adjust);
  family.forEach((m, i) => {
    m.pAdjusted = adjusted[i]!;
    m.regression = m.beyondMaxDrop && m.pAdjusted < options.alpha;
  });
  return family.length;
}

/**
 * Compares one shared cell over the items scored in both runs (sorted by id, so file order does
 * not matter). Its p-values are adjusted over this cell alone; `compareSamples` adjusts over the
 * whole run pair.
 */
export function compareCell(
  cell: Cell,
  baseline: ReadonlyMap<string, ScoredSample>,
  candidate: ReadonlyMap<string, ScoredSample>,
  options: CompareOptions,
): CellComparison {
  const onlyBaseline = [...baseline.keys()].filter((id) => !candidate.has(id)).sort();
  const onlyCandidate = [...candidate.keys()].filter((id) => !baseline.has(id)).sort();
  const excluded: string[] = [];
  const pairs: [ScoredSample, ScoredSample][] = [];
  for (const id of [...baseline.keys()].filter((i) => candidate.has(i)).sort()) {
    const b = baseline.get(id)!;
    const c = candidate.get(id)!;
    if (b.excluded !== undefined || c.excluded !== undefined) excluded.push(id);
    else pairs.push([b, c]);
  }
  // A metric of some cells only (knowledge conflicts) is compared where either run's cell has it.
  const scored = pairs.flatMap(([b, c]) => [b.scores, c.scores]);
  const applicable = COMPARED_METRICS.filter(({ def }) => (SUBSETS[def.over] as Subset).appliesTo?.(cell, scored) ?? true);
  const metrics = applicable.map(({ id, gate, def }): MetricComparison => {
    // A metric over a subset (over-refusal: the documents hold the answer) uses the pairs where both runs' samples are in it.
    const subset: Subset = SUBSETS[def.over];
    const on = pairs.filter(([b, c]) => subset.includes(b.scores) && subset.includes(c.scores));
    if (def.kind === 'mean') return meanMetric(id, on, (s) => def.value(s.scores), def.higherIsBetter, options);
    const gating = gate === 'always' || (gate === 'gateRefusal' && options.gateRefusal);
    return binaryMetric(id, on, (s) => def.value(s.scores), def.higherIsBetter, gating, options);
  });
  const result: CellComparison = { cell: cellOf(cell), n: pairs.length, onlyBaseline, onlyCandidate, excluded, metrics };
  adjustFamily([result], options);
  return result;
}

/**
 * Compares two runs' samples: records, or SampleTables streamed from samples.jsonl
 * (`readSampleTable`). Each shared cell's samples are unpacked only while it is compared.
 */
export function compareSamples(
  baselineSamples: Iterable<CellSample> | SampleTable,
  candidateSamples: Iterable<CellSample> | SampleTable,
  options: CompareOptions = DEFAULT_COMPARE_OPTIONS,
): ComparisonResult {
  const items = new Interner();
  const baseline = baselineSamples instanceof SampleTable ? baselineSamples : SampleTable.of(baselineSamples, items);
  const candidate = candidateSamples instanceof SampleTable ? candidateSamples : SampleTable.of(candidateSamples, items);
  const cells: CellComparison[] = [];
  const onlyBaselineCells: Cell[] = [];
  const onlyCandidateCells: Cell[] = [];
  for (const [key, group] of baseline.cells) {
    const other = candidate.cells.get(key);
    if (!other) onlyBaselineCells.push(group.cell);
    else cells.push(compareCell(group.cell, group.byItem(baseline.items, baseline.clusters), other.byItem(candidate.items, candidate.clusters), options));
  }
  for (const [key, group] of candidate.cells) {
    if (!baseline.cells.has(key)) onlyCandidateCells.push(group.cell);
  }
  // Over the whole run pair, replacing each cell's own adjustment.
  const comparisons = adjustFamily(cells, options);
  const regressions = cells.flatMap((c) => c.metrics.filter((m) => m.regression).map((metric) => ({ cell: c.cell, metric })));
  return {
    options,
    cells,
    onlyBaselineCells,
    onlyCandidateCells,
    pairedSamples: cells.reduce((sum, c) => sum + c.n, 0),
    adjustment: { method: options.adjust, comparisons },
    regressions,
  };
}

/** The one cell label of every output (src/report/labels.ts), kept here for compare's importers. */
export { cellLabel } from '../report/labels.js';
