// report.html: one self-contained file (Chart.js inlined, no network; a Content-Security-Policy
// forbids any fetch) that opens with the headline comparison (tax, interval, p and adjusted p, both
// accuracies) and an exclusions banner when n differs across cells, then accuracy/refusal-vs-k
// charts and the alignment tax with drawn interval bars, a waterfall per lineage, the 2×2 outcome tables, the sensitivity
// plot, every cell's metrics (NO-RES split by whether the documents hold the answer), retrieval,
// statistics notes (p adjustment, clustering, determinism), timing and a per-sample browser. Data travels as JSON in a
// <script type="application/json"> block with `<`, `>`, `&` escaped as \u003c…, and the page builds
// its DOM with textContent only, so a response containing `<script>` shows as text.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cellKey, cellOf } from '../aggregate/cells.js';
import { Interner, sameCell } from '../aggregate/sample-table.js';
import { PACKAGE_ROOT } from '../rundir/git-state.js';
import type { RunSummary } from '../rundir/types.js';
import type { Cell, SampleRecord } from '../types.js';
import { CLIENT_JS } from './html-client.js';
import { waterfallCharts } from './lineages.js';

/** At most this many samples are embedded (whole items, first seen first). */
export const HTML_SAMPLE_CAP = 5000;
/** …and at most this many characters of prompts and responses (prompts are stored once each). */
export const HTML_TEXT_BUDGET = 24_000_000;

export interface HtmlOptions {
  sampleCap?: number;
  textBudget?: number;
  /** Chart.js UMD source (read from node_modules when absent). */
  chartJs?: string;
}

let chartJsCache: string | undefined;

/** The Chart.js UMD build, resolved from the ragtax package root (works when ragtax is installed as a dependency too). */
export async function loadChartJs(): Promise<string> {
  if (chartJsCache !== undefined) return chartJsCache;
  let file: string;
  try {
    const require = createRequire(path.join(PACKAGE_ROOT, 'package.json'));
    file = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
  } catch {
    file = path.join(PACKAGE_ROOT, 'node_modules', 'chart.js', 'dist', 'chart.umd.js');
  }
  chartJsCache = await readFile(file, 'utf8');
  return chartJsCache;
}

/** JSON that is safe inside any <script> element: no `<`, `>` or `&` survives, nor U+2028/2029. */
export function scriptSafeJson(value: unknown): string {
  // One pass over the (megabytes of) JSON, not one per character.
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => SCRIPT_ESCAPES[c]!);
}

const SCRIPT_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/** Text for HTML content and attribute values. */
export function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Inline script source that cannot close its own <script> element. */
function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

type Outcome = 'right' | 'wrong' | 'refused' | 'excluded';

function outcomeOf(s: SampleRecord): Outcome {
  if (s.excluded !== undefined) return 'excluded';
  if (s.scores.correct) return 'right';
  return s.scores.refusal ? 'refused' : 'wrong';
}

interface EmbeddedSamples {
  cap: number;
  total: number;
  shown: number;
  itemsTotal: number;
  itemsShown: number;
  capped: boolean;
  cells: Cell[];
  items: { id: string; q: string; a: string[] }[];
  prompts: string[];
  rows: { c: number; i: string; p: number; r: string; s?: string; o: Outcome; f1: number; aic: boolean }[];
}

/** A kept item: its samples by cell, in the order of their latest record. */
interface KeptItem {
  id: string;
  samples: Map<string, SampleRecord>;
}

/**
 * The samples report.html embeds, collected while samples.jsonl streams past: whole items in
 * first-seen order until the sample cap or the text budget is reached. Only those items' records
 * are held in full; every other sample is only counted (its item and cell, for the totals). Both
 * limits only tighten as records arrive (an item's count and text only grow), so an item that is
 * over them once is dropped for good together with every later item, and what is held never
 * exceeds the cap plus one item. `embed` then applies the limits exactly.
 */
export class EmbeddableSamples {
  private readonly kept: KeptItem[] = [];
  private readonly keptIndex = new Map<string, KeptItem>();
  /** An item was dropped: no later item can be embedded. */
  private closed = false;
  private keptRows = 0;
  /** Response characters of the kept samples plus each distinct kept prompt once: a lower bound of what `embed` counts. */
  private keptText = 0;
  private readonly promptUses = new Map<string, number>();
  /** Every (item, cell) seen, for the totals: item numbers per cell. */
  private readonly items = new Interner();
  private readonly keys = new Map<string, Set<number>>();
  private lastCell: { cell: Cell; key: string; items: Set<number> } | null = null;
  private total = 0;

