// The OpenAI-compatible HTTP backend: vLLM, TGI, llama.cpp's server, Ollama, `ragtax serve`, any
// server with /v1/completions and /v1/chat/completions. Selected by `backend: openai`.
//
// What is sent where:
// - `raw` prompts, and `chat` prompts under `chat_mode: rendered`, are strings rendered by ragtax
//   (the latter with the local tokenizer's chat template) and go to /v1/completions, so the server
//   receives exactly the string the in-process backend would use; a rendered chat prompt
//   (GenerationRequest.chat) carries vLLM's `add_special_tokens: false`, so the server adds no BOS
//   of its own to the template's (raw prompts go without it: the server tokenizer's own rule);
// - `chat` prompts under `chat_mode: server` go to /v1/chat/completions as messages and the server
//   applies its own template; the sample's `prompt` then records the compact JSON of the messages.
// Decoding is greedy (temperature 0) with the suite's seed, max_tokens and stop strings (at most
// `max_stops` of them are sent, 4 by default as in OpenAI's API; every stop string is also applied
// here, so a server that stops late or keeps the stop string gives the same text).
//
// Identity: GET /v1/models on every endpoint at start; the entry for `model` (id, owned_by, root,
// parent, max_model_len) is recorded in the manifest and hashed into the fingerprint, so the
// generation cache and --resume tell apart two servers that serve different weights under one id.
// Replicas that report different roots or context lengths are refused.
//
// Token counts for the context-overflow check: the local `tokenizer` folder if given, else the
// server's /tokenize (vLLM, `ragtax serve`) if it answers, else the check is skipped and a note is
// printed and recorded in the manifest (never silently).

import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, messageOf, RuntimeFailure } from '../../errors.js';
import type {
  ChatRenderer,
  DecodingParams,
  FinishReason,
  GenerationRequest,
  GenerationResult,
  Generator,
  LoadedModel,
  ModelFingerprint,
} from '../../types.js';
import { displayUrl, EndpointPool, normaliseEndpoint } from './http-pool.js';
import type { OpenAIModelSpec } from './settings.js';
import type { ModelEngine } from '../backend.js';

const DEFAULTS = { concurrency: 8, timeoutS: 600, maxRetries: 5, maxStops: 4, retryBaseMs: 500, retryMaxMs: 30_000 };
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

type Json = Record<string, unknown>;

/** What GET /v1/models says about the model on one endpoint (the fields that identify it). */
export interface ServedModel {
  endpoint: string;
  id: string;
  owned_by: string | null;
  root: string | null;
  parent: string | null;
  max_model_len: number | null;
  /** `ragtax serve` only: sha256 of the served model's file fingerprint. */
  ragtax_fingerprint?: string;
}

interface LocalTokenizer {
  /** `chat`: a rendered chat template, encoded without adding special tokens (GenerationRequest.chat). */
  encode(text: string, chat?: boolean): number[];
  renderChat?: ChatRenderer;
  /** The manifest's record of the template and BOS rule (see promptStackOf). */
  promptStack: Record<string, unknown>;
  files: ModelFingerprint['files'];
}

interface Probe {
  pool: EndpointPool;
  served: ServedModel[];
  tokenizer: LocalTokenizer | undefined;
  tokenCounting: 'tokenizer' | 'server' | 'none';
  contextLength: number | null;
  notes: string[];
  fingerprint: ModelFingerprint;
}

export async function fingerprintOpenAIModel(spec: OpenAIModelSpec): Promise<ModelFingerprint> {
  return (await probe(spec)).fingerprint;
}

