// Base-vs-instruct comparison at one grid point, paired by item.

import type { Cell, PairRecord, PairTable } from '../types.js';
import { clusteredPairedBootstrapInterval, countsBootstrapInterval } from '../stats/bootstrap.js';
import { mcnemarMinimumDetectableEffect } from '../stats/power.js';

/** The paired tests' significance level unless the suite sets `metrics.alpha`. */
export const DEFAULT_ALPHA = 0.05;
import { mcnemarExactP } from '../stats/mcnemar.js';
import type { ScoredSample } from './sample-table.js';

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

/** Coordinates that must agree between the two sides (the format may differ: base is always raw). */
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
 *   refuses more (the opposite sign of `tax`, so both are positive in the paper's finding).
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
  const naiveWidth = naive[1] - naive[0];
  const discordance = n > 0 ? (table.baseOnly + table.instructOnly) / n : 0;

  return {
    base: base.model,
    instruct: instruct.model,
    format: instruct.format,
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
  };
}