  constructor(
    readonly cap: number,
    readonly textBudget: number,
  ) {}

  add(sample: SampleRecord): void {
    // Consecutive records mostly share their cell: its key is made only when the cell changes.
    if (!this.lastCell || !sameCell(this.lastCell.cell, sample)) {
      const key = cellKey(sample);
      let items = this.keys.get(key);
      if (!items) this.keys.set(key, (items = new Set()));
      this.lastCell = { cell: cellOf(sample), key, items };
    }
    const { key, items: cellItems } = this.lastCell;
    const itemNo = this.items.number(sample.itemId);
    if (!cellItems.has(itemNo)) {
      cellItems.add(itemNo);
      this.total += 1;
    }
    let item = this.keptIndex.get(sample.itemId);
    if (!item) {
      if (this.closed) return;
      item = { id: sample.itemId, samples: new Map() };
      this.kept.push(item);
      this.keptIndex.set(item.id, item);
    }
    const earlier = item.samples.get(key);
    if (earlier) {
      this.forget(earlier);
      item.samples.delete(key); // re-inserted: the order follows the latest record
    }
    item.samples.set(key, sample);
    this.keptRows += 1;
    this.keptText += sample.response.length;
    const uses = this.promptUses.get(sample.prompt) ?? 0;
    if (uses === 0) this.keptText += sample.prompt.length;
    this.promptUses.set(sample.prompt, uses + 1);
    while (this.kept.length > 1 && (this.keptRows > this.cap || this.keptText > this.textBudget)) {
      const dropped = this.kept.pop()!;
      this.keptIndex.delete(dropped.id);
      for (const s of dropped.samples.values()) this.forget(s);
      this.closed = true;
    }
  }

  private forget(sample: SampleRecord): void {
    this.keptRows -= 1;
    this.keptText -= sample.response.length;
    const uses = this.promptUses.get(sample.prompt)!;
    if (uses === 1) {
      this.promptUses.delete(sample.prompt);
      this.keptText -= sample.prompt.length;
    } else this.promptUses.set(sample.prompt, uses - 1);
  }

  /** Whole items in first-seen order until the sample cap or the text budget is reached. */
  embed(summaryCells: readonly Cell[]): EmbeddedSamples {
    const { cap, textBudget } = this;
    const cells: Cell[] = [];
    const cellIndex = new Map<string, number>();
    const addCell = (c: Cell): number => {
      const key = cellKey(c);
      let index = cellIndex.get(key);
      if (index === undefined) {
        index = cells.length;
        cells.push(cellOf(c));
        cellIndex.set(key, index);
      }
      return index;
    };
    for (const c of summaryCells) addCell(c);
    const prompts: string[] = [];
    const promptIndex = new Map<string, number>();
    const items: EmbeddedSamples['items'] = [];
    const rows: EmbeddedSamples['rows'] = [];
    let text = 0;
    for (const { id, samples } of this.kept) {
      const list = [...samples.values()];
      const itemText = list.reduce((sum, s) => sum + s.response.length + (promptIndex.has(s.prompt) ? 0 : s.prompt.length), 0);
      if (rows.length > 0 && (rows.length + list.length > cap || text + itemText > textBudget)) break;
      text += itemText;
      const first = list[0]!;
      items.push({ id, q: first.question ?? '', a: Array.isArray(first.answers) ? first.answers : [] });
      for (const s of list) {
        let p = promptIndex.get(s.prompt);
        if (p === undefined) {
          p = prompts.length;
          prompts.push(s.prompt);
          promptIndex.set(s.prompt, p);
        }
        const row: EmbeddedSamples['rows'][number] = { c: addCell(s), i: id, p, r: s.response, o: outcomeOf(s), f1: s.scores.f1, aic: s.scores.answerInContext };
        if (s.scoredText !== undefined && s.scoredText !== s.response) row.s = s.scoredText;
        rows.push(row);
      }
    }
    return {
      cap,
      total: this.total,
      shown: rows.length,
      itemsTotal: this.items.size,
      itemsShown: items.length,
      capped: rows.length < this.total,
      cells,
      items,
      prompts,
      rows,
    };
  }
}

/** Whole items in first-seen order until the sample cap or the text budget is reached. */
export function embedSamples(samples: Iterable<SampleRecord>, summaryCells: readonly Cell[], cap: number, textBudget: number): EmbeddedSamples {
  return collectEmbeddable(samples, cap, textBudget).embed(summaryCells);
}

