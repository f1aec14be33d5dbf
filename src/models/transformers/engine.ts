// Local ONNX decoders through @huggingface/transformers (onnxruntime-node): loading with
// up-front folder validation, batched greedy generation with left padding, per-row stop
// strings and EOS, token counting, the model's own chat template and a weights fingerprint.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  LogitsProcessor,
  LogitsProcessorList,
  StoppingCriteria,
  StoppingCriteriaList,
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { InputError, messageOf, RuntimeFailure, TemplateError } from '../../errors.js';
import { checkedChatRenderer, pinnedTemplate, readChatTemplate, templateVariables, type ChatOptions, type ChatTemplate } from '../../prompts/chat-template.js';
import { sha256File } from '../../util/hash.js';
import { cutAtStop } from '../stop-strings.js';
import { kvDecoder, kvGreedyDecode, type KvDecoder } from './kv-decode.js';
import type { TransformersModelSpec } from './settings.js';
import type { ModelEngine } from '../backend.js';
import type {
  ChatRenderer,
  DecodingParams,
  FinishReason,
  GenerationRequest,
  GenerationResult,
  LoadedModel,
  ModelFingerprint,
} from '../../types.js';

/** transformers.js file suffix of each dtype (onnx/model{suffix}.onnx). */
const DTYPE_SUFFIX: Readonly<Record<string, string>> = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};
const DEVICES = ['cpu', 'cuda', 'webgpu'] as const;
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];
const CONTEXT_KEYS = ['max_position_embeddings', 'n_positions', 'max_seq_len', 'seq_length', 'n_ctx', 'max_sequence_length'];
const DEFAULT_BATCH_SIZE = 16;

type Json = Record<string, unknown>;
type GenerateOptions = Parameters<PreTrainedModel['generate']>[0];

