// Reads a suite file: YAML → schema validation → semantic checks → absolute paths and the expanded
// grid. Every error names the file, the line and the field path, and says what is allowed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { closest } from 'fastest-levenshtein';
import { LineCounter, parseDocument, isMap, type Document } from 'yaml';
import type { ZodIssue } from 'zod';
import { InputError, at } from '../errors.js';
import { customInstruction, PRESETS, RGB_REFUSAL_MARKER, withRgbRefusal, type InstructionPreset } from '../prompts/presets.js';
import type { ScoringRule } from '../scoring/first-line.js';
import type { Cell, DecodingParams, PromptFormat } from '../types.js';
import { suiteSchema, type ModelEntry, type SuiteFile, type SweepConfig } from './schema.js';

/** A cell without its model and format: one configuration of the grid, shared by every model. */
export type GridPoint = Omit<Cell, 'model' | 'format'>;

/** What a sweep variant changes relative to the suite's own settings. */
export interface VariantSettings {
  maxNewTokens?: number;
  refusal?: 'rgb';
  scoringRule?: ScoringRule;
}

export interface SuiteModel {
  name: string;
  backend: 'transformers' | 'openai' | 'gguf';
  /** Absolute folder or Hugging Face id. */
  source: string;
  formats: PromptFormat[];
  dtype: string;
  device: 'cpu' | 'cuda' | 'webgpu' | 'vulkan';
  batchSize: number;
  allowRemote: boolean;
  cacheDir?: string;
  /** `backend: gguf` settings (src/models/gguf.ts); `source` is the .gguf file. */
  gguf?: { gpuLayers?: number; contextSize?: number; threads?: number; kvCache?: 'f16' | 'f32' };
  /** `backend: openai` settings (src/models/openai.ts), paths resolved. */
  openai?: SuiteOpenAI;
}

/** A suite's `backend: openai` model entry. */
export interface SuiteOpenAI {
  endpoints: string[];
  model: string;
  apiKeyEnv?: string;
  chatMode: 'server' | 'rendered';
  tokenizer?: string;
  concurrency: number;
  timeoutS?: number;
  maxRetries?: number;
  maxStops?: number;
  contextLength?: number;
}

/** The suite's `retrieval.dense` block, paths resolved. */
export interface SuiteDense {
  /** Absolute folder or Hugging Face id of the embedding model. */
  source: string;
  pooling?: 'mean' | 'cls';
  normalize?: boolean;
  queryPrefix?: string;
  passagePrefix?: string;
  batchSize: number;
  maxLength?: number;
  dtype: string;
  index: 'auto' | 'exact' | 'hnsw';
  m: number;
  efConstruction: number;
  efSearch: number;
  allowRemote: boolean;
  cacheDir?: string;
}

export interface Suite {
  file: string;
  /** sha256 of the suite file's bytes. */
  hash: string;
  config: SuiteFile;
  name: string;
  seed: number;
  models: SuiteModel[];
  pairs: { base: string; instruct: string }[];
  instructions: Map<string, InstructionPreset>;
  points: GridPoint[];
  /** Sweep variants by label, e.g. `max_new_tokens=50` → { maxNewTokens: 50 }. */
  variants: Map<string, VariantSettings>;
  /** Absolute data paths. */
  data: { path: string; corpus?: string; fewshot?: string };
  retrievalCacheDir?: string;
  /** Set when the retriever is `dense` or `hybrid`. */
  dense?: SuiteDense;
}

export function pointKey(p: GridPoint): string {
  return `${p.instruction}|${p.context}|k=${p.k}|shots=${p.shots}|cot=${p.cot}${p.variant !== undefined ? `|${p.variant}` : ''}`;
}

function variantOf(suite: Suite, point: GridPoint): VariantSettings {
  return point.variant !== undefined ? (suite.variants.get(point.variant) ?? {}) : {};
}

/** The instruction a grid point shows (a refusal-wording variant swaps in RGB's sentence). */
export function instructionFor(suite: Suite, point: GridPoint): InstructionPreset {
  const instruction = suite.instructions.get(point.instruction)!;
  return variantOf(suite, point).refusal === 'rgb' ? withRgbRefusal(instruction)! : instruction;
}

/** How a grid point's responses are scored. */
export function scoringFor(suite: Suite, point: GridPoint): { rule: ScoringRule; refusalMarkers: string[] } {
  const settings = variantOf(suite, point);
  const metrics = suite.config.metrics;
  return {
    rule: settings.scoringRule ?? metrics.scoring_rule,
    refusalMarkers: settings.refusal === 'rgb' ? [RGB_REFUSAL_MARKER] : metrics.refusal_markers,
  };
}

