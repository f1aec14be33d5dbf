// Samples → cell aggregates and base-vs-instruct pair records for a suite.
import { coordinatesOf } from '../suite/grid.js';
import type { Suite } from '../suite/load.js';
import type { CellAggregate, PairRecord, SampleRecord } from '../types.js';
import { aggregateCell, cellKey, groupSamples } from './cells.js';
import { DEFAULT_ALPHA, pairRecord } from './pairs.js';
import type { RunStatistics } from '../rundir/types.js';
import { adjustPValues } from '../stats/adjust.js';

/** An item that overflowed any model at a grid point is excluded at that point for every model. */
function applyOverflowExclusions(records: SampleRecord[]): SampleRecord[] {
  const pointOf = (r: SampleRecord) => `${r.itemId}|${r.instruction}|${r.context}|${r.k}|${r.shots}|${r.cot}|${r.variant ?? ''}`;
  const overflowed = new Set(records.filter((r) => r.excluded === 'context-overflow').map(pointOf));
  if (overflowed.size === 0) return records;
  return records.map((r) => (r.excluded === undefined && overflowed.has(pointOf(r)) ? { ...r, excluded: 'context-overflow' as const } : r));
}

export function summarize(suite: Suite, records: SampleRecord[]): { cells: CellAggregate[]; pairs: PairRecord[]; statistics: RunStatistics } {
  const groups = groupSamples(applyOverflowExclusions(records));
  const bootstrapSamples = suite.config.metrics.bootstrap_samples;
  const clustering = suite.config.metrics.cluster_by !== undefined ? { seed: suite.seed, bootstrapSamples } : undefined;
  const cells = [...groups.values()].map((samples) => aggregateCell(samples[0]!, samples, clustering));
  const pairs: PairRecord[] = [];
  const alpha = suite.config.metrics.alpha ?? DEFAULT_ALPHA;
  for (const { base, instruct } of suite.pairs) {
    const instructModel = suite.models.find((m) => m.name === instruct)!;
    for (const point of suite.points.map(coordinatesOf)) {
      const baseCell = { model: base, format: 'raw' as const, ...point };
      const baseSamples = groups.get(cellKey(baseCell));
      for (const format of instructModel.formats) {
        const instructCell = { model: instruct, format, ...point };
        const instructSamples = groups.get(cellKey(instructCell));
        if (!baseSamples || !instructSamples) continue;
        pairs.push(
          pairRecord({
            base: { ...baseCell, samples: baseSamples },
            instruct: { ...instructCell, samples: instructSamples },
            bootstrapSamples,
            seed: suite.seed,
            alpha,
          }),
        );
      }
    }
  }
  // Many pairs are tested at one alpha: each p-value is also given adjusted across them.
  const pAdjust = suite.config.metrics.p_adjust ?? 'holm';
  const adjusted = adjustPValues(pairs.map((p) => p.mcnemarP), pAdjust);
  pairs.forEach((p, i) => (p.mcnemarPAdjusted = adjusted[i]!));
  const statistics: RunStatistics = {
    alpha,
    pAdjust,
    comparisons: pairs.length,
    ...(suite.config.metrics.cluster_by !== undefined ? { clusterBy: suite.config.metrics.cluster_by } : {}),
  };
  return { cells, pairs, statistics };
}
