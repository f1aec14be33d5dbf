// GGUF checkpoints in process through node-llama-cpp (llama.cpp bindings), an optional
// dependency imported on first use: greedy decoding over several sequences of one context
// evaluated in parallel, per-request stop strings and end-of-generation tokens, token counting
// with the model's own tokenizer, the GGUF's chat template and a sha256 fingerprint of the file.

import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { InputError, messageOf, RuntimeFailure } from '../../errors.js';
import { cutAtStop } from '../stop-strings.js';
import { checkedChatRenderer, pinnedTemplate, templateVariables, type ChatOptions } from '../../prompts/chat-template.js';
import { sha256File } from '../../util/hash.js';
import type {
  ChatMessage,
  ChatRenderer,
  DecodingParams,
  FinishReason,
  GenerationRequest,
  GenerationResult,
  LoadedModel,
  ModelFingerprint,
} from '../../types.js';
import { cpuCores, GGUF_DEVICES, resolveThreads, type GgufDevice, type GgufModelSpec } from './settings.js';
import type { ModelEngine } from '../backend.js';


const DEFAULT_BATCH_SIZE = 8;
const MAX_DEFAULT_CONTEXT = 8192;
const PACKAGE = 'node-llama-cpp';
const INSTALL_HINT = `install it with \`npm install ${PACKAGE}@3.22.1\` (an optional dependency of ragtax; npm skips it when it cannot install on this platform)`;

// ---------------------------------------------------------------- the subset of node-llama-cpp used here
// Declared locally so that ragtax builds and type-checks without the optional package.