export async function loadTransformersModel(spec: TransformersModelSpec): Promise<LoadedModel> {
  const { dtype, device, batchSize, folder, config, target, options } = await prepare(spec);
  const tokenizer = await loadTokenizer(spec, target, options);
  const model = await loadWeights(spec, target, options, dtype, device);
  try {
    return await describeLoaded(spec, { model, tokenizer, folder, config, dtype, batchSize, device });
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

/**
 * Fingerprint of a model's files without loading it (the folder is validated first), or null for a
 * Hugging Face id that is not downloaded yet (its files are only known after loading).
 */
export async function fingerprintModel(spec: TransformersModelSpec): Promise<ModelFingerprint | null> {
  const dtype = spec.dtype ?? 'fp32';
  checkOptions(spec, dtype, spec.device ?? 'cpu', spec.batchSize ?? DEFAULT_BATCH_SIZE);
  const folder = resolveFolder(spec);
  if (!folder) return null;
  await validateFolder(folder, dtype);
  return fingerprintOf(spec.source, folder, dtype);
}

/**
 * Like loadTransformersModel, but the ONNX session is created on the first generate() (or load())
 * call: the tokenizer, chat template, context length and fingerprint are ready at once, so a run
 * that finds every generation in the cache never pays for loading the weights. A folder is
 * validated up front, so a broken model still fails before any work. Ids that must be downloaded
 * are loaded eagerly.
 */
export async function openTransformersModel(spec: TransformersModelSpec, known?: { fingerprint?: ModelFingerprint }): Promise<LoadedModel> {
  const prepared = await prepare(spec);
  const { dtype, device, batchSize, folder, config, target, options } = prepared;
  if (!folder || !config) return loadTransformersModel(spec);
  const tokenizer = await loadTokenizer(spec, target, options);
  const generationConfig = await readJsonIfPresent(path.join(folder, 'generation_config.json'));
  const settings: EngineSettings = {
    eosIds: eosTokenIds(generationConfig?.eos_token_id ?? config.eos_token_id, tokenizer),
    contextLength: contextLengthOf(config, spec.source),
    batchSize,
    onBatch: spec.onBatch,
    decodeLoop: decodeLoopFor(spec, device),
  };
  const fingerprint = known?.fingerprint ?? (await fingerprintOf(spec.source, folder, dtype));
  let engine: Promise<BatchedGenerator> | undefined;
  const tokens = new TokenMemo(tokenizer);
  const chat = tokenizerChat(tokenizer, folder, spec.chat, spec.name);
  const load = (): Promise<BatchedGenerator> => {
    engine ??= loadWeights(spec, target, options, dtype, device).then((model) => new BatchedGenerator(model, tokenizer, settings, tokens));
    return engine;
  };
  return {
    name: spec.name,
    generator: { generate: async (requests) => (await load()).generate(requests) },
    load: async () => {
      await load();
    },
    countTokens: (text, chat) => tokens.encode(text, chat).length,
    encode: (text, chat) => [...tokens.encode(text, chat)],
    contextLength: settings.contextLength,
    renderChat: chat?.render,
    promptStack: promptStackOf(tokenizer, chat?.template),
    fingerprint,
    dispose: async () => {
      if (!engine) return;
      const loaded = await engine.catch(() => undefined);
      await loaded?.dispose();
    },
  };
}

interface Prepared {
  dtype: string;
  device: 'cpu' | 'cuda' | 'webgpu';
  batchSize: number;
  folder: string | undefined;
  config: Json | undefined;
  target: string;
  options: { local_files_only: boolean; cache_dir?: string };
}

async function prepare(spec: TransformersModelSpec): Promise<Prepared> {
  const dtype = spec.dtype ?? 'fp32';
  const device = spec.device ?? 'cpu';
  const batchSize = spec.batchSize ?? DEFAULT_BATCH_SIZE;
  checkOptions(spec, dtype, device, batchSize);

  const folder = resolveFolder(spec);
  const config = folder ? await validateFolder(folder, dtype) : undefined;

  env.allowLocalModels = true;
  // Network access only for a model whose suite entry says `allow_remote: true`.
  env.allowRemoteModels = spec.allowRemote === true;
  const target = folder ?? spec.source;
  const options = { local_files_only: spec.allowRemote !== true, ...(spec.cacheDir ? { cache_dir: spec.cacheDir } : {}) };
  return { dtype, device, batchSize, folder, config, target, options };
}

async function loadTokenizer(spec: TransformersModelSpec, target: string, options: Prepared['options']): Promise<PreTrainedTokenizer> {
  try {
    return await AutoTokenizer.from_pretrained(target, options);
  } catch (error) {
    throw new InputError(`model '${spec.name}': cannot load the tokenizer from ${target}: ${messageOf(error)}`);
  }
}

async function loadWeights(spec: TransformersModelSpec, target: string, options: Prepared['options'], dtype: string, device: string): Promise<PreTrainedModel> {
  try {
    return await AutoModelForCausalLM.from_pretrained(target, {
      ...options,
      dtype: dtype as 'fp32',
      device: device as 'cpu',
    });
  } catch (error) {
    if (device !== 'cpu') throw new InputError(deviceUnavailable(device, error));
    throw new InputError(`model '${spec.name}': cannot load ${target} (dtype ${dtype}): ${messageOf(error)}`);
  }
}

interface Loaded {
  model: PreTrainedModel;
  tokenizer: PreTrainedTokenizer;
  folder: string | undefined;
  config: Json | undefined;
  dtype: string;
  batchSize: number;
  device: string;
}

async function describeLoaded(spec: TransformersModelSpec, loaded: Loaded): Promise<LoadedModel> {
  const { model, tokenizer, dtype } = loaded;
  // A remote id lands in the cache as <cacheDir>/<id>/...: fingerprint those files.
  const filesFolder = loaded.folder ?? path.join(spec.cacheDir ?? env.cacheDir ?? '', spec.source);
  const modelConfig = loaded.config ?? (model.config as unknown as Json);
  const generationConfig = await readJsonIfPresent(path.join(filesFolder, 'generation_config.json'));

  const chat = tokenizerChat(tokenizer, loaded.folder, spec.chat, spec.name);
  const engine = new BatchedGenerator(model, tokenizer, {
    eosIds: eosTokenIds(generationConfig?.eos_token_id ?? modelConfig.eos_token_id, tokenizer),
    contextLength: contextLengthOf(modelConfig, spec.source),
    batchSize: loaded.batchSize,
    onBatch: spec.onBatch,
    decodeLoop: decodeLoopFor(spec, loaded.device),
  });
  return {
    name: spec.name,
    generator: engine,
    countTokens: (text, chat) => engine.encode(text, chat).length,
    encode: (text, chat) => [...engine.encode(text, chat)],
    contextLength: engine.contextLength,
    renderChat: chat?.render,
    promptStack: promptStackOf(tokenizer, chat?.template),
    fingerprint: await fingerprintOf(spec.source, filesFolder, dtype),
    dispose: () => engine.dispose(),
  };
}

/**
 * ragtax's own loop runs on the CPU, where it is tested; on GPUs transformers.js keeps the KV cache
 * in device buffers and frees them itself, so generate() drives those.
 */
function decodeLoopFor(spec: TransformersModelSpec, device: string): 'kv' | 'generate' {
  return spec.decodeLoop ?? (device === 'cpu' ? 'kv' : 'generate');
}

// ---------------------------------------------------------------- validation and resolution

function checkOptions(spec: TransformersModelSpec, dtype: string, device: string, batchSize: number): void {
  if (!Object.hasOwn(DTYPE_SUFFIX, dtype)) {
    throw new InputError(`model '${spec.name}': unknown dtype '${dtype}'; expected one of ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  }
  if (!(DEVICES as readonly string[]).includes(device)) {
    // 'auto'/'gpu' are refused on purpose: they throw or fall back silently in transformers.js.
    throw new InputError(`model '${spec.name}': unknown device '${device}'; expected one of ${DEVICES.join(', ')}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`model '${spec.name}': batchSize must be a positive integer, got ${batchSize}`);
  }
}

/** The local folder to load from, or undefined for a Hugging Face id that may be downloaded. */
function resolveFolder(spec: TransformersModelSpec): string | undefined {
  const source = spec.source;
  if (path.isAbsolute(source) || source.startsWith('.') || existsSync(source)) {
    const folder = path.resolve(source);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new InputError(`model '${spec.name}': model folder ${folder} does not exist (expected a folder with config.json, tokenizer files and onnx/model.onnx)`);
    }
    return folder;
  }
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(source)) {
    throw new InputError(`model '${spec.name}': source '${source}' is neither an existing folder nor a Hugging Face id (owner/name)`);
  }
  const cacheDir = spec.cacheDir ?? env.cacheDir ?? '';
  const cached = path.resolve(cacheDir, source);
  if (existsSync(path.join(cached, 'config.json'))) return cached;
  if (spec.allowRemote === true) return undefined;
  throw new InputError(
    `model '${spec.name}': '${source}' is not a local folder and is not in the model cache (${cached}). ` +
      `Remote loading is off: set \`allow_remote: true\` for this model in the suite to download it from the Hugging Face Hub ` +
      `(this needs network access to the Hub), or give \`path:\` a local folder that holds the model.`,
  );
}

