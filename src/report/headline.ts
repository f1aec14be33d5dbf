// What `ragtax run` prints when it finishes: the headline comparison (the suite's `headline`, else
// the first pair at the first grid point) with its tax, interval and p-values; one table row per
// base-vs-instruct pair; the warnings a reader must not miss (excluded samples, unequal n, truncated
// thinking, failed CoT extraction); and where the outputs are. Colour only on a terminal that takes
// it (picocolors: not with NO_COLOR, --no-color or TERM=dumb) and never when `out` is not a TTY, so
// pipes, files and tests see plain text. Kept within 100 columns: long pair labels wrap.
import path from 'node:path';
import pc from 'picocolors';
import type { RunSummary } from '../rundir/types.js';
import type { Cell, CellAggregate, ContextMode, PairRecord, PromptFormat } from '../types.js';
import { pct, pctInterval, pValue, signedPct } from './format.js';
import { cellLabel, pairLabel, settingLabel } from './labels.js';

/** The suite's `headline` (src/suite/schema.ts): every field given must match; unset fields match anything. */
export interface HeadlineChoice {
  base?: string;
  instruct?: string;
  format?: PromptFormat;
  instruction?: string;
  context?: ContextMode;
  k?: number;
  shots?: number;
  cot?: boolean;
}

export interface HeadlineOptions {
  /** The suite's `headline` field. */
  headline?: HeadlineChoice;
  /** Colour on or off; default: on when `out` is a TTY and picocolors allows it (NO_COLOR unset…). */
  color?: boolean;
  /** Width the table keeps within (default 100). */
  width?: number;
}

/** Warnings of one kind listed before "… and N more". */
const LISTED = 4;

/**
 * The pair record the summary leads with: the first matching `choice` (the suite's own settings
 * before sweep variants), else the first pair without a variant. `matched` is false when a choice
 * was given but matched nothing.
 */
export function chooseHeadline(pairs: readonly PairRecord[], choice?: HeadlineChoice): { pair: PairRecord | undefined; matched: boolean } {
  const ordered = [...pairs.filter((p) => p.variant === undefined), ...pairs.filter((p) => p.variant !== undefined)];
  if (choice) {
    const fits = (p: PairRecord) => (Object.keys(choice) as (keyof HeadlineChoice)[]).every((key) => choice[key] === undefined || p[key] === choice[key]);
    const pair = ordered.find(fits);
    if (pair) return { pair, matched: true };
    return { pair: ordered[0], matched: false };
  }
  return { pair: ordered[0], matched: true };
}

/** The two cells a pair record compares. */
function pairCells(pair: PairRecord, cells: readonly CellAggregate[]): { base?: CellAggregate; instruct?: CellAggregate } {
  const same = (c: CellAggregate) =>
    c.instruction === pair.instruction && c.context === pair.context && c.k === pair.k && c.shots === pair.shots && c.cot === pair.cot && c.variant === pair.variant;
  return {
    base: cells.find((c) => same(c) && c.model === pair.base && c.format === (pair.baseFormat ?? 'raw')),
    instruct: cells.find((c) => same(c) && c.model === pair.instruct && c.format === pair.format),
  };
}

/** `12.5%` of a share, for warnings. */
function share(value: number): string {
  return `${pct(value)}%`;
}

function listed(title: string, entries: string[]): string[] {
  if (entries.length === 0) return [];
  const more = entries.length > LISTED ? [`    … and ${entries.length - LISTED} more (see report.md)`] : [];
  return [`  ${title}:`, ...entries.slice(0, LISTED).map((e) => `    ${e}`), ...more];
}

