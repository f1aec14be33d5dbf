// `ragtax run`: suite → items → contexts → prompts → generations → scores → aggregates → reports.
// Contexts and exemplars are computed once, before any model runs, so every model of a comparison
// sees byte-identical documents; models are loaded one at a time to bound memory.
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { aggregateCell, cellKey } from '../aggregate/cells.js';
import { pairRecord } from '../aggregate/pairs.js';
import { loadDataset, sampleItems } from '../data/load.js';
import { InputError } from '../errors.js';
import { loadModel } from '../models/registry.js';
import { makeExemplar } from '../prompts/exemplars.js';
import { pickExemplars } from '../prompts/fewshot.js';
import { renderPrompt, type PromptInput } from '../prompts/render.js';
import { createBm25Retriever } from '../retrieval/bm25.js';
import { buildContexts } from '../retrieval/contexts.js';
import { createPrecomputedRetriever } from '../retrieval/precomputed.js';
import { answerRecallAtK, type RecallAtK } from '../retrieval/recall.js';
import { scoreResponse } from '../scoring/score.js';
import { decodingFor, pointKey, type GridPoint, type Suite, type SuiteModel } from '../suite/load.js';
import type {
  CellAggregate,
  Dataset,
  Doc,
  GenerationRequest,
  ItemContext,
  LoadedModel,
  PairRecord,
  QaItem,
  Retriever,
  SampleRecord,
} from '../types.js';
import { baseManifest, type Manifest } from './manifest.js';
import { createProgress, type Progress } from './progress.js';
import { SamplesFile } from './samples-file.js';
import { cacheRoot } from './cache-dir.js';
import { writeReports } from '../report/write.js';

export interface RunOptions {
  suite: Suite;
  outDir: string;
  limit?: number;
  quiet?: boolean;
}

export interface RetrievalSummary {
  retriever: string;
  corpusSize: number;
  indexLoadedFromCache: boolean | null;
  /** Share of answerable items whose top-k retrieved documents hold a gold answer. */
  answerRecallAtK: RecallAtK[];
  /** Per context mode and k: share of items whose shown documents hold a gold answer. */
  answerInContext: Record<string, number>;
}

export interface ModelTiming {
  samples: number;
  generatedSamples: number;
  completionTokens: number;
  generationSeconds: number;
  tokensPerSecond: number;
  loadSeconds: number;
}

export interface RunSummary {
  suite: string;
  items: number;
  cells: CellAggregate[];
  pairs: PairRecord[];
  retrieval: RetrievalSummary;
  /** Prompts over a model's context length, per model (their items are excluded from every cell of that grid point). */
  contextOverflow: Record<string, number>;
  timing: { models: Record<string, ModelTiming>; totalSeconds: number };
  manifest: Manifest;
}

/** Contexts for every (mode, k) the grid needs, keyed by `mode|k`, then by item id. */
type ContextTable = Map<string, Map<string, ItemContext>>;
const contextKey = (mode: string, k: number) => `${mode}|${k}`;

function docText(docs: readonly Doc[]): string {
  return docs.map((d) => `${d.title} ${d.text}`).join('\n');
}

async function ensureEmptyOutDir(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const entries = await readdir(outDir);
  if (entries.length > 0) {
    throw new InputError(`${outDir}: output directory is not empty; choose another --out (existing results are never overwritten)`);
  }
}

async function prepareData(suite: Suite, limit: number | undefined): Promise<Dataset> {
  const d = suite.config.dataset;
  const dataset = await loadDataset({
    format: d.format,
    path: suite.data.path,
    corpus: suite.data.corpus,
    fewshot: suite.data.fewshot,
    fewshotSize: suite.data.fewshot ? undefined : d.fewshot_size,
    seed: suite.seed,
  });
  const sampled = d.sample !== undefined ? sampleItems(dataset.items, d.sample, suite.seed) : dataset.items;
  const max = limit ?? d.limit;
  const items = max !== undefined ? sampled.slice(0, max) : sampled;
  if (items.length === 0) throw new InputError(`${suite.data.path}: the dataset has no items to evaluate`);
  return { ...dataset, items };
}