/** Checks a model folder before transformers.js sees it, so a mistake gets a precise message. */
async function validateFolder(folder: string, dtype: string): Promise<Json> {
  const layout = 'a model folder needs config.json, tokenizer.json, tokenizer_config.json and onnx/model{_dtype suffix}.onnx';
  const configPath = path.join(folder, 'config.json');
  if (!existsSync(configPath)) throw new InputError(`${folder}: missing config.json (${layout})`);
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    throw new InputError(`${configPath}: not valid JSON: ${messageOf(error)}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InputError(`${configPath}: expected a JSON object`);
  }
  const json = config as Json;
  if (typeof json.model_type !== 'string' || json.model_type === '') {
    throw new InputError(`${configPath}: no "model_type" (expected a Hugging Face config such as "model_type": "llama")`);
  }
  checkIsDecoder(json, configPath);

  for (const file of TOKENIZER_FILES) {
    if (!existsSync(path.join(folder, file))) throw new InputError(`${folder}: missing ${file} (${layout})`);
  }
  const onnxFile = onnxFileName(dtype);
  if (!existsSync(path.join(folder, onnxFile))) {
    const available = availableDtypes(folder);
    throw new InputError(
      `${folder}: missing ${onnxFile}, the ONNX weights for dtype ${dtype} (${layout}); ` +
        (available.length > 0 ? `this folder has dtype ${available.join(', ')}` : 'this folder has no onnx/model*.onnx file'),
    );
  }
  return json;
}

function checkIsDecoder(config: Json, configPath: string): void {
  if (config.is_encoder_decoder === true) {
    throw new InputError(`${configPath}: model_type ${String(config.model_type)} is an encoder-decoder; ragtax needs a decoder-only causal LM`);
  }
  const architectures = config.architectures;
  if (Array.isArray(architectures) && architectures.length > 0) {
    const causal = architectures.some((a) => typeof a === 'string' && /(CausalLM|LMHeadModel)$/.test(a));
    if (!causal) {
      throw new InputError(`${configPath}: architectures ${JSON.stringify(architectures)} name no causal LM (…ForCausalLM); ragtax needs a decoder-only model with a language-model head`);
    }
  }
}

function onnxFileName(dtype: string): string {
  return `onnx/model${DTYPE_SUFFIX[dtype] ?? ''}.onnx`;
}

function availableDtypes(folder: string): string[] {
  const dir = path.join(folder, 'onnx');
  if (!existsSync(dir)) return [];
  const files = new Set(readdirSync(dir));
  return Object.keys(DTYPE_SUFFIX).filter((dtype) => files.has(path.basename(onnxFileName(dtype))));
}

function deviceUnavailable(device: string, error: unknown): string {
  const how =
    device === 'cuda'
      ? "it needs onnxruntime-node's CUDA provider files (install them with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`) plus CUDA 12 and cuDNN 9 on the host"
      : 'it needs a GPU adapter that Dawn can open (Vulkan drivers and libvulkan.so.1 on Linux)';
  return `device '${device}' is unavailable: ${how}. Use device 'cpu' to run on the CPU. (onnxruntime: ${messageOf(error).trim()})`;
}