/** Decoding parameters of a grid point: CoT and proof cells get their own token budget and stops. */
export function decodingFor(suite: Suite, point: GridPoint): DecodingParams {
  const d = suite.config.decoding;
  const instruction = suite.instructions.get(point.instruction)!;
  const override = point.cot ? d.cot : instruction.proof ? d.proof : {};
  return {
    maxNewTokens: variantOf(suite, point).maxNewTokens ?? override.max_new_tokens ?? d.max_new_tokens,
    stop: override.stop ?? (point.cot || instruction.proof ? [] : d.stop),
    temperature: 0,
    repetitionPenalty: d.repetition_penalty,
    seed: suite.seed,
  };
}

type PathPart = string | number;

function lineOf(doc: Document, lineCounter: LineCounter, fieldPath: PathPart[]): number | undefined {
  // Walk up until a node with a position is found (a missing field points at its parent).
  for (let depth = fieldPath.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(fieldPath.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lineCounter.linePos(range[0]).line;
  }
  return undefined;
}

function keyLine(doc: Document, lineCounter: LineCounter, parent: PathPart[], key: string): number | undefined {
  const node = parent.length === 0 ? doc.contents : doc.getIn(parent, true);
  if (isMap(node)) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
    const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
    if (range) return lineCounter.linePos(range[0]).line;
  }
  return lineOf(doc, lineCounter, parent);
}

function fieldName(fieldPath: PathPart[]): string {
  return fieldPath.length === 0 ? '(top level)' : fieldPath.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

/** Allowed keys of the object at `fieldPath`, read from the schema's own shape. */
function allowedKeys(fieldPath: PathPart[]): string[] {
  let schema: unknown = suiteSchema;
  for (const part of fieldPath) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (shape && typeof part === 'string' && part in shape) schema = shape[part];
    else if ((schema as { _def?: { typeName?: string } })._def?.typeName === 'ZodRecord') schema = (schema as { _def: { valueType: unknown } })._def.valueType;
    else if ((schema as { _def?: { typeName?: string } })._def?.typeName === 'ZodArray') schema = (schema as { _def: { type: unknown } })._def.type;
    else return [];
  }
  const shape = (unwrap(schema) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  // Peel defaults, optionals, effects and the one-or-many unions down to the object schema.
  let s = schema as { _def?: Record<string, unknown> };
  for (let i = 0; i < 10 && s?._def; i++) {
    const def = s._def;
    const next = def.innerType ?? def.schema ?? (def.typeName === 'ZodUnion' ? (def.options as unknown[])[0] : undefined);
    if (!next) break;
    s = next as { _def?: Record<string, unknown> };
  }
  return s;
}

function describeIssue(issue: ZodIssue): string {
  switch (issue.code) {
    case 'invalid_enum_value':
      return `got ${JSON.stringify(issue.received)}; allowed: ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`;
    case 'invalid_type':
      return issue.received === 'undefined' ? `is required (${issue.expected})` : `expected ${issue.expected}, got ${issue.received}`;
    case 'invalid_union':
      return 'expected a single value or a list of values of the allowed type';
    default:
      return issue.message;
  }
}

/** For a one-or-many union, the issues of the branch that got furthest (the most specific ones). */
function specificIssues(issue: ZodIssue): ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const branches = issue.unionErrors.map((e) => e.issues.flatMap(specificIssues));
  const depth = (issues: ZodIssue[]) => Math.max(...issues.map((i) => (i.code === 'invalid_type' ? -1 : i.path.length)));
  const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  return depth(best) > issue.path.length ? best : [issue];
}

function issueMessages(rawIssue: ZodIssue, file: string, doc: Document, lineCounter: LineCounter): string[] {
  return specificIssues(rawIssue).flatMap((issue) => singleIssueMessages(issue, file, doc, lineCounter));
}

function singleIssueMessages(issue: ZodIssue, file: string, doc: Document, lineCounter: LineCounter): string[] {
  const fieldPath = issue.path as PathPart[];
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(fieldPath);
    return issue.keys.map((key) => {
      const suggestion = allowed.length ? closest(key, allowed) : undefined;
      const hint = suggestion ? ` (did you mean \`${suggestion}\`?)` : '';
      const where = fieldPath.length ? ` in \`${fieldName(fieldPath)}\`` : '';
      return at(file, keyLine(doc, lineCounter, fieldPath, key), `unknown field \`${key}\`${where}${hint}; allowed: ${allowed.join(', ')}`);
    });
  }
  return [at(file, lineOf(doc, lineCounter, fieldPath), `field \`${fieldName(fieldPath)}\` ${describeIssue(issue)}`)];
}