function collectEmbeddable(samples: Iterable<SampleRecord> | EmbeddableSamples, cap: number, textBudget: number): EmbeddableSamples {
  if (samples instanceof EmbeddableSamples) return samples;
  const collected = new EmbeddableSamples(cap, textBudget);
  for (const s of samples) collected.add(s);
  return collected;
}

// Long unbroken text (a 200,000-character question, a base64 blob in a response, a long model name)
// wraps everywhere: `overflow-wrap: anywhere` is inherited from body and, unlike `break-word`, also
// lowers the min-content width, so tables, grid and flex items shrink to the window instead of
// widening the page; grid tracks are minmax(0, …) and form controls are capped at the width.
const CSS = `
[hidden] { display: none !important; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 20px 60px; color: #222; overflow-wrap: anywhere; }
*, *::before, *::after { box-sizing: border-box; }
select, input { max-width: 100%; }
table { max-width: 100%; } th, td { overflow-wrap: anywhere; }
h1 { margin: 20px 0 4px; } h2 { margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.note { background: #fff8e1; border-left: 3px solid #f0b400; padding: 6px 10px; }
.muted { color: #666; font-size: 12px; }
.chart { position: relative; height: 320px; margin: 8px 0; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(280px, 100%), 1fr)); gap: 12px; }
.card, .entry, .item-head, .side-head { min-width: 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; }
.card h4 { margin: 4px 0 8px; font-size: 13px; }
table.twobytwo { border-collapse: collapse; } .twobytwo th, .twobytwo td { border: 1px solid #ccc; padding: 3px 8px; font-size: 12px; }
.twobytwo td.count { text-align: right; cursor: pointer; color: #1f5fa8; text-decoration: underline; }
table.grid { border-collapse: collapse; margin: 8px 0; } .grid th, .grid td { border: 1px solid #ddd; padding: 3px 8px; font-size: 12px; }
.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 8px 0; }
.filters label { font-size: 12px; color: #444; }
.filters > * { max-width: 100%; min-width: 0; }
.entry { border: 1px solid #ddd; border-radius: 6px; margin: 10px 0; padding: 8px 10px; }
.sides { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
.side { min-width: 0; } .label { font-size: 11px; color: #666; margin-top: 4px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; max-width: 100%; background: #f6f6f6; padding: 6px; margin: 2px 0; font-size: 12px; }
pre.prompt { max-height: 400px; overflow: auto; }
.badge { border-radius: 3px; padding: 0 6px; font-size: 12px; color: #fff; }
.badge.right { background: #2e7d32; } .badge.wrong { background: #c62828; } .badge.refused { background: #ef6c00; } .badge.excluded { background: #777; }
.toc { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; margin: 6px 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(150px, 100%), 1fr)); gap: 10px; margin: 10px 0; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 0; }
.figure-label { font-size: 12px; color: #555; } .figure-value { font-size: 26px; font-weight: 600; } .figure-sub { font-size: 12px; color: #555; }
.figure[data-figure="tax"] { border-color: #1f5fa8; background: #f3f7fc; }
.banner { margin: 12px 0; } .banner ul { margin: 4px 0; padding-left: 20px; }
.chart canvas { max-width: 100%; }
table.data { border-collapse: collapse; margin: 8px 0; width: 100%; } table.data.compact { width: auto; min-width: min(480px, 100%); }
.data th, .data td { border: 1px solid #ddd; padding: 3px 6px; font-size: 12px; vertical-align: top; }
.data th { background: #f6f6f6; text-align: left; } .data th.group { text-align: center; }
.data td.num { text-align: right; white-space: nowrap; } .data .ci { color: #777; font-size: 11px; margin-left: 3px; }
.data td.label-cell { min-width: 12em; } .data .small { color: #c62828; font-weight: 600; }
.data th { overflow-wrap: normal; word-break: normal; }
@media (max-width: 700px) {
  .charts, .sides { grid-template-columns: minmax(0, 1fr); } body { padding: 0 10px 40px; }
  .chart { height: 260px; }
}
/* Below 900 px every data table turns into one labelled card per row. */
@media (max-width: 900px) {
  table.data, table.data.compact, .data tbody, .data tr, .data td { display: block; width: 100%; }
  .data thead { display: none; }
  .data tr { border: 1px solid #ddd; border-radius: 6px; margin: 8px 0; padding: 4px 6px; }
  .data td, .data td.num { border: 0; border-bottom: 1px solid #eee; text-align: right; white-space: normal; min-width: 0; }
  .data td::after { content: ""; display: block; clear: both; }
  .data td::before { content: attr(data-label); color: #666; text-align: left; float: left; max-width: 60%; padding-right: 8px; }
  .data td.label-cell { display: block; text-align: left; font-weight: 600; }
  .data td.label-cell::before { content: none; }
}
`;