async function makeRetriever(suite: Suite, dataset: Dataset, progress: Progress): Promise<{ retriever: Retriever | null; fromCache: boolean | null }> {
  const needsDocs = suite.points.some((p) => p.context !== 'closed-book');
  if (!needsDocs) return { retriever: null, fromCache: null };
  if (suite.config.retrieval.retriever === 'precomputed') {
    return { retriever: createPrecomputedRetriever([...dataset.items, ...dataset.fewShot]), fromCache: null };
  }
  if (dataset.corpus.length === 0) {
    throw new InputError(`${suite.file}: field \`dataset.corpus\` is needed: the bm25 retriever has no documents to search`);
  }
  const bm25 = await createBm25Retriever(dataset.corpus, {
    cacheDir: suite.retrievalCacheDir ?? path.join(cacheRoot(), 'bm25'),
    onWarning: (m) => progress.log(`warning: ${m}`),
  });
  return { retriever: bm25, fromCache: bm25.loadedFromCache };
}

async function prepareContexts(
  suite: Suite,
  dataset: Dataset,
  retriever: Retriever | null,
): Promise<{ contexts: ContextTable; exemplarDocs: Map<string, Doc[]> }> {
  const order = suite.config.retrieval.order;
  const contexts: ContextTable = new Map();
  const corpusById = new Map(dataset.corpus.map((d) => [d.id, d]));
  for (const point of suite.points) {
    const key = contextKey(point.context, point.k);
    if (contexts.has(key)) continue;
    const built = await buildContexts(dataset.items, point.context === 'closed-book' ? null : retriever, {
      mode: point.context,
      k: point.k,
      order,
      oraclePosition: suite.config.retrieval.oracle_position,
      seed: suite.seed,
      corpusById,
    });
    contexts.set(key, new Map(built.map((c) => [c.itemId, c])));
  }
  // Exemplars are shown with the top `fewshot_docs` documents retrieved for their own question.
  const exemplarDocs = new Map<string, Doc[]>();
  const fewshotDocs = suite.config.prompt.fewshot_docs;
  const needsExemplars = suite.points.some((p) => p.shots > 0 && p.context !== 'closed-book');
  if (needsExemplars && retriever && fewshotDocs > 0 && dataset.fewShot.length > 0) {
    const built = await buildContexts(dataset.fewShot, retriever, { mode: 'retrieved', k: fewshotDocs, order, seed: suite.seed, corpusById });
    for (const c of built) exemplarDocs.set(c.itemId, c.docs);
  }
  if (suite.points.some((p) => p.shots > 0) && dataset.fewShot.length === 0) {
    throw new InputError(`${suite.file}: the grid asks for few-shot exemplars but the dataset has no few-shot split (set \`dataset.fewshot\` or \`dataset.fewshot_size\`)`);
  }
  return { contexts, exemplarDocs };
}

interface PlannedSample {
  item: QaItem;
  point: GridPoint;
  context: ItemContext | undefined;
  request: GenerationRequest;
}

function planModel(
  suite: Suite,
  model: SuiteModel,
  loaded: LoadedModel,
  dataset: Dataset,
  contexts: ContextTable,
  exemplarDocs: Map<string, Doc[]>,
): Map<string, PlannedSample[]> {
  const plan = new Map<string, PlannedSample[]>(); // by format|pointKey
  for (const format of model.formats) {
    for (const point of suite.points) {
      const instruction = suite.instructions.get(point.instruction)!;
      const decoding = decodingFor(suite, point);
      const table = contexts.get(contextKey(point.context, point.k))!;
      const samples = dataset.items.map((item): PlannedSample => {
        const context = table.get(item.id);
        const exemplars = pickExemplars(dataset.fewShot, item, point.shots, suite.seed).map((ex) =>
          makeExemplar(ex, instruction.closedBook ? [] : (exemplarDocs.get(ex.id) ?? []), instruction, point.cot),
        );
        const input: PromptInput = { instruction, cot: point.cot, question: item.question, docs: context?.docs ?? [], exemplars };
        const prompt = renderPrompt(input, format, loaded.renderChat, model.name);
        return { item, point, context, request: { prompt, decoding } };
      });
      plan.set(`${format}|${pointKey(point)}`, samples);
    }
  }
  return plan;
}