export async function openOpenAIModel(spec: OpenAIModelSpec): Promise<LoadedModel> {
  const p = await probe(spec);
  const chatMode = spec.chatMode ?? 'server';
  const maxStops = spec.maxStops ?? DEFAULTS.maxStops;
  const generator = new OpenAIGenerator(p.pool, spec.model, maxStops, spec.chat?.templateKwargs);
  const { tokenizer } = p;
  return {
    name: spec.name,
    generator,
    // Without a local tokenizer the count is unknown here (NaN never exceeds a context length):
    // countRequestTokens below is what the runner uses.
    countTokens: (text, chat) => (tokenizer ? tokenizer.encode(text, chat).length : Number.NaN),
    countRequestTokens: (requests) => countRequestTokens(p, spec.model, requests, spec.chat?.templateKwargs),
    contextLength: p.contextLength ?? Number.POSITIVE_INFINITY,
    renderChat: chatMode === 'rendered' ? tokenizer?.renderChat : undefined,
    acceptsMessages: chatMode === 'server',
    ...(chatMode === 'rendered' && tokenizer ? { encode: (text: string, chat?: boolean) => tokenizer.encode(text, chat) } : {}),
    promptStack:
      chatMode === 'rendered' && tokenizer
        ? tokenizer.promptStack
        : { chatTemplate: 'the server\'s own (chat_mode: server)', bos: { raw: 'as the server\'s tokenizer adds it', chat: 'as the server renders it (vLLM adds none)' } },
    notes: p.notes,
    fingerprint: p.fingerprint,
    dispose: async () => {},
  };
}

function apiKeyOf(spec: OpenAIModelSpec): string | undefined {
  if (spec.apiKeyEnv === undefined) return undefined;
  const key = process.env[spec.apiKeyEnv];
  if (key === undefined || key === '') {
    throw new InputError(`model '${spec.name}': the environment variable ${spec.apiKeyEnv} (api_key_env) is not set; export it with the server's API key`);
  }
  return key;
}

