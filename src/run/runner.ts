// `ragtax run`: suite → items → contexts → prompts → generations → scores → aggregates → reports.
// Contexts and exemplars are computed once, before any model runs, so every model of a comparison
// sees byte-identical documents; models are loaded one at a time to bound memory.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { summarize } from '../aggregate/summarize.js';
import { withClusters } from '../data/clusters.js';
import { loadDataset, sampleItems } from '../data/load.js';
import { InputError, messageOf } from '../errors.js';
import { CachingGenerator, modelCacheKey } from '../cache/caching-generator.js';
import { defaultGenerationCachePath, deleteAdvice, GenerationCache, generationKey, type CachedGeneration } from '../cache/generation-cache.js';
import { NaturalEndings } from '../cache/natural-endings.js';
import { modelFingerprint, openModel } from '../models/backends.js';
import { makeExemplar } from '../prompts/exemplars.js';
import { pickExemplars } from '../prompts/fewshot.js';
import { mergeSystemIntoFirstUser, rememberRendersIn } from '../prompts/chat-template.js';
import { buildMessages, renderChatPrompt, renderRaw, type PromptInput } from '../prompts/render.js';
import { promptOpensBlock } from '../scoring/reasoning.js';
import { openRetriever, retrievalManifest, RETRIEVERS, throttledProgressLog } from '../retrieval/retrievers.js';
import { hasJudgements, judgements, metricsDepth, retrievalMetrics } from '../retrieval/metrics.js';
import { onePass, type OnePassRetriever } from '../retrieval/one-pass.js';
import { trecRunDataFile } from '../retrieval/trec-run.js';
import { buildContexts, CONTEXT_MODES, kExceedsCorpus } from '../retrieval/contexts.js';
import { answerRecallAtK, isAnswerable } from '../retrieval/recall.js';
import { scoreResponse } from '../scoring/score.js';
import { coordinatesOf, pointKey, type ResolvedPoint } from '../suite/grid.js';
import type { Suite, SuiteModel } from '../suite/load.js';
import type { ChatMessage, ContextMode, Dataset, Doc, GenerationRequest, GenerationResult, Generator, ItemContext, LoadedModel, QaItem, Retriever, SampleRecord } from '../types.js';
import { gitState } from '../rundir/git-state.js';
import { baseManifest } from '../rundir/manifest.js';
import { identityDifferences, readRunFileForResume, recoverSamples, writeRunFile } from '../rundir/resume.js';
import { forEachRunSample } from '../rundir/read.js';
import { sampleKey } from '../rundir/sample-record.js';
import { SamplesFile } from '../rundir/samples-file.js';
import { RUN_FILE, SAMPLES_FILE, SUMMARY_FILE, type Manifest, type ModelTiming, type RetrievalSummary, type RunFile, type RunIdentity, type RunSummary } from '../rundir/types.js';
import { isAtomicLeftover, makeDirectory, removeAtomicLeftovers } from '../util/atomic-write.js';
import { sha256Json } from '../util/hash.js';
import { createProgress, type Progress } from './progress.js';
import { checkDeterminism, type DeterminismTarget } from './determinism.js';
import { writeReports } from '../report/write.js';
import { EmbeddableSamples, HTML_SAMPLE_CAP, HTML_TEXT_BUDGET } from '../report/html.js';
import { SampleTable } from '../aggregate/sample-table.js';
import { rememberIntervalsIn } from '../stats/bootstrap.js';
import { LastingIntervals } from '../stats/lasting-intervals.js';
import { LastingRenders } from '../prompts/lasting-renders.js';
import { cacheRoot } from '../util/cache-dir.js';

export interface RunOptions {
  suite: Suite;
  outDir: string;
  limit?: number;
  quiet?: boolean;
  /** Continue an interrupted run in `outDir` (see resume.ts) instead of requiring an empty directory. */
  resume?: boolean;
  /** Use the generation cache (default true). */
  cache?: boolean;
  /** Generation cache file (default <cacheRoot()>/generations.sqlite). */
  cachePath?: string;
  /** Re-generate this many finished samples per model without the cache and compare (determinism.ts); 0 or absent: none. */
  checkDeterminism?: number;
  /** The suite's data as `prepareData(suite, limit)` gives it, when the caller has already read it. */
  dataset?: Dataset;
}

/** Contexts for every (mode, k) the grid needs, keyed by `mode|k`, then by item id. */
type ContextTable = Map<string, Map<string, ItemContext>>;
const contextKey = (mode: string, k: number) => `${mode}|${k}`;

function docText(docs: readonly Doc[]): string {
  return docs.map((d) => `${d.title} ${d.text}`).join('\n');
}

/** The text of a context's documents, made once per context (every model, format and variant scores against it). */
const contextTexts = new WeakMap<ItemContext, string>();
function contextText(context: ItemContext | undefined): string {
  if (!context) return '';
  let text = contextTexts.get(context);
  if (text === undefined) contextTexts.set(context, (text = docText(context.docs)));
  return text;
}