function sampleRecord(
  suite: Suite,
  model: string,
  format: 'raw' | 'chat',
  planned: PlannedSample,
  generation: { text: string; finishReason: SampleRecord['finishReason']; promptTokens: number; completionTokens: number; latencyMs: number },
  excluded?: 'context-overflow',
): SampleRecord {
  const { item, point, context } = planned;
  const instruction = suite.instructions.get(point.instruction)!;
  const metrics = suite.config.metrics;
  const { scoredText, scores } = scoreResponse({
    response: generation.text,
    answers: item.answers,
    contextText: docText(context?.docs ?? []),
    cot: point.cot,
    proof: instruction.proof,
    rule: metrics.scoring_rule,
    refusalMarkers: metrics.refusal_markers,
  });
  const record: SampleRecord = {
    itemId: item.id,
    model,
    format,
    instruction: point.instruction,
    context: point.context,
    k: point.k,
    shots: point.shots,
    cot: point.cot,
    question: item.question,
    answers: item.answers,
    docIds: (context?.docs ?? []).map((d) => d.id),
    prompt: planned.request.prompt,
    response: generation.text,
    scoredText,
    // The context builder decided what the model was shown; it is the one source of this flag.
    scores: { ...scores, answerInContext: context?.answerInContext ?? false },
    finishReason: generation.finishReason,
    promptTokens: generation.promptTokens,
    completionTokens: generation.completionTokens,
    latencyMs: generation.latencyMs,
  };
  if (excluded) record.excluded = excluded;
  return record;
}