function contextLengthOf(config: Json, source: string): number {
  for (const candidate of [config, config.text_config]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    for (const key of CONTEXT_KEYS) {
      const value = (candidate as Json)[key];
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
    }
  }
  throw new InputError(`${source}: config.json gives no context length (expected one of ${CONTEXT_KEYS.join(', ')})`);
}

/**
 * EOS ids declared by generation_config.json (else config.json) plus the tokenizer's eos_token:
 * chat checkpoints often declare only one of `<|endoftext|>` / `<|im_end|>` in one place.
 */
function eosTokenIds(declared: unknown, tokenizer: PreTrainedTokenizer): Set<number> {
  const ids = new Set<number>();
  for (const id of Array.isArray(declared) ? declared : [declared]) {
    if (typeof id === 'number') ids.add(id);
  }
  if (typeof tokenizer.eos_token_id === 'number') ids.add(tokenizer.eos_token_id);
  return ids;
}

/**
 * The model's own chat template (chat_template.jinja, else tokenizer_config.json's, as transformers
 * ≥ 4.43 reads them) as a checked renderer with the generation prompt, or undefined when it has none.
 */
export function tokenizerChat(
  tokenizer: PreTrainedTokenizer,
  folder: string | undefined,
  options: ChatOptions = {},
  modelName = 'model',
): { render: ChatRenderer; template: ChatTemplate } | undefined {
  const config = (tokenizer as unknown as { config?: Record<string, unknown> }).config;
  let template: ChatTemplate | undefined;
  try {
    template = readChatTemplate(folder, config, options.templateName);
  } catch (error) {
    throw new TemplateError(`model \`${modelName}\`: ${messageOf(error)}`);
  }
  if (!template) return undefined;
  const variables = templateVariables(options);
  const text = pinnedTemplate(template.text, options);
  const render = checkedChatRenderer(
    (messages) => tokenizer.apply_chat_template(messages, { chat_template: text, tokenize: false, add_generation_prompt: true, ...variables }) as string,
    options,
    modelName,
  );
  return { render, template };
}

/** The checked chat renderer of a tokenizer (see tokenizerChat). */
export function chatRendererFor(tokenizer: PreTrainedTokenizer, folder?: string, options?: ChatOptions, modelName?: string): ChatRenderer | undefined {
  return tokenizerChat(tokenizer, folder, options, modelName)?.render;
}

/** The chat renderer of a local model folder, from its tokenizer files alone (no weights). */
export async function openChatRenderer(
  folder: string,
  options: ChatOptions & { modelName: string },
): Promise<{ render: ChatRenderer; template: { sha256: string; source: string } } | undefined> {
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
  } catch (error) {
    throw new InputError(`model '${options.modelName}': cannot load the tokenizer from ${folder}: ${messageOf(error)}`);
  }
  const chat = tokenizerChat(tokenizer, folder, options, options.modelName);
  return chat ? { render: chat.render, template: { sha256: chat.template.sha256, source: chat.template.source } } : undefined;
}