/** The warnings block's lines (no colour), empty when there is nothing to warn about. */
export function headlineWarnings(summary: RunSummary, headline?: HeadlineChoice): string[] {
  const lines: string[] = [];
  if (headline && !chooseHeadline(summary.pairs, headline).matched) {
    lines.push(`  the suite's headline (${JSON.stringify(headline)}) matches no pair; the first pair is shown instead`);
  }
  const overflow = summary.cells.filter((c) => c.excludedContextOverflow > 0);
  if (overflow.length > 0) {
    const total = overflow.reduce((s, c) => s + c.excludedContextOverflow, 0);
    const prompts = Object.entries(summary.contextOverflow ?? {})
      .filter(([, n]) => n > 0)
      .map(([model, n]) => `${model} ${n}`)
      .join(', ');
    lines.push(
      ...listed(
        `excluded samples: ${total} in ${overflow.length} cell(s) (prompts over the model's context${prompts ? `: ${prompts}` : ''})`,
        overflow.map((c) => `${cellLabel(c)}: ${c.excludedContextOverflow} item(s)`),
      ),
    );
  }
  const unequal: string[] = [];
  for (const p of summary.pairs) {
    const { base, instruct } = pairCells(p, summary.cells);
    if (base && instruct && base.n !== instruct.n) unequal.push(`${pairLabel(p)}: n base ${base.n}, instruct ${instruct.n}, paired ${p.n}`);
  }
  lines.push(...listed('unequal n across a pair', unequal));
  lines.push(
    ...listed(
      'truncated thinking (the thinking block never closed; raise max_new_tokens)',
      summary.cells.filter((c) => (c.reasoningUnclosed ?? 0) > 0).map((c) => `${cellLabel(c)}: ${share(c.reasoningUnclosed!)} of responses`),
    ),
  );
  lines.push(
    ...listed(
      'failed CoT extraction (no `Answer:` line; scored as given)',
      summary.cells.filter((c) => (c.cotMissingAnswer ?? 0) > 0).map((c) => `${cellLabel(c)}: ${share(c.cotMissingAnswer!)} of responses`),
    ),
  );
  const empty = summary.pairs.filter((p) => p.n === 0);
  lines.push(...listed('no item scored on both sides (see report.md, excluded samples)', empty.map((p) => pairLabel(p))));
  return lines;
}

function pairTable(summary: RunSummary, width: number, color: ReturnType<typeof pc.createColors>): string {
  // One model pair (and one format of its earlier model): the models go in the title, not in every row.
  const oneModelPair = new Set(summary.pairs.map((p) => `${p.base}\u0000${p.baseFormat ?? 'raw'}\u0000${p.instruct}`)).size === 1;
  const first = summary.pairs[0]!;
  const adjusted = summary.statistics !== undefined && summary.statistics.pAdjust !== 'none';
  const alpha = summary.statistics?.alpha ?? 0.05;
  const head = [oneModelPair ? `${first.base}${first.baseFormat !== undefined ? ` (${first.baseFormat})` : ''} vs ${first.instruct}` : 'pair', 'base', 'instr.', 'tax [95% CI]', 'p', ...(adjusted ? ['p adj.'] : [])];
  const rows = summary.pairs.map((p) => {
    const label = pairLabel(p, { models: !oneModelPair });
    return row(p, label);
  });
  function row(p: PairRecord, label: string): string[] {
    if (p.n === 0) return [label, '–', '–', 'n=0', '–', ...(adjusted ? ['–'] : [])];
    const decisive = (adjusted ? p.mcnemarPAdjusted : p.mcnemarP) ?? p.mcnemarP;
    const tax = `${signedPct(p.tax)} ${pctInterval(p.taxCi95)}`;
    return [
      label,
      pct(p.baseAccuracy),
      pct(p.instructAccuracy),
      decisive < alpha ? color.bold(tax) : tax,
      pValue(p.mcnemarP),
      ...(adjusted ? [p.mcnemarPAdjusted === undefined ? '–' : pValue(p.mcnemarPAdjusted)] : []),
    ];
  }
  const gap = 2;
  const numberWidths = head.slice(1).map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(String(r[i + 1])))));
  const labelWidth = Math.max(head[0]!.length, ...rows.map((r) => r[0]!.length));
  // Left margin, the label column's own gap, then the number columns.
  const room = width - 2 - gap - numberWidths.reduce((s, w) => s + w + gap, 0);
  const labelColumn = Math.max(20, Math.min(labelWidth, room));
  const lines = layoutColumns(
    head.map((h) => color.bold(h)),
    rows.map(([label, ...rest]) => [wrapLabel(label!, labelColumn), ...rest]),
    [labelColumn, ...numberWidths],
    gap,
  );
  // Trailing padding of the last column is noise in a terminal or a log; the rule under the
  // header ends where the widest row does.
  const widest = Math.max(...lines.filter((l) => !/^ *─+$/.test(l)).map(visibleLength));
  return lines.map((l) => (/^ *─+$/.test(l) ? l.slice(0, widest) : l)).join('\n');
}