async function ensureEmptyOutDir(outDir: string): Promise<void> {
  makeDirectory(outDir, { label: '--out ' });
  // Leftovers of a run killed during an atomic write do not make the folder a run: removed.
  const entries = (await readdir(outDir)).filter((name) => !isAtomicLeftover(name));
  if (entries.length > 0) {
    const hint = entries.includes(RUN_FILE) && !entries.includes(SUMMARY_FILE) ? '; it holds an unfinished run: add --resume to complete it' : '';
    throw new InputError(`${outDir}: output directory is not empty; choose another --out (existing results are never overwritten)${hint}`);
  }
  await removeAtomicLeftovers(outDir);
}

/** The model part of generation-cache keys and of a run's identity. */
function modelKeyOf(model: SuiteModel, fingerprint: LoadedModel['fingerprint']): string {
  return modelCacheKey(fingerprint, { backend: model.backend, ...model.identity });
}

/** What the manifest records of a model: its files, formats and the backend's recorded settings. */
function manifestEntry(model: SuiteModel, fingerprint: LoadedModel['fingerprint']): Manifest['models'][string] {
  const { systemRole, templateKwargs, templateName } = model.chat;
  const chat = { ...(systemRole ? { systemRole } : {}), ...(templateKwargs ? { templateKwargs } : {}), ...(templateName ? { templateName } : {}) };
  return {
    ...fingerprint,
    formats: model.formats,
    ...model.recorded,
    // How its chat prompts were made, where the suite changed the defaults.
    ...(Object.keys(chat).length > 0 ? { chat } : {}),
    ...(model.reasoning ? { reasoning: model.reasoning } : {}),
  };
}

/** Every (item, cell) key the suite asks for. */
function expectedKeys(suite: Suite, dataset: Dataset): Set<string> {
  const keys = new Set<string>();
  for (const model of suite.models)
    for (const format of model.formats)
      for (const point of suite.points)
        for (const item of dataset.items) keys.add(sampleKey({ itemId: item.id, model: model.name, format, ...coordinatesOf(point) }));
  return keys;
}

export async function prepareData(suite: Suite, limit: number | undefined): Promise<Dataset> {
  const d = suite.config.dataset;
  const dataset = await loadDataset(suite.dataset);
  const sampled = d.sample !== undefined ? sampleItems(dataset.items, d.sample, suite.seed) : dataset.items;
  const max = limit ?? d.limit;
  const limited = max !== undefined ? sampled.slice(0, max) : sampled;
  const clusterBy = suite.config.metrics.cluster_by;
  const items = clusterBy !== undefined ? withClusters(limited, clusterBy, suite.dataset.path) : limited;
  if (items.length === 0) throw new InputError(`${suite.dataset.path}: the dataset has no items to evaluate`);
  return { ...dataset, items };
}

/** The point shows documents (not closed-book). */
const showsDocuments = (point: { context: ContextMode }) => CONTEXT_MODES[point.context].showsDocuments;

/**
 * The suite's retriever (null when no grid point shows documents), searching each question once
 * (retrieval/one-pass.ts): every evaluated question is searched here, as deep as the run's contexts
 * and retrieval metrics read, and later searches are answered from that ranking; `ragtax run` and
 * `ragtax prompts` therefore show the same documents.
 */
export async function makeRetriever(suite: Suite, dataset: Dataset, progress: Progress): Promise<{ retriever: OnePassRetriever | null; fromCache: boolean | null }> {
  if (!suite.points.some(showsDocuments)) return { retriever: null, fromCache: null };
  // Indexes are loaded from the cache or built (with progress lines).
  const opened = await openRetriever(suite.config.retrieval.retriever, suite.config.retrieval, {
    suiteFile: suite.file,
    corpus: dataset.corpus,
    items: [...dataset.items, ...dataset.fewShot],
    dense: suite.dense,
    cacheDir: suite.retrievalCacheDir,
    onWarning: (m) => progress.log(`warning: ${m}`),
    onProgress: throttledProgressLog((m) => progress.log(m)),
  });
  const retriever = onePass(opened.retriever);
  try {
    const ks = retrievalKs(suite);
    const goldKs = goldMetricKs(suite, dataset);
    const contextDepth = Math.max(0, ...suite.points.map((p) => CONTEXT_MODES[p.context].searchDepth(p.k)));
    const byDepth = new Map<number, string[]>();
    for (const item of dataset.items) {
      const depth = passDepth(contextDepth, item, ks, goldKs);
      if (depth === 0) continue;
      const questions = byDepth.get(depth) ?? [];
      questions.push(item.question);
      byDepth.set(depth, questions);
    }
    for (const [depth, questions] of [...byDepth].sort((a, b) => b[0] - a[0])) await retriever.prefetch(questions, depth);
  } catch (error) {
    await retriever.dispose();
    throw error;
  }
  return { retriever, fromCache: opened.fromCache };
}

