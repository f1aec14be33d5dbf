// `ragtax view [folder]` and `ragtax view <runA> <runB>`: pages a reader opens in a browser.
// - One folder (default `reports/`): an index of every finished run under it (a directory holding
//   summary.json): suite, date, items, headline tax (the first pair) with its interval and p, and a
//   link to each run's report.html. Written to `<folder>/index.html` unless --out says otherwise.
// - Two run folders: a side-by-side comparison of what `ragtax compare` computes (paired by item and
//   cell, the same defaults): per shared cell both accuracies, the paired difference with its
//   bootstrap interval, the McNemar p and its adjusted p; regressions highlighted. Written to
//   `compare.html` in the working directory unless --out says otherwise.
// Both pages are self-contained (inline CSS, no script, a CSP that forbids any fetch). Problems with
// the input or the output path are InputErrors naming the path (exit 2); the page is written
// atomically, so an interrupted write never leaves a half page.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cellLabel, compareSamples, DEFAULT_COMPARE_OPTIONS, METRIC_LABELS, P_ADJUST_LABELS, type ComparisonResult } from '../compare/compare.js';
import { InputError, messageOf } from '../errors.js';
import { htmlEscape } from '../report/html.js';
import { pct, pctInterval, pValue, signedPct } from '../report/format.js';
import { Interner } from '../aggregate/sample-table.js';
import { loadRun, readRunSummary } from '../rundir/read.js';
import { SUMMARY_FILE, type RunSummary } from '../rundir/types.js';
import type { Cell, PairRecord } from '../types.js';
import { checkFileTarget, writeAtomically } from '../util/atomic-write.js';
import { checkComparable } from './compare.js';

export interface ViewCommandOptions {
  /** No folder: `reports`; one: the folder to index; two: the runs to compare (baseline, candidate). */
  dirs: readonly string[];
  out?: string;
}

export interface ViewResult {
  kind: 'index' | 'compare';
  file: string;
  /** Index: finished runs listed. Compare: shared cells. */
  count: number;
}

const DEFAULT_FOLDER = 'reports';
const REPORT_FILE = 'report.html';
/** How deep below the folder runs are looked for (reports/<group>/<run>/ is depth 2). */
const MAX_DEPTH = 6;

export async function runViewCommand(options: ViewCommandOptions, out: NodeJS.WritableStream): Promise<ViewResult> {
  const dirs = options.dirs.length === 0 ? [DEFAULT_FOLDER] : options.dirs;
  if (dirs.length > 2) {
    throw new InputError(`ragtax view takes one folder (an index of its runs) or two run folders (a comparison), got ${dirs.length}: ${dirs.join(' ')}`);
  }
  const result = dirs.length === 1 ? await writeIndex(dirs[0]!, options.out) : await writeComparison(dirs[0]!, dirs[1]!, options.out);
  out.write(`ragtax: wrote ${result.file} (${result.kind === 'index' ? `${result.count} run${result.count === 1 ? '' : 's'}` : `${result.count} shared cell${result.count === 1 ? '' : 's'}`})\n`);
  return result;
}

// ---------------------------------------------------------------- index

interface IndexedRun {
  dir: string;
  summary: RunSummary;
  hasReport: boolean;
}

interface Unreadable {
  dir: string;
  problem: string;
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}

/** Run folders (holding summary.json) at or below `root`; a run folder is not searched further. */
async function findRunDirs(root: string, depth = 0): Promise<string[]> {
  if (await stat(path.join(root, SUMMARY_FILE)).catch(() => null)) return [root];
  if (depth >= MAX_DEPTH) return [];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    found.push(...(await findRunDirs(path.join(root, entry.name), depth + 1)));
  }
  return found;
}

async function writeIndex(folder: string, outOption: string | undefined): Promise<ViewResult> {
  const root = path.resolve(folder);
  const info = await stat(root).catch(() => null);
  if (!info) throw new InputError(`${root}: folder not found (ragtax view indexes the finished runs under a folder, default ${DEFAULT_FOLDER}/)`);
  if (!info.isDirectory()) throw new InputError(`${root}: not a directory (ragtax view indexes the finished runs under a folder)`);
  const file = path.resolve(outOption ?? path.join(root, 'index.html'));
  await checkFileTarget(file);

  const runs: IndexedRun[] = [];
  const unreadable: Unreadable[] = [];
  for (const dir of await findRunDirs(root)) {
    try {
      const summary = await readRunSummary(dir);
      runs.push({ dir, summary, hasReport: (await stat(path.join(dir, REPORT_FILE)).catch(() => null))?.isFile() ?? false });
    } catch (error) {
      unreadable.push({ dir, problem: messageOf(error) });
    }
  }
  if (runs.length === 0 && unreadable.length === 0) {
    throw new InputError(`${root}: no finished ragtax run found under it (a finished run is a folder holding ${SUMMARY_FILE})`);
  }
  runs.sort((a, b) => dateOf(b.summary).localeCompare(dateOf(a.summary)) || a.dir.localeCompare(b.dir));
  await writeAtomically(file, renderIndex(root, file, runs, unreadable));
  return { kind: 'index', file, count: runs.length };
}