/** `samples`: the run's records, or an EmbeddableSamples collected while streaming them (its own cap and budget apply). */
export function renderHtml(summary: RunSummary, samples: Iterable<SampleRecord> | EmbeddableSamples, options: HtmlOptions & { chartJs: string }): string {
  return renderHtmlParts(summary, samples, options).join('');
}

/**
 * report.html as pieces whose concatenation is the page: the embedded samples (most of its bytes)
 * are one piece, serialized apart from the rest of the data. Written piece by piece, a page whose
 * labels hold a character beyond Latin-1 ("→", "−") no longer turns the samples' megabytes into
 * two-byte text, which was then copied whole and encoded: 30 ms of a warm quickstart re-run.
 */
export function renderHtmlParts(summary: RunSummary, samples: Iterable<SampleRecord> | EmbeddableSamples, options: HtmlOptions & { chartJs: string }): string[] {
  const m = summary.manifest;
  const manifestLine =
    `Suite sha256 ${m?.suite?.sha256?.slice(0, 12) ?? '?'}, seed ${m?.seeds?.suite ?? '?'}, ragtax ${m?.ragtax ?? '?'}, ` +
    `git ${m?.git ? m.git.revision.slice(0, 12) + (m.git.dirty ? ' (dirty)' : '') : 'n/a'}.`;
  const data = {
    suite: summary.suite,
    items: summary.items,
    finishedAt: m?.finishedAt ?? null,
    manifestLine,
    cells: summary.cells,
    pairs: summary.pairs,
    // Per lineage and grid point: the waterfall's bars (steps from the running total, then the total).
    lineages: waterfallCharts(summary),
    // The suite's headline comparison, when summary.json carries one (else the page uses the first pair).
    headline: (summary as RunSummary & { headline?: unknown }).headline ?? null,
    statistics: summary.statistics ?? null,
    retrieval: summary.retrieval ?? null,
    contextOverflow: summary.contextOverflow ?? {},
    timing: summary.timing ?? null,
    determinism: summary.determinism ?? null,
    samples: collectEmbeddable(samples, options.sampleCap ?? HTML_SAMPLE_CAP, options.textBudget ?? HTML_TEXT_BUDGET).embed(summary.cells),
  };
  const title = htmlEscape(`ragtax report: ${summary.suite}`);
  const lineageLink = data.lineages.length > 0 ? ' <a href="#lineages-h">Lineages</a>' : '';
  // scriptSafeJson(data), with the samples (the last key) serialized on their own.
  const { samples: embedded, ...rest } = data;
  const dataJson = [scriptSafeJson(rest).slice(0, -1), ',"samples":', scriptSafeJson(embedded), '}'];
  const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${title}</h1>
<div id="run-info"></div>
<noscript><p class="note">This report needs JavaScript for its charts and sample browser; summary.csv and report.md hold the same figures.</p></noscript>

<nav class="toc"><a href="#headline-h">Headline</a> <a href="#k-h">Accuracy vs k</a> <a href="#tax-h">Alignment tax</a>${lineageLink} <a href="#cells-h">Cells</a> <a href="#retrieval-h">Retrieval</a> <a href="#statistics-h">Statistics</a> <a href="#timing-h">Timing</a> <a href="#browser">Samples</a></nav>

<h2 id="headline-h">Headline</h2>
<section id="headline"></section>
<section id="exclusions" class="note banner" hidden></section>

<h2 id="k-h">Accuracy and refusal rate vs k</h2>
<p class="muted">One series per model and prompt format: colour is the model, the line and marker the format (raw: solid, circles; chat: dashed, triangles). Bars are 95% Wilson intervals (exact for small cells). Setting: <select id="k-setting"></select></p>
<p id="k-note" class="note" hidden></p>
<div class="charts"><div class="chart"><canvas id="chart-accuracy"></canvas></div><div class="chart"><canvas id="chart-refusal"></canvas></div></div>

<h2 id="tax-h">Alignment tax</h2>
<section id="tax">
<p class="muted">Base − instruct accuracy per pair, percentage points: the marker is the estimate, the bar its seeded paired-bootstrap 95% interval, the dashed line zero. Positive: the instruct model answers fewer questions right.</p>
<div class="chart"><canvas id="chart-tax"></canvas></div>
</section>

<section id="lineages" hidden>
<h2 id="lineages-h">Lineages</h2>
<p class="muted">Per lineage (models in training order): how much of the total tax each alignment step adds. Each step's bar floats from the running total (up: the later model answers fewer right); the last bar is first → last from zero. Whiskers and tooltips: each step's own 95% paired-bootstrap interval, McNemar p and refusal Δ. Point: the headline's grid point where the lineage has it.</p>
</section>

<h2>Outcome tables (2×2)</h2>
<p class="muted">Per pair, items by base × instruct correctness. Click a count to browse those items.</p>
<div id="tables" class="cards"></div>

<section id="sensitivity" hidden>
<h2>Sensitivity</h2>
<p class="muted">The alignment tax under each sweep setting (decoding length, refusal wording, scoring rule). A finding that holds under one setting only is fragile.</p>
</section>

<h2 id="cells-h">Cells</h2>
<section id="cells">
<p class="muted">Every cell, all figures in percent. NO-RES split by whether the documents shown hold a gold answer: negative rejection (refusing where they lack it) and parametric recall (right anyway); over-refusal (refusing where they hold it) and context accuracy (right where they hold it).</p>
</section>

<h2 id="retrieval-h">Retrieval</h2>
<section id="retrieval"></section>

<h2 id="statistics-h">Statistics</h2>
<section id="statistics"></section>
<section id="determinism" hidden><h3>Determinism</h3></section>

<h2 id="timing-h">Timing</h2>
<section id="timing"></section>

<h2 id="browser">Samples</h2>
<div class="filters">
  <label>View <select id="f-view"><option value="pairs">base vs instruct, paired by item</option><option value="samples">single samples</option></select></label>
  <span id="pair-filters" class="filters">
    <label>Pair <select id="f-pair"></select></label>
    <label>Base <select id="f-base"><option value="any">any</option><option value="right">right</option><option value="notright">not right</option><option value="wrong">wrong</option><option value="refused">refused</option><option value="excluded">excluded</option></select></label>
    <label>Instruct <select id="f-instruct"><option value="any">any</option><option value="right">right</option><option value="notright">not right</option><option value="wrong">wrong</option><option value="refused">refused</option><option value="excluded">excluded</option></select></label>
  </span>
  <span id="sample-filters" class="filters" hidden>
    <label>Cell <select id="f-cell"></select></label>
    <label>Outcome <select id="f-outcome"><option value="any">any</option><option value="right">right</option><option value="notright">not right</option><option value="wrong">wrong</option><option value="refused">refused</option><option value="excluded">excluded</option></select></label>
  </span>
  <label>Search <input id="f-search" type="search" placeholder="item id, question or response"></label>
</div>
<p class="muted">Outcomes: right (a gold answer in the scored text; may also contain NO-RES), refused (NO-RES and not right), wrong (neither), excluded (prompt over the context length).</p>
<p id="match-count"></p>
<div id="samples"></div>
<button id="more" hidden>show more</button>

<script type="application/json" id="ragtax-data">${DATA_SLOT}</script>
<script>${inlineScript(options.chartJs)}</script>
<script>${inlineScript(CLIENT_JS)}</script>
</body>
</html>
`;
  const slot = page.indexOf(DATA_SLOT);
  return [page.slice(0, slot), ...dataJson, page.slice(slot + DATA_SLOT.length)];
}

/** Where the data goes in the page's text: its first occurrence, as all before it is this template's own text and the escaped title. */
const DATA_SLOT = '<ragtax-data-slot>';

/** report.html for a summary and its samples, with Chart.js read from node_modules. */
export async function buildHtmlReport(summary: RunSummary, samples: Iterable<SampleRecord> | EmbeddableSamples, options: HtmlOptions = {}): Promise<string> {
  return (await buildHtmlReportParts(summary, samples, options)).join('');
}

/** `buildHtmlReport` as the pieces of `renderHtmlParts`, for writing without joining them. */
export async function buildHtmlReportParts(summary: RunSummary, samples: Iterable<SampleRecord> | EmbeddableSamples, options: HtmlOptions = {}): Promise<string[]> {
  return renderHtmlParts(summary, samples, { ...options, chartJs: options.chartJs ?? (await loadChartJs()) });
}
