// `ragtax prompts <suite.yaml> [--model M] [--cell FILTER] [--limit N] [--json]`: a dry run that
// shows the exact prompts a run would send, before any GPU hour is spent. It prepares data,
// contexts and prompts with the runner's own functions (so every prompt is byte-identical to the
// run's), opens each model without its weights (tokenizer, chat template, context length), counts
// tokens as the run's context-overflow check does, and prints per cell: the number of samples, the
// first prompts with their token counts and first/last token ids, and how many would overflow.
// No run folder, no generation cache, no weights; every opened model is disposed.
import type { Writable } from 'node:stream';
import { InputError } from '../errors.js';
import { openModel } from '../models/backends.js';
import { CONTEXT_MODES, kExceedsCorpus } from '../retrieval/contexts.js';
import { RETRIEVERS } from '../retrieval/retrievers.js';
import type { Progress } from '../run/progress.js';
import { makeRetriever, planModel, prepareContexts, prepareData, withTemplateDate } from '../run/runner.js';
import { coordinatesOf, pointKey, pointLabel, type GridPoint } from '../suite/grid.js';
import { loadSuite, type Suite } from '../suite/load.js';
import type { GenerationRequest, LoadedModel } from '../types.js';

export interface PromptsCommandOptions {
  suite: string;
  /** Only this model (by its suite name). */
  model?: string;
  /** Only cells whose label contains this text (e.g. `chat nores retrieved k=3`). */
  cell?: string;
  /** Prompts shown per cell (default 1). */
  limit?: number;
  json?: boolean;
}

/** How many token ids are shown at each end of a prompt. */
const EDGE_IDS = 8;

export interface PromptView {
  itemId: string;
  /** The exact string a run records as the sample's `prompt`. */
  prompt: string;
  /** Null where the backend cannot count it (the run then skips the overflow check). */
  promptTokens: number | null;
  /** The first and last token ids the model is fed; null when the backend has no local tokenizer. */
  firstIds: number[] | null;
  lastIds: number[] | null;
}

export interface CellView extends GridPoint {
  /** `format instruction context k=.. shots=.. cot=..[ variant]`, what `--cell` matches. */
  label: string;
  format: 'raw' | 'chat';
  samples: number;
  maxNewTokens: number;
  /** Prompts whose count + maxNewTokens exceeds the context length: recorded, never generated. */
  overflow: number;
  /** Prompts the backend could not count (not checked for overflow). */
  uncounted: number;
  maxPromptTokens: number | null;
  prompts: PromptView[];
}

export interface ModelView {
  model: string;
  backend: string;
  contextLength: number;
  notes: string[];
  cells: CellView[];
}

export interface PromptsReport {
  suite: string;
  items: number;
  templateDate: string;
  models: ModelView[];
  /** Over the cells shown (after --model / --cell). */
  selected: { cells: number; samples: number; overflow: number };
  /** Samples a run of the whole suite records: models × formats × grid points × items. */
  totalSamples: number;
}

const cellLabel = (format: string, point: GridPoint) => `${format} ${pointLabel(point)}`;

async function countTokens(loaded: LoadedModel, requests: GenerationRequest[]): Promise<(number | null)[]> {
  // As the run's overflow check: a backend's own request counter when it has one.
  const counts = loaded.countRequestTokens ? await loaded.countRequestTokens(requests, { exact: true }) : requests.map((r) => loaded.countTokens(r.prompt, r.chat === true));
  return counts.map((c) => (c !== null && Number.isFinite(c) ? c : null));
}

function idsOf(loaded: LoadedModel, request: GenerationRequest): { firstIds: number[] | null; lastIds: number[] | null } {
  // Requests sent as messages are tokenised by the server's template: their JSON is not what it sees.
  if (!loaded.encode || request.messages) return { firstIds: null, lastIds: null };
  const ids = loaded.encode(request.prompt, request.chat === true);
  return { firstIds: ids.slice(0, EDGE_IDS), lastIds: ids.slice(-EDGE_IDS) };
}

/** Checks the filters against the suite before anything is loaded. */
function selectedModels(suite: Suite, opts: PromptsCommandOptions): Suite['models'] {
  const models = opts.model === undefined ? suite.models : suite.models.filter((m) => m.name === opts.model);
  if (models.length === 0) {
    throw new InputError(`--model ${opts.model}: no such model in ${suite.file}; its models: ${suite.models.map((m) => m.name).join(', ')}`);
  }
  if (opts.cell !== undefined) {
    const labels = models.flatMap((m) => m.formats.flatMap((f) => suite.points.map((p) => cellLabel(f, p))));
    if (!labels.some((l) => l.includes(opts.cell!))) {
      throw new InputError(`--cell ${JSON.stringify(opts.cell)} matches no cell; cells: ${[...new Set(labels)].join('; ')}`);
    }
  }
  return models;
}