function dateOf(summary: RunSummary): string {
  return summary.manifest.finishedAt ?? summary.manifest.startedAt ?? '';
}

/** A link from the page at `from` to `target`, relative, each segment URL-encoded. */
function relativeHref(from: string, target: string): string {
  const rel = path.relative(path.dirname(from), target) || path.basename(target);
  return rel.split(path.sep).map(encodeURIComponent).join('/');
}

function pairLabel(pair: PairRecord): string {
  return cellLabel({ ...pair, model: `${pair.base}${pair.baseFormat ? ` (${pair.baseFormat})` : ''} vs ${pair.instruct}` } as Cell);
}

function pCell(p: number | null | undefined): string {
  return p === null || p === undefined || Number.isNaN(p) ? '–' : pValue(p);
}

function renderIndex(root: string, file: string, runs: readonly IndexedRun[], unreadable: readonly Unreadable[]): string {
  const rows = runs.map(({ dir, summary, hasReport }) => {
    const pair = summary.pairs[0];
    const name = path.relative(root, dir) || path.basename(dir);
    const link = hasReport ? `<a href="${htmlEscape(relativeHref(file, path.join(dir, REPORT_FILE)))}">report</a>` : '<span class="muted">no report.html</span>';
    const date = dateOf(summary);
    const tax = pair
      ? `<td class="num">${htmlEscape(signedPct(pair.tax))}</td><td class="num">${htmlEscape(pctInterval(pair.taxCi95))}</td>` +
        `<td class="num">${htmlEscape(pCell(pair.mcnemarP))}</td><td class="num">${htmlEscape(pCell(pair.mcnemarPAdjusted))}</td><td>${htmlEscape(pairLabel(pair))}</td>`
      : '<td colspan="5" class="muted">no base/instruct pair</td>';
    return (
      `<tr><td>${htmlEscape(summary.suite)}</td><td><code>${htmlEscape(name)}</code></td>` +
      `<td>${htmlEscape(date ? date.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–')}</td><td class="num">${summary.items}</td>${tax}<td>${link}</td></tr>`
    );
  });
  const problems = unreadable.length
    ? `<h2>Unreadable runs</h2><ul>${unreadable.map((u) => `<li><code>${htmlEscape(path.relative(root, u.dir) || u.dir)}</code>: ${htmlEscape(u.problem)}</li>`).join('')}</ul>`
    : '';
  const body =
    `<h1>ragtax runs</h1><p class="muted">${runs.length} finished run${runs.length === 1 ? '' : 's'} under <code>${htmlEscape(root)}</code>, newest first. ` +
    `Tax: base minus instruct accuracy of the run's first pair, percentage points, with its 95% interval; p: exact McNemar, and adjusted across the run's comparisons.</p>` +
    (runs.length
      ? `<table><thead><tr><th>suite</th><th>run</th><th>finished</th><th>items</th><th>tax</th><th>95% CI</th><th>p</th><th>p (adj.)</th><th>pair</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : '<p>No readable finished run.</p>') +
    problems;
  return page('ragtax runs', body);
}

// ---------------------------------------------------------------- comparison

async function writeComparison(baselineDir: string, candidateDir: string, outOption: string | undefined): Promise<ViewResult> {
  const file = path.resolve(outOption ?? 'compare.html');
  await checkFileTarget(file);
  for (const dir of [baselineDir, candidateDir]) {
    if (!(await isDirectory(path.resolve(dir)))) throw new InputError(`${path.resolve(dir)}: run directory not found`);
  }
  // The two runs' item ids are held once.
  const items = new Interner();
  const baseline = await loadRun(path.resolve(baselineDir), items);
  const candidate = await loadRun(path.resolve(candidateDir), items);
  // Same suite required; a changed configuration is shown as a note, not refused (this page gates nothing).
  const notes = checkComparable(baseline, candidate, true);
  const result = compareSamples(baseline.samples, candidate.samples, {
    ...DEFAULT_COMPARE_OPTIONS,
    seed: baseline.summary.manifest.seeds?.bootstrap ?? DEFAULT_COMPARE_OPTIONS.seed,
  });
  if (result.pairedSamples === 0) {
    throw new InputError(`${candidate.dir}: no (item, cell) is scored in both runs; nothing to compare`);
  }
  const runs = { baseline: { dir: baseline.dir, summary: baseline.summary }, candidate: { dir: candidate.dir, summary: candidate.summary } };
  await writeAtomically(file, renderComparison(file, runs, result, notes));
  return { kind: 'compare', file, count: result.cells.length };
}

type RunRef = { dir: string; summary: RunSummary };

function runLine(file: string, role: string, run: RunRef): string {
  return (
    `<li><b>${role}</b>: <code>${htmlEscape(run.dir)}</code>, finished ${htmlEscape(dateOf(run.summary) || '–')}, ${run.summary.items} items ` +
    `(<a href="${htmlEscape(relativeHref(file, path.join(run.dir, REPORT_FILE)))}">report</a>)</li>`
  );
}

function renderComparison(file: string, runs: { baseline: RunRef; candidate: RunRef }, result: ComparisonResult, notes: readonly string[]): string {
  const { options } = result;
  const rows = result.cells.map((c) => {
    const m = c.metrics.find((x) => x.metric === 'accuracy');
    if (!m) return '';
    if (m.n === 0) {
      const why = c.excluded.length ? `${c.excluded.length} excluded (context overflow)` : 'no item scored in both runs';
      return `<tr><td>${htmlEscape(cellLabel(c.cell))}</td><td class="num">0</td><td colspan="7" class="muted">${htmlEscape(why)}</td></tr>`;
    }
    const cls = m.regression ? ' class="regression"' : m.diff > 0 && m.pAdjusted !== null && m.pAdjusted < options.alpha ? ' class="improvement"' : '';
    return (
      `<tr${cls}><td>${htmlEscape(cellLabel(c.cell))}</td><td class="num">${m.n}</td><td class="num">${pct(m.baseline)}</td><td class="num">${pct(m.candidate)}</td>` +
      `<td class="num">${htmlEscape(signedPct(m.diff))}</td><td class="num">${htmlEscape(pctInterval(m.ci95))}</td><td class="num">${htmlEscape(pCell(m.p))}</td>` +
      `<td class="num">${htmlEscape(pCell(m.pAdjusted))}</td><td>${m.regression ? '<b>regression</b>' : m.beyondMaxDrop ? 'drop, not significant' : ''}</td></tr>`
    );
  });
  const regressions = result.regressions.length
    ? `<p class="bad"><b>${result.regressions.length} regression${result.regressions.length === 1 ? '' : 's'}</b>: ` +
      result.regressions.map((r) => `${htmlEscape(cellLabel(r.cell))} (${htmlEscape(METRIC_LABELS[r.metric.metric])} ${htmlEscape(signedPct(r.metric.diff))})`).join('; ') +
      '</p>'
    : '<p class="good">No regression: no shared cell dropped significantly by more than the tolerated amount.</p>';
  const only = [
    ...result.onlyBaselineCells.map((c) => `only in baseline: ${cellLabel(c)}`),
    ...result.onlyCandidateCells.map((c) => `only in candidate: ${cellLabel(c)}`),
  ];
  const body =
    `<h1>ragtax compare: ${htmlEscape(runs.baseline.summary.suite)}</h1><ul>${runLine(file, 'baseline', runs.baseline)}${runLine(file, 'candidate', runs.candidate)}</ul>` +
    regressions +
    `<p class="muted">Accuracy per shared cell over the items scored in both runs (${result.pairedSamples} paired samples); difference = candidate − baseline, percentage points, ` +
    `seeded paired bootstrap 95% interval (${options.bootstrapSamples} resamples, seed ${options.seed}); p: exact McNemar; p (adj.): ${htmlEscape(P_ADJUST_LABELS[options.adjust])} across ` +
    `${result.adjustment.comparisons} gated comparisons. A regression is a drop of more than ${options.maxDrop} points with adjusted p &lt; ${options.alpha} (the defaults of <code>ragtax compare</code>).</p>` +
    `<table><thead><tr><th>cell</th><th>n</th><th>baseline</th><th>candidate</th><th>difference</th><th>95% CI</th><th>p</th><th>p (adj.)</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    (notes.length || only.length ? `<h2>Notes</h2><ul>${[...notes, ...only].map((n) => `<li>${htmlEscape(n)}</li>`).join('')}</ul>` : '');
  return page(`ragtax compare: ${runs.baseline.summary.suite}`, body);
}

// ---------------------------------------------------------------- page

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}
tr.regression td{background:#fde2e1}tr.improvement td{background:#e3f5e1}.bad{color:#a40000}.good{color:#216e1f}code{font-size:90%}`;

function page(title: string, body: string): string {
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${htmlEscape(title)}</title><style>${STYLE}</style></head>\n` +
    `<body>${body}</body></html>\n`
  );
}