/**
 * What ragtax feeds the model, for the manifest: the chat template's source and sha256, and the
 * special tokens the tokenizer adds around a raw prompt (a chat prompt gets none: its template
 * writes them).
 */
export function promptStackOf(tokenizer: PreTrainedTokenizer, template: ChatTemplate | undefined): Record<string, unknown> {
  const probe = 'ragtax';
  const plain = tokenizer.encode(probe, { add_special_tokens: false });
  const withSpecial = tokenizer.encode(probe);
  const at = withSpecial.findIndex((_, i) => plain.every((id, j) => withSpecial[i + j] === id));
  const before = at >= 0 ? withSpecial.slice(0, at) : [];
  const after = at >= 0 ? withSpecial.slice(at + plain.length) : [];
  const show = (ids: number[]) => ids.map((id) => `${tokenizer.decode([id], { skip_special_tokens: false })} (${id})`).join(' ');
  return {
    chatTemplate: template ? { source: template.source, sha256: template.sha256 } : null,
    bos: {
      raw: before.length > 0 || after.length > 0 ? `the tokenizer adds ${[before.length > 0 ? `${show(before)} before` : '', after.length > 0 ? `${show(after)} after` : ''].filter(Boolean).join(' and ')}` : 'none added',
      chat: 'none added (the template writes its own special tokens)',
    },
  };
}

async function readJsonIfPresent(file: string): Promise<Json | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Json;
  } catch (error) {
    throw new InputError(`${file}: not valid JSON: ${messageOf(error)}`);
  }
}

// ---------------------------------------------------------------- fingerprint

/** sha256 and size of every file transformers.js reads for this model, hashed as a stream. */
async function fingerprintOf(source: string, folder: string, dtype: string): Promise<ModelFingerprint> {
  const onnx = onnxFileName(dtype);
  const onnxDir = path.join(folder, 'onnx');
  // External weights (model.onnx_data, model.onnx_data_1, ...) sit beside the graph.
  const externalData = existsSync(onnxDir)
    ? readdirSync(onnxDir)
        .filter((f) => f.startsWith(`${path.basename(onnx)}_data`))
        .map((f) => `onnx/${f}`)
    : [];
  // chat_template.jinja (where present) is part of the model's identity: it decides the chat prompts.
  const candidates = ['config.json', 'generation_config.json', ...TOKENIZER_FILES, 'chat_template.jinja', onnx, ...externalData];
  const files: ModelFingerprint['files'] = [];
  for (const relative of candidates.sort()) {
    const full = path.join(folder, relative);
    if (!existsSync(full)) continue;
    files.push({ path: relative, sha256: await sha256File(full), bytes: statSync(full).size });
  }
  return { source, files };
}

// ---------------------------------------------------------------- generation

interface EngineSettings {
  eosIds: Set<number>;
  contextLength: number;
  batchSize: number;
  onBatch?: (done: number) => void;
  decodeLoop: 'kv' | 'generate';
}

interface PreparedRow {
  index: number;
  ids: number[];
  stop: string[];
}

interface RowOutcome {
  reason: 'eos' | 'stop';
  /** New tokens generated when the row finished (the EOS token included). */
  tokens: number;
}

/**
 * Generation knobs a model's generation_config.json may set that would change greedy output;
 * null switches a processor off (transformers.js' typings omit the null its code checks for).
 */
const NEUTRAL_GENERATION: Record<string, unknown> = {
  do_sample: false,
  num_beams: 1,
  num_beam_groups: 1,
  repetition_penalty: 1.0, // applied by PromptRepetitionPenalty instead, which ignores padding
  no_repeat_ngram_size: 0,
  encoder_no_repeat_ngram_size: 0,
  bad_words_ids: null,
  min_length: 0,
  min_new_tokens: null,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  forced_decoder_ids: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
  exponential_decay_length_penalty: null,
  guidance_scale: null,
  renormalize_logits: false,
};

class BatchedGenerator {
  readonly contextLength: number;
  private queue: Promise<unknown> = Promise.resolve();
  /** The session for ragtax's own greedy loop, or null where generate() drives the model. */
  private readonly kv: KvDecoder | null;