type Token = number;
interface LlamaTextLike {
  values: readonly (string | { type?: string; value?: string })[];
}
interface NlcModel {
  readonly tokens: {
    readonly shouldPrependBosToken: boolean;
    readonly shouldAppendEosToken: boolean;
    readonly bos: Token | null;
    readonly eos: Token | null;
    readonly bosString: string | null;
    readonly eosString: string | null;
    readonly eotString: string | null;
  };
  readonly fileInfo: { metadata: Record<string, unknown> };
  readonly gpuLayers: number;
  tokenize(text: string, specialTokens?: boolean): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  isEogToken(token: Token | undefined): boolean;
  createContext(options: {
    contextSize: number;
    sequences: number;
    threads?: number;
    flashAttention?: boolean;
    experimentalKvCacheKeyType?: string;
    experimentalKvCacheValueType?: string;
  }): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcContext {
  readonly contextSize: number;
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
}
interface NlcSequence {
  clearHistory(): Promise<void>;
  evaluate(
    tokens: Token[],
    options: {
      temperature: number;
      yieldEogToken: boolean;
      repeatPenalty?: { punishTokens: () => Token[]; penalty: number; maxPunishTokens: number };
    },
  ): AsyncGenerator<Token, void, void | Token | Token[]>;
  dispose(): void;
}
interface NlcLlama {
  readonly gpu: false | string;
  getGpuDeviceNames(): Promise<string[]>;
  loadModel(options: { modelPath: string; gpuLayers?: number; vocabOnly?: boolean }): Promise<NlcModel>;
}
interface NlcChatWrapper {
  generateContextState(options: { chatHistory: unknown[] }): { contextText: LlamaTextLike };
}
interface NlcModule {
  getLlama(options: Record<string, unknown>): Promise<NlcLlama>;
  JinjaTemplateChatWrapper: new (options: Record<string, unknown>) => NlcChatWrapper;
}

let moduleLoad: Promise<NlcModule> | undefined;

/** node-llama-cpp, or an InputError saying how to install it. */
export function importNodeLlamaCpp(): Promise<NlcModule> {
  moduleLoad ??= (async () => {
    const specifier: string = PACKAGE; // not a literal: TypeScript must not resolve the optional package
    try {
      return (await import(specifier)) as NlcModule;
    } catch (error) {
      moduleLoad = undefined;
      throw new InputError(`the gguf backend needs ${PACKAGE}, which is not installed or failed to load: ${INSTALL_HINT}. (${messageOf(error)})`);
    }
  })();
  return moduleLoad;
}

/** Whether node-llama-cpp can be imported (tests skip without it). */
export async function ggufBackendAvailable(): Promise<boolean> {
  try {
    await importNodeLlamaCpp();
    return true;
  } catch {
    return false;
  }
}

const llamas = new Map<GgufDevice, Promise<NlcLlama>>();

/** One llama.cpp instance per device for the process (loading the native binaries is costly). */
function llamaFor(device: GgufDevice): Promise<NlcLlama> {
  let llama = llamas.get(device);
  if (!llama) {
    llama = (async () => {
      const nlc = await importNodeLlamaCpp();
      let instance: NlcLlama;
      try {
        // build: 'never': only the prebuilt binaries, never a compile from source (or a download).
        instance = await nlc.getLlama({ gpu: device === 'cpu' ? false : device, build: 'never', logLevel: 'error', progressLogs: false });
      } catch (error) {
        if (device === 'cpu') throw new RuntimeFailure(`${PACKAGE} cannot start its CPU build: ${messageOf(error)}`);
        throw new InputError(gpuUnavailable(device, error));
      }
      if (device !== 'cpu') {
        const names = await instance.getGpuDeviceNames().catch(() => []);
        if (instance.gpu !== device || names.length === 0) throw new InputError(gpuUnavailable(device, `${PACKAGE} found no ${device} device`));
      }
      return instance;
    })();
    llama.catch(() => llamas.delete(device));
    llamas.set(device, llama);
  }
  return llama;
}

function gpuUnavailable(device: GgufDevice, error: unknown): string {
  const needs =
    device === 'cuda'
      ? `its CUDA prebuilt (@node-llama-cpp/linux-x64-cuda, installed with ${PACKAGE} on x64 Linux and Windows) and an NVIDIA GPU with a driver for CUDA 12`
      : `its Vulkan prebuilt (@node-llama-cpp/linux-x64-vulkan) and a GPU with Vulkan drivers (libvulkan.so.1)`;
  const detail = messageOf(error).trim();
  return `device '${device}' is unavailable: ${PACKAGE} needs ${needs}. Use device 'cpu' to run on the CPU.${detail ? ` (${detail})` : ''}`;
}

// ---------------------------------------------------------------- opening

interface Settings {
  device: GgufDevice;
  gpuLayers: number | undefined;
  batchSize: number;
  /** Resolved (resolveThreads): always passed, so node-llama-cpp's default of at least 4 never applies. */
  threads: number;
  /** Set when `threads` exceeds the cores (LoadedModel.notes). */
  threadsWarning: string | undefined;
  kvCache: 'f16' | 'f32';
}

function checkSpec(spec: GgufModelSpec): Settings {
  const device = spec.device ?? 'cpu';
  if (!(GGUF_DEVICES as readonly string[]).includes(device)) {
    throw new InputError(`model '${spec.name}': unknown device '${device}' for the gguf backend; expected one of ${GGUF_DEVICES.join(', ')}`);
  }
  const batchSize = spec.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`model '${spec.name}': batchSize must be a positive integer, got ${batchSize}`);
  if (spec.gpuLayers !== undefined) {
    if (!Number.isInteger(spec.gpuLayers) || spec.gpuLayers < 0) throw new InputError(`model '${spec.name}': gpu_layers must be a non-negative integer, got ${spec.gpuLayers}`);
    if (device === 'cpu' && spec.gpuLayers > 0) {
      throw new InputError(`model '${spec.name}': gpu_layers ${spec.gpuLayers} needs a GPU device; set device: cuda or vulkan (or leave gpu_layers out for the CPU)`);
    }
  }
  if (spec.contextSize !== undefined && (!Number.isInteger(spec.contextSize) || spec.contextSize < 1)) {
    throw new InputError(`model '${spec.name}': context_size must be a positive integer, got ${spec.contextSize}`);
  }
  if (spec.threads !== undefined && (!Number.isInteger(spec.threads) || spec.threads < 1)) {
    throw new InputError(`model '${spec.name}': threads must be a positive integer, got ${spec.threads}`);
  }
  const kvCache = spec.kvCache ?? 'f16';
  if (kvCache !== 'f16' && kvCache !== 'f32') throw new InputError(`model '${spec.name}': kv_cache must be f16 or f32, got ${String(kvCache)}`);
  const { threads, warning } = resolveThreads(spec.threads, cpuCores());
  return { device, gpuLayers: device === 'cpu' ? 0 : spec.gpuLayers, batchSize, threads, threadsWarning: warning, kvCache };
}

/** Checks that the file exists and starts with the GGUF magic, before llama.cpp sees it. */
async function validateFile(spec: GgufModelSpec): Promise<string> {
  const file = path.resolve(spec.source);
  if (!existsSync(file)) throw new InputError(`model '${spec.name}': GGUF file ${file} does not exist`);
  if (!statSync(file).isFile()) throw new InputError(`model '${spec.name}': ${file} is not a file (the gguf backend takes the path of a .gguf file)`);
  const handle = await open(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead < 4 || magic.toString('latin1') !== 'GGUF') {
      throw new InputError(`model '${spec.name}': ${file} is not a GGUF file (it does not start with the GGUF magic bytes)`);
    }
  } finally {
    await handle.close();
  }
  return file;
}