async function probe(spec: OpenAIModelSpec): Promise<Probe> {
  if (spec.endpoints.length === 0) throw new InputError(`model '${spec.name}': \`endpoints\` is empty`);
  const endpoints = [...new Set(spec.endpoints.map(normaliseEndpoint))];
  for (const e of endpoints) {
    if (!/^https?:\/\//.test(e)) throw new InputError(`model '${spec.name}': endpoint ${displayUrl(e)} is not an http(s) URL`);
  }
  const apiKeyEnv = spec.apiKeyEnv;
  const pool = new EndpointPool({
    endpoints,
    concurrency: spec.concurrency ?? DEFAULTS.concurrency,
    apiKey: apiKeyOf(spec),
    apiKeyEnv,
    timeoutMs: (spec.timeoutS ?? DEFAULTS.timeoutS) * 1000,
    maxRetries: spec.maxRetries ?? DEFAULTS.maxRetries,
    baseDelayMs: spec.retryBaseMs ?? DEFAULTS.retryBaseMs,
    maxDelayMs: spec.retryMaxMs ?? DEFAULTS.retryMaxMs,
    label: spec.name,
  });

  const served: ServedModel[] = [];
  for (const [i, endpoint] of endpoints.entries()) {
    const list = (await pool.getFrom(i, '/v1/models')) as { data?: unknown };
    const entries = Array.isArray(list?.data) ? (list.data as Json[]) : [];
    const entry = entries.find((m) => m?.id === spec.model);
    if (!entry) {
      const ids = entries.map((m) => String(m?.id)).join(', ') || 'none';
      throw new InputError(`model '${spec.name}': ${displayUrl(endpoint)} does not serve model '${spec.model}' (GET /v1/models lists: ${ids}); set \`model\` to one of them`);
    }
    served.push({
      endpoint: displayUrl(endpoint),
      id: spec.model,
      owned_by: stringOrNull(entry.owned_by),
      root: stringOrNull(entry.root),
      parent: stringOrNull(entry.parent),
      max_model_len: typeof entry.max_model_len === 'number' ? entry.max_model_len : null,
      ...(typeof entry.ragtax_fingerprint === 'string' ? { ragtax_fingerprint: entry.ragtax_fingerprint } : {}),
    });
  }
  const identity = (s: ServedModel) => JSON.stringify([s.root, s.parent, s.max_model_len, s.ragtax_fingerprint ?? null]);
  const differing = served.find((s) => identity(s) !== identity(served[0]!));
  if (differing) {
    throw new InputError(
      `model '${spec.name}': the endpoints serve different models under id '${spec.model}' (${served[0]!.endpoint}: ${identity(served[0]!)}; ${differing.endpoint}: ${identity(differing)}); replicas must serve the same weights`,
    );
  }

  const notes: string[] = [];
  const tokenizer = spec.tokenizer !== undefined ? await loadLocalTokenizer(spec) : undefined;
  let tokenCounting: Probe['tokenCounting'] = 'tokenizer';
  let tokenizeMaxLen: number | null = null;
  if (!tokenizer) {
    const answer = (await pool.probe(0, '/tokenize', { model: spec.model, prompt: 'ragtax' })) as Json | null;
    if (answer && (typeof answer.count === 'number' || Array.isArray(answer.tokens))) {
      tokenCounting = 'server';
      if (typeof answer.max_model_len === 'number') tokenizeMaxLen = answer.max_model_len;
    } else {
      tokenCounting = 'none';
    }
  }
  const contextLength = spec.contextLength ?? served[0]!.max_model_len ?? tokenizeMaxLen ?? (spec.tokenizer ? await contextLengthOfFolder(spec.tokenizer) : null);
  if (tokenCounting === 'none') {
    notes.push('context-overflow check skipped: no local `tokenizer` and the server has no /tokenize; prompts longer than the context will fail at the server');
  } else if (contextLength === null) {
    notes.push('context-overflow check skipped: the server reports no max_model_len; set `context_length` in the model entry');
  }

  const servedIdentity = { id: spec.model, root: served[0]!.root, parent: served[0]!.parent, max_model_len: served[0]!.max_model_len, ragtax_fingerprint: served[0]!.ragtax_fingerprint ?? null };
  const files: ModelFingerprint['files'] = [
    { path: 'server:/v1/models', sha256: createHash('sha256').update(JSON.stringify(servedIdentity)).digest('hex'), bytes: 0 },
    ...(tokenizer?.files ?? []),
  ];
  const chatMode = spec.chatMode ?? 'server';
  const fingerprint: ModelFingerprint = {
    source: `openai:${spec.model}`,
    files,
    details: {
      backend: 'openai',
      model: spec.model,
      endpoints: served.map((s) => s.endpoint),
      servers: served,
      chatMode,
      // What samples.jsonl's `prompt` holds for `chat` samples of this model.
      chatPromptRecord: chatMode === 'server' ? 'messages-json' : 'rendered-string',
      tokenCounting,
      contextLength,
      concurrencyPerEndpoint: spec.concurrency ?? DEFAULTS.concurrency,
      ...(apiKeyEnv !== undefined ? { apiKeyEnv } : {}),
      ...(notes.length > 0 ? { notes } : {}),
    },
  };
  return { pool, served, tokenizer, tokenCounting, contextLength, notes, fingerprint };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

async function loadLocalTokenizer(spec: OpenAIModelSpec): Promise<LocalTokenizer> {
  const folder = spec.tokenizer!;
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InputError(`model '${spec.name}': tokenizer folder ${folder} does not exist (expected tokenizer.json and tokenizer_config.json)`);
  }
  for (const file of TOKENIZER_FILES) {
    if (!existsSync(path.join(folder, file))) throw new InputError(`model '${spec.name}': tokenizer folder ${folder} has no ${file}`);
  }
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  const { tokenizerChat, promptStackOf } = await import('../transformers/engine.js');
  env.allowLocalModels = true;
  let tokenizer;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(folder, { local_files_only: true });
  } catch (error) {
    throw new InputError(`model '${spec.name}': cannot load the tokenizer from ${folder}: ${messageOf(error)}`);
  }
  const chat = tokenizerChat(tokenizer, folder, spec.chat, spec.name);
  const files: ModelFingerprint['files'] = [];
  // The template file, where the folder has one, is part of what identifies the prompts.
  for (const file of [...TOKENIZER_FILES, ...(existsSync(path.join(folder, 'chat_template.jinja')) ? ['chat_template.jinja'] : [])]) {
    const bytes = await readFile(path.join(folder, file));
    files.push({ path: `tokenizer/${file}`, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  }
  return {
    // transformers.js: add_special_tokens false leaves out the BOS/EOS a raw prompt gets.
    encode: (text, chat = false) => (chat ? tokenizer.encode(text, { add_special_tokens: false }) : tokenizer.encode(text)),
    renderChat: chat?.render,
    promptStack: promptStackOf(tokenizer, chat?.template),
    files,
  };
}

/** A tokenizer folder that is a whole model folder also gives the context length. */
async function contextLengthOfFolder(folder: string): Promise<number | null> {
  try {
    const config = JSON.parse(await readFile(path.join(folder, 'config.json'), 'utf8')) as Json;
    for (const key of ['max_position_embeddings', 'n_positions', 'max_seq_len', 'seq_length', 'n_ctx', 'max_sequence_length']) {
      const value = config[key];
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
    }
  } catch {
    // no config.json: the context length stays unknown
  }
  return null;
}

async function countRequestTokens(p: Probe, model: string, requests: GenerationRequest[], templateKwargs?: Record<string, unknown>): Promise<(number | null)[]> {
  if (p.contextLength === null) return requests.map(() => null);
  const { tokenizer } = p;
  if (tokenizer) {
    return requests.map((r) => {
      if (!r.messages) return tokenizer.encode(r.prompt, r.chat === true).length;
      // Messages: the server renders the template and, like vLLM, adds no special tokens to it.
      return tokenizer.renderChat ? tokenizer.encode(tokenizer.renderChat(r.messages), true).length : null;
    });
  }
  if (p.tokenCounting !== 'server') return requests.map(() => null);
  return Promise.all(
    requests.map(async (r) => {
      const body = r.messages
        ? { model, messages: r.messages, add_generation_prompt: true, ...(templateKwargs !== undefined ? { chat_template_kwargs: templateKwargs } : {}) }
        : { model, prompt: r.prompt, ...(r.chat === true ? { add_special_tokens: false } : {}) };
      const answer = (await p.pool.post('/tokenize', body)) as Json;
      if (typeof answer.count === 'number') return answer.count;
      return Array.isArray(answer.tokens) ? answer.tokens.length : null;
    }),
  );
}

// ---------------------------------------------------------------- generation

interface CompletionChoice {
  text?: string;
  message?: { content?: string | null };
  finish_reason?: string | null;
  stop_reason?: string | number | null;
  ragtax_finish_reason?: string;
}

interface CompletionResponse {
  choices?: CompletionChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

export class OpenAIGenerator implements Generator {
  constructor(
    private readonly pool: EndpointPool,
    private readonly model: string,
    private readonly maxStops: number,
    /** Sent with chat requests as vLLM's `chat_template_kwargs` (e.g. `{enable_thinking: false}`). */
    private readonly templateKwargs?: Record<string, unknown>,
  ) {}

  /** Peak requests in flight per endpoint so far. */
  get peakInFlight(): number[] {
    return [...this.pool.peakInFlight];
  }

  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    // One request failing for good cancels the others: the run stops with that failure.
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // one listener per request in flight or waiting
    const pending = requests.map((r) =>
      this.one(r, controller.signal).catch((error: unknown) => {
        if (!controller.signal.aborted) controller.abort(error);
        throw error;
      }),
    );
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw controller.signal.reason ?? failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<GenerationResult>).value);
  }

  private async one(request: GenerationRequest, signal: AbortSignal): Promise<GenerationResult> {
    const { decoding } = request;
    checkDecoding(decoding);
    const stops = decoding.stop.filter((s) => s.length > 0);
    if (decoding.maxNewTokens === 0) return { text: '', finishReason: 'length', promptTokens: 0, completionTokens: 0, latencyMs: 0 };
    const common: Json = {
      model: this.model,
      max_tokens: decoding.maxNewTokens,
      temperature: 0,
      seed: decoding.seed,
      ...(stops.length > 0 && this.maxStops > 0 ? { stop: stops.slice(0, this.maxStops) } : {}),
      // Not in OpenAI's API; vLLM, TGI, llama.cpp and ragtax serve accept it.
      ...(decoding.repetitionPenalty !== 1 ? { repetition_penalty: decoding.repetitionPenalty } : {}),
    };
    const started = performance.now();
    const chat = request.messages !== undefined;
    // A rendered chat template writes its own BOS: vLLM's switch keeps the server from adding one.
    const rendered = !chat && request.chat === true ? { add_special_tokens: false } : {};
    const response = (await this.pool.post(
      chat ? '/v1/chat/completions' : '/v1/completions',
      chat
        ? { ...common, messages: request.messages, ...(this.templateKwargs !== undefined ? { chat_template_kwargs: this.templateKwargs } : {}) }
        : { ...common, prompt: request.prompt, ...rendered },
      signal,
    )) as CompletionResponse;
    const latencyMs = performance.now() - started;
    const choice = response?.choices?.[0];
    if (!choice) throw new RuntimeFailure(`model '${this.model}': the server's response has no choices`);
    const raw = (chat ? choice.message?.content : choice.text) ?? '';
    const { text, cut } = cutAtStop(raw, stops);
    return {
      text,
      finishReason: cut ? 'stop' : finishReasonOf(choice, stops.length > 0),
      promptTokens: response.usage?.prompt_tokens ?? 0,
      completionTokens: response.usage?.completion_tokens ?? 0,
      latencyMs,
    };
  }
}