  constructor(
    private readonly model: PreTrainedModel,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly settings: EngineSettings,
    private readonly tokens = new TokenMemo(tokenizer),
  ) {
    this.contextLength = settings.contextLength;
    this.kv = settings.decodeLoop === 'kv' ? kvDecoder(model) : null;
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }

  /** Token ids of a prompt exactly as generation feeds it (see GenerationRequest.chat for the BOS rule). */
  encode(text: string, chat = false): number[] {
    return this.tokens.encode(text, chat);
  }

  /** Calls run one after another: onnxruntime already uses every core for one batch. */
  generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const run = this.queue.then(() => this.generateNow(requests));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async generateNow(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const results = new Array<GenerationResult>(requests.length);
    let done = 0;
    for (const { decoding, rows } of this.plan(requests)) {
      for (let start = 0; start < rows.length; start += this.settings.batchSize) {
        const batch = rows.slice(start, start + this.settings.batchSize);
        const outputs = await this.runBatch(batch, decoding);
        batch.forEach((row, i) => (results[row.index] = outputs[i]!));
        done += batch.length;
        this.settings.onBatch?.(done);
      }
    }
    return results;
  }

  /** Groups requests by decoding params and sorts each group by prompt length to reduce padding. */
  private plan(requests: GenerationRequest[]): { decoding: DecodingParams; rows: PreparedRow[] }[] {
    const groups = new Map<string, { decoding: DecodingParams; rows: PreparedRow[] }>();
    requests.forEach((request, index) => {
      const { decoding } = request;
      this.checkDecoding(decoding);
      const ids = this.encode(request.prompt, request.chat === true);
      if (ids.length === 0) throw new InputError(`request ${index}: the prompt is empty (no tokens to condition on)`);
      if (ids.length + decoding.maxNewTokens > this.contextLength) {
        throw new InputError(
          `request ${index}: ${ids.length} prompt tokens + ${decoding.maxNewTokens} new tokens exceed the model's context of ${this.contextLength} tokens`,
        );
      }
      const key = JSON.stringify([decoding.maxNewTokens, decoding.stop, decoding.temperature, decoding.repetitionPenalty, decoding.seed, decoding.minNewTokens ?? 0]);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { decoding, rows: [] }));
      group.rows.push({ index, ids, stop: decoding.stop.filter((s) => s.length > 0) });
    });
    const plan = [...groups.values()];
    for (const group of plan) group.rows.sort((a, b) => a.ids.length - b.ids.length || a.index - b.index);
    return plan;
  }

  private checkDecoding(decoding: DecodingParams): void {
    if (decoding.temperature !== 0) {
      // transformers.js samples from one RNG shared by the whole batch, so a sampled row would
      // depend on its batch neighbours: only greedy decoding is reproducible here.
      throw new InputError(`temperature ${decoding.temperature} is not supported by the transformers backend: only greedy decoding (temperature 0) is reproducible`);
    }
    if (!Number.isInteger(decoding.maxNewTokens) || decoding.maxNewTokens < 0) {
      throw new InputError(`maxNewTokens must be a non-negative integer, got ${decoding.maxNewTokens}`);
    }
    if (!(decoding.repetitionPenalty > 0)) {
      throw new InputError(`repetitionPenalty must be positive (1.0 = off), got ${decoding.repetitionPenalty}`);
    }
  }

  private async runBatch(rows: PreparedRow[], decoding: DecodingParams): Promise<GenerationResult[]> {
    const started = performance.now();
    if (decoding.maxNewTokens === 0) {
      return rows.map((row) => ({ text: '', finishReason: 'length', promptTokens: row.ids.length, completionTokens: 0, latencyMs: 0 }));
    }
    const width = Math.max(...rows.map((row) => row.ids.length));
    const padCounts = rows.map((row) => width - row.ids.length);
    const padId = this.padTokenId();
    // Left padding: each prompt ends at the right edge.
    const padded = rows.map((row, r) => [...new Array<number>(padCounts[r]!).fill(padId), ...row.ids]);
    const attention = new Uint8Array(rows.length * width);
    rows.forEach((_, r) => attention.fill(1, r * width + padCounts[r]!, (r + 1) * width));

    const stops = new RowStopCriteria(this.tokenizer, width, this.settings.eosIds, rows.map((row) => row.stop));
    const processors: RowLogitsProcessor[] = [];
    if (decoding.repetitionPenalty !== 1) processors.push(new PromptRepetitionPenalty(decoding.repetitionPenalty, padCounts));
    if ((decoding.minNewTokens ?? 0) > 0) processors.push(new SuppressEosUntil(decoding.minNewTokens!, width, this.settings.eosIds));

    let generated: number[][];
    try {
      generated = this.kv
        ? await kvGreedyDecode(this.kv, padded, attention, {
            maxNewTokens: decoding.maxNewTokens,
            processLogits: (ids, logits) => processors.forEach((p) => p._call(ids, logits)),
            finished: (ids) => stops._call(ids),
          })
        : await this.viaGenerate(padded, attention, decoding, stops, processors);
    } catch (error) {
      throw error instanceof RuntimeFailure ? error : new RuntimeFailure(`generation failed: ${messageOf(error)}`);
    }
    const latencyMs = (performance.now() - started) / rows.length;
    return rows.map((row, r) => ({
      ...this.finish(generated[r]!, stops.outcomes[r], row.stop),
      promptTokens: row.ids.length,
      latencyMs,
    }));
  }

  /** transformers.js' generate() on the same left-padded batch; returns each row's new ids. */
  private async viaGenerate(padded: number[][], attention: Uint8Array, decoding: DecodingParams, stops: RowStopCriteria, processors: RowLogitsProcessor[]): Promise<number[][]> {
    const [batch, width] = [padded.length, padded[0]!.length];
    const stoppingCriteria = new StoppingCriteriaList();
    stoppingCriteria.push(stops);
    const logitsProcessor = new LogitsProcessorList();
    for (const processor of processors) logitsProcessor.push(processor);
    const options: Record<string, unknown> = {
      ...NEUTRAL_GENERATION,
      inputs: new Tensor('int64', BigInt64Array.from(padded.flat(), (id) => BigInt(id)), [batch, width]),
      attention_mask: new Tensor('int64', BigInt64Array.from(attention, (v) => BigInt(v)), [batch, width]),
      max_new_tokens: decoding.maxNewTokens,
      pad_token_id: this.padTokenId(),
      stopping_criteria: stoppingCriteria,
      logits_processor: logitsProcessor,
    };
    const output = await this.model.generate(options as GenerateOptions);
    if (!(output instanceof Tensor)) throw new RuntimeFailure('generation returned no token tensor');
    return (output.tolist() as bigint[][]).map((row) => row.slice(width).map(Number));
  }

  /** Cuts a row at its first EOS or stop string, as if it had been generated alone. */
  private finish(generated: number[], outcome: RowOutcome | undefined, stop: string[]): Omit<GenerationResult, 'promptTokens' | 'latencyMs'> {
    if (!outcome) return { text: this.decode(generated), finishReason: 'length', completionTokens: generated.length };
    const kept = generated.slice(0, outcome.tokens);
    if (outcome.reason === 'eos') {
      return { text: this.decode(kept.slice(0, -1)), finishReason: 'eos', completionTokens: kept.length };
    }
    const finishReason: FinishReason = 'stop';
    return { ...cutAtStop(this.decode(kept), stop), finishReason, completionTokens: kept.length };
  }

  private decode(ids: number[]): string {
    // Special-token text (`<|endoftext|>`, `<|im_end|>`) is never part of a response, as in vLLM.
    return ids.length === 0 ? '' : this.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** Padding is masked out, so any valid id works; prefer the tokenizer's own. */
  private padTokenId(): number {
    const pad = this.tokenizer.pad_token_id;
    if (typeof pad === 'number' && pad >= 0) return pad;
    return this.settings.eosIds.values().next().value ?? 0;
  }
}