/** sha256 and size of the .gguf file, without loading it (the file is validated). */
export async function fingerprintGgufModel(spec: GgufModelSpec): Promise<ModelFingerprint> {
  checkSpec(spec);
  return fingerprintOf(spec.source, await validateFile(spec));
}

async function fingerprintOf(source: string, file: string): Promise<ModelFingerprint> {
  return { source, files: [{ path: path.basename(file), sha256: await sha256File(file), bytes: statSync(file).size }] };
}

/**
 * Opens a GGUF model: the tokenizer (llama.cpp's vocab-only load), chat template, context length
 * and fingerprint at once; the weights and the context on the first generate() or load().
 */
export async function openGgufModel(spec: GgufModelSpec, known?: { fingerprint?: ModelFingerprint }): Promise<LoadedModel> {
  const settings = checkSpec(spec);
  const file = await validateFile(spec);
  const nlc = await importNodeLlamaCpp();
  const llama = await llamaFor(settings.device);
  let vocab: NlcModel;
  try {
    vocab = await llama.loadModel({ modelPath: file, vocabOnly: true });
  } catch (error) {
    throw new InputError(`model '${spec.name}': ${PACKAGE} cannot read ${file}: ${messageOf(error)}`);
  }
  const trained = trainedContextOf(vocab, file);
  if (spec.contextSize !== undefined && spec.contextSize > trained) {
    throw new InputError(`model '${spec.name}': context_size ${spec.contextSize} exceeds the model's trained context of ${trained} tokens`);
  }
  const contextLength = spec.contextSize ?? Math.min(trained, MAX_DEFAULT_CONTEXT);
  const fingerprint = known?.fingerprint ?? (await fingerprintOf(spec.source, file));
  const chat = chatRendererFor(nlc, vocab, spec.chat ?? {}, spec.name);
  const encode = (text: string, chat = false) => encodePrompt(vocab, text, chat);

  let engine: Promise<GgufEngine> | undefined;
  const load = (): Promise<GgufEngine> => {
    engine ??= GgufEngine.create(spec, llama, file, settings, contextLength).catch((error: unknown) => {
      engine = undefined;
      throw error;
    });
    return engine;
  };
  return {
    name: spec.name,
    generator: { generate: async (requests) => (await load()).generate(requests) },
    load: async () => {
      await load();
    },
    countTokens: (text, chat) => encode(text, chat).length,
    encode: (text, chat) => encode(text, chat),
    contextLength,
    renderChat: chat?.render,
    promptStack: {
      chatTemplate: chat ? { source: 'gguf:tokenizer.chat_template', sha256: chat.sha256 } : null,
      bos: {
        raw: vocab.tokens.shouldPrependBosToken && vocab.tokens.bos !== null ? `the tokenizer adds ${vocab.tokens.bosString ?? '?'} (${vocab.tokens.bos}) before` : 'none added',
        chat: 'none added (the template writes its own special tokens)',
      },
    },
    fingerprint,
    // Printed by the run at the model's start and kept in the manifest.
    ...(settings.threadsWarning !== undefined ? { notes: [settings.threadsWarning] } : {}),
    dispose: async () => {
      const loaded = engine ? await engine.catch(() => undefined) : undefined;
      await loaded?.dispose();
      await vocab.dispose();
    },
  };
}

/** Like openGgufModel, with the weights loaded now. */
export async function loadGgufModel(spec: GgufModelSpec): Promise<LoadedModel> {
  const model = await openGgufModel(spec);
  try {
    await model.load!();
  } catch (error) {
    await model.dispose();
    throw error;
  }
  return model;
}

function trainedContextOf(model: NlcModel, file: string): number {
  const metadata = model.fileInfo.metadata;
  const general = metadata.general as { architecture?: unknown } | undefined;
  const arch = typeof general?.architecture === 'string' ? general.architecture : undefined;
  const block = arch ? (metadata[arch] as { context_length?: unknown } | undefined) : undefined;
  const value = block?.context_length;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw new InputError(`${file}: the GGUF metadata gives no context length (${arch ?? '<architecture>'}.context_length)`);
}

/**
 * Token ids of a prompt exactly as generation feeds it: special-token text parsed; a raw prompt
 * gets BOS/EOS as the GGUF asks, a rendered chat prompt none (its template writes its own), as in
 * the in-process backend and vLLM.
 */
