// Base-vs-instruct comparison at one grid point, paired by item.

import type { Cell, Interval, PairedRate, PairRecord, PairTable, SampleScores } from '../types.js';
import { METRIC_DEFS, SUBSETS } from '../scoring/metrics.js';
import { clusteredPairedBootstrapInterval, countsBootstrapInterval } from '../stats/bootstrap.js';
import { mcnemarMinimumDetectableEffect } from '../stats/power.js';

/** The paired tests' significance level unless the suite sets `metrics.alpha`. */
export const DEFAULT_ALPHA = 0.05;
import { mcnemarExactP } from '../stats/mcnemar.js';
import type { ScoredSample } from './sample-table.js';
import { decomposeTax } from './decomposition.js';

export type PairSide = Cell & { samples: readonly ScoredSample[] };

export interface PairArgs {
  base: PairSide;
  instruct: PairSide;
  /** Bootstrap resamples (default 2000). */
  bootstrapSamples?: number;
  seed: number;
  /** Significance level for the minimum detectable tax (default 0.05). */
  alpha?: number;
}

/** Coordinates that must agree between the two sides (the formats may differ: a base model is raw only, `baseFormat` says otherwise). */
const SHARED_COORDINATES = ['instruction', 'context', 'k', 'shots', 'cot', 'variant'] as const;

/** Non-excluded samples by item id; a duplicate item id is a bug upstream, so it throws. */
function scoredById(side: PairSide): Map<string, ScoredSample> {
  const seen = new Set<string>();
  const byId = new Map<string, ScoredSample>();
  for (const sample of side.samples) {
    if (seen.has(sample.itemId)) {
      throw new Error(`pairRecord: item ${sample.itemId} appears twice in the samples of ${side.model}`);
    }
    seen.add(sample.itemId);
    if (sample.excluded === undefined) byId.set(sample.itemId, sample);
  }
  return byId;
}

/**
 * Pairs the two sides over the items present and not excluded on BOTH (sorted by item id, so the
 * bootstrap does not depend on file order) and reports:
 * - tax = accuracy(base) − accuracy(instruct): positive when the instruct model pays a tax;
 * - taxRelative = tax / accuracy(instruct), the paper's relative gap (null when instruct is 0);
 * - taxCi95: seeded paired-bootstrap percentile interval of the tax;
 * - mcnemarP: exact McNemar on the discordant items;
 * - refusalDelta = refusalRate(instruct) − refusalRate(base): positive when the instruct model
 *   refuses more (the opposite sign of `tax`, so both are positive in the paper's finding);
 * - decomposition and transitions: where the tax comes from (decomposition.ts).
 * With no shared items every rate is 0, taxCi95 is [−1, 1] and mcnemarP is 1; `n = 0` says why.
 */