/**
 * Token ids of recent prompts. The runner counts every prompt's tokens (the context check) just
 * before generating it; tokenising each prompt twice took about 5% of a run's time. Bounded, oldest
 * first out; callers must not modify the returned arrays.
 */
export class TokenMemo {
  private readonly ids = new Map<string, number[]>();
  private readonly chatIds = new Map<string, number[]>();

  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly capacity = 4096,
  ) {}

  /** `chat`: a rendered chat template, encoded without adding special tokens (see GenerationRequest.chat). */
  encode(text: string, chat = false): number[] {
    const memo = chat ? this.chatIds : this.ids;
    const hit = memo.get(text);
    if (hit) return hit;
    const ids = chat ? this.tokenizer.encode(text, { add_special_tokens: false }) : this.tokenizer.encode(text);
    if (memo.size >= this.capacity) memo.delete(memo.keys().next().value!);
    memo.set(text, ids);
    return ids;
  }
}

/**
 * Marks a row done once it produced EOS or its new text contains a stop string, and remembers
 * it: transformers.js asks again after every step and keeps extending finished rows until every
 * row is done, so the answer must not depend on the row's latest token alone.
 */
class RowStopCriteria extends StoppingCriteria {
  readonly outcomes: (RowOutcome | undefined)[];
  private readonly tokenizer: PreTrainedTokenizer;
  private readonly promptWidth: number;
  private readonly eosIds: Set<number>;
  private readonly stops: string[][];