export async function loadSuite(file: string): Promise<Suite> {
  const absolute = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch {
    throw new InputError(`${file}: suite file not found`);
  }
  const text = bytes.toString('utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = lineCounter.linePos(e.pos[0]).line;
    throw new InputError(at(file, line, `invalid YAML: ${e.message.split('\n')[0]}`));
  }
  let data: unknown;
  try {
    // Throws on an alias without its anchor, or on aliases that expand too much (a YAML bomb).
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new InputError(at(file, undefined, `invalid YAML: ${error instanceof Error ? error.message : String(error)}`));
  }
  const parsed = suiteSchema.safeParse(data);
  if (!parsed.success) {
    const messages = parsed.error.issues.flatMap((i) => issueMessages(i, file, doc, lineCounter));
    throw new InputError([...new Set(messages)].join('\n'));
  }
  const config = parsed.data;
  const fail = (fieldPath: PathPart[], message: string): never => {
    throw new InputError(at(file, lineOf(doc, lineCounter, fieldPath), `field \`${fieldName(fieldPath)}\` ${message}`));
  };
  const dir = path.dirname(absolute);
  const resolve = (p: string) => path.resolve(dir, p);

  // Instructions: presets plus the suite's own named ones.
  const instructions = new Map<string, InstructionPreset>(Object.entries(PRESETS));
  for (const [name, def] of Object.entries(config.instructions)) {
    if (instructions.has(name)) fail(['instructions', name], `redefines the preset \`${name}\`; choose another name`);
    instructions.set(name, customInstruction(name, def.text, { rejects: def.rejects, closedBook: def.closed_book }));
  }

  const models: SuiteModel[] = Object.entries(config.models).map(([name, m]: [string, ModelEntry]) => ({
    name,
    backend: m.backend,
    source: m.backend === 'openai' ? `openai:${m.model}` : m.path !== undefined ? resolve(m.path) : m.hf_id!,
    formats: [...new Set(m.formats)],
    dtype: m.dtype,
    device: m.device,
    batchSize: m.backend === 'openai' ? openaiBatchSize(m) : m.batch_size,
    allowRemote: m.allow_remote,
    cacheDir: m.cache_dir !== undefined ? resolve(m.cache_dir) : undefined,
    ...(m.backend === 'openai' ? { openai: openaiOf(name, m, resolve, fail) } : {}),
    ...(m.backend === 'gguf' ? { gguf: ggufOf(name, m, fail) } : {}),
  }));
  for (const [name, m] of Object.entries(config.models)) {
    if (m.backend === 'gguf') continue;
    const stray = GGUF_FIELDS.find((f) => m[f] !== undefined);
    if (stray) fail(['models', name, stray], 'is for `backend: gguf` only');
    if (m.device === 'vulkan') fail(['models', name, 'device'], '`vulkan` is for `backend: gguf`; the transformers backend takes cpu, cuda or webgpu');
  }
  for (const [name, m] of Object.entries(config.models)) {
    if (m.backend === 'openai') continue;
    const stray = OPENAI_FIELDS.find((f) => m[f] !== undefined);
    if (stray) fail(['models', name, stray], 'is for `backend: openai` only');
  }
  const modelNames = models.map((m) => m.name);
  config.pairs.forEach((pair, i) => {
    for (const role of ['base', 'instruct'] as const) {
      if (!modelNames.includes(pair[role])) {
        fail(['pairs', i, role], `names unknown model \`${pair[role]}\`; models: ${modelNames.join(', ')}`);
      }
    }
    const base = models.find((m) => m.name === pair.base)!;
    if (!base.formats.includes('raw')) fail(['models', base.name, 'formats'], 'must include `raw`: a base model is compared in the raw format');
    if (pair.base === pair.instruct) fail(['pairs', i], 'pairs a model with itself');
  });

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
  const ownCorpus = config.dataset.format === 'litm' || config.dataset.format === 'squad2' || config.dataset.format === 'beir';
  const { retriever } = config.retrieval;
  if ((retriever === 'dense' || retriever === 'hybrid') && config.retrieval.dense === undefined) {
    fail(['retrieval', 'retriever'], `\`${retriever}\` needs a \`retrieval.dense\` block naming the embedding model (\`model: <folder>\` or \`hf_id: <id>\`)`);
  }
  if (config.dataset.split !== undefined && config.dataset.format !== 'beir') fail(['dataset', 'split'], 'is for `format: beir` only');
  if (retriever !== 'precomputed' && !config.dataset.corpus && !ownCorpus && [...points.values()].some((p) => p.context !== 'closed-book')) {
    fail(['dataset', 'corpus'], `is required by the ${retriever} retriever (or use \`retriever: precomputed\` with a dataset that carries contexts, or closed-book instructions only)`);
  }

  return {
    file: absolute,
    hash: createHash('sha256').update(bytes).digest('hex'),
    config,
    name: config.name,
    seed: config.seed,
    models,
    pairs: config.pairs,
    instructions,
    points: [...points.values()],
    variants,
    data: {
      path: resolve(config.dataset.path),
      corpus: config.dataset.corpus !== undefined ? resolve(config.dataset.corpus) : undefined,
      fewshot: config.dataset.fewshot !== undefined ? resolve(config.dataset.fewshot) : undefined,
    },
    retrievalCacheDir: config.retrieval.cache_dir !== undefined ? resolve(config.retrieval.cache_dir) : undefined,
    dense: denseOf(config.retrieval.dense, resolve),
  };
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

function denseOf(d: SuiteFile['retrieval']['dense'], resolve: (p: string) => string): SuiteDense | undefined {
  if (d === undefined) return undefined;
  return {
    source: d.model !== undefined ? resolve(d.model) : d.hf_id!,
    pooling: d.pooling,
    normalize: d.normalize,
    queryPrefix: d.query_prefix,
    passagePrefix: d.passage_prefix,
    batchSize: d.batch_size,
    maxLength: d.max_length,
    dtype: d.dtype,
    index: d.index,
    m: d.m,
    efConstruction: d.ef_construction,
    efSearch: d.ef_search,
    allowRemote: d.allow_remote,
    cacheDir: d.cache_dir !== undefined ? resolve(d.cache_dir) : undefined,
  };
}

const OPENAI_FIELDS = ['endpoints', 'model', 'api_key_env', 'chat_mode', 'tokenizer', 'concurrency', 'timeout_s', 'max_retries', 'max_stops', 'context_length'] as const;
const DEFAULT_CONCURRENCY = 8;

/** Samples handed to an HTTP backend at a time: at least two per request slot, so every replica stays busy. */
function openaiBatchSize(m: ModelEntry): number {
  const slots = (m.concurrency ?? DEFAULT_CONCURRENCY) * (m.endpoints?.length ?? 1);
  return Math.max(m.batch_size, 2 * slots);
}

function openaiOf(name: string, m: ModelEntry, resolve: (p: string) => string, fail: (fieldPath: PathPart[], message: string) => never): SuiteOpenAI {
  const chatMode = m.chat_mode ?? 'server';
  if (chatMode === 'rendered' && m.tokenizer === undefined) {
    fail(['models', name, 'chat_mode'], '`rendered` needs `tokenizer: <folder>` (a local tokenizer with a chat_template) to render the template');
  }
  if (m.dtype !== 'fp32' || m.device !== 'cpu' || m.allow_remote || m.cache_dir !== undefined) {
    const field = m.dtype !== 'fp32' ? 'dtype' : m.device !== 'cpu' ? 'device' : m.allow_remote ? 'allow_remote' : 'cache_dir';
    fail(['models', name, field], 'is for in-process backends; with `backend: openai` the server decides it');
  }
  return {
    endpoints: [...new Set(m.endpoints!)],
    model: m.model!,
    apiKeyEnv: m.api_key_env,
    chatMode,
    tokenizer: m.tokenizer !== undefined ? resolve(m.tokenizer) : undefined,
    concurrency: m.concurrency ?? DEFAULT_CONCURRENCY,
    timeoutS: m.timeout_s,
    maxRetries: m.max_retries,
    maxStops: m.max_stops,
    contextLength: m.context_length,
  };
}

const GGUF_FIELDS = ['gpu_layers', 'context_size', 'threads', 'kv_cache'] as const;

function ggufOf(name: string, m: ModelEntry, fail: (fieldPath: PathPart[], message: string) => never): NonNullable<SuiteModel['gguf']> {
  if (m.path === undefined) fail(['models', name], '`backend: gguf` needs `path: <file.gguf>` (a local GGUF file; no `hf_id`)');
  if (m.device === 'webgpu') fail(['models', name, 'device'], '`backend: gguf` takes cpu, cuda or vulkan');
  if (m.dtype !== 'fp32' || m.allow_remote || m.cache_dir !== undefined) {
    const field = m.dtype !== 'fp32' ? 'dtype' : m.allow_remote ? 'allow_remote' : 'cache_dir';
    fail(['models', name, field], 'is not used by `backend: gguf` (the GGUF file fixes the weights\' types and is always local)');
  }
  if (m.device === 'cpu' && m.gpu_layers !== undefined && m.gpu_layers > 0) {
    fail(['models', name, 'gpu_layers'], 'needs `device: cuda` or `device: vulkan`');
  }
  return { gpuLayers: m.gpu_layers, contextSize: m.context_size, threads: m.threads, kvCache: m.kv_cache };
}