function encodePrompt(model: NlcModel, text: string, chat = false): number[] {
  const ids = model.tokenize(text, true);
  if (chat) return ids;
  const { shouldPrependBosToken, shouldAppendEosToken, bos, eos } = model.tokens;
  if (shouldPrependBosToken && bos !== null && ids[0] !== bos) ids.unshift(bos);
  if (shouldAppendEosToken && eos !== null && ids.at(-1) !== eos) ids.push(eos);
  return ids;
}

/**
 * The GGUF's own chat template (`tokenizer.chat_template`) rendered by node-llama-cpp's
 * JinjaTemplateChatWrapper (the @huggingface/jinja engine transformers.js uses too) with the
 * generation prompt, as one string; undefined when the file has no template. System messages are
 * never rewritten (a template that rejects them fails, as with transformers.js), adjacent
 * messages are not merged and BOS/EOS placeholders become the model's token text.
 */
function chatRendererFor(nlc: NlcModule, model: NlcModel, options: ChatOptions, modelName: string): { render: ChatRenderer; sha256: string } | undefined {
  const tokenizer = model.fileInfo.metadata.tokenizer as { chat_template?: unknown } | undefined;
  const original = tokenizer?.chat_template;
  if (typeof original !== 'string' || original.trim() === '') return undefined;
  if (options.templateName !== undefined) throw new InputError(`model '${modelName}': \`chat_template_name\` is not supported for GGUF files (the file holds one template)`);
  const template = pinnedTemplate(original, options);
  const variables = templateVariables(options);
  let wrapper: NlcChatWrapper | undefined;
  const special: Record<string, string | null> = { BOS: model.tokens.bosString, EOS: model.tokens.eosString, EOT: model.tokens.eotString };
  const render = (messages: ChatMessage[]) => {
    wrapper ??= new nlc.JinjaTemplateChatWrapper({
      template,
      additionalRenderParameters: variables,
      reasoning: null,
      convertUnsupportedSystemMessagesToUserMessages: false,
      joinAdjacentMessagesOfTheSameType: false,
      trimLeadingWhitespaceInResponses: false,
      functionCallMessageTemplate: 'noJinja',
    });
    const chatHistory = [
      ...messages.map((m) =>
        m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
      ),
      { type: 'model', response: [] },
    ];
    const { contextText } = wrapper.generateContextState({ chatHistory });
    return contextText.values
      .map((value) => {
        if (typeof value === 'string') return value;
        if (value.type === 'specialToken') {
          const text = special[value.value ?? ''];
          if (text == null) throw new InputError(`the chat template uses the ${value.value} token, which this GGUF does not define`);
          return text;
        }
        return value.value ?? '';
      })
      .join('');
  };
  return { render: checkedChatRenderer(render, options, modelName), sha256: createHash('sha256').update(original).digest('hex') };
}

// ---------------------------------------------------------------- generation

interface PlannedRequest {
  index: number;
  ids: number[];
  decoding: DecodingParams;
  stop: string[];
}

