// Alignment lineages (base → SFT → DPO, docs/lineages.md): which paired comparisons a suite asks
// for, in which prompt formats, and where each lineage's steps sit in summary.json's `pairs`.
// Kept free of suite imports (structural types only), so the suite loader can check the same
// format rule it validates against.
import type { Cell, LineagePoint, LineageRecord, PromptFormat } from '../types.js';

/** A model as far as pairing is concerned: its name and the prompt formats it is run in. */
export interface StageModel {
  name: string;
  formats: readonly PromptFormat[];
}

/** A suite lineage: models in training order (at least two, distinct). */
export interface LineageSpec {
  name: string;
  stages: readonly string[];
}

/** One comparison of two cells at every grid point: `base` in `baseFormat` → `instruct` in `format`. */
export interface FormatPairing {
  baseFormat: PromptFormat;
  format: PromptFormat;
}

/** A model pair and the format pairings to compute for it, at every grid point. */
export interface PlannedComparison {
  base: string;
  instruct: string;
  pairings: FormatPairing[];
}

/**
 * The format rule of a step from → to, for `to` prompted in `format`: `from` is prompted in the same
 * format when it declares it, else `raw` (a base model stays raw; instruct chat → chat chat).
 * Undefined when `from` declares neither (the suite loader rejects that).
 */
export function fromFormat(from: StageModel, format: PromptFormat): PromptFormat | undefined {
  if (from.formats.includes(format)) return format;
  return from.formats.includes('raw') ? 'raw' : undefined;
}

/**
 * The format of every stage when the last is prompted in `lastFormat`: the rule applied step by
 * step from the end, so each step of the chain is one of the steps' own pairings and the first →
 * last comparison starts where the chain does (the steps' taxes then sum to the total).
 */
export function chainFormats(stages: readonly StageModel[], lastFormat: PromptFormat): PromptFormat[] | undefined {
  const formats: PromptFormat[] = [lastFormat];
  for (let j = stages.length - 2; j >= 0; j--) {
    const format = fromFormat(stages[j]!, formats[0]!);
    if (format === undefined) return undefined;
    formats.unshift(format);
  }
  return formats;
}

const pairingKey = (base: string, baseFormat: PromptFormat, instruct: string, format: PromptFormat) => JSON.stringify([base, baseFormat, instruct, format]);

/**
 * Every comparison a suite asks for, deduplicated, in a fixed order: the suite's `pairs` first
 * (base always raw, as before lineages existed), then per lineage its adjacent steps in order, then
 * its first → last. A pairing already planned is not planned again.
 */
export function planComparisons(
  pairs: readonly { base: string; instruct: string }[],
  lineages: readonly LineageSpec[],
  models: readonly StageModel[],
): PlannedComparison[] {
  const model = (name: string): StageModel => {
    const found = models.find((m) => m.name === name);
    if (!found) throw new Error(`planComparisons: unknown model ${name}`);
    return found;
  };
  const seen = new Set<string>();
  const planned: PlannedComparison[] = [];
  const plan = (base: string, instruct: string, pairings: FormatPairing[]) => {
    const fresh = pairings.filter((p) => {
      const key = pairingKey(base, p.baseFormat, instruct, p.format);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (fresh.length > 0) planned.push({ base, instruct, pairings: fresh });
  };
  for (const { base, instruct } of pairs) plan(base, instruct, model(instruct).formats.map((format) => ({ baseFormat: 'raw', format })));
  for (const lineage of lineages) {
    const stages = lineage.stages.map(model);
    for (let j = 0; j + 1 < stages.length; j++) {
      const [from, to] = [stages[j]!, stages[j + 1]!];
      plan(from.name, to.name, to.formats.flatMap((format) => {
        const baseFormat = fromFormat(from, format);
        return baseFormat === undefined ? [] : [{ baseFormat, format }];
      }));
    }
    const [first, last] = [stages[0]!, stages.at(-1)!];
    plan(first.name, last.name, last.formats.flatMap((format) => {
      const chain = chainFormats(stages, format);
      return chain === undefined ? [] : [{ baseFormat: chain[0]!, format }];
    }));
  }
  return planned;
}

/** A grid point: the cell coordinates without model and format. */
export type PointCoordinates = Omit<Cell, 'model' | 'format'>;

const pointKey = (p: PointCoordinates) => JSON.stringify([p.instruction, p.context, p.k, p.shots, p.cot, p.variant ?? null]);

/** Finds computed pair records by model pair, formats and grid point. */
export class PairIndex {
  private readonly index = new Map<string, number>();

  add(position: number, base: string, baseFormat: PromptFormat, instruct: string, format: PromptFormat, point: PointCoordinates): void {
    this.index.set(`${pairingKey(base, baseFormat, instruct, format)}|${pointKey(point)}`, position);
  }

  find(base: string, baseFormat: PromptFormat, instruct: string, format: PromptFormat, point: PointCoordinates): number | undefined {
    return this.index.get(`${pairingKey(base, baseFormat, instruct, format)}|${pointKey(point)}`);
  }
}

/**
 * Each lineage with, per grid point and format of its last stage, the indexes of its steps and of
 * first → last in the pair list. A point where some comparison is missing (a model without samples
 * there) is left out.
 */
export function lineageRecords(
  lineages: readonly LineageSpec[],
  models: readonly StageModel[],
  points: readonly PointCoordinates[],
  pairs: PairIndex,
): LineageRecord[] {
  return lineages.map((lineage) => {
    const stages = lineage.stages.map((name) => models.find((m) => m.name === name)!);
    const last = stages.at(-1)!;
    const lineagePoints: LineagePoint[] = [];
    for (const point of points) {
      for (const format of last.formats) {
        const chain = chainFormats(stages, format);
        if (chain === undefined) continue;
        const steps = stages.slice(1).map((to, j) => pairs.find(stages[j]!.name, chain[j]!, to.name, chain[j + 1]!, point));
        const total = pairs.find(stages[0]!.name, chain[0]!, last.name, format, point);
        if (total === undefined || steps.some((s) => s === undefined)) continue;
        lineagePoints.push({ format, ...point, steps: steps as number[], total });
      }
    }
    return { name: lineage.name, stages: [...lineage.stages], points: lineagePoints };
  });
}
