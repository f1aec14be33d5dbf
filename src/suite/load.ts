// Reads a suite file: YAML → schema validation → semantic checks → absolute paths and the expanded
// grid. Every error names the file, the line and the field path, and says what is allowed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { closest } from 'fastest-levenshtein';
import { LineCounter, parseDocument, isMap, parse as parseYaml, type Document } from 'yaml';
import type { ZodIssue } from 'zod';
import { fromFormat } from '../aggregate/lineages.js';
import { clusterRule } from '../data/clusters.js';
import { FORMAT_NAMES, FORMATS, type DatasetFormat } from '../data/formats/formats.js';
import { mapsPassages, passagesWithoutIds } from '../data/formats/mapped.js';
import type { DatasetSpec } from '../data/load.js';
import { at, InputError, messageOf } from '../errors.js';
import { CONTEXT_MODES } from '../retrieval/contexts.js';
import { resolveDenseSettings, type DenseSettings } from '../retrieval/embedding-settings.js';
import { RETRIEVER_NAMES, RETRIEVERS } from '../retrieval/retrievers.js';
import type { ChatOptions } from '../prompts/chat-template.js';
import { customInstruction, PRESETS, type InstructionPreset } from '../prompts/presets.js';
import type { ReasoningSettings } from '../scoring/reasoning.js';
import type { PromptFormat } from '../types.js';
import { expandGrid, type ResolvedPoint } from './grid.js';
import { BACKENDS, BACKEND_NAMES, DEFAULT_BACKEND, type BackendName, type ModelEntry, type ModelSpec } from '../models/backends.js';
import type { BackendDefinition, SettingsContext } from '../models/backend.js';
import { suiteSchema, type SuiteFile } from './schema.js';

export interface SuiteModel {
  name: string;
  backend: BackendName;
  /** What the run identity records as the model's source: absolute file or folder, hub id, `openai:<id>`. */
  source: string;
  formats: PromptFormat[];
  /** Samples handed to the generator at a time. */
  batchSize: number;
  /** What the backend opens (paths resolved). */
  spec: ModelSpec;
  /** Backend settings beside the files in the generation-cache key. */
  identity: Record<string, string>;
  /** Backend settings the manifest records. */
  recorded: Record<string, string>;
  /** `false`: its generations bypass the generation cache, read and write (default true). */
  cacheGenerations?: boolean;
  /** How its chat prompts are made (also in `spec.chat`, for the backend). */
  chat: ChatOptions;
  /** Reasoning models: the thinking block is cut off before scoring. */
  reasoning?: ReasoningSettings;
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
  /** `lineages:` (docs/lineages.md): models in training order; empty when the suite declares none. */
  lineages: { name: string; stages: string[] }[];
  instructions: Map<string, InstructionPreset>;
  /** Every grid point (sweep variants included), each with its instruction, decoding and scoring. */
  points: ResolvedPoint[];
  /** What the dataset loader reads (absolute paths). */
  dataset: DatasetSpec;
  retrievalCacheDir?: string;
  /** The `retrieval.dense` block (paths resolved), for the retrievers that embed. */
  dense?: DenseSettings;
}

export type PathPart = string | number;

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

