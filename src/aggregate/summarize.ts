// Samples → cell aggregates and base-vs-instruct pair records for a suite.
import { coordinatesOf } from '../suite/grid.js';
import type { Suite } from '../suite/load.js';
import type { CellAggregate, PairRecord, SampleRecord } from '../types.js';
import { aggregateCell, cellKey, groupSamples } from './cells.js';
import { pairRecord } from './pairs.js';

/** An item that overflowed any model at a grid point is excluded at that point for every model. */
function applyOverflowExclusions(records: SampleRecord[]): SampleRecord[] {
  const pointOf = (r: SampleRecord) => `${r.itemId}|${r.instruction}|${r.context}|${r.k}|${r.shots}|${r.cot}|${r.variant ?? ''}`;
  const overflowed = new Set(records.filter((r) => r.excluded === 'context-overflow').map(pointOf));
  if (overflowed.size === 0) return records;
  return records.map((r) => (r.excluded === undefined && overflowed.has(pointOf(r)) ? { ...r, excluded: 'context-overflow' as const } : r));
}

export function summarize(suite: Suite, records: SampleRecord[]): { cells: CellAggregate[]; pairs: PairRecord[] } {
  const groups = groupSamples(applyOverflowExclusions(records));
  const cells = [...groups.values()].map((samples) => aggregateCell(samples[0]!, samples));
  const pairs: PairRecord[] = [];
  const bootstrapSamples = suite.config.metrics.bootstrap_samples;
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
          }),
        );
      }
    }
  }
  return { cells, pairs };
}