export async function prepareContexts(
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
    const built = await buildContexts(dataset.items, showsDocuments(point) ? retriever : null, {
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
  const needsExemplars = suite.points.some((p) => p.shots > 0 && showsDocuments(p));
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
  point: ResolvedPoint;
  context: ItemContext | undefined;
  request: GenerationRequest;
}

/** Everything one model's turn needs, prepared once before any model runs. */
interface Prepared {
  suite: Suite;
  dataset: Dataset;
  contexts: ContextTable;
  exemplarDocs: Map<string, Doc[]>;
  /**
   * Raw prompts and chat messages by `promptKey|itemId`: they do not depend on the model, nor on a
   * point's decoding or scoring, so every model and such points share one (made once, held once).
   * Models whose chat template is the same render each shared message list once
   * (prompts/chat-template.ts).
   */
  rawPrompts?: Map<string, string>;
  chatMessages?: Map<string, ChatMessage[]>;
}

/** Prompts of every (format, point) of one model, keyed `format|pointKey`. */
export function planModel(prepared: Prepared, model: SuiteModel, loaded: LoadedModel): Map<string, PlannedSample[]> {
  const { suite, dataset, contexts, exemplarDocs } = prepared;
  const rawPrompts = (prepared.rawPrompts ??= new Map());
  const chatMessages = (prepared.chatMessages ??= new Map());
  const plan = new Map<string, PlannedSample[]>();
  for (const format of model.formats) {
    for (const point of suite.points) {
      const { instruction, decoding } = point.settings;
      const table = contexts.get(contextKey(point.context, point.k))!;
      const pointId = pointKey(point);
      // What the prompt is made of (points that differ only in decoding or scoring share it).
      const promptId = JSON.stringify([instruction, point.cot, contextKey(point.context, point.k), point.shots]);
      const inputOf = (item: QaItem, context: ItemContext | undefined): PromptInput => {
        const exemplars = pickExemplars(dataset.fewShot, item, point.shots, suite.seed).map((ex) =>
          makeExemplar(ex, instruction.closedBook ? [] : (exemplarDocs.get(ex.id) ?? []), instruction, point.cot),
        );
        return { instruction, cot: point.cot, question: item.question, docs: context?.docs ?? [], exemplars };
      };
      const samples = dataset.items.map((item): PlannedSample => {
        const context = table.get(item.id);
        const promptKey = `${promptId}|${item.id}`;
        if (format === 'raw') {
          let prompt = rawPrompts.get(promptKey);
          if (prompt === undefined) rawPrompts.set(promptKey, (prompt = renderRaw(inputOf(item, context))));
          return { item, point, context, request: { prompt, decoding } };
        }
        let built = chatMessages.get(promptKey);
        if (built === undefined) chatMessages.set(promptKey, (built = buildMessages(inputOf(item, context))));
        if (loaded.acceptsMessages) {
          // The server applies its own template: the sample records the messages' compact JSON.
          const messages = model.chat.systemRole === 'merge' ? mergeSystemIntoFirstUser(built) : built;
          return { item, point, context, request: { prompt: JSON.stringify(messages), messages, decoding } };
        }
        // A rendered chat prompt carries its template's own special tokens: none are added to it.
        return { item, point, context, request: { prompt: renderChatPrompt(built, loaded.renderChat, model.name), decoding, chat: true } };
      });
      plan.set(`${format}|${pointId}`, samples);
    }
  }
  return plan;
}

function sampleRecord(
  suiteModel: SuiteModel,
  format: 'raw' | 'chat',
  planned: PlannedSample,
  generation: { text: string; finishReason: SampleRecord['finishReason']; promptTokens: number; completionTokens: number; latencyMs: number },
  excluded?: 'context-overflow',
): SampleRecord {
  const { item, point, context } = planned;
  const { instruction, scoring } = point.settings;
  const model = suiteModel.name;
  const reasoning = suiteModel.reasoning;
  const { scoredText, scores } = scoreResponse({
    response: generation.text,
    answers: item.answers,
    contextText: contextText(context),
    ...(context?.contextAnswers ? { contextAnswers: context.contextAnswers } : {}),
    cot: point.cot,
    proof: instruction.proof,
    rule: scoring.rule,
    refusalMarkers: scoring.refusalMarkers,
    ...(reasoning ? { reasoning: { ...reasoning, promptOpensBlock: promptOpensBlock(planned.request.prompt, reasoning) } } : {}),
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
    ...(point.variant !== undefined ? { variant: point.variant } : {}),
    ...(item.cluster !== undefined ? { cluster: item.cluster } : {}),
    question: item.question,
    answers: item.answers,
    docIds: (context?.docs ?? []).map((d) => d.id),
    ...(context?.contextAnswers ? { contextAnswers: context.contextAnswers } : {}),
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

/** At most this many records of cached samples wait to be written together. */
const CACHED_RECORDS_PER_WRITE = 1024;

interface ModelRun {
  model: SuiteModel;
  /** Opened up front (lazy weights), or null for a remote model that is opened on its turn. */
  opened: LoadedModel | null;
  /** Its prompts, planned up front with `opened` (kept for its turn, so each is rendered once). */
  plan: Map<string, PlannedSample[]> | null;
}

/** Where one model's turn writes, and what it skips. */
interface ModelTurn {
  /** samples.jsonl, and what the summary and report.html keep of each record. */
  samplesFile: {
    /** `wait: false`: the write may finish while the caller goes on (cached records only). */
    append(records: readonly SampleRecord[], options?: { wait?: boolean }): Promise<void>;
    /** Waits for the last write. */
    flush(): Promise<void>;
  };
  progress: Progress;
  manifest: Manifest;
  /** Sample keys kept from before a resume. */
  done: ReadonlySet<string>;
  cache: GenerationCache | null;
}

async function runModel(
  prepared: Prepared,
  run: ModelRun,
  { samplesFile, progress, manifest, done, cache }: ModelTurn,
): Promise<{ samples: number; overflow: number; timing: Omit<ModelTiming, 'samples' | 'resumedSamples'> }> {
  const { model } = run;
  if (model.cacheGenerations === false) cache = null; // `cache: false`: neither read nor written for this model
  let loadMs = 0;
  let loaded = run.opened;
  if (!loaded) {
    progress.label(`loading ${model.name}`);
    const t = performance.now();
    loaded = await openModel(model.spec);
    loadMs += performance.now() - t;
    manifest.models[model.name] = { ...manifestEntry(model, loaded.fingerprint), ...(loaded.promptStack ? { promptStack: loaded.promptStack } : {}) };
  }
  // Records go to samples.jsonl and are not kept here: the run keeps only their scores (a
  // SampleTable) and report.html's capped subset, so its memory does not grow with prompts and responses.
  let samples = 0;
  let overflow = 0;
  let generationMs = 0;
  let completionTokens = 0;
  let generated = 0;
  let cachedSamples = 0;
  let modelCalls = 0;
  let weightsLoaded = loaded.load === undefined;
  const notesAtStart = loaded.notes?.length ?? 0;
  for (const note of loaded.notes ?? []) progress.log(`note: model \`${model.name}\`: ${note}`);
  const model_ = loaded;
  // The model itself: weights loaded on the first call that reaches it, timed apart from generation.
  const direct: Generator = {
    async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
      if (!weightsLoaded) {
        progress.label(`loading ${model.name}`);
        const t = performance.now();
        await model_.load!();
        loadMs += performance.now() - t;
        weightsLoaded = true;
      }
      modelCalls += 1;
      const t0 = performance.now();
      const results = await model_.generator.generate(requests);
      generationMs += performance.now() - t0;
      return results;
    },
  };
  const cacheModelKey = modelKeyOf(model, loaded.fingerprint);
  const generator: Generator = cache ? new CachingGenerator(direct, cache, cacheModelKey, (m) => progress.log(`warning: ${m}`)) : direct;
  const endings = new NaturalEndings();
  try {
    const plan = run.plan ?? planModel(prepared, model, loaded);
    run.plan = null;
    for (const [key, allPlanned] of plan) {
      plan.delete(key); // each (format, point)'s prompts are freed once its samples are written
      const format = key.split('|', 1)[0] as 'raw' | 'chat';
      // A resumed run skips every (item, cell) that already has its record.
      const planned = done.size === 0 ? allPlanned : allPlanned.filter((p) => !done.has(sampleKey({ itemId: p.item.id, model: model.name, format, ...coordinatesOf(p.point) })));
      if (planned.length === 0) continue;
      progress.label(`${model.name} ${key.replaceAll('|', ' ')}`);
      // Prompts that cannot fit are recorded, never generated, and excluded from both sides later.
      const fits: PlannedSample[] = [];
      const overflowRecords: SampleRecord[] = [];
      // A cached generation was made before, so its prompt fitted: only misses need counting
      // (tokenising every prompt would dominate a warm re-run).
      const keys = cache ? planned.map((p) => generationKey(cacheModelKey, p.request)) : [];
      const hits: Map<string, CachedGeneration> = cache ? cache.getMany(keys) : new Map();
      // Hits are answered from this one lookup; only misses go through the caching generator (which
      // looks them up again, finding what earlier batches of this run stored), so that neither the
      // keys nor the lookups are made twice on a warm run.
      const hitOf = new Map<PlannedSample, CachedGeneration>();
      const reused: [string, CachedGeneration][] = [];
      planned.forEach((p, i) => {
        const hit = hits.get(keys[i]!);
        if (hit) hitOf.set(p, hit);
        else if (cache) {
          // The same request with another budget ended on its own earlier in this turn: the same
          // tokens (natural-endings.ts); stored under this request's key too.
          const ending = endings.find(p.request);
          if (ending) {
            hitOf.set(p, ending);
            reused.push([keys[i]!, ending]);
          }
        }
      });
      if (reused.length > 0) cache!.putMany(cacheModelKey, reused);
      const misses = planned.filter((p) => !hitOf.has(p));
      // An HTTP backend may count on its server, and may not know a count (null: not checked).
      const missCounts = loaded.countRequestTokens
        ? await loaded.countRequestTokens(misses.map((p) => p.request))
        : misses.map((p) => loaded.countTokens(p.request.prompt, p.request.chat === true));
      const countOf = new Map(misses.map((p, i) => [p, missCounts[i] ?? null]));
      const counts = planned.map((p) => (countOf.has(p) ? countOf.get(p)! : hitOf.get(p)!.promptTokens));
      for (const [i, p] of planned.entries()) {
        const promptTokens = counts[i] ?? 0;
        if (counts[i] !== null && promptTokens + p.request.decoding.maxNewTokens > loaded.contextLength) {
          overflowRecords.push(
            sampleRecord(model, format, p, { text: '', finishReason: null, promptTokens, completionTokens: 0, latencyMs: 0 }, 'context-overflow'),
          );
        } else fits.push(p);
      }
      // Batches of similar prompt length: a left-padded batch computes every row at the longest
      // row's length (stable sort, so the order stays deterministic).
      const tokensOf = new Map(planned.map((p, i) => [p, counts[i] ?? 0]));
      fits.sort((a, b) => tokensOf.get(a)! - tokensOf.get(b)!);
      // Records of cached samples are written in runs of up to CACHED_RECORDS_PER_WRITE (one write
      // per batch of 16 took about 50 ms of a warm quickstart); a batch with generated samples is
      // written as soon as it is done, so a killed run loses no sample that cost model time.
      const unwritten: SampleRecord[] = [...overflowRecords];
      samples += overflowRecords.length;
      overflow += overflowRecords.length;
      progress.increment(overflowRecords.length);
      for (let start = 0; start < fits.length; start += model.batchSize) {
        const chunk = fits.slice(start, start + model.batchSize);
        const toGenerate = chunk.filter((p) => !hitOf.has(p));
        const generatedResults = toGenerate.length > 0 ? await generator.generate(toGenerate.map((p) => p.request)) : [];
        let nextGenerated = 0;
        const chunkRecords = chunk.map((p) => {
          const hit = hitOf.get(p);
          // A hit costs no model time: latency 0, as the caching generator reports its own hits.
          const result: GenerationResult = hit ? { ...hit, latencyMs: 0, cached: true } : generatedResults[nextGenerated++]!;
          endings.add(p.request, result);
          const record = sampleRecord(model, format, p, result);
          if (result.cached) {
            record.cached = true;
            cachedSamples += 1;
          } else {
            completionTokens += record.completionTokens;
            generated += 1;
          }
          return record;
        });
        unwritten.push(...chunkRecords);
        if (toGenerate.length > 0 || unwritten.length >= CACHED_RECORDS_PER_WRITE) await samplesFile.append(unwritten.splice(0), { wait: toGenerate.length > 0 });
        samples += chunkRecords.length;
        progress.increment(chunk.length);
      }
      // Only cached and overflow records are left here (a batch with generated samples was written).
      await samplesFile.append(unwritten, { wait: false });
    }
    await samplesFile.flush();
  } finally {
    await loaded.dispose();
  }
  // Notes a backend made while generating (empty completions, a redacted key): logged, and kept in the manifest.
  const newNotes = (loaded.notes ?? []).slice(notesAtStart);
  for (const note of newNotes) progress.log(`note: model \`${model.name}\`: ${note}`);
  if (newNotes.length > 0 && manifest.models[model.name]) manifest.models[model.name] = { ...manifest.models[model.name]!, notes: loaded.notes };
  const generationSeconds = generationMs / 1000;
  return {
    samples,
    overflow,
    timing: {
      generatedSamples: generated,
      cachedSamples,
      modelCalls,
      weightsLoaded,
      completionTokens,
      generationSeconds,
      tokensPerSecond: generationSeconds > 0 ? completionTokens / generationSeconds : 0,
      loadSeconds: loadMs / 1000,
    },
  };
}

/**
 * `--check-determinism`: each model opened again (its weights loaded even when every sample came
 * from the cache), its prompts planned again, and a recorded sample replayed with the request it
 * was made from (none when the prompt no longer matches the record).
 */
function determinismTargets(prepared: Prepared, fingerprints: ReadonlyMap<string, LoadedModel['fingerprint'] | null>): DeterminismTarget[] {
  return prepared.suite.models.map((model) => ({
    name: model.name,
    batchSize: model.batchSize,
    async open() {
      const fingerprint = fingerprints.get(model.name) ?? null;
      const loaded = fingerprint ? await openModel(model.spec, { fingerprint }) : await openModel(model.spec);
      const byKey = new Map<string, { format: 'raw' | 'chat'; planned: PlannedSample }>();
      try {
        for (const [key, samples] of planModel(prepared, model, loaded)) {
          const format = key.split('|', 1)[0] as 'raw' | 'chat';
          for (const p of samples) byKey.set(sampleKey({ itemId: p.item.id, model: model.name, format, ...coordinatesOf(p.point) }), { format, planned: p });
        }
      } catch (error) {
        await loaded.dispose();
        throw error;
      }
      return {
        model: loaded,
        replayOf(record: SampleRecord) {
          const found = byKey.get(sampleKey(record));
          if (!found || found.planned.request.prompt !== record.prompt) return undefined;
          return { request: found.planned.request, correct: (result: GenerationResult) => sampleRecord(model, found.format, found.planned, result).scores.correct };
        },
      };
    },
  }));
}

/** Every context and exemplar document the run shows, and the retrieval summary; the retriever is freed after. */
async function retrieve(suite: Suite, dataset: Dataset, progress: Progress): Promise<{ contexts: ContextTable; exemplarDocs: Map<string, Doc[]>; retrieval: RetrievalSummary }> {
  // One retrieval pass (makeRetriever): the contexts, the answer recall and the gold metrics read
  // each question's one ranking.
  const { retriever, fromCache } = await makeRetriever(suite, dataset, progress);
  try {
    const { contexts, exemplarDocs } = await prepareContexts(suite, dataset, retriever);
    const ks = retrievalKs(suite);
    const goldKs = goldMetricKs(suite, dataset);
    const retrieval: RetrievalSummary = {
      retriever: retriever?.name ?? 'none',
      corpusSize: dataset.corpus.length,
      indexLoadedFromCache: fromCache,
      answerRecallAtK: retriever && ks.length > 0 ? await answerRecallAtK(dataset.items, retriever, ks) : [],
      ...(retriever && goldKs ? { goldMetrics: await retrievalMetrics(dataset.items, retriever, goldKs) } : {}),
      answerInContext: Object.fromEntries(
        [...contexts].map(([key, table]) => {
          const shown = [...table.values()];
          return [key.replace('|', '@'), shown.filter((c) => c.answerInContext).length / Math.max(1, shown.length)];
        }),
      ),
    };
    return { contexts, exemplarDocs, retrieval };
  } finally {
    await retriever?.dispose();
  }
}

/** An item's depth in the run's one pass: the deepest search its contexts, answer recall and gold metrics make (0: none). */
function passDepth(contextDepth: number, item: QaItem, ks: readonly number[], goldKs: readonly number[] | null): number {
  let depth = contextDepth;
  if (ks.length > 0 && isAnswerable(item)) depth = Math.max(depth, ...ks);
  if (goldKs && judgements(item)) depth = Math.max(depth, metricsDepth(goldKs));
  return depth;
}

function retrievalKs(suite: Suite): number[] {
  const ks = new Set<number>(suite.config.retrieval.recall_at ?? []);
  for (const p of suite.points) if (p.context === 'retrieved') ks.add(p.k);
  return [...ks].sort((a, b) => a - b);
}

/** The k of the gold metrics (the answer recall's, else 10), or null when no item has gold documents or qrels. */
function goldMetricKs(suite: Suite, dataset: Dataset): number[] | null {
  if (!hasJudgements(dataset.items)) return null;
  const ks = retrievalKs(suite);
  return ks.length > 0 ? ks : [10];
}

/**
 * A record of derived results kept across runs beside the generation cache (bootstrap intervals:
 * stats/lasting-intervals.ts; rendered chat prompts: prompts/lasting-renders.ts); none with
 * --no-cache, or when there is no cache folder.
 */
function openLasting<T extends { readonly file: string; readonly unreadable: string | null }>(
  options: RunOptions,
  warn: (message: string) => void,
  kind: { open(folder: string): T },
): T | undefined {
  if (options.cache === false) return undefined;
  let folder: string;
  try {
    folder = options.cachePath !== undefined ? path.dirname(options.cachePath) : cacheRoot();
  } catch {
    return undefined; // no cache folder: the generation cache has already said so
  }
  const lasting = kind.open(folder);
  if (lasting.unreadable !== null) warn(`cannot read ${lasting.file} (${lasting.unreadable}); it is made again`);
  return lasting;
}

/** A warning about the cache folder's files: they change what a run costs and what a re-run reuses, so it is shown even under --quiet. */
function cacheWarning(options: RunOptions, progress: Progress): (message: string) => void {
  return (message) => (options.quiet ? process.stderr.write(`warning: ${message}\n`) : progress.log(`warning: ${message}`));
}

function openCache(options: RunOptions, progress: Progress): GenerationCache | null {
  if (options.cache === false) return null;
  const file = options.cachePath ?? defaultGenerationCachePath();
  const warn = cacheWarning(options, progress);
  try {
    return GenerationCache.open(file, { onWarning: warn });
  } catch (error) {
    warn(`cannot open the generation cache ${file} (${messageOf(error)}); running without it: ${deleteAdvice(file)}`);
    return null;
  }
}

export async function runSuite(options: RunOptions): Promise<{ summary: RunSummary; outDir: string }> {
  const { outDir } = options;
  const started = performance.now();
  const git = gitState();
  const progress = createProgress(options.quiet ?? false);
  const stored = options.resume ? await readRunFileForResume(outDir) : null;
  const createdOutDir = !stored && !existsSync(outDir);
  if (!stored) await ensureEmptyOutDir(outDir);
  // A resumed run starts by removing the temporary files of writes its killed run left behind.
  else await removeAtomicLeftovers(outDir);
  // The day chat templates see as `strftime_now`: the suite's, else the run's first day (kept on resume).
  const templateDate = options.suite.config.template_date ?? stored?.manifest.templateDate ?? new Date().toISOString().slice(0, 10);
  const suite = withTemplateDate(options.suite, templateDate);
  try {
    return await runPrepared(suite, options, { stored, started, progress, templateDate, git });
  } catch (error) {
    // A run that failed before its run.json leaves no folder behind (an input error, typically).
    if (createdOutDir && existsSync(outDir) && readdirSync(outDir).length === 0) rmdirSync(outDir);
    throw error;
  }
}

/** The suite with the template day in every model's chat options (and so in its backend spec). */
export function withTemplateDate(suite: Suite, templateDate: string): Suite {
  return {
    ...suite,
    models: suite.models.map((m) => {
      const chat = { ...m.chat, templateDate };
      return { ...m, chat, spec: { ...m.spec, chat } };
    }),
  };
}

async function runPrepared(
  suite: Suite,
  options: RunOptions,
  { stored, started, progress, templateDate, git }: { stored: RunFile | null; started: number; progress: Progress; templateDate: string; git: Promise<Manifest['git']> },
): Promise<{ summary: RunSummary; outDir: string }> {
  const { outDir } = options;
  const dataset = options.dataset ?? (await prepareData(suite, options.limit));
  for (const point of suite.points) {
    const tooLarge = showsDocuments(point) && RETRIEVERS[suite.config.retrieval.retriever].needsCorpus ? kExceedsCorpus(point.k, dataset.corpus.length) : null;
    if (tooLarge !== null) throw new InputError(`${suite.file}: ${tooLarge}`);
  }
  const dataFiles = [suite.dataset.path, suite.dataset.corpus, suite.dataset.fewshot, trecRunDataFile(suite.file, suite.config.retrieval)].filter((f): f is string => f !== undefined);
  const manifest = await baseManifest({ suiteFile: suite.file, suiteSha256: suite.hash, config: suite.config, dataFiles, seed: suite.seed, git });
  manifest.templateDate = templateDate;
  manifest.retrieval = retrievalManifest(suite.config.retrieval);

  // Model files are validated and hashed before anything runs; weights load only when needed.
  const fingerprints = new Map<string, LoadedModel['fingerprint'] | null>();
  for (const model of suite.models) {
    const fingerprint = await modelFingerprint(model.spec);
    fingerprints.set(model.name, fingerprint);
    if (fingerprint) manifest.models[model.name] = manifestEntry(model, fingerprint);
  }
  const roleHash = (file: string | undefined) => (file !== undefined ? (manifest.data[file] ?? null) : null);
  const identity: RunIdentity = {
    suiteConfigSha256: sha256Json(suite.config),
    data: { items: roleHash(suite.dataset.path), corpus: roleHash(suite.dataset.corpus), fewshot: roleHash(suite.dataset.fewshot), 'TREC run': roleHash(trecRunDataFile(suite.file, suite.config.retrieval)) },
    models: Object.fromEntries(
      suite.models.map((m) => {
        const fingerprint = fingerprints.get(m.name);
        return [m.name, { key: fingerprint ? modelKeyOf(m, fingerprint) : null, source: m.source }];
      }),
    ),
    limit: options.limit ?? null,
  };
  const cache = openCache(options, progress);
  const generationCache = cache?.file ?? null;

  let runFile: RunFile;
  let previous: SampleRecord[] = [];
  const samplesPath = path.join(outDir, SAMPLES_FILE);
  if (stored) {
    const differences = identityDifferences(stored.identity, identity);
    if (differences.length > 0) {
      cache?.close();
      throw new InputError(
        `${outDir}: cannot resume: this run was made from a different suite or models (${differences.join('; ')}). ` +
          'Resume with the same suite, data, models and --limit, or start a new run with another --out.',
      );
    }
    const recovered = await recoverSamples(samplesPath, expectedKeys(suite, dataset)).catch((error: unknown) => {
      cache?.close();
      throw error;
    });
    previous = recovered.records;
    const entry = { at: new Date().toISOString(), samplesKept: previous.length, tornBytesDropped: recovered.tornBytesDropped };
    runFile = { ...stored, manifest: { ...stored.manifest, generationCache }, resumed: [...stored.resumed, entry] };
    if (recovered.tornBytesDropped > 0) progress.log(`note: dropped a torn last line (${recovered.tornBytesDropped} bytes) of ${samplesPath}`);
  } else {
    runFile = { format: 'ragtax-run/1', identity, manifest: { ...manifest, generationCache }, resumed: [] };
  }
  const { contexts, exemplarDocs, retrieval } = await retrieve(suite, dataset, progress);
  const prepared: Prepared = { suite, dataset, contexts, exemplarDocs };

  // Open every local model now (tokenizer and chat template only) and plan its prompts, so that a
  // suite asking for something a model cannot do fails before any generation.
  const runs: ModelRun[] = [];
  const warn = cacheWarning(options, progress);
  const lastingRenders = openLasting(options, warn, LastingRenders);
  rememberRendersIn(lastingRenders);
  try {
    for (const model of suite.models) {
      const fingerprint = fingerprints.get(model.name) ?? null;
      const opened = fingerprint ? await openModel(model.spec, { fingerprint }) : null;
      const run: ModelRun = { model, opened, plan: null };
      runs.push(run);
      if (opened) {
        run.plan = planModel(prepared, model, opened);
        if (opened.promptStack) runFile.manifest.models[model.name] = manifest.models[model.name] = { ...manifestEntry(model, opened.fingerprint), promptStack: opened.promptStack };
      }
    }
    // Written before any sample, once every prompt could be made: what the run is, so that it can
    // be resumed and checked.
    await writeRunFile(outDir, runFile);
  } catch (error) {
    for (const r of runs) await r.opened?.dispose();
    cache?.close();
    throw error;
  } finally {
    rememberRendersIn(undefined);
  }
  await lastingRenders?.save().catch((error: unknown) => warn(`cannot record rendered chat prompts in ${lastingRenders.file} (${messageOf(error)}); they will be rendered again next run`));

  const done = new Set(previous.map(sampleKey));
  // What the summary and report.html need of every record, kept as records are written (in the
  // file's order: the kept ones of a resumed run, then the new ones), so that samples.jsonl is not
  // read back (60 ms of a 1.8 s warm quickstart).
  const table = new SampleTable();
  const embeddable = new EmbeddableSamples(HTML_SAMPLE_CAP, HTML_TEXT_BUDGET);
  const keep = (records: readonly SampleRecord[]) => {
    for (const record of records) {
      table.add(record);
      embeddable.add(record);
    }
  };
  keep(previous);
  const file = await SamplesFile.create(samplesPath);
  // A write of cached records (which a re-run gets back for free) is left running while the next
  // records are made; one write at a time, in order, its failure raised by the next append or at
  // the end. Records with generated samples are on disk before the run goes on.
  let inFlight: Promise<void> = Promise.resolve();
  const samplesFile: ModelTurn['samplesFile'] = {
    async append(records, { wait = true } = {}) {
      await inFlight;
      keep(records);
      const writing = file.append(records);
      writing.catch(() => {}); // raised where it is awaited (the next append, or `flush`)
      inFlight = writing;
      if (wait) await writing;
    },
    flush: () => inFlight,
  };
  const total = suite.models.reduce((sum, m) => sum + m.formats.length * suite.points.length * dataset.items.length, 0);
  const overflowByModel = new Map<string, number>();
  for (const r of previous) if (r.excluded === 'context-overflow') overflowByModel.set(r.model, (overflowByModel.get(r.model) ?? 0) + 1);
  const modelTiming: Record<string, ModelTiming> = {};
  progress.start(total, 'starting');
  progress.increment(previous.length);
  try {
    for (const [i, modelRun] of runs.entries()) {
      try {
        const result = await runModel(prepared, modelRun, { samplesFile, progress, manifest, done, cache });
        overflowByModel.set(modelRun.model.name, (overflowByModel.get(modelRun.model.name) ?? 0) + result.overflow);
        const resumedSamples = previous.filter((r) => r.model === modelRun.model.name).length;
        modelTiming[modelRun.model.name] = { samples: resumedSamples + result.samples, resumedSamples, ...result.timing };
      } finally {
        modelRun.opened = null;
        // Models after a failing one were opened but never run.
        if (i < runs.length - 1 && modelTiming[modelRun.model.name] === undefined) {
          for (const later of runs.slice(i + 1)) await later.opened?.dispose();
        }
      }
    }
  } finally {
    progress.stop();
    // A write still running after a failure: finished (or failed) before the file closes.
    await samplesFile.flush().catch(() => {});
    await file.close();
    cache?.close();
  }
  const contextOverflow: Record<string, number> = {};
  for (const model of suite.models) {
    contextOverflow[model.name] = overflowByModel.get(model.name) ?? 0;
  }
  for (const [name, n] of Object.entries(contextOverflow)) {
    if (n > 0) progress.log(`note: ${n} prompt(s) exceeded the context length of model \`${name}\`; their items are excluded from every model at those grid points`);
  }
  previous = []; // the recovered records are in the file: no longer needed in memory
  // --check-determinism replays a few records: only then are full records read back.
  const records: SampleRecord[] = [];
  if ((options.checkDeterminism ?? 0) > 0) await forEachRunSample(outDir, (record) => records.push(record));
  const determinism = await checkDeterminism(determinismTargets(prepared, fingerprints), records, { n: options.checkDeterminism ?? 0, seed: suite.seed, log: (m) => progress.log(m) });
  records.length = 0;
  // Resume refuses repeats and each (item, cell) is generated once: a repeat here is a bug.
  if (table.duplicates > 0) throw new Error(`${samplesPath}: ${table.duplicates} repeated (item, cell) record(s): a bug upstream`);
  const lastingIntervals = openLasting(options, warn, LastingIntervals);
  rememberIntervalsIn(lastingIntervals);
  let summarized: ReturnType<typeof summarize>;
  try {
    summarized = summarize(suite, table);
  } finally {
    rememberIntervalsIn(undefined);
  }
  await lastingIntervals?.save().catch((error: unknown) => warn(`cannot record bootstrap intervals in ${lastingIntervals.file} (${messageOf(error)}); they will be computed again next run`));
  const { cells, pairs, statistics, lineages, knowledge } = summarized;
  // The manifest of a resumed run is the one written at its start, plus the list of resumptions.
  const finalManifest: Manifest = stored ? { ...runFile.manifest, models: { ...runFile.manifest.models, ...manifest.models } } : { ...runFile.manifest, models: manifest.models };
  if (runFile.resumed.length > 0) finalManifest.resumed = runFile.resumed;
  finalManifest.finishedAt = new Date().toISOString();
  const timing = { models: modelTiming, totalSeconds: (performance.now() - started) / 1000 };
  const summary: RunSummary = { suite: suite.name, items: dataset.items.length, cells, pairs, statistics, retrieval, contextOverflow, timing, manifest: finalManifest };
  // The suite's chosen headline comparison, for report.html (the terminal gets it from the suite).
  if (suite.config.headline !== undefined) summary.headline = suite.config.headline;
  if (lineages) summary.lineages = lineages;
  if (knowledge) summary.knowledge = knowledge;
  if (determinism) summary.determinism = determinism;
  await writeReports(outDir, summary, embeddable);
  return { summary, outDir };
}
