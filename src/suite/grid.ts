// The suite's grid expanded into points, each resolved once: the instruction it shows, how it
// decodes and how it is scored. Nothing below the runner looks these up in the suite again.
import { closest } from 'fastest-levenshtein';
import { RGB_REFUSAL_MARKER, withRgbRefusal, type InstructionPreset } from '../prompts/presets.js';
import type { ScoringRule } from '../scoring/scoring-rules.js';
import type { Cell, DecodingParams } from '../types.js';
import type { SuiteFile, SweepConfig } from './schema.js';

/** A cell without its model and format: one configuration of the grid, shared by every model. */
export type GridPoint = Omit<Cell, 'model' | 'format'>;

/** How a point's responses are scored. */
interface PointScoring {
  rule: ScoringRule;
  refusalMarkers: string[];
}

/** What a grid point needs to run, settled when the suite is read. */
export interface PointSettings {
  /** The instruction shown (a refusal-wording variant swaps in RGB's sentence). */
  instruction: InstructionPreset;
  decoding: DecodingParams;
  scoring: PointScoring;
}

export interface ResolvedPoint extends GridPoint {
  settings: PointSettings;
}

/** What a sweep variant changes relative to the suite's own settings. */
interface VariantSettings {
  maxNewTokens?: number;
  refusal?: 'rgb';
  scoringRule?: ScoringRule;
}

export function pointKey(p: GridPoint): string {
  return `${p.instruction}|${p.context}|k=${p.k}|shots=${p.shots}|cot=${p.cot}${p.variant !== undefined ? `|${p.variant}` : ''}`;
}

/** A grid point as the command line shows and filters it (`--cells`, progress): `nores retrieved k=3 shots=0 cot=false[ variant]`. */
export function pointLabel(p: GridPoint): string {
  return pointKey(p).replaceAll('|', ' ');
}

/** Just the coordinates of a point (what records and cells carry). */
export function coordinatesOf(p: GridPoint): GridPoint {
  const { instruction, context, k, shots, cot, variant } = p;
  return variant === undefined ? { instruction, context, k, shots, cot } : { instruction, context, k, shots, cot, variant };
}

/** One variant per swept value that differs from the suite's own setting (one factor at a time). */
function sweepVariants(sweep: SweepConfig, config: SuiteFile): [string, VariantSettings][] {
  const out: [string, VariantSettings][] = [];
  for (const n of sweep.max_new_tokens ?? []) {
    if (n !== config.decoding.max_new_tokens) out.push([`max_new_tokens=${n}`, { maxNewTokens: n }]);
  }
  for (const wording of sweep.refusal ?? []) {
    if (wording === 'rgb') out.push(['refusal=rgb', { refusal: 'rgb' }]);
  }
  for (const rule of sweep.scoring_rule ?? []) {
    if (rule !== config.metrics.scoring_rule) out.push([`scoring_rule=${rule}`, { scoringRule: rule }]);
  }
  return out;
}

function resolvePoint(config: SuiteFile, preset: InstructionPreset, point: GridPoint, variant: VariantSettings): ResolvedPoint {
  const d = config.decoding;
  const override = point.cot ? d.cot : preset.proof ? d.proof : {};
  const rgb = variant.refusal === 'rgb';
  return {
    ...point,
    settings: {
      instruction: rgb ? withRgbRefusal(preset)! : preset,
      decoding: {
        maxNewTokens: variant.maxNewTokens ?? override.max_new_tokens ?? d.max_new_tokens,
        stop: override.stop ?? (point.cot || preset.proof ? [] : d.stop),
        temperature: 0,
        repetitionPenalty: d.repetition_penalty,
        seed: config.seed,
      },
      scoring: {
        rule: variant.scoringRule ?? config.metrics.scoring_rule,
        refusalMarkers: rgb ? [RGB_REFUSAL_MARKER] : config.metrics.refusal_markers,
      },
    },
  };
}

/**
 * The grid blocks' cross products, then the sweep's variants at the points it matches; duplicates
 * collapse (first occurrence wins the order).
 */
export function expandGrid(
  config: SuiteFile,
  instructions: ReadonlyMap<string, InstructionPreset>,
  fail: (fieldPath: (string | number)[], message: string) => never,
): ResolvedPoint[] {
  const points = new Map<string, GridPoint>();
  config.grid.forEach((block, b) => {
    block.instruction.forEach((name, j) => {
      if (!instructions.has(name)) {
        const known = [...instructions.keys()];
        fail(['grid', b, 'instruction', j], `unknown instruction \`${name}\` (did you mean \`${closest(name, known)}\`?); allowed: ${known.join(', ')}, or a name defined under \`instructions\``);
      }
    });
    for (const instruction of block.instruction)
      for (const context of block.context)
        for (const k of block.k)
          for (const shots of block.shots)
            for (const cot of block.cot) {
              const closedBook = instructions.get(instruction)!.closedBook;
              if (!closedBook && k === 0) fail(['grid', b, 'k'], 'must be at least 1 for instructions that show documents (k = 0 only with `closed-book`)');
              const point: GridPoint = closedBook
                ? { instruction, context: 'closed-book', k: 0, shots, cot }
                : { instruction, context, k, shots, cot };
              points.set(pointKey(point), point);
            }
  });
  const variants = new Map<string, VariantSettings>();
  if (config.sweep) {
    config.sweep.points.instruction?.forEach((name, j) => {
      if (!instructions.has(name)) fail(['sweep', 'points', 'instruction', j], `unknown instruction \`${name}\` (did you mean \`${closest(name, [...instructions.keys()])}\`?)`);
    });
    for (const [label, settings] of sweepVariants(config.sweep, config)) variants.set(label, settings);
    const matches = (p: GridPoint) => {
      const f = config.sweep!.points;
      return (
        (!f.k || f.k.includes(p.k)) &&
        (!f.instruction || f.instruction.includes(p.instruction)) &&
        (!f.context || f.context.includes(p.context)) &&
        (!f.shots || f.shots.includes(p.shots)) &&
        (!f.cot || f.cot.includes(p.cot))
      );
    };
    const swept = [...points.values()].filter(matches);
    if (swept.length === 0) fail(['sweep', 'points'], 'matches no grid point; name a k, instruction, context, shots or cot that the grid has');
    for (const point of swept) {
      for (const [label, settings] of variants) {
        // A refusal-wording variant only exists for instructions that ask for a refusal.
        if (settings.refusal === 'rgb' && !withRgbRefusal(instructions.get(point.instruction)!)) continue;
        const variant: GridPoint = { ...point, variant: label };
        points.set(pointKey(variant), variant);
      }
    }
  }
  return [...points.values()].map((point) =>
    resolvePoint(config, instructions.get(point.instruction)!, point, point.variant !== undefined ? variants.get(point.variant)! : {}),
  );
}
