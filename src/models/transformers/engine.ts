// Local ONNX decoders through @huggingface/transformers (onnxruntime-node): up-front folder
// validation, token counting, the model's own chat template and a weights fingerprint here;
// loading the weights and batched greedy generation in generator.ts, imported on first use.
// Opening a local model reads its tokenizer with @huggingface/tokenizers and renders its template
// with @huggingface/jinja (what transformers.js bundles), so transformers.js itself is loaded only
// with the weights: a run served from the generation cache never loads it.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PreTrainedModel } from '@huggingface/transformers';
import { InputError, messageOf, TemplateError } from '../../errors.js';
import { checkedChatRenderer, jinjaChatRenderer, pinnedTemplate, readChatTemplate, templateVariables, type ChatOptions, type ChatTemplate } from '../../prompts/chat-template.js';
import { makeDirectory, writeAtomically } from '../../util/atomic-write.js';
import { cacheRoot } from '../../util/cache-dir.js';
import { sha256File } from '../../util/hash.js';
import { loadFolderTokenizer, openFolderTokenizer, TokenMemo, type TextTokenizer } from './tokenizer.js';
import type { BatchedGenerator, EngineSettings, WeightOptions } from './generator.js';
import type { TransformersModelSpec } from './settings.js';
import type { ModelEngine } from '../backend.js';
import type { ChatRenderer, LoadedModel, ModelFingerprint } from '../../types.js';

export { TokenMemo } from './tokenizer.js';

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

export async function loadTransformersModel(spec: TransformersModelSpec): Promise<LoadedModel> {
  const prepared = await prepare(spec);
  if (!prepared.folder || !prepared.config) return loadRemote(spec, prepared);
  // A local folder: opened, then its weights loaded now (the generator is the engine itself).
  const { model, engine } = await openFolder(spec, prepared, undefined);
  let generator: BatchedGenerator;
  try {
    generator = await engine();
  } catch (error) {
    await model.dispose();
    throw error;
  }
  const { load: _load, ...loaded } = model;
  return { ...loaded, generator };
}

/**
 * Fingerprint of a model's files without loading it (the folder is validated first), or null for a
 * Hugging Face id that is not downloaded yet (its files are only known after loading).
 */
export async function fingerprintModel(spec: TransformersModelSpec): Promise<ModelFingerprint | null> {
  const dtype = spec.dtype ?? 'fp32';
  checkOptions(spec, dtype, spec.device ?? 'cpu', spec.batchSize ?? DEFAULT_BATCH_SIZE);
  const folder = await resolveFolder(spec);
  if (!folder) return null;
  await validateFolder(folder, dtype);
  return fingerprintOf(spec.source, folder, dtype);
}

/**
 * Like loadTransformersModel, but the ONNX session is created on the first generate() (or load())
 * call: the tokenizer, chat template, context length and fingerprint are ready at once, so a run
 * that finds every generation in the cache never pays for loading the weights (nor for importing
 * transformers.js). A folder is validated up front, so a broken model still fails before any work.
 * Ids that must be downloaded are loaded eagerly.
 */
export async function openTransformersModel(spec: TransformersModelSpec, known?: { fingerprint?: ModelFingerprint }): Promise<LoadedModel> {
  const prepared = await prepare(spec);
  if (!prepared.folder || !prepared.config) return loadRemote(spec, prepared);
  return (await openFolder(spec, prepared, known?.fingerprint)).model;
}

/** A local model opened without its weights, and how to load them (once). */
async function openFolder(
  spec: TransformersModelSpec,
  prepared: Prepared,
  knownFingerprint: ModelFingerprint | undefined,
): Promise<{ model: LoadedModel; engine: () => Promise<BatchedGenerator> }> {
  const { dtype, device, batchSize, target, options } = prepared;
  const folder = prepared.folder!;
  const config = prepared.config!;
  // Built on first use (tokenizer.ts): a run served from the cache never encodes.
  const { tokenizer, contentKey } = await openFolderTokenizer(folder, spec.name);
  const generationConfig = await readJsonIfPresent(path.join(folder, 'generation_config.json'));
  const contextLength = contextLengthOf(config, spec.source);
  // With the weights: the end-of-sequence ids need the built tokenizer.
  const settings = (): EngineSettings => ({
    eosIds: eosTokenIds(generationConfig?.eos_token_id ?? config.eos_token_id, tokenizer),
    contextLength,
    batchSize,
    onBatch: spec.onBatch,
    decodeLoop: decodeLoopFor(spec, device),
  });
  const fingerprint = knownFingerprint ?? (await fingerprintOf(spec.source, folder, dtype));
  let engine: Promise<BatchedGenerator> | undefined;
  const tokens = new TokenMemo(tokenizer);
  const chat = tokenizerChat(tokenizer, folder, spec.chat, spec.name);
  const load = (): Promise<BatchedGenerator> => {
    engine ??= import('./generator.js').then(async (g) => new g.BatchedGenerator(await g.loadWeights(spec, target, options, dtype, device), tokenizer, settings(), tokens));
    return engine;
  };
  const model: LoadedModel = {
    name: spec.name,
    generator: { generate: async (requests) => (await load()).generate(requests) },
    load: async () => {
      await load();
    },
    countTokens: (text, chat) => tokens.encode(text, chat).length,
    encode: (text, chat) => [...tokens.encode(text, chat)],
    contextLength,
    renderChat: chat?.render,
    promptStack: await promptStackFor(tokenizer, chat?.template, contentKey),
    fingerprint,
    dispose: async () => {
      if (!engine) return;
      const loaded = await engine.catch(() => undefined);
      await loaded?.dispose();
    },
  };
  return { model, engine: load };
}

