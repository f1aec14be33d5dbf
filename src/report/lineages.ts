// report.md's "Lineages" section: per lineage (base → SFT → DPO, docs/lineages.md), one waterfall
// table per grid point and format of the last stage: what each alignment step adds to the tax,
// with its interval, exact McNemar p and share of the total, the step's refusal change and, with
// knowledge conflicts, its follows-context and follows-memory changes; then first → last.
import type { RunSummary } from '../rundir/types.js';
import type { LineagePoint, LineageRecord, PairRecord } from '../types.js';
import { pct, pctInterval, pValue, signedPct } from './format.js';
import { settingLabel } from './labels.js';

/** The conflict metrics a step shows as deltas, when its pair has knowledge-conflict items. */
const CONFLICT_COLUMNS = [
  { name: 'followsContext', head: 'follows context Δ' },
  { name: 'followsMemory', head: 'follows memory Δ' },
] as const;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A step's share of the total tax (`–` when the total is 0: there is nothing to share). */
export function taxShare(step: number, total: number): number | null {
  return total === 0 ? null : step / total;
}

/** One waterfall row: a step (or the total) as a pair record. */
function row(label: string, p: PairRecord, total: PairRecord, conflicts: readonly (typeof CONFLICT_COLUMNS)[number][]): string[] {
  const share = taxShare(p.tax, total.tax);
  return [
    label,
    `${p.baseFormat ?? 'raw'} → ${p.format}`,
    String(p.n),
    `${pct(p.baseAccuracy)} → ${pct(p.instructAccuracy)}`,
    `**${signedPct(p.tax)}** ${pctInterval(p.taxCi95)}`,
    pValue(p.mcnemarP),
    share === null ? '–' : `${pct(share)}%`,
    signedPct(p.refusalDelta),
    ...conflicts.map(({ name }) => {
      const r = p.conflicts?.metrics[name];
      return r ? `${signedPct(r.delta)} ${pctInterval(r.ci95)}` : '–';
    }),
  ];
}

/** The waterfall of one lineage at one grid point and final format. */
export function waterfallTable(lineage: LineageRecord, point: LineagePoint, pairs: readonly PairRecord[]): string {
  const steps = point.steps.map((i) => pairs[i]!);
  const total = pairs[point.total]!;
  const all = [...steps, total];
  const conflicts = CONFLICT_COLUMNS.filter(({ name }) => all.some((p) => p.conflicts?.metrics[name] !== undefined));
  const rows = steps.map((p, j) => row(`${lineage.stages[j]} → ${lineage.stages[j + 1]}`, p, total, conflicts));
  rows.push(row(`**total** ${lineage.stages[0]} → ${lineage.stages.at(-1)}`, total, total, conflicts));
  return table(['step', 'formats', 'n', 'accuracy', 'tax [95% CI]', 'p', 'share of total', 'refusal Δ', ...conflicts.map((c) => c.head)], rows);
}

/** report.md's Lineages section (no lines when the run has no lineage). */
export function lineagesMarkdown(summary: RunSummary): string[] {
  const lineages = (summary.lineages ?? []).filter((l) => l.points.length > 0);
  if (lineages.length === 0) return [];
  const parts = ['## Lineages', ''];
  parts.push(
    'Each lineage\'s models in training order (docs/lineages.md). Per grid point and format of the last stage, the waterfall: ' +
      'each step\'s tax (earlier − later accuracy, paired by item) with its 95% paired-bootstrap interval and exact McNemar p, ' +
      'its share of the total tax, and the step\'s refusal Δ (later − earlier); with knowledge conflicts, the follows-context and ' +
      'follows-memory Δ (later − earlier) with their intervals. The last row is first → last; the steps sum to it when every stage ' +
      'scored the same items. Formats: the earlier stage is prompted in the later one\'s format where it has it, else raw.',
    '',
  );
  for (const lineage of lineages) {
    parts.push(`### ${lineage.name}: ${lineage.stages.join(' → ')}`, '');
    for (const point of lineage.points) {
      parts.push(`${lineage.stages.at(-1)} ${point.format} · ${settingLabel(point)}`, '');
      parts.push(waterfallTable(lineage, point, summary.pairs), '');
    }
  }
  return parts;
}

/** One bar of a waterfall chart (fractions): a step floats from the running total, the total from 0. */
export interface WaterfallBar {
  label: string;
  /** `raw → chat`: the two sides' prompt formats. */
  formats: string;
  total: boolean;
  start: number;
  end: number;
  tax: number;
  ci95: [number, number];
  p: number;
  share: number | null;
  refusalDelta: number;
  n: number;
}

/** report.html's waterfall data: per lineage and point, its bars in stage order, then the total. */
export interface WaterfallChart {
  lineage: string;
  stages: string[];
  points: (Omit<LineagePoint, 'steps' | 'total'> & { label: string; bars: WaterfallBar[] })[];
}

export function waterfallCharts(summary: RunSummary): WaterfallChart[] {
  return (summary.lineages ?? [])
    .filter((l) => l.points.length > 0)
    .map((lineage) => ({
      lineage: lineage.name,
      stages: [...lineage.stages],
      points: lineage.points.map(({ steps, total: totalIndex, ...point }) => {
        const total = summary.pairs[totalIndex]!;
        const bar = (label: string, p: PairRecord, start: number, isTotal: boolean): WaterfallBar => ({
          label,
          formats: `${p.baseFormat ?? 'raw'} → ${p.format}`,
          total: isTotal,
          start,
          end: start + p.tax,
          tax: p.tax,
          ci95: p.taxCi95,
          p: p.mcnemarP,
          share: taxShare(p.tax, total.tax),
          refusalDelta: p.refusalDelta,
          n: p.n,
        });
        let running = 0;
        const bars = steps.map((index, j) => {
          const p = summary.pairs[index]!;
          const b = bar(`${lineage.stages[j]} → ${lineage.stages[j + 1]}`, p, running, false);
          running = b.end;
          return b;
        });
        bars.push(bar(`total ${lineage.stages[0]} → ${lineage.stages.at(-1)}`, total, 0, true));
        return { ...point, label: `${lineage.stages.at(-1)} ${point.format} · ${settingLabel(point)}`, bars };
      }),
    }));
}