function checkDecoding(decoding: DecodingParams): void {
  if (decoding.temperature !== 0) throw new InputError(`temperature ${decoding.temperature} is not supported: ragtax decodes greedily (temperature 0)`);
  if (!Number.isInteger(decoding.maxNewTokens) || decoding.maxNewTokens < 0) {
    throw new InputError(`maxNewTokens must be a non-negative integer, got ${decoding.maxNewTokens}`);
  }
  if (decoding.minNewTokens) throw new InputError('minNewTokens is supported by the in-process transformers backend only');
}

/** Cuts at the earliest occurrence of any stop string (a server that stops late or keeps it). */
function cutAtStop(text: string, stops: string[]): { text: string; cut: boolean } {
  const positions = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
  if (positions.length === 0) return { text, cut: false };
  return { text: text.slice(0, Math.min(...positions)), cut: true };
}

/**
 * OpenAI says `stop` for both EOS and a stop string. ragtax serve adds `ragtax_finish_reason`;
 * vLLM's `stop_reason` is the matched stop string (null for EOS). Other servers: EOS unless stop
 * strings were sent (then unknowable, reported as `stop`; finishReason is informative only).
 */
function finishReasonOf(choice: CompletionChoice, sentStops: boolean): FinishReason {
  const own = choice.ragtax_finish_reason;
  if (own === 'eos' || own === 'stop' || own === 'length') return own;
  if (choice.finish_reason === 'length') return 'length';
  if (typeof choice.stop_reason === 'string') return 'stop';
  if (choice.stop_reason === null || typeof choice.stop_reason === 'number') return 'eos';
  return sentStops ? 'stop' : 'eos';
}

/** The `openai` backend's engine (see backends.ts). Nothing loads lazily: the server holds the weights. */
export const engine: ModelEngine<OpenAIModelSpec> = { open: openOpenAIModel, load: openOpenAIModel, fingerprint: fingerprintOpenAIModel };
