// The human-readable sides of `ragtax compare`: a Markdown summary (CI logs, pull-request comments)
// and the plain text printed to stdout.
import { pct, pctInterval, pValue, signedPct } from '../report/format.js';
import type { Cell } from '../types.js';
import { cellLabel } from '../report/labels.js';
import { COMPARED_METRICS, METRIC_LABELS, P_ADJUST_LABELS, type CellComparison, type ComparisonResult, type MetricComparison } from './compare.js';
import { adjustmentDescription, describeMetric } from './junit.js';

export interface CompareContext {
  suite: string;
  baselineDir: string;
  candidateDir: string;
  /** Things the reader must know (config hash differs, duplicate records…). */
  notes: string[];
}

/** Text safe inside a Markdown table cell. */
function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;')).replace(/\r?\n/g, ' ');
}

function gateDescription(result: ComparisonResult): string {
  const { maxDrop, alpha, gateRefusal } = result.options;
  const adjusted = result.adjustment.method === 'none' ? 'p' : 'adjusted p';
  const refusal = gateRefusal
    ? ` Over-refusal (refusals where the documents hold the answer) gates too: a rise of more than ${maxDrop} points with ${adjusted} < ${alpha}.`
    : ' Refusal rates, exact match and F1 are reported but do not gate (add `--gate-refusal` to gate on over-refusal).';
  const method = result.adjustment.method;
  const family =
    method === 'none'
      ? ' McNemar p-values are not adjusted for multiple comparisons (`--adjust none`).'
      : ` The McNemar p-values of all gated comparisons (every shared cell × gating metric) are adjusted together by ${P_ADJUST_LABELS[method]} (\`--adjust ${method}\`) before the test; non-gating metrics show their raw p.`;
  return `A regression is an accuracy drop of more than ${maxDrop} points (candidate − baseline) that is significant by the exact McNemar test at ${adjusted} < ${alpha}.${refusal}${family}`;
}

function metricCell(m: MetricComparison | undefined, result: ComparisonResult): string {
  if (!m) return '–';
  if (m.n === 0) return 'n=0';
  const adjusted = m.pAdjusted !== null && result.adjustment.method !== 'none' ? ` p_adj=${pValue(m.pAdjusted)}` : '';
  const p = m.p === null ? '' : ` p=${pValue(m.p)}${adjusted}`;
  const text = `${signedPct(m.diff)} ${pctInterval(m.ci95)}${p}`;
  return m.regression ? `**${text}** ❌` : text;
}

function listItems(where: string, rows: { cell: Cell; ids: string[] }[]): string[] {
  const lines: string[] = [];
  for (const { cell, ids } of rows) {
    if (ids.length === 0) continue;
    const shown = ids.slice(0, 20).map(md).join(', ');
    lines.push(`- ${md(cellLabel(cell))}: ${ids.length} item(s) only in the ${where} run: ${shown}${ids.length > 20 ? ', …' : ''}`);
  }
  return lines;
}