export async function collectPrompts(opts: PromptsCommandOptions, log: (message: string) => void): Promise<PromptsReport> {
  const limit = opts.limit ?? 1;
  const loadedSuite = await loadSuite(opts.suite);
  // The day chat templates see, as a new run would take it.
  const templateDate = loadedSuite.config.template_date ?? new Date().toISOString().slice(0, 10);
  const suite = withTemplateDate(loadedSuite, templateDate);
  const models = selectedModels(suite, opts);
  const dataset = await prepareData(suite, undefined);
  for (const point of suite.points) {
    const tooLarge = CONTEXT_MODES[point.context].showsDocuments && RETRIEVERS[suite.config.retrieval.retriever].needsCorpus ? kExceedsCorpus(point.k, dataset.corpus.length) : null;
    if (tooLarge !== null) throw new InputError(`${suite.file}: ${tooLarge}`);
  }
  const progress: Progress = { start() {}, label() {}, increment() {}, stop() {}, log };
  const { retriever } = await makeRetriever(suite, dataset, progress);
  let prepared: Parameters<typeof planModel>[0];
  try {
    const { contexts, exemplarDocs } = await prepareContexts(suite, dataset, retriever);
    prepared = { suite, dataset, contexts, exemplarDocs };
  } finally {
    await retriever?.dispose();
  }

  const views: ModelView[] = [];
  for (const model of models) {
    const selected = (format: string, point: GridPoint) => opts.cell === undefined || cellLabel(format, point).includes(opts.cell);
    if (!model.formats.some((f) => suite.points.some((p) => selected(f, p)))) continue;
    // Tokenizer, chat template and context length only: the weights are never loaded.
    const loaded = await openModel(model.spec);
    try {
      const plan = planModel(prepared, model, loaded);
      const cells: CellView[] = [];
      for (const format of model.formats) {
        for (const point of suite.points) {
          const label = cellLabel(format, point);
          if (!selected(format, point)) continue;
          const planned = plan.get(`${format}|${pointKey(point)}`) ?? [];
          const counts = await countTokens(loaded, planned.map((p) => p.request));
          const maxNewTokens = point.settings.decoding.maxNewTokens;
          const known = counts.filter((c): c is number => c !== null);
          cells.push({
            label,
            format,
            ...coordinatesOf(point),
            samples: planned.length,
            maxNewTokens,
            overflow: known.filter((c) => c + maxNewTokens > loaded.contextLength).length,
            uncounted: counts.length - known.length,
            maxPromptTokens: known.length > 0 ? Math.max(...known) : null,
            prompts: planned.slice(0, limit).map((p, i) => ({ itemId: p.item.id, prompt: p.request.prompt, promptTokens: counts[i] ?? null, ...idsOf(loaded, p.request) })),
          });
        }
      }
      views.push({ model: model.name, backend: model.backend, contextLength: loaded.contextLength, notes: loaded.notes ?? [], cells });
    } finally {
      await loaded.dispose();
    }
  }
  const shown = views.flatMap((v) => v.cells);
  return {
    suite: suite.name,
    items: dataset.items.length,
    templateDate,
    models: views,
    selected: { cells: shown.length, samples: shown.reduce((n, c) => n + c.samples, 0), overflow: shown.reduce((n, c) => n + c.overflow, 0) },
    totalSamples: suite.models.reduce((n, m) => n + m.formats.length * suite.points.length * dataset.items.length, 0),
  };
}

function printReport(report: PromptsReport, out: Writable): void {
  const print = (line = '') => out.write(`${line}\n`);
  print(`suite ${report.suite}: ${report.items} items (template date ${report.templateDate})`);
  for (const m of report.models) {
    print();
    print(`model ${m.model} (${m.backend}, context length ${m.contextLength})`);
    for (const note of m.notes) print(`  note: ${note}`);
    for (const c of m.cells) {
      print();
      const overflow = c.overflow > 0 ? `${c.overflow} would overflow the context` : 'none overflows';
      const uncounted = c.uncounted > 0 ? `, ${c.uncounted} not countable` : '';
      const longest = c.maxPromptTokens !== null ? `, longest prompt ${c.maxPromptTokens} + ${c.maxNewTokens} new tokens` : '';
      print(`== ${m.model} ${c.label}: ${c.samples} samples; ${overflow}${uncounted}${longest}`);
      for (const p of c.prompts) {
        const ids = p.firstIds && p.lastIds ? `; ids first [${p.firstIds.join(', ')}] … last [${p.lastIds.join(', ')}]` : '';
        print(`-- item ${p.itemId}: ${p.promptTokens ?? 'unknown'} tokens${ids}`);
        // Verbatim, between the markers (use --json to see whitespace exactly).
        out.write(p.prompt.endsWith('\n') ? p.prompt : `${p.prompt}\n`);
        print('-- end of prompt');
      }
    }
  }
  print();
  const s = report.selected;
  print(`shown: ${s.cells} cells, ${s.samples} samples, ${s.overflow} would overflow the context (recorded, not generated)`);
  print(`total: a run of this suite makes ${report.totalSamples} samples (models × formats × grid points × ${report.items} items)`);
}

export async function runPromptsCommand(opts: PromptsCommandOptions, out: Writable, err: Writable = process.stderr): Promise<void> {
  const report = await collectPrompts(opts, (m) => err.write(`${m}\n`));
  // A long listing is often piped into `head`: a closed pipe ends the command quietly.
  out.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  if (opts.json) out.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report, out);
}
