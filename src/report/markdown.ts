// report.md: the tables a person reads first (alignment tax), then every cell, retrieval quality
// and what was excluded.
import type { CellAggregate, PairRecord } from '../types.js';
import type { RunSummary } from '../rundir/types.js';
import { METRIC_DEFS, SUBSETS, type Subset } from '../scoring/metrics.js';
import { pct, pctInterval, pValue, signedPct } from './format.js';
import { lineagesMarkdown } from './lineages.js';
import { decompositionSection } from './decomposition.js';

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The instruction column, with the sweep variant when there is one. */
function setting(c: { instruction: string; variant?: string }): string {
  return c.variant === undefined ? c.instruction : `${c.instruction} (${c.variant})`;
}

/** `base vs instruct`; a lineage step between aligned models with the earlier one's format: `instruct (chat) vs chat`. */
function pairModels(p: PairRecord): string {
  return `${p.base}${p.baseFormat !== undefined ? ` (${p.baseFormat})` : ''} vs ${p.instruct}`;
}

/** A pair's label columns: pair, instruct format, instruction, k, shots, CoT. */
function pairLabel(p: PairRecord): string[] {
  return [pairModels(p), p.format, setting(p), p.context === 'retrieved' ? String(p.k) : `${p.context} ${p.k}`, String(p.shots), p.cot ? 'yes' : 'no'];
}

function pairRows(pairs: PairRecord[]): string[][] {
  return pairs.map((p) => [
    ...pairLabel(p),
    String(p.n),
    pct(p.baseAccuracy),
    pct(p.instructAccuracy),
    `**${signedPct(p.tax)}** ${pctInterval(p.taxCi95)}`,
    pValue(p.mcnemarP),
    p.mcnemarPAdjusted !== undefined ? pValue(p.mcnemarPAdjusted) : '–',
    p.minimumDetectableTax === undefined || p.minimumDetectableTax === null ? '–' : pct(p.minimumDetectableTax),
    `${p.table.bothCorrect}/${p.table.baseOnly}/${p.table.instructOnly}/${p.table.neither}`,
    signedPct(p.refusalDelta),
  ]);
}

const ADJUST_NAMES: Record<string, string> = { holm: 'Holm', bh: 'Benjamini–Hochberg', none: 'none' };

/** What the statistics of the tax table mean for this run: adjustment, power, clustering. */
function statisticsNote(summary: RunSummary): string {
  const s = summary.statistics;
  if (!s) return '';
  const adjusted =
    s.pAdjust === 'none'
      ? 'p adj.: not adjusted (`metrics.p_adjust: none`).'
      : `p adj.: p adjusted by ${ADJUST_NAMES[s.pAdjust]} over the run's ${s.comparisons} paired comparisons (alpha ${s.alpha}).`;
  const power = `MDE: the smallest tax detectable at 80% power and alpha ${s.alpha}, from each comparison's own discordance rate.`;
  const clustered = summary.pairs.filter((p) => p.designEffect !== undefined);
  let clustering = '';
  if (s.clusterBy !== undefined && clustered.length > 0) {
    const effects = clustered.map((p) => p.designEffect!).sort((a, b) => a - b);
    const median = effects[Math.floor(effects.length / 2)]!;
    clustering =
      ` Items are clustered by \`${s.clusterBy}\` (${clustered[0]!.clusters} clusters): intervals resample whole clusters; design effect ` +
      `(clustered ÷ naive interval width) ${median.toFixed(2)} median, ${effects[0]!.toFixed(2)}–${effects.at(-1)!.toFixed(2)}.`;
  }
  return ` ${adjusted} ${power}${clustering}`;
}

/**
 * report.md's cells table shows the METRICS entries with `markdown: 'column' | 'column+ci'`, in
 * table order; a metric that only some cells have (its subset's `appliesTo`) only when a cell has it.
 */
function columnsFor(cells: readonly CellAggregate[]) {
  return METRIC_DEFS.filter(
    (m) => (m.markdown === 'column' || m.markdown === 'column+ci') && ((SUBSETS[m.over] as Subset).appliesTo === undefined || cells.some((c) => c[m.name] !== undefined)),
  );
}
const COT_NOTES = METRIC_DEFS.filter((m) => m.markdown === 'cot-note');

/** `yes (12.5% without Answer:)`: the CoT column with the non-zero `cot-note` metrics. */
function cotColumn(c: CellAggregate): string {
  if (!c.cot) return 'no';
  return `yes${COT_NOTES.map((m) => (c[m.name] ? ` (${pct(c[m.name])}% ${m.short})` : '')).join('')}`;
}

function cellRows(cells: CellAggregate[], columns: ReturnType<typeof columnsFor>): string[][] {
  return cells.map((c) => [
    c.model,
    c.format,
    setting(c),
    c.context === 'retrieved' ? String(c.k) : `${c.context} ${c.k}`,
    String(c.shots),
    cotColumn(c),
    c.smallSample ? `${c.n}*` : String(c.n),
    ...columns.map((m) => (m.markdown === 'column+ci' ? `${pct(c[m.name])} ${pctInterval(c.ci95[m.name])}` : pct(c[m.name]))),
  ]);
}