/** Allowed keys of the object at `fieldPath`, read from the schema's own shape (`data` picks a backend's). */
function allowedKeys(fieldPath: PathPart[], data: unknown): string[] {
  let schema: unknown = suiteSchema;
  let value: unknown = data;
  for (const part of fieldPath) {
    schema = unwrap(schema, value);
    value = typeof value === 'object' && value !== null ? (value as Record<PathPart, unknown>)[part] : undefined;
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (shape && typeof part === 'string' && part in shape) schema = shape[part];
    else if ((schema as { _def?: { typeName?: string } })._def?.typeName === 'ZodRecord') schema = (schema as { _def: { valueType: unknown } })._def.valueType;
    else if ((schema as { _def?: { typeName?: string } })._def?.typeName === 'ZodArray') schema = (schema as { _def: { type: unknown } })._def.type;
    else return [];
  }
  const shape = (unwrap(schema, value) as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown, value?: unknown): unknown {
  // Peel defaults, optionals, effects and the one-or-many unions down to the object schema; a
  // discriminated union (the model entry) gives the option that `value` names.
  let s = schema as { _def?: Record<string, unknown> };
  for (let i = 0; i < 10 && s?._def; i++) {
    const def = s._def;
    if (def.typeName === 'ZodDiscriminatedUnion') {
      const chosen = typeof value === 'object' && value !== null ? ((value as Record<string, unknown>)[def.discriminator as string] ?? DEFAULT_BACKEND) : DEFAULT_BACKEND;
      const option = (def.optionsMap as Map<unknown, unknown>).get(chosen);
      if (!option) break;
      s = option as { _def?: Record<string, unknown> };
      continue;
    }
    const next = def.innerType ?? def.schema ?? (def.typeName === 'ZodUnion' ? (def.options as unknown[])[0] : undefined);
    if (!next) break;
    s = next as { _def?: Record<string, unknown> };
  }
  return s;
}

function describeIssue(issue: ZodIssue, data: unknown): string {
  switch (issue.code) {
    case 'invalid_union_discriminator':
      return `got ${JSON.stringify(valueAt(data, issue.path as PathPart[]))}; allowed: ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`;
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

function valueAt(data: unknown, fieldPath: PathPart[]): unknown {
  let value = data;
  for (const part of fieldPath) value = typeof value === 'object' && value !== null ? (value as Record<PathPart, unknown>)[part] : undefined;
  return value;
}

/** Where a field's message points: `file:line`, or `--set key.path` for a field set on the command line. */
type Place = (fieldPath: PathPart[], key?: string) => string;

function issueMessages(rawIssue: ZodIssue, place: Place, data: unknown): string[] {
  return specificIssues(rawIssue).flatMap((issue) => singleIssueMessages(issue, place, data));
}

/** For a field of `models.<name>` that its backend does not take but another backend does: what to say. */
function foreignFieldMessage(fieldPath: PathPart[], key: string, data: unknown): string | undefined {
  if (fieldPath.length !== 2 || fieldPath[0] !== 'models') return undefined;
  const entry = valueAt(data, fieldPath) as { backend?: unknown } | undefined;
  const backend = (entry?.backend ?? DEFAULT_BACKEND) as BackendName;
  if (!Object.hasOwn(BACKENDS, backend)) return undefined;
  const owners = BACKEND_NAMES.filter((b) => b !== backend && key in BACKENDS[b].settings.shape);
  if (owners.length === 0) return undefined;
  const definition: { foreignField?: (field: string) => string | undefined } = BACKENDS[backend];
  return definition.foreignField?.(key) ?? `is for ${owners.map((b) => `\`backend: ${b}\``).join(' or ')} only`;
}

function singleIssueMessages(issue: ZodIssue, place: Place, data: unknown): string[] {
  const fieldPath = issue.path as PathPart[];
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(fieldPath, data);
    return issue.keys.map((key) => {
      const foreign = foreignFieldMessage(fieldPath, key, data);
      if (foreign !== undefined) return `${place(fieldPath, key)}: field \`${fieldName([...fieldPath, key])}\` ${foreign}`;
      const suggestion = allowed.length ? closest(key, allowed) : undefined;
      const hint = suggestion ? ` (did you mean \`${suggestion}\`?)` : '';
      const where = fieldPath.length ? ` in \`${fieldName(fieldPath)}\`` : '';
      return `${place(fieldPath, key)}: unknown field \`${key}\`${where}${hint}; allowed: ${allowed.join(', ')}`;
    });
  }
  return [`${place(fieldPath)}: field \`${fieldName(fieldPath)}\` ${describeIssue(issue, data)}`];
}

/** Changes made to a suite on the command line, applied to the parsed file before validation. */
export interface SuiteOverrides {
  /**
   * `key.path=value` settings (`ragtax run --set`), in order. The path is dotted, list elements
   * by index in brackets (`grid[0].k`; `grid.0.k` is read the same); the value is YAML (`50`,
   * `[1, 3]`, `true`, `{a: 1}`; a bare word is a string). Missing maps on the path are created.
   */
  set?: readonly string[];
  /** A further edit of the parsed file (after `set`), e.g. narrowing its models. */
  edit?: (data: Record<string, unknown>) => void;
}