/**
 * The table's lines: a two-space margin; the first column left-aligned, the others right-aligned,
 * each `widths[i]` wide and followed by `gap` spaces; a cell over its width cut with `…`; a cell of
 * several lines makes its row that tall; a rule of `─` under the header; trailing spaces trimmed.
 * Written here rather than with cli-table3 (what this used, with the same layout) because its
 * measuring of every cell with string-width's emoji regex took 20–50 ms for the quickstart's 36
 * rows, a tenth of a warm re-run's reporting; the widths are computed above anyway, and the cells
 * are labels and numbers (no wide characters; colour codes are not counted).
 */
function layoutColumns(head: string[], rows: string[][], widths: number[], gap: number): string[] {
  const spaces = (n: number) => ' '.repeat(Math.max(0, n));
  const fit = (text: string, width: number, left: boolean): string => {
    const length = visibleLength(text);
    if (length > width) return `${text.slice(0, Math.max(0, width - 1))}…`; // only plain labels are ever this long
    return left ? text + spaces(width - length) : spaces(width - length) + text;
  };
  const render = (cells: string[]): string[] => {
    const split = cells.map((cell) => cell.split('\n'));
    const height = Math.max(...split.map((c) => c.length));
    const out: string[] = [];
    for (let line = 0; line < height; line++) {
      const parts = split.map((c, i) => fit(c[line] ?? '', widths[i]!, i === 0) + spaces(gap));
      out.push(`  ${parts.join('')}`.trimEnd());
    }
    return out;
  };
  const rule = `  ${'─'.repeat(widths.reduce((sum, w) => sum + w + gap, 0))}`;
  return [...render(head), rule, ...rows.flatMap(render)];
}