/** Tax per sweep variant next to the suite's own setting, for every swept grid point. */
function sensitivityTable(pairs: PairRecord[]): string | null {
  const variants = [...new Set(pairs.flatMap((p) => (p.variant === undefined ? [] : [p.variant])))];
  if (variants.length === 0) return null;
  const groupKey = (p: PairRecord) => JSON.stringify([p.base, p.baseFormat ?? 'raw', p.instruct, p.format, p.instruction, p.context, p.k, p.shots, p.cot]);
  const groups = new Map<string, Map<string, PairRecord>>();
  for (const p of pairs) {
    const group = groups.get(groupKey(p)) ?? new Map<string, PairRecord>();
    group.set(p.variant ?? '', p);
    groups.set(groupKey(p), group);
  }
  const cell = (p: PairRecord | undefined) => (p ? `${signedPct(p.tax)} ${pctInterval(p.taxCi95)}` : '–');
  const rows = [...groups.values()]
    .filter((g) => variants.some((v) => g.has(v)))
    .map((g) => {
      const any = [...g.values()][0]!;
      return [`${pairModels(any)} ${any.format}`, any.instruction, String(any.k), String(any.shots), any.cot ? 'yes' : 'no', cell(g.get('')), ...variants.map((v) => cell(g.get(v)))];
    });
  return table(['pair', 'instruction', 'k', 'shots', 'CoT', 'suite setting', ...variants], rows);
}

