// Samples → cell aggregates, base-vs-instruct pair records and lineages for a suite.
import { coordinatesOf } from '../suite/grid.js';
import type { Suite } from '../suite/load.js';
import type { Cell, CellAggregate, LineageRecord, PairRecord, PromptFormat } from '../types.js';
import { aggregateCell, cellKey } from './cells.js';
import { lineageRecords, PairIndex, planComparisons } from './lineages.js';
import { gridCells, knowledgeTables } from './knowledge.js';
import { DEFAULT_ALPHA, pairRecord } from './pairs.js';
import { SampleTable, type CellSample, type CellSamples, type ScoredSample } from './sample-table.js';
import type { RunStatistics } from '../rundir/types.js';
import { adjustPValues } from '../stats/adjust.js';

/** A grid point: a cell's coordinates without the model and its format. */
function pointKey(cell: Cell): string {
  return JSON.stringify([cell.instruction, cell.context, cell.k, cell.shots, cell.cot, cell.variant ?? null]);
}

/** An item that overflowed any model at a grid point is excluded at that point for every model. */
function applyOverflowExclusions(table: SampleTable): void {
  const cellsAt = new Map<string, CellSamples[]>();
  for (const cell of table.cells.values()) {
    const key = pointKey(cell.cell);
    const list = cellsAt.get(key);
    if (list) list.push(cell);
    else cellsAt.set(key, [cell]);
  }
  for (const cells of cellsAt.values()) {
    const overflowed = new Set<number>();
    for (const cell of cells) for (const item of cell.excludedItems()) overflowed.add(item);
    if (overflowed.size === 0) continue;
    for (const cell of cells) for (const item of overflowed) cell.exclude(item);
  }
}

/**
 * Cell aggregates and base-vs-instruct pairs of a run's samples: records (the runner's), or a
 * SampleTable streamed from samples.jsonl (`readSampleTable`), which this marks with the overflow
 * exclusions. Only one cell's (or one pair's) samples are unpacked at a time.
 */
export function summarize(
  suite: Suite,
  samples: Iterable<CellSample> | SampleTable,
): { cells: CellAggregate[]; pairs: PairRecord[]; statistics: RunStatistics; lineages?: LineageRecord[]; knowledge?: ReturnType<typeof knowledgeTables> } {
  const table = samples instanceof SampleTable ? samples : SampleTable.of(samples);
  // The runner's records hold each (item, cell) once (resume refuses repeats); a file's table counts them instead.
  if (!(samples instanceof SampleTable) && table.duplicates > 0) throw new Error(`summarize: ${table.duplicates} repeated (item, cell) record(s): a bug upstream`);
  applyOverflowExclusions(table);
  const unpack = (cell: CellSamples): ScoredSample[] => cell.samples(table.items, table.clusters);
  const bootstrapSamples = suite.config.metrics.bootstrap_samples;
  const clustering = suite.config.metrics.cluster_by !== undefined ? { seed: suite.seed, bootstrapSamples } : undefined;
  const cells = [...table.cells.values()].map((cell) => aggregateCell(cell.cell, unpack(cell), clustering));
  const pairs: PairRecord[] = [];
  const alpha = suite.config.metrics.alpha ?? DEFAULT_ALPHA;
  // The suite's pairs, then every lineage's steps and first → last, each comparison once.
  const lineages = suite.lineages ?? [];
  const points = suite.points.map(coordinatesOf);
  const found = new PairIndex();
  for (const { base, instruct, pairings } of planComparisons(suite.pairs, lineages, suite.models)) {
    for (const point of points) {
      // A base side shared by several pairings (instruct raw and chat against base raw) is unpacked once.
      const baseSamples = new Map<PromptFormat, ScoredSample[] | undefined>();
      for (const { baseFormat, format } of pairings) {
        const baseCell = { model: base, format: baseFormat, ...point };
        if (!baseSamples.has(baseFormat)) {
          const columns = table.cells.get(cellKey(baseCell));
          baseSamples.set(baseFormat, columns && unpack(columns));
        }
        const fromSamples = baseSamples.get(baseFormat);
        const instructCell = { model: instruct, format, ...point };
        const instructColumns = table.cells.get(cellKey(instructCell));
        if (!fromSamples || !instructColumns) continue;
        found.add(pairs.length, base, baseFormat, instruct, format, point);
        pairs.push(
          pairRecord({
            base: { ...baseCell, samples: fromSamples },
            instruct: { ...instructCell, samples: unpack(instructColumns) },
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
  const lineageList = lineageRecords(lineages, suite.models, points, found);
  // Knows (closed-book) × documents hold it, per model and format with a closed-book cell (knowledge.ts).
  const knowledge = knowledgeTables(gridCells(suite), (cell) => { const columns = table.cells.get(cellKey(cell)); return columns && unpack(columns); });
  return { cells, pairs, statistics, ...(lineageList.length > 0 ? { lineages: lineageList } : {}), ...(knowledge.length > 0 ? { knowledge } : {}) };
}