async function runModel(
  suite: Suite,
  model: SuiteModel,
  dataset: Dataset,
  contexts: ContextTable,
  exemplarDocs: Map<string, Doc[]>,
  samplesFile: SamplesFile,
  progress: Progress,
  manifest: Manifest,
): Promise<{ records: SampleRecord[]; timing: ModelTiming; overflow: number }> {
  progress.label(`loading ${model.name}`);
  const loadStart = performance.now();
  const loaded = await loadModel({
    backend: model.backend,
    name: model.name,
    source: model.source,
    dtype: model.dtype,
    device: model.device,
    cacheDir: model.cacheDir,
    allowRemote: model.allowRemote,
    batchSize: model.batchSize,
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  manifest.models[model.name] = { ...loaded.fingerprint, formats: model.formats, dtype: model.dtype, device: model.device };
  const records: SampleRecord[] = [];
  let overflow = 0;
  let generationMs = 0;
  let completionTokens = 0;
  let generated = 0;
  try {
    const plan = planModel(suite, model, loaded, dataset, contexts, exemplarDocs);
    for (const [key, planned] of plan) {
      const format = key.split('|', 1)[0] as 'raw' | 'chat';
      progress.label(`${model.name} ${key.replaceAll('|', ' ')}`);
      // Prompts that cannot fit are recorded, never generated, and excluded from both sides later.
      const fits: PlannedSample[] = [];
      const overflowRecords: SampleRecord[] = [];
      for (const p of planned) {
        const promptTokens = loaded.countTokens(p.request.prompt);
        if (promptTokens + p.request.decoding.maxNewTokens > loaded.contextLength) {
          overflowRecords.push(
            sampleRecord(suite, model.name, format, p, { text: '', finishReason: null, promptTokens, completionTokens: 0, latencyMs: 0 }, 'context-overflow'),
          );
        } else fits.push(p);
      }
      overflow += overflowRecords.length;
      await samplesFile.append(overflowRecords);
      records.push(...overflowRecords);
      progress.increment(overflowRecords.length);
      for (let start = 0; start < fits.length; start += model.batchSize) {
        const chunk = fits.slice(start, start + model.batchSize);
        const t0 = performance.now();
        const results = await loaded.generator.generate(chunk.map((p) => p.request));
        generationMs += performance.now() - t0;
        const chunkRecords = chunk.map((p, i) => sampleRecord(suite, model.name, format, p, results[i]!));
        for (const r of chunkRecords) completionTokens += r.completionTokens;
        generated += chunk.length;
        await samplesFile.append(chunkRecords);
        records.push(...chunkRecords);
        progress.increment(chunk.length);
      }
    }
  } finally {
    await loaded.dispose();
  }
  const generationSeconds = generationMs / 1000;
  return {
    records,
    overflow,
    timing: {
      samples: records.length,
      generatedSamples: generated,
      completionTokens,
      generationSeconds,
      tokensPerSecond: generationSeconds > 0 ? completionTokens / generationSeconds : 0,
      loadSeconds,
    },
  };
}

/** An item that overflowed any model at a grid point is excluded at that point for every model. */
function applyOverflowExclusions(records: SampleRecord[]): SampleRecord[] {
  const pointOf = (r: SampleRecord) => `${r.itemId}|${r.instruction}|${r.context}|${r.k}|${r.shots}|${r.cot}`;
  const overflowed = new Set(records.filter((r) => r.excluded === 'context-overflow').map(pointOf));
  if (overflowed.size === 0) return records;
  return records.map((r) => (r.excluded === undefined && overflowed.has(pointOf(r)) ? { ...r, excluded: 'context-overflow' as const } : r));
}

export function summarize(suite: Suite, records: SampleRecord[]): { cells: CellAggregate[]; pairs: PairRecord[] } {
  const effective = applyOverflowExclusions(records);
  const groups = new Map<string, SampleRecord[]>();
  for (const r of effective) {
    const key = cellKey(r);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const cells = [...groups.values()].map((samples) => aggregateCell(samples[0]!, samples));
  const pairs: PairRecord[] = [];
  const bootstrapSamples = suite.config.metrics.bootstrap_samples;
  for (const { base, instruct } of suite.pairs) {
    const instructModel = suite.models.find((m) => m.name === instruct)!;
    for (const point of suite.points) {
      const baseCell = { model: base, format: 'raw' as const, ...point };
      const baseSamples = groups.get(cellKey(baseCell));
      for (const format of instructModel.formats) {
        const instructCell = { model: instruct, format, ...point };
        const instructSamples = groups.get(cellKey(instructCell));
        if (!baseSamples || !instructSamples) continue;
        pairs.push(
          pairRecord({
            base: { ...baseCell, samples: baseSamples },
            instruct: { ...instructCell, samples: instructSamples },
            bootstrapSamples,
            seed: suite.seed,
          }),
        );
      }
    }
  }
  return { cells, pairs };
}

function retrievalKs(suite: Suite): number[] {
  const ks = new Set<number>(suite.config.retrieval.recall_at ?? []);
  for (const p of suite.points) if (p.context === 'retrieved') ks.add(p.k);
  return [...ks].sort((a, b) => a - b);
}

export async function runSuite(options: RunOptions): Promise<{ summary: RunSummary; outDir: string }> {
  const { suite, outDir } = options;
  const started = performance.now();
  const progress = createProgress(options.quiet ?? false);
  await ensureEmptyOutDir(outDir);
  const dataset = await prepareData(suite, options.limit);
  for (const point of suite.points) {
    if (point.context !== 'closed-book' && suite.config.retrieval.retriever === 'bm25' && point.k > dataset.corpus.length) {
      throw new InputError(`${suite.file}: k = ${point.k} is larger than the corpus (${dataset.corpus.length} documents)`);
    }
  }
  const dataFiles = [suite.data.path, suite.data.corpus, suite.data.fewshot].filter((f): f is string => f !== undefined);
  const manifest = await baseManifest({ suiteFile: suite.file, suiteSha256: suite.hash, config: suite.config, dataFiles, seed: suite.seed });

  const { retriever, fromCache } = await makeRetriever(suite, dataset, progress);
  const { contexts, exemplarDocs } = await prepareContexts(suite, dataset, retriever);
  const ks = retrievalKs(suite);
  const retrieval: RetrievalSummary = {
    retriever: retriever?.name ?? 'none',
    corpusSize: dataset.corpus.length,
    indexLoadedFromCache: fromCache,
    answerRecallAtK: retriever && ks.length > 0 ? await answerRecallAtK(dataset.items, retriever, ks) : [],
    answerInContext: Object.fromEntries(
      [...contexts].map(([key, table]) => {
        const shown = [...table.values()];
        return [key.replace('|', '@'), shown.filter((c) => c.answerInContext).length / Math.max(1, shown.length)];
      }),
    ),
  };

  const samplesFile = await SamplesFile.create(path.join(outDir, 'samples.jsonl'));
  const total = suite.models.reduce((sum, m) => sum + m.formats.length * suite.points.length * dataset.items.length, 0);
  const records: SampleRecord[] = [];
  const modelTiming: Record<string, ModelTiming> = {};
  const contextOverflow: Record<string, number> = {};
  progress.start(total, 'starting');
  try {
    for (const model of suite.models) {
      const result = await runModel(suite, model, dataset, contexts, exemplarDocs, samplesFile, progress, manifest);
      records.push(...result.records);
      modelTiming[model.name] = result.timing;
      contextOverflow[model.name] = result.overflow;
    }
  } finally {
    progress.stop();
    await samplesFile.close();
  }
  for (const [name, n] of Object.entries(contextOverflow)) {
    if (n > 0) progress.log(`note: ${n} prompt(s) exceeded the context length of model \`${name}\`; their items are excluded from every model at those grid points`);
  }
  const { cells, pairs } = summarize(suite, records);
  manifest.finishedAt = new Date().toISOString();
  const timing = { models: modelTiming, totalSeconds: (performance.now() - started) / 1000 };
  const summary: RunSummary = { suite: suite.name, items: dataset.items.length, cells, pairs, retrieval, contextOverflow, timing, manifest };
  await writeReports(outDir, summary);
  return { summary, outDir };
}