export function renderMarkdown(summary: RunSummary): string {
  const parts: string[] = [`# ragtax report: ${summary.suite}`, ''];
  parts.push(
    `${summary.items} items, ${summary.cells.length} cells, ${summary.pairs.length} paired comparisons; ` +
      `finished ${summary.manifest.finishedAt ?? ''} in ${summary.timing.totalSeconds.toFixed(1)} s. All figures are percentages.`,
    '',
  );
  if (summary.pairs.length > 0) {
    parts.push('## Alignment tax (base − instruct accuracy)', '');
    parts.push(
      'Paired by item. Interval: seeded paired bootstrap, 95%. p: exact McNemar. Table: both right / base only / instruct only / neither. ' +
        'Refusal Δ: instruct − base refusal rate.' +
        statisticsNote(summary),
      '',
    );
    parts.push(
      table(['pair', 'instruct format', 'instruction', 'k', 'shots', 'CoT', 'n', 'base acc', 'instruct acc', 'tax [95% CI]', 'p', 'p adj.', 'MDE', '2×2', 'refusal Δ'], pairRows(summary.pairs)),
      '',
    );
  }
  parts.push(...lineagesMarkdown(summary));
  const conflictPairs = summary.pairs.filter((p) => p.conflicts !== undefined);
  if (conflictPairs.length > 0) {
    const names = [...new Set(conflictPairs.flatMap((p) => Object.keys(p.conflicts!.metrics)))];
    const label = (name: string) => METRIC_DEFS.find((m) => m.name === name)?.short ?? name;
    parts.push('## Knowledge conflicts', '');
    parts.push(
      'Items whose shown documents claim another value than the true one (the `counterfactual` context, or `context_answers` in the data). ' +
        'Each column: base → instruct rate, and the paired difference instruct − base with its 95% bootstrap interval. Refusals here are not counted as over-refusal.',
      '',
    );
    parts.push(
      table(
        ['pair', 'instruct format', 'instruction', 'k', 'shots', 'CoT', 'n', ...names.map(label)],
        conflictPairs.map((p) => [
          ...pairLabel(p),
          String(p.conflicts!.n),
          ...names.map((name) => {
            const r = p.conflicts!.metrics[name];
            return r ? `${pct(r.base)} → ${pct(r.instruct)} (**${signedPct(r.delta)}** ${pctInterval(r.ci95)})` : '';
          }),
        ]),
      ),
      '',
    );
  }
  parts.push(...decompositionSection(summary));
  const sensitivity = sensitivityTable(summary.pairs);
  if (sensitivity) {
    parts.push('## Sensitivity of the tax', '');
    parts.push('Each column changes one setting against the suite\'s own (token cap, refusal wording with its detector, scoring rule): a finding that holds in one column only is fragile.', '');
    parts.push(sensitivity, '');
  }
  parts.push('## Cells', '');
  const columns = columnsFor(summary.cells);
  parts.push(
    'Accuracy: a normalised gold answer occurs in the first line of the response. Neg. rejection: NO-RES among items whose context lacks the answer; ' +
      'over-refusal: NO-RES among items whose context holds it; parametric recall: accuracy where the context lacks the answer; context acc.: accuracy where it holds it.',
    '',
  );
  parts.push(
    table(
      ['model', 'format', 'instruction', 'k', 'shots', 'CoT', 'n', ...columns.map((m) => (m.markdown === 'column+ci' ? `${m.short} [95% CI]` : m.short))],
      cellRows(summary.cells, columns),
    ),
    '',
  );
  if (summary.cells.some((c) => c.smallSample)) {
    parts.push('\\* fewer than 30 items: the cell\'s intervals are exact (Clopper–Pearson), and wide.', '');
  }
  const cutOff = summary.cells.filter((c) => (c.reasoningUnclosed ?? 0) > 0);
  if (cutOff.length > 0) {
    const worst = new Map<string, number>();
    for (const c of cutOff) worst.set(c.model, Math.max(worst.get(c.model) ?? 0, c.reasoningUnclosed!));
    parts.push(
      `Thinking cut off: ${[...worst].map(([m, r]) => `${m} up to ${pct(r)}%`).join(', ')} of responses ended inside their thinking block and are scored as unanswered; raise \`max_new_tokens\` for ${worst.size === 1 ? 'that model' : 'those models'} (or set \`chat_template_kwargs: {enable_thinking: false}\` where the template has it).`,
      '',
    );
  }
  const r = summary.retrieval;
  parts.push('## Retrieval', '');
  parts.push(`Retriever: ${r.retriever}, ${r.corpusSize} documents${r.indexLoadedFromCache ? ' (index reused from cache)' : ''}.`, '');
  if (r.answerRecallAtK.length > 0) {
    parts.push(table(['k', ...r.answerRecallAtK.map((x) => String(x.k))], [['answer recall@k', ...r.answerRecallAtK.map((x) => pct(x.recall))]]), '');
  }
  const overflow = Object.entries(summary.contextOverflow).filter(([, n]) => n > 0);
  parts.push('## Excluded samples', '');
  parts.push(
    overflow.length === 0
      ? 'No prompt exceeded a model\'s context length.'
      : overflow.map(([m, n]) => `- ${m}: ${n} prompt(s) over the context length; those items are excluded for every model at the same grid point.`).join('\n'),
    '',
  );
  if (summary.determinism) {
    // `--check-determinism`: finished samples generated again by the model, without the cache.
    const d = Object.entries(summary.determinism);
    const quote = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
    parts.push('## Determinism', '', 'Finished samples generated again, greedy, without the generation cache (`--check-determinism`):', '');
    parts.push(table(['model', 'checked', 'text changed', 'rate', 'correctness changed'], d.map(([m, x]) => [m, String(x.checked), String(x.flippedText), pct(x.rate), String(x.flippedCorrect)])), '');
    const flips = d.flatMap(([, x]) => x.flips.map((f) => `- ${f.cell} · item \`${f.itemId}\`: ${quote(f.before)} → ${quote(f.after)}${f.correctChanged ? ' (correctness changed)' : ''}`));
    const unlisted = d.reduce((sum, [, x]) => sum + x.flippedText - x.flips.length, 0);
    if (flips.length > 0) parts.push(...flips, ...(unlisted > 0 ? [`- … and ${unlisted} more (at most 20 listed per model)`] : []), '');
  }
  parts.push('## Timing', '');
  parts.push(
    table(
      ['model', 'samples', 'generated', 'load s', 'generation s', 'new tokens/s'],
      Object.entries(summary.timing.models).map(([m, t]) => [m, String(t.samples), String(t.generatedSamples), t.loadSeconds.toFixed(1), t.generationSeconds.toFixed(1), t.tokensPerSecond.toFixed(0)]),
    ),
    '',
  );
  const m = summary.manifest;
  parts.push('## Manifest', '');
  const chatNotes = Object.entries(m.models).flatMap(([name, entry]) => {
    const chat = entry.chat as { systemRole?: string; templateKwargs?: unknown; templateName?: string } | undefined;
    const reasoning = entry.reasoning as { open: string; close: string } | undefined;
    const notes = [
      chat?.systemRole === 'merge' ? 'the instruction opens the first user turn (`system_role: merge`)' : '',
      chat?.templateKwargs !== undefined ? `template variables ${JSON.stringify(chat.templateKwargs)}` : '',
      chat?.templateName !== undefined ? `template \`${chat.templateName}\`` : '',
      reasoning ? `scored after \`${reasoning.close}\`` : '',
    ].filter(Boolean);
    return notes.length > 0 ? [`- ${name}: ${notes.join('; ')}.`] : [];
  });
  if (chatNotes.length > 0) parts.push('Chat prompts:', ...chatNotes, '');
  parts.push(
    `Suite sha256 ${m.suite.sha256.slice(0, 12)}, seed ${m.seeds.suite}, ragtax ${m.ragtax}, transformers.js ${m.packages['@huggingface/transformers'] ?? '?'}, ` +
      `Node ${m.node}, git ${m.git ? m.git.revision.slice(0, 12) + (m.git.dirty ? ' (dirty)' : '') : 'n/a'}. Full manifest in summary.json.`,
    '',
  );
  return parts.join('\n');
}