class GgufEngine {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly model: NlcModel,
    private readonly context: NlcContext,
    private readonly sequences: NlcSequence[],
    private readonly contextLength: number,
    private readonly onBatch?: (done: number) => void,
  ) {}

  static async create(spec: GgufModelSpec, llama: NlcLlama, file: string, settings: Settings, contextLength: number): Promise<GgufEngine> {
    let model: NlcModel;
    try {
      model = await llama.loadModel({ modelPath: file, ...(settings.gpuLayers !== undefined ? { gpuLayers: settings.gpuLayers } : {}) });
    } catch (error) {
      throw new InputError(`model '${spec.name}': ${PACKAGE} cannot load ${file}: ${messageOf(error)}`);
    }
    if (settings.device !== 'cpu' && model.gpuLayers === 0) {
      await model.dispose();
      throw new InputError(gpuUnavailable(settings.device, 'no layer could be offloaded to the GPU'));
    }
    try {
      // One context, `batchSize` sequences of `contextLength` cells each, decoded together.
      const context = await model.createContext({
        contextSize: contextLength,
        sequences: settings.batchSize,
        threads: settings.threads,
        ...(settings.kvCache === 'f32' ? { flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } : {}),
      });
      const sequences = Array.from({ length: settings.batchSize }, () => context.getSequence());
      return new GgufEngine(model, context, sequences, contextLength, spec.onBatch);
    } catch (error) {
      await model.dispose();
      throw new RuntimeFailure(`model '${spec.name}': cannot create a llama.cpp context of ${settings.batchSize} × ${contextLength} tokens: ${messageOf(error)}`);
    }
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  /** Calls run one after another; within a call, requests share the context's sequences. */
  generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const run = this.queue.then(() => this.generateNow(requests));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async generateNow(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const planned = requests.map((request, index) => this.plan(request, index));
    // Longest prompts first, so the parallel sequences finish close together.
    const order = [...planned].sort((a, b) => b.ids.length - a.ids.length || a.index - b.index);
    const results = new Array<Omit<GenerationResult, 'latencyMs'>>(requests.length);
    const started = performance.now();
    let next = 0;
    let done = 0;
    const worker = async (sequence: NlcSequence) => {
      while (next < order.length) {
        const row = order[next++]!;
        results[row.index] = await this.generateOne(sequence, row);
        done += 1;
        this.onBatch?.(done);
      }
    };
    try {
      await Promise.all(this.sequences.slice(0, Math.max(1, Math.min(this.sequences.length, order.length))).map(worker));
    } catch (error) {
      if (error instanceof InputError || error instanceof RuntimeFailure) throw error;
      throw new RuntimeFailure(`generation failed: ${messageOf(error)}`);
    }
    const latencyMs = requests.length > 0 ? (performance.now() - started) / requests.length : 0;
    return results.map((r) => ({ ...r, latencyMs }));
  }

  private plan(request: GenerationRequest, index: number): PlannedRequest {
    const { decoding } = request;
    if (decoding.temperature !== 0) {
      throw new InputError(`temperature ${decoding.temperature} is not supported by the gguf backend: only greedy decoding (temperature 0) is reproducible`);
    }
    if (!Number.isInteger(decoding.maxNewTokens) || decoding.maxNewTokens < 0) {
      throw new InputError(`maxNewTokens must be a non-negative integer, got ${decoding.maxNewTokens}`);
    }
    if (decoding.minNewTokens) throw new InputError('minNewTokens is supported by the in-process transformers backend only');
    if (!(decoding.repetitionPenalty > 0)) {
      throw new InputError(`repetitionPenalty must be positive (1.0 = off), got ${decoding.repetitionPenalty}`);
    }
    const ids = encodePrompt(this.model, request.prompt, request.chat === true);
    if (ids.length === 0) throw new InputError(`request ${index}: the prompt is empty (no tokens to condition on)`);
    if (ids.length + decoding.maxNewTokens > this.contextLength) {
      throw new InputError(
        `request ${index}: ${ids.length} prompt tokens + ${decoding.maxNewTokens} new tokens exceed the model's context of ${this.contextLength} tokens`,
      );
    }
    return { index, ids, decoding, stop: decoding.stop.filter((s) => s.length > 0) };
  }

  /** Greedy decoding of one request on one sequence, cut at its first end-of-generation token or stop string. */
  private async generateOne(sequence: NlcSequence, row: PlannedRequest): Promise<Omit<GenerationResult, 'latencyMs'>> {
    const { ids, decoding, stop } = row;
    const promptTokens = ids.length;
    if (decoding.maxNewTokens === 0) return { text: '', finishReason: 'length', promptTokens, completionTokens: 0 };
    await sequence.clearHistory();
    const generated: number[] = [];
    let finishReason: FinishReason = 'length';
    const penalty = decoding.repetitionPenalty;
    const iterator = sequence.evaluate(ids, {
      temperature: 0,
      yieldEogToken: true,
      ...(penalty !== 1
        ? { repeatPenalty: { punishTokens: () => [...ids, ...generated], penalty, maxPunishTokens: ids.length + decoding.maxNewTokens } }
        : {}),
    });
    try {
      for await (const token of iterator) {
        generated.push(token);
        if (this.model.isEogToken(token)) {
          finishReason = 'eos';
          break;
        }
        if (stop.length > 0 && stop.some((s) => this.decode(generated).includes(s))) {
          finishReason = 'stop';
          break;
        }
        if (generated.length >= decoding.maxNewTokens) break;
      }
    } finally {
      await iterator.return();
    }
    const completionTokens = generated.length;
    if (finishReason === 'eos') return { text: this.decode(generated.slice(0, -1)), finishReason, promptTokens, completionTokens };
    const text = this.decode(generated);
    if (finishReason === 'stop') return { ...cutAtStop(text, stop), finishReason, promptTokens, completionTokens };
    return { text, finishReason, promptTokens, completionTokens };
  }

  /** Without special-token text (`<|im_end|>`), as the transformers backend and vLLM decode. */
  private decode(ids: number[]): string {
    return ids.length === 0 ? '' : this.model.detokenize(ids, false);
  }
}


/** The `gguf` backend's engine (see backends.ts). */
export const engine: ModelEngine<GgufModelSpec> = { open: openGgufModel, load: loadGgufModel, fingerprint: fingerprintGgufModel };