/** One `--set` argument, split into its field path and parsed value. */
export function parseSetting(setting: string): { key: string; path: PathPart[]; value: unknown } {
  const eq = setting.indexOf('=');
  const key = eq === -1 ? setting : setting.slice(0, eq).trim();
  if (eq === -1 || key === '') throw new InputError(`--set ${setting}: expected key.path=value, e.g. --set decoding.max_new_tokens=50`);
  const parts: PathPart[] = [];
  for (const segment of key.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (segment === '') throw new InputError(`--set ${key}: empty field name in the path (write e.g. grid[0].k or decoding.max_new_tokens)`);
    parts.push(/^\d+$/.test(segment) ? Number(segment) : segment);
  }
  let value: unknown;
  try {
    value = parseYaml(setting.slice(eq + 1));
  } catch (error) {
    throw new InputError(`--set ${key}: invalid YAML value: ${messageOf(error).split('\n')[0]}`);
  }
  return { key, path: parts, value };
}

function applySetting(data: unknown, setting: string): { key: string; path: PathPart[] } {
  const { key, path: fieldPath, value } = parseSetting(setting);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new InputError(`--set ${key}: the suite file is not a map of fields`);
  let node = data as Record<PathPart, unknown>;
  for (const [i, part] of fieldPath.entries()) {
    const last = i === fieldPath.length - 1;
    const here = fieldName(fieldPath.slice(0, i)) || '(top level)';
    let slot: PathPart = part;
    if (Array.isArray(node)) {
      if (typeof part !== 'number') throw new InputError(`--set ${key}: \`${here}\` is a list; index it with a number, e.g. ${here}[0]`);
      if (part > node.length) throw new InputError(`--set ${key}: \`${here}\` has ${node.length} element(s) (indexes from 0)`);
    } else slot = String(part);
    if (last) {
      node[slot] = value;
      break;
    }
    const next = node[slot];
    if (next === undefined || next === null) node[slot] = typeof fieldPath[i + 1] === 'number' ? [] : {};
    else if (typeof next !== 'object') throw new InputError(`--set ${key}: \`${fieldName(fieldPath.slice(0, i + 1))}\` is ${JSON.stringify(next)}, not a map or list`);
    node = node[slot] as Record<PathPart, unknown>;
  }
  return { key, path: fieldPath };
}