export function renderCompareMarkdown(result: ComparisonResult, ctx: CompareContext): string {
  const n = result.regressions.length;
  const parts: string[] = [];
  parts.push(n === 0 ? `## ragtax compare: ✅ no regressions (${md(ctx.suite)})` : `## ragtax compare: ❌ ${n} regression${n === 1 ? '' : 's'} (${md(ctx.suite)})`, '');
  parts.push(
    `Baseline \`${md(ctx.baselineDir)}\` → candidate \`${md(ctx.candidateDir)}\`: ${result.cells.length} shared cells, ${result.pairedSamples} paired samples; ${md(adjustmentDescription(result))}.`,
    '',
  );
  parts.push(gateDescription(result) + ' Differences are candidate − baseline in percentage points with a seeded paired-bootstrap 95% interval.', '');
  for (const note of ctx.notes) parts.push(`> **Note:** ${md(note)}`, '');
  if (n > 0) {
    parts.push('### Regressions', '');
    const method = result.adjustment.method;
    const pAdj = method === 'none' ? 'p_adj (none)' : `p_adj (${P_ADJUST_LABELS[method]}, ${result.adjustment.comparisons})`;
    parts.push(`| cell | metric | baseline | candidate | Δ [95% CI] | p | ${pAdj} | n |`, '|---|---|---|---|---|---|---|---|');
    for (const { cell, metric: m } of result.regressions) {
      parts.push(
        `| ${md(cellLabel(cell))} | ${METRIC_LABELS[m.metric]} | ${pct(m.baseline)} | ${pct(m.candidate)} | ${signedPct(m.diff)} ${pctInterval(m.ci95)} | ${pValue(m.p ?? 1)} | ${pValue(m.pAdjusted ?? 1)} | ${m.n} |`,
      );
    }
    parts.push('');
  }
  // Columns of the metrics some cell has (the conflict metrics only where a cell has conflicts).
  const columns = COMPARED_METRICS.filter((m) => result.cells.some((c) => c.metrics.some((x) => x.metric === m.id)));
  const rows = result.cells.map((c: CellComparison) => {
    const get = (metric: string) => c.metrics.find((m) => m.metric === metric);
    const acc = get('accuracy');
    const accuracy = acc && acc.n > 0 ? `${pct(acc.baseline)} → ${pct(acc.candidate)}` : '–';
    return `| ${md(cellLabel(c.cell))} | ${c.n} | ${accuracy} | ${columns.map((m) => metricCell(get(m.id), result)).join(' | ')} |`;
  });
  const header = ['cell', 'n', 'accuracy', ...columns.map((m) => `${m.def.short} Δ`)];
  const table = [`| ${header.join(' | ')} |`, `|${'---|'.repeat(header.length)}`, ...rows].join('\n');
  if (rows.length > 12) parts.push(`<details><summary>All ${rows.length} cells</summary>`, '', table, '', '</details>', '');
  else parts.push('### All cells', '', table, '');

  const missing = [
    ...result.onlyBaselineCells.map((c) => `- cell only in the baseline run: ${md(cellLabel(c))}`),
    ...result.onlyCandidateCells.map((c) => `- cell only in the candidate run: ${md(cellLabel(c))}`),
    ...listItems('baseline', result.cells.map((c) => ({ cell: c.cell, ids: c.onlyBaseline }))),
    ...listItems('candidate', result.cells.map((c) => ({ cell: c.cell, ids: c.onlyCandidate }))),
    ...result.cells.filter((c) => c.excluded.length > 0).map((c) => `- ${md(cellLabel(c.cell))}: ${c.excluded.length} shared item(s) excluded (context overflow) in at least one run`),
  ];
  parts.push('### Not compared', '');
  parts.push(missing.length === 0 ? 'Every cell and item is present and scored in both runs.' : missing.join('\n'), '');
  return parts.join('\n');
}

export function renderCompareText(result: ComparisonResult, ctx: CompareContext): string {
  const lines: string[] = [];
  const n = result.regressions.length;
  lines.push(`ragtax compare: ${ctx.suite}`);
  lines.push(`  baseline:  ${ctx.baselineDir}`);
  lines.push(`  candidate: ${ctx.candidateDir}`);
  lines.push(`  ${result.cells.length} shared cells, ${result.pairedSamples} paired samples; ${adjustmentDescription(result)}`);
  const onlyItems = (side: 'onlyBaseline' | 'onlyCandidate') => result.cells.reduce((s, c) => s + c[side].length, 0);
  const excluded = result.cells.reduce((s, c) => s + c.excluded.length, 0);
  if (result.onlyBaselineCells.length + result.onlyCandidateCells.length + onlyItems('onlyBaseline') + onlyItems('onlyCandidate') + excluded > 0) {
    lines.push(
      `  not compared: ${result.onlyBaselineCells.length} cell(s) only in baseline, ${result.onlyCandidateCells.length} only in candidate; ` +
        `${onlyItems('onlyBaseline')} sample(s) only in baseline, ${onlyItems('onlyCandidate')} only in candidate, ${excluded} excluded (see --md for the list)`,
    );
    for (const c of result.onlyBaselineCells) lines.push(`    only in baseline: ${cellLabel(c)}`);
    for (const c of result.onlyCandidateCells) lines.push(`    only in candidate: ${cellLabel(c)}`);
  }
  for (const note of ctx.notes) lines.push(`  note: ${note}`);
  lines.push(`  gate: ${gateDescription(result).replace(/`/g, '')}`);
  lines.push('');
  if (n === 0) {
    lines.push('no regressions');
  } else {
    lines.push(`REGRESSIONS: ${n}`);
    for (const { cell, metric } of result.regressions) lines.push(`  ✗ ${cellLabel(cell)}: ${describeMetric(metric, result.adjustment.method)}`);
  }
  // The largest accuracy changes either way, so a reader sees what moved even without a regression.
  const moves = result.cells
    .map((c) => ({ c, m: c.metrics.find((m) => m.metric === 'accuracy')! }))
    .filter(({ m }) => m.n > 0 && m.diff !== 0 && !m.regression)
    .sort((a, b) => Math.abs(b.m.diff) - Math.abs(a.m.diff))
    .slice(0, 5);
  if (moves.length > 0) {
    lines.push('', 'largest other accuracy changes:');
    for (const { c, m } of moves) lines.push(`  ${cellLabel(c.cell)}: ${describeMetric(m, result.adjustment.method)}`);
  }
  return lines.join('\n') + '\n';
}