interface Prepared {
  dtype: string;
  device: 'cpu' | 'cuda' | 'webgpu';
  batchSize: number;
  folder: string | undefined;
  config: Json | undefined;
  target: string;
  options: WeightOptions;
}

async function prepare(spec: TransformersModelSpec): Promise<Prepared> {
  const dtype = spec.dtype ?? 'fp32';
  const device = spec.device ?? 'cpu';
  const batchSize = spec.batchSize ?? DEFAULT_BATCH_SIZE;
  checkOptions(spec, dtype, device, batchSize);

  const folder = await resolveFolder(spec);
  const config = folder ? await validateFolder(folder, dtype) : undefined;
  const target = folder ?? spec.source;
  // Network access only for a model whose suite entry says `allow_remote: true` (generator.ts sets it).
  const options = { local_files_only: spec.allowRemote !== true, ...(spec.cacheDir ? { cache_dir: spec.cacheDir } : {}) };
  return { dtype, device, batchSize, folder, config, target, options };
}

/** A Hugging Face id not downloaded yet: transformers.js fetches the tokenizer and the weights now. */
async function loadRemote(spec: TransformersModelSpec, prepared: Prepared): Promise<LoadedModel> {
  const { dtype, device, batchSize, target, options } = prepared;
  const [{ AutoTokenizer, env }, generator] = await Promise.all([import('@huggingface/transformers'), import('./generator.js')]);
  generator.allowRemote(spec);
  let tokenizer: TextTokenizer;
  try {
    tokenizer = (await AutoTokenizer.from_pretrained(target, options)) as unknown as TextTokenizer;
  } catch (error) {
    throw new InputError(`model '${spec.name}': cannot load the tokenizer from ${target}: ${messageOf(error)}`);
  }
  const model = await generator.loadWeights(spec, target, options, dtype, device);
  try {
    // The id lands in the cache as <cacheDir>/<id>/...: fingerprint those files.
    const filesFolder = path.join(spec.cacheDir ?? env.cacheDir ?? '', spec.source);
    const modelConfig = (model as PreTrainedModel).config as unknown as Json;
    const generationConfig = await readJsonIfPresent(path.join(filesFolder, 'generation_config.json'));
    const chat = tokenizerChat(tokenizer, undefined, spec.chat, spec.name);
    const engine = new generator.BatchedGenerator(model, tokenizer, {
      eosIds: eosTokenIds(generationConfig?.eos_token_id ?? modelConfig.eos_token_id, tokenizer),
      contextLength: contextLengthOf(modelConfig, spec.source),
      batchSize,
      onBatch: spec.onBatch,
      decodeLoop: decodeLoopFor(spec, device),
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
  } catch (error) {
    await model.dispose();
    throw error;
  }
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
async function resolveFolder(spec: TransformersModelSpec): Promise<string | undefined> {
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
  // transformers.js' model cache (imported only for a Hugging Face id).
  const cacheDir = spec.cacheDir ?? (await import('@huggingface/transformers')).env.cacheDir ?? '';
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
function eosTokenIds(declared: unknown, tokenizer: TextTokenizer): Set<number> {
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
  tokenizer: Pick<TextTokenizer, 'config'>,
  folder: string | undefined,
  options: ChatOptions = {},
  modelName = 'model',
): { render: ChatRenderer; template: ChatTemplate } | undefined {
  const config = tokenizer.config as Record<string, unknown> | undefined;
  let template: ChatTemplate | undefined;
  try {
    template = readChatTemplate(folder, config, options.templateName);
  } catch (error) {
    throw new TemplateError(`model \`${modelName}\`: ${messageOf(error)}`);
  }
  if (!template) return undefined;
  const variables = templateVariables(options);
  const text = pinnedTemplate(template.text, options);
  const render = checkedChatRenderer(jinjaChatRenderer(text, config, variables), options, modelName);
  return { render, template };
}

/** The checked chat renderer of a tokenizer (see tokenizerChat). */
export function chatRendererFor(tokenizer: Pick<TextTokenizer, 'config'>, folder?: string, options?: ChatOptions, modelName?: string): ChatRenderer | undefined {
  return tokenizerChat(tokenizer, folder, options, modelName)?.render;
}

/** The chat renderer of a local model folder, from its tokenizer files alone (no weights). */
export async function openChatRenderer(
  folder: string,
  options: ChatOptions & { modelName: string },
): Promise<{ render: ChatRenderer; template: { sha256: string; source: string } } | undefined> {
  const tokenizer = await loadFolderTokenizer(folder, options.modelName);
  const chat = tokenizerChat(tokenizer, folder, options, options.modelName);
  return chat ? { render: chat.render, template: { sha256: chat.template.sha256, source: chat.template.source } } : undefined;
}

/**
 * What ragtax feeds the model, for the manifest: the chat template's source and sha256, and the
 * special tokens the tokenizer adds around a raw prompt (a chat prompt gets none: its template
 * writes them).
 */
export function promptStackOf(tokenizer: TextTokenizer, template: ChatTemplate | undefined): Record<string, unknown> {
  return promptStack(rawBosRule(tokenizer), template);
}

function promptStack(raw: string, template: ChatTemplate | undefined): Record<string, unknown> {
  return {
    chatTemplate: template ? { source: template.source, sha256: template.sha256 } : null,
    bos: { raw, chat: 'none added (the template writes its own special tokens)' },
  };
}

/**
 * promptStackOf, with the BOS rule (the one part that needs the built tokenizer) remembered in the
 * cache folder by the tokenizer files' content and the tokenizer library's version
 * (`tokenizers/<key>.json`), so that opening a model again does not build its tokenizer.
 */
async function promptStackFor(tokenizer: TextTokenizer, template: ChatTemplate | undefined, contentKey: string | undefined): Promise<Record<string, unknown>> {
  let file: string | undefined;
  try {
    if (contentKey !== undefined) file = path.join(cacheRoot(), 'tokenizers', `${createHash('sha256').update(`${BOS_RULE_VERSION}|${tokenizersLibrary()}|${contentKey}`).digest('hex')}.json`);
  } catch {
    // No usable cache folder: the rule is found by encoding, every time.
  }
  if (file !== undefined && existsSync(file)) {
    try {
      const remembered = JSON.parse(readFileSync(file, 'utf8')) as { bosRaw?: unknown };
      if (typeof remembered.bosRaw === 'string') return promptStack(remembered.bosRaw, template);
    } catch {
      // Unreadable: found again below, and written anew.
    }
  }
  const raw = rawBosRule(tokenizer);
  if (file !== undefined) {
    try {
      makeDirectory(path.dirname(file));
      await writeAtomically(file, `${JSON.stringify({ bosRaw: raw })}\n`);
    } catch (error) {
      if (!warnedBosRecord) process.stderr.write(`warning: cannot record a tokenizer's BOS rule in ${file} (${messageOf(error)}); its tokenizer will be built again next run\n`);
      warnedBosRecord = true;
    }
  }
  return promptStack(raw, template);
}

/** Bump when rawBosRule changes what it reports. */
const BOS_RULE_VERSION = 1;
let warnedBosRecord = false;

/** The version of @huggingface/tokenizers (its encoding decides the rule), or `unknown`. */
function tokenizersLibrary(): string {
  try {
    const entry = fileURLToPath(import.meta.resolve('@huggingface/tokenizers'));
    return (JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What the tokenizer adds around a raw prompt, found by encoding a probe with and without special tokens. */
function rawBosRule(tokenizer: TextTokenizer): string {
  const probe = 'ragtax';
  const plain = tokenizer.encode(probe, { add_special_tokens: false });
  const withSpecial = tokenizer.encode(probe);
  const at = withSpecial.findIndex((_, i) => plain.every((id, j) => withSpecial[i + j] === id));
  const before = at >= 0 ? withSpecial.slice(0, at) : [];
  const after = at >= 0 ? withSpecial.slice(at + plain.length) : [];
  const show = (ids: number[]) => ids.map((id) => `${tokenizer.decode([id], { skip_special_tokens: false })} (${id})`).join(' ');
  return before.length > 0 || after.length > 0 ? `the tokenizer adds ${[before.length > 0 ? `${show(before)} before` : '', after.length > 0 ? `${show(after)} after` : ''].filter(Boolean).join(' and ')}` : 'none added';
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

/** The `transformers` backend's engine (see backends.ts). */
export const engine: ModelEngine<TransformersModelSpec> = { open: openTransformersModel, load: loadTransformersModel, fingerprint: fingerprintModel };