export async function loadSuite(file: string, overrides: SuiteOverrides = {}): Promise<Suite> {
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
    throw new InputError(at(file, undefined, `invalid YAML: ${messageOf(error)}`));
  }
  // Command-line settings: a field at or under a set path is reported as `--set <key>`.
  const setPaths = (overrides.set ?? []).map((setting) => applySetting(data, setting));
  if (overrides.edit && typeof data === 'object' && data !== null && !Array.isArray(data)) overrides.edit(data as Record<string, unknown>);
  const samePart = (a: PathPart, b: PathPart) => String(a) === String(b);
  const place: Place = (fieldPath, key) => {
    const full = key === undefined ? fieldPath : [...fieldPath, key];
    const set = [...setPaths].reverse().find((s) => s.path.length <= full.length && s.path.every((p, i) => samePart(p, full[i]!)));
    if (set) return `--set ${set.key}`;
    const line = key === undefined ? lineOf(doc, lineCounter, fieldPath) : keyLine(doc, lineCounter, fieldPath, key);
    return line === undefined ? file : `${file}:${line}`;
  };
  const parsed = suiteSchema.safeParse(data);
  if (!parsed.success) {
    const messages = parsed.error.issues.flatMap((i) => issueMessages(i, place, data));
    throw new InputError([...new Set(messages)].join('\n'));
  }
  const config = parsed.data;
  const fail = (fieldPath: PathPart[], message: string): never => {
    throw new InputError(`${place(fieldPath)}: field \`${fieldName(fieldPath)}\` ${message}`);
  };
  const dir = path.dirname(absolute);
  const resolve = (p: string) => path.resolve(dir, p);

  // Instructions: presets plus the suite's own named ones.
  const instructions = new Map<string, InstructionPreset>(Object.entries(PRESETS));
  for (const [name, def] of Object.entries(config.instructions)) {
    if (instructions.has(name)) fail(['instructions', name], `redefines the preset \`${name}\`; choose another name`);
    instructions.set(name, customInstruction(name, def.text, { rejects: def.rejects, closedBook: def.closed_book }));
  }

  const models: SuiteModel[] = Object.entries(config.models).map(([name, entry]) => resolveModel(name, entry, {
    name,
    resolve,
    fail: (field, message) => fail(field.length === 0 ? ['models', name] : ['models', name, ...field], message),
  }, config.template_date));
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
  const lineages = config.lineages ?? [];
  lineages.forEach((lineage, i) => {
    const earlier = lineages.findIndex((l) => l.name === lineage.name);
    if (earlier < i) fail(['lineages', i, 'name'], `repeats the name \`${lineage.name}\` of \`lineages[${earlier}]\`; each lineage needs its own`);
    lineage.stages.forEach((stage, j) => {
      if (!modelNames.includes(stage)) fail(['lineages', i, 'stages', j], `names unknown model \`${stage}\`; models: ${modelNames.join(', ')}`);
      const first = lineage.stages.indexOf(stage);
      if (first < j) fail(['lineages', i, 'stages', j], `repeats \`${stage}\` (also \`lineages[${i}].stages[${first}]\`): a lineage's stages are distinct models in training order`);
    });
    // The format rule (src/aggregate/lineages.ts): the earlier stage is prompted in the later one's
    // format where it declares it, else raw; it must declare one of the two.
    const stages = lineage.stages.map((name) => models.find((m) => m.name === name)!);
    stages.slice(1).forEach((to, j) => {
      const from = stages[j]!;
      for (const format of to.formats) {
        if (fromFormat(from, format) === undefined) {
          fail(['lineages', i, 'stages', j], `\`${from.name}\` is prompted in ${from.formats.join(', ')} only, so it cannot be compared with \`${to.name}\` ${format} (the earlier stage takes the later one's format, else raw); add \`raw\` to \`models.${from.name}.formats\``);
        }
      }
    });
  });

  const points = expandGrid(config, instructions, fail);
  if (config.metrics.cluster_by !== undefined) {
    try {
      clusterRule(config.metrics.cluster_by);
    } catch (error) {
      fail(['metrics', 'cluster_by'], messageOf(error));
    }
  }
  const formatName = config.dataset.format ?? (config.dataset.fields !== undefined ? 'mapped' : 'ragtax');
  const format: DatasetFormat = FORMATS[formatName];
  const mappedNames = FORMAT_NAMES.filter((name) => (FORMATS[name] as DatasetFormat).mapped !== undefined).map((name) => `\`format: ${name}\``).join(', ');
  for (const key of ['fields', 'shape'] as const) {
    if (config.dataset[key] !== undefined && format.mapped === undefined) fail(['dataset', key], `is for the mapped formats only (${mappedNames}); \`${formatName}\` has a reader of its own`);
  }
  if (config.dataset.corpus_fields !== undefined && config.dataset.corpus === undefined) fail(['dataset', 'corpus_fields'], 'describes `dataset.corpus`, which is not set');
  const mapping = format.mapped !== undefined ? { preset: format.mapped, fields: config.dataset.fields, shape: config.dataset.shape } : undefined;
  const carriesPassages = mapping !== undefined && mapsPassages(mapping);
  if (config.dataset.corpus !== undefined && mapping !== undefined && carriesPassages && !format.ownCorpus) {
    const unnamed = passagesWithoutIds(mapping);
    if (unnamed.length > 0) {
      fail(['dataset', 'fields', 'passages'], `needs an \`id\` when \`dataset.corpus\` is given (${unnamed.join(', ')}): gold passages must be named by their corpus id; or leave out \`dataset.corpus\` to build the corpus from the items' passages`);
    }
  }
  const { retriever } = config.retrieval;
  // A field declared by another retriever would be ignored (defaults fill it in the parsed config,
  // so the raw YAML is what says whether the user wrote it).
  const rawRetrieval = (data as { retrieval?: unknown }).retrieval;
  if (typeof rawRetrieval === 'object' && rawRetrieval !== null) {
    const own = new Set(Object.keys(RETRIEVERS[retriever].settings));
    for (const key of Object.keys(rawRetrieval)) {
      const owners = RETRIEVER_NAMES.filter((name) => name !== retriever && key in RETRIEVERS[name].settings);
      if (!own.has(key) && owners.length > 0) fail(['retrieval', key], `is for ${owners.map((name) => `\`retriever: ${name}\``).join(' or ')} only (this suite uses \`retriever: ${retriever}\`)`);
    }
  }
  if (RETRIEVERS[retriever].needsEmbedder && config.retrieval.dense === undefined) {
    fail(['retrieval', 'retriever'], `\`${retriever}\` needs a \`retrieval.dense\` block naming the embedding model (\`model: <folder>\` or \`hf_id: <id>\`)`);
  }
  if (config.dataset.split !== undefined && !format.takesSplit) {
    const takers = FORMAT_NAMES.filter((name) => (FORMATS[name] as DatasetFormat).takesSplit).map((name) => `\`format: ${name}\``);
    fail(['dataset', 'split'], `is for ${takers.join(' or ')} only`);
  }
  if (RETRIEVERS[retriever].needsCorpus && !config.dataset.corpus && !format.ownCorpus && !carriesPassages && points.some((p) => CONTEXT_MODES[p.context].showsDocuments)) {
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
    lineages: lineages.map((l) => ({ name: l.name, stages: [...l.stages] })),
    instructions,
    points,
    dataset: {
      format: formatName,
      path: resolve(config.dataset.path),
      ...(config.dataset.fields !== undefined ? { fields: config.dataset.fields } : {}),
      ...(config.dataset.shape !== undefined ? { shape: config.dataset.shape } : {}),
      corpus: config.dataset.corpus !== undefined ? resolve(config.dataset.corpus) : undefined,
      ...(config.dataset.corpus_fields !== undefined ? { corpusFields: config.dataset.corpus_fields } : {}),
      // A run reads its data files again unchanged: their per-record checks are done once.
      skipRevalidation: true,
      fewshot: config.dataset.fewshot !== undefined ? resolve(config.dataset.fewshot) : undefined,
      // Exemplars are drawn (and removed from the evaluated items) only when the grid shows some;
      // from a separate few-shot file, all of them are kept.
      fewshotSize: config.dataset.fewshot !== undefined ? undefined : points.some((p) => p.shots > 0) ? config.dataset.fewshot_size : 0,
      seed: config.seed,
      split: config.dataset.split,
    },
    retrievalCacheDir: config.retrieval.cache_dir !== undefined ? resolve(config.retrieval.cache_dir) : undefined,
    dense: config.retrieval.dense !== undefined ? resolveDenseSettings(config.retrieval.dense, resolve) : undefined,
  };
}