export function pairRecord(args: PairArgs): PairRecord {
  const { base, instruct } = args;
  for (const field of SHARED_COORDINATES) {
    if (base[field] !== instruct[field]) {
      throw new Error(
        `pairRecord: ${base.model} and ${instruct.model} differ in ${field} (${String(base[field])} vs ${String(instruct[field])})`,
      );
    }
  }
  const baseById = scoredById(base);
  const instructById = scoredById(instruct);
  const sharedIds = [...baseById.keys()].filter((id) => instructById.has(id)).sort();

  const baseCorrect: number[] = [];
  const instructCorrect: number[] = [];
  const clusters: (string | undefined)[] = [];
  const baseScores: SampleScores[] = [];
  const instructScores: SampleScores[] = [];
  const table: PairTable = { bothCorrect: 0, baseOnly: 0, instructOnly: 0, neither: 0 };
  let baseRefusals = 0;
  let instructRefusals = 0;
  for (const id of sharedIds) {
    const b = baseById.get(id)?.scores;
    const i = instructById.get(id)?.scores;
    if (!b || !i) continue;
    baseCorrect.push(b.correct ? 1 : 0);
    instructCorrect.push(i.correct ? 1 : 0);
    clusters.push(baseById.get(id)!.cluster);
    baseScores.push(b);
    instructScores.push(i);
    if (b.correct && i.correct) table.bothCorrect += 1;
    else if (b.correct) table.baseOnly += 1;
    else if (i.correct) table.instructOnly += 1;
    else table.neither += 1;
    if (b.refusal) baseRefusals += 1;
    if (i.refusal) instructRefusals += 1;
  }

  const n = baseCorrect.length;
  const share = (k: number): number => (n > 0 ? k / n : 0);
  const baseAccuracy = share(table.bothCorrect + table.baseOnly);
  const instructAccuracy = share(table.bothCorrect + table.instructOnly);
  const tax = baseAccuracy - instructAccuracy;
  const bootstrapOptions =
    args.bootstrapSamples === undefined ? { seed: args.seed } : { seed: args.seed, samples: args.bootstrapSamples };
  // base − instruct per item is +1, −1 or 0: the bootstrap resamples these three counts.
  const naive = countsBootstrapInterval([1, -1, 0], [table.baseOnly, table.instructOnly, table.bothCorrect + table.neither], bootstrapOptions);
  // Items of one cluster are resampled together (every shared item must carry its cluster).
  const clustered = n > 0 && clusters.every((c) => c !== undefined);
  const taxCi95 = clustered ? clusteredPairedBootstrapInterval(baseCorrect, instructCorrect, clusters as string[], bootstrapOptions) : naive;
  const conflicts = conflictDeltas(sharedIds, baseById, instructById, bootstrapOptions);
  const { decomposition, transitions } = decomposeTax(
    { base: baseScores, instruct: instructScores, ...(clustered ? { clusters: clusters as string[] } : {}) },
    bootstrapOptions,
  );
  const naiveWidth = naive[1] - naive[0];
  const discordance = n > 0 ? (table.baseOnly + table.instructOnly) / n : 0;

  return {
    base: base.model,
    instruct: instruct.model,
    format: instruct.format,
    // A lineage step between two aligned models pairs them in one format (absent for a raw base).
    ...(base.format !== 'raw' ? { baseFormat: base.format } : {}),
    instruction: instruct.instruction,
    context: instruct.context,
    k: instruct.k,
    shots: instruct.shots,
    cot: instruct.cot,
    ...(instruct.variant !== undefined ? { variant: instruct.variant } : {}),
    n,
    baseAccuracy,
    instructAccuracy,
    tax,
    taxRelative: instructAccuracy > 0 ? tax / instructAccuracy : null,
    taxCi95,
    mcnemarP: mcnemarExactP(table.baseOnly, table.instructOnly),
    table,
    refusalDelta: share(instructRefusals) - share(baseRefusals),
    minimumDetectableTax: mcnemarMinimumDetectableEffect(n, discordance, args.alpha ?? DEFAULT_ALPHA),
    ...(clustered
      ? { clusters: new Set(clusters).size, naiveTaxCi95: naive, designEffect: naiveWidth > 0 ? (taxCi95[1] - taxCi95[0]) / naiveWidth : 1 }
      : {}),
    ...(conflicts ? { conflicts } : {}),
    decomposition,
    transitions,
  };
}

/** The yes/no metrics of the knowledge-conflict subset (METRICS entries over `conflict`). */
const CONFLICT_METRICS = METRIC_DEFS.filter((m) => m.over === 'conflict' && m.kind === 'rate') as readonly (typeof METRIC_DEFS[number] & { kind: 'rate'; value: (s: SampleScores) => boolean })[];

/**
 * Paired differences of the conflict metrics over the items that are conflicts on both sides
 * (the documents are the same for both models, so an item is a conflict for both or neither).
 * Each difference is instruct − base, with the tax's bootstrap: whole clusters when every item
 * has one, else the three difference counts.
 */
function conflictDeltas(
  sharedIds: readonly string[],
  baseById: ReadonlyMap<string, ScoredSample>,
  instructById: ReadonlyMap<string, ScoredSample>,
  bootstrapOptions: { seed: number; samples?: number },
): PairRecord['conflicts'] {
  const isConflict = (s: SampleScores) => SUBSETS.conflict.includes(s);
  const ids = sharedIds.filter((id) => isConflict(baseById.get(id)!.scores) && isConflict(instructById.get(id)!.scores));
  if (ids.length === 0) return undefined;
  const clusters = ids.map((id) => baseById.get(id)!.cluster);
  const clustered = clusters.every((c) => c !== undefined);
  const metrics: Record<string, PairedRate> = {};
  for (const metric of CONFLICT_METRICS) {
    const base = ids.map((id) => (metric.value(baseById.get(id)!.scores) ? 1 : 0));
    const instruct = ids.map((id) => (metric.value(instructById.get(id)!.scores) ? 1 : 0));
    let instructOnly = 0;
    let baseOnly = 0;
    for (let i = 0; i < ids.length; i++) {
      if (instruct[i]! > base[i]!) instructOnly += 1;
      else if (base[i]! > instruct[i]!) baseOnly += 1;
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ci95: Interval = clustered
      ? clusteredPairedBootstrapInterval(instruct, base, clusters as string[], bootstrapOptions)
      : countsBootstrapInterval([1, -1, 0], [instructOnly, baseOnly, ids.length - instructOnly - baseOnly], bootstrapOptions);
    metrics[metric.name] = { base: mean(base), instruct: mean(instruct), delta: (instructOnly - baseOnly) / ids.length, ci95 };
  }
  return { n: ids.length, metrics };
}