/** A label over several lines, broken between its ` · ` parts, continuation lines indented. */
function wrapLabel(label: string, width: number): string {
  const parts = label.split(' · ');
  const lines: string[] = [];
  let line = parts[0]!;
  for (const [i, part] of parts.slice(1).entries()) {
    // A line that is broken after this part ends in ` ·`: it must fit too (else the part's end was cut with `…`).
    const last = i === parts.length - 2;
    if (line.length + 3 + part.length + (last ? 0 : 2) <= width) line += ` · ${part}`;
    else {
      lines.push(`${line} ·`);
      line = `  ${part}`;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

/** Length without ANSI colour codes. */
function visibleLength(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/**
 * Each lineage's waterfall at the headline's grid point (else its first point): the tax of every
 * step and of first → last, so the terminal says which alignment step the tax comes from.
 */
function lineageLines(summary: RunSummary, top: PairRecord | undefined, color: ReturnType<typeof pc.createColors>): string[] {
  const lines: string[] = [];
  const samePoint = (a: Omit<Cell, 'model' | 'format'>, b: Omit<Cell, 'model' | 'format'>) => settingLabel(a) === settingLabel(b);
  for (const lineage of summary.lineages ?? []) {
    const point =
      (top && (lineage.points.find((p) => samePoint(p, top) && p.format === top.format) ?? lineage.points.find((p) => samePoint(p, top)))) ?? lineage.points[0];
    if (!point) continue;
    lines.push('', `${color.bold('lineage')} ${lineage.name} (${point.format} · ${settingLabel(point)}): tax per step, points [95% CI], p`);
    const rows = [...point.steps.map((index) => ({ index, total: false })), { index: point.total, total: true }];
    const labels = rows.map(({ index, total }) => {
      const pair = summary.pairs[index]!;
      return `${total ? 'total ' : ''}${pair.base} → ${pair.instruct}`;
    });
    const width = Math.max(...labels.map((l) => l.length));
    rows.forEach(({ index }, i) => {
      const pair = summary.pairs[index]!;
      lines.push(`  ${labels[i]!.padEnd(width)}  ${`${signedPct(pair.tax)} ${pctInterval(pair.taxCi95)}`.padEnd(22)}  p ${pValue(pair.mcnemarP)}`);
    });
  }
  return lines;
}

/** The terminal summary as text (what `printHeadline` writes). */
export function renderHeadline(summary: RunSummary, outDir: string, options: HeadlineOptions = {}): string {
  const color = pc.createColors(options.color ?? false);
  const width = options.width ?? 100;
  const relative = path.relative(process.cwd(), outDir);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? outDir : relative || '.';
  const lines = [color.bold(`ragtax: ${summary.suite}: ${summary.items} items, ${summary.cells.length} cells in ${summary.timing.totalSeconds.toFixed(1)} s`)];
  const s = summary.statistics;
  const method = s && s.pAdjust !== 'none' ? (s.pAdjust === 'holm' ? 'Holm' : 'Benjamini–Hochberg') : undefined;
  const { pair: top } = chooseHeadline(summary.pairs, options.headline);
  if (top) {
    lines.push('', `${color.bold('headline')}: ${pairLabel(top)}`);
    if (top.n === 0) {
      lines.push('  no item was scored on both sides (see report.md, excluded samples)');
    } else {
      const adjusted = method && top.mcnemarPAdjusted !== undefined ? `, ${method} p_adj ${pValue(top.mcnemarPAdjusted)}` : '';
      lines.push(
        `  alignment tax ${color.bold(`${signedPct(top.tax)} points`)} ${pctInterval(top.taxCi95)}, McNemar p ${pValue(top.mcnemarP)}${adjusted}`,
        `  base ${pct(top.baseAccuracy)} vs instruct ${pct(top.instructAccuracy)} (accuracy, %), n=${top.n}`,
      );
    }
  }
  lines.push(...lineageLines(summary, top, color));
  if (summary.pairs.length > 0) {
    const clusters = s?.clusterBy !== undefined ? ` (items clustered by ${s.clusterBy})` : '';
    const adjust = method ? `; p adj.: ${method} over ${s!.comparisons}` : '';
    lines.push(
      '',
      'alignment tax per pair: base − instruct accuracy, percentage points, 95% paired-bootstrap CI',
      `${clusters.trimStart()}${clusters ? '; ' : ''}p: exact McNemar${adjust}`,
      pairTable(summary, width, color),
    );
  }
  const warnings = headlineWarnings(summary, options.headline);
  if (warnings.length > 0) lines.push('', color.yellow('warnings:'), ...warnings.map((w) => color.yellow(w)));
  if (summary.determinism) {
    lines.push('', `determinism (re-generated without the cache): ${Object.entries(summary.determinism).map(([m, d]) => `${m} ${d.flippedText}/${d.checked} changed text, ${d.flippedCorrect} correctness`).join('; ')}`);
  }
  lines.push('', `outputs: ${path.join(shown, 'report.md')}, report.html, summary.json, summary.csv, pairs.csv, samples.jsonl`);
  return lines.join('\n') + '\n';
}

export function printHeadline(summary: RunSummary, outDir: string, out: NodeJS.WritableStream, options: Omit<HeadlineOptions, 'color'> = {}): void {
  const color = (out as { isTTY?: boolean }).isTTY === true && pc.isColorSupported;
  out.write(renderHeadline(summary, outDir, { ...options, color }));
}