  constructor(tokenizer: PreTrainedTokenizer, promptWidth: number, eosIds: Set<number>, stops: string[][]) {
    super();
    this.tokenizer = tokenizer;
    this.promptWidth = promptWidth;
    this.eosIds = eosIds;
    this.stops = stops;
    this.outcomes = stops.map(() => undefined);
  }

  // transformers.js passes bigint ids although its typings say number; ragtax's own loop passes numbers.
  override _call(inputIds: readonly (readonly (number | bigint)[])[]): boolean[] {
    return inputIds.map((row, r) => {
      if (this.outcomes[r]) return true;
      const tokens = row.length - this.promptWidth;
      if (tokens <= 0) return false;
      if (this.eosIds.has(Number(row[row.length - 1]))) {
        this.outcomes[r] = { reason: 'eos', tokens };
        return true;
      }
      const stop = this.stops[r] ?? [];
      if (stop.length > 0) {
        // Decoded as the response will be (no special-token text), so a stop found here is found there too.
        const text = this.tokenizer.decode(row.slice(this.promptWidth).map(Number), { skip_special_tokens: true, clean_up_tokenization_spaces: false });
        if (stop.some((s) => text.includes(s))) {
          this.outcomes[r] = { reason: 'stop', tokens };
          return true;
        }
      }
      return false;
    });
  }
}

/** A logits processor that both decoding loops call with each row's ids so far (bigint or number). */
type RowLogitsProcessor = PromptRepetitionPenalty | SuppressEosUntil;

/**
 * Repetition penalty (CTRL-style, as in Hugging Face) over each row's own prompt and output.
 * The built-in processor also penalises the left padding, which would make a row's output depend
 * on its batch neighbours.
 */
class PromptRepetitionPenalty extends LogitsProcessor {
  private readonly penalty: number;
  private readonly padCounts: number[];

  constructor(penalty: number, padCounts: number[]) {
    super();
    this.penalty = penalty;
    this.padCounts = padCounts;
  }

  override _call(inputIds: readonly (readonly (number | bigint)[])[], logits: Tensor): Tensor {
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1) ?? 0;
    inputIds.forEach((row, r) => {
      const offset = r * vocab;
      for (const id of new Set(row.slice(this.padCounts[r] ?? 0).map(Number))) {
        const value = data[offset + id]!;
        data[offset + id] = value < 0 ? value * this.penalty : value / this.penalty;
      }
    });
    return logits;
  }
}

/** Masks every EOS id until a row has `minNewTokens` new tokens (all rows share the prompt width). */
class SuppressEosUntil extends LogitsProcessor {
  constructor(
    private readonly minNewTokens: number,
    private readonly promptWidth: number,
    private readonly eosIds: Set<number>,
  ) {
    super();
  }

  override _call(inputIds: readonly (readonly (number | bigint)[])[], logits: Tensor): Tensor {
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1) ?? 0;
    inputIds.forEach((row, r) => {
      if (row.length - this.promptWidth >= this.minNewTokens) return;
      for (const id of this.eosIds) if (id < vocab) data[r * vocab + id] = -Infinity;
    });
    return logits;
  }
}


/** The `transformers` backend's engine (see backends.ts). */
export const engine: ModelEngine<TransformersModelSpec> = { open: openTransformersModel, load: loadTransformersModel, fingerprint: fingerprintModel };