/** A model entry through its backend's own resolver (src/models/<backend>/settings.ts). */
function resolveModel(name: string, entry: ModelEntry, context: SettingsContext, templateDate: string | undefined): SuiteModel {
  const backend = BACKENDS[entry.backend] as unknown as BackendDefinition<ModelEntry, Omit<ModelSpec, 'backend'>>;
  const resolved = backend.resolve(entry, context);
  const chat: ChatOptions = {
    ...(entry.system_role !== undefined ? { systemRole: entry.system_role } : {}),
    ...(entry.chat_template_kwargs !== undefined ? { templateKwargs: entry.chat_template_kwargs } : {}),
    ...(entry.chat_template_name !== undefined ? { templateName: entry.chat_template_name } : {}),
    ...(templateDate !== undefined ? { templateDate } : {}),
  };
  const reasoning = entry.reasoning?.strip ? { open: entry.reasoning.open, close: entry.reasoning.close } : undefined;
  return {
    name,
    backend: entry.backend,
    source: resolved.source,
    formats: [...new Set(entry.formats)],
    batchSize: resolved.batchSize,
    spec: { backend: entry.backend, ...resolved.spec, chat } as ModelSpec,
    identity: resolved.identity,
    recorded: resolved.recorded,
    ...(resolved.cacheGenerations === false ? { cacheGenerations: false } : {}),
    chat,
    ...(reasoning ? { reasoning } : {}),
  };
}
