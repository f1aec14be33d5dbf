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
// printed and recorded in the manifest (never silently). A prompt that a byte-level BPE's bound
// proves to fit (UTF-8 bytes + special tokens + max_tokens ≤ the context; see token-bound.ts) is
// not counted at all: against a server that saves one /tokenize request per sample. Counts still
// needed go to /tokenize concurrently, through the same pool as the completions (vLLM's /tokenize
// takes one prompt per request, so they cannot be batched into one).
//
// What comes back: a completion body is checked (checkCompletion) before it is used; a malformed one
// (no `choices`, no text, a field of the wrong type) is retried like a 5xx and then stops the run
// naming the suite's model, the endpoint and what was wrong (see http-pool.ts). An empty text is
// accepted (a model may stop at once) but counted: the model's `notes` then say how many. The API
// key's value is replaced by `[redacted]` in every text this backend returns (completions, the
// fingerprint's server facts, messages), and a note counts the completions that held it. A batch
// that fails part-way throws PartialGenerationError with the rows that finished.

import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, messageOf, PartialGenerationError } from '../../errors.js';
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
import { displayUrl, EndpointPool, normaliseEndpoint, type ResponseCheck } from './http-pool.js';
import { BYTE_LEVEL_PROBE, byteLevelOfTokenizerJson, byteLevelOfTokenStrings, tokenUpperBound, type ByteBound } from './token-bound.js';
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
  /** The byte-level BPE bound when tokenizer.json shows it holds, else why not. */
  bound: ByteBound | { reason: string };
}

interface Probe {
  pool: EndpointPool;
  served: ServedModel[];
  tokenizer: LocalTokenizer | undefined;
  tokenCounting: 'tokenizer' | 'server' | 'none';
  /** Prompts this bound proves to fit are not counted (null: every prompt is counted). */
  bound: ByteBound | null;
  contextLength: number | null;
  notes: string[];
  fingerprint: ModelFingerprint;
}

export async function fingerprintOpenAIModel(spec: OpenAIModelSpec): Promise<ModelFingerprint> {
  const p = await probe(spec);
  await p.pool.close();
  return p.fingerprint;
}

export async function openOpenAIModel(spec: OpenAIModelSpec): Promise<LoadedModel> {
  const p = await probe(spec);
  const chatMode = spec.chatMode ?? 'server';
  const maxStops = spec.maxStops ?? DEFAULTS.maxStops;
  const generator = new OpenAIGenerator(p.pool, spec.model, maxStops, spec.chat?.templateKwargs, spec.name, spec.apiKeyEnv);
  const { tokenizer } = p;
  return {
    name: spec.name,
    generator,
    // Without a local tokenizer the count is unknown here (NaN never exceeds a context length):
    // countRequestTokens below is what the runner uses.
    countTokens: (text, chat) => (tokenizer ? tokenizer.encode(text, chat).length : Number.NaN),
    countRequestTokens: (requests, options) => countRequestTokens(p, spec.model, requests, spec.chat?.templateKwargs, options?.exact === true),
    contextLength: p.contextLength ?? Number.POSITIVE_INFINITY,
    renderChat: chatMode === 'rendered' ? tokenizer?.renderChat : undefined,
    acceptsMessages: chatMode === 'server',
    ...(chatMode === 'rendered' && tokenizer ? { encode: (text: string, chat?: boolean) => tokenizer.encode(text, chat) } : {}),
    promptStack:
      chatMode === 'rendered' && tokenizer
        ? tokenizer.promptStack
        : { chatTemplate: 'the server\'s own (chat_mode: server)', bos: { raw: 'as the server\'s tokenizer adds it', chat: 'as the server renders it (vLLM adds none)' } },
    // Read when asked: the probe's notes, then what generation has found so far (empty completions,
    // an echoed API key).
    get notes() {
      return [...p.notes, ...generator.notes];
    },
    fingerprint: p.fingerprint,
    dispose: () => p.pool.close(),
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
    if (!/^https?:\/\//.test(e) || !URL.canParse(e)) throw new InputError(`model '${spec.name}': endpoint ${displayUrl(e)} is not an http(s) URL`);
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
      throw new InputError(pool.redact(`model '${spec.name}': ${displayUrl(endpoint)} does not serve model '${spec.model}' (GET /v1/models lists: ${ids}); set \`model\` to one of them`));
    }
    // The server's own words go to the manifest: without the key, should a server echo it.
    const fact = (value: unknown) => {
      const text = stringOrNull(value);
      return text === null ? null : pool.redact(text);
    };
    served.push({
      endpoint: displayUrl(endpoint),
      id: spec.model,
      owned_by: fact(entry.owned_by),
      root: fact(entry.root),
      parent: fact(entry.parent),
      max_model_len: typeof entry.max_model_len === 'number' ? entry.max_model_len : null,
      ...(typeof entry.ragtax_fingerprint === 'string' ? { ragtax_fingerprint: pool.redact(entry.ragtax_fingerprint) } : {}),
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
  let bound: ByteBound | { reason: string } | null = tokenizer ? tokenizer.bound : null;
  if (!tokenizer) {
    const answer = (await pool.probe(0, '/tokenize', { model: spec.model, prompt: 'ragtax' })) as Json | null;
    if (answer && (typeof answer.count === 'number' || Array.isArray(answer.tokens))) {
      tokenCounting = 'server';
      if (typeof answer.max_model_len === 'number') tokenizeMaxLen = answer.max_model_len;
      bound = await serverByteBound(pool, spec.model);
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
      // Whether prompts that provably fit skip the count (token-bound.ts).
      promptTokenBound: bound === null ? null : 'reason' in bound ? { applied: false, reason: bound.reason } : { applied: true, rule: 'byte-level BPE: UTF-8 bytes + 1 + special tokens', ...bound },
      contextLength,
      concurrencyPerEndpoint: spec.concurrency ?? DEFAULTS.concurrency,
      ...(apiKeyEnv !== undefined ? { apiKeyEnv } : {}),
      ...(notes.length > 0 ? { notes } : {}),
    },
  };
  return { pool, served, tokenizer, tokenCounting, bound: bound !== null && !('reason' in bound) ? bound : null, contextLength, notes, fingerprint };
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
  let bound: LocalTokenizer['bound'] = { reason: 'tokenizer.json is not JSON' };
  // The template file, where the folder has one, is part of what identifies the prompts.
  for (const file of [...TOKENIZER_FILES, ...(existsSync(path.join(folder, 'chat_template.jinja')) ? ['chat_template.jinja'] : [])]) {
    const bytes = await readFile(path.join(folder, file));
    if (file === 'tokenizer.json') {
      try {
        const byteLevel = byteLevelOfTokenizerJson(JSON.parse(bytes.toString('utf8')));
        // The special tokens a raw prompt gets are those of an empty one.
        bound = 'reason' in byteLevel ? byteLevel : { ...byteLevel, specialTokens: tokenizer.encode('').length, decidedBy: 'tokenizer.json' };
      } catch {
        // transformers.js read it, so this does not happen; the prompts are then counted.
      }
    }
    files.push({ path: `tokenizer/${file}`, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  }
  return {
    // transformers.js: add_special_tokens false leaves out the BOS/EOS a raw prompt gets.
    encode: (text, chat = false) => (chat ? tokenizer.encode(text, { add_special_tokens: false }) : tokenizer.encode(text)),
    renderChat: chat?.render,
    promptStack: promptStackOf(tokenizer, chat?.template),
    files,
    bound,
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

/**
 * Whether a server's tokenizer is a byte-level BPE (token-bound.ts): the probe's token strings with
 * `add_special_tokens: false`, and its count with the server's default, for the special tokens a
 * raw prompt gets. Where the server says nothing conclusive, the reason (every prompt is then counted).
 */
async function serverByteBound(pool: EndpointPool, model: string): Promise<ByteBound | { reason: string }> {
  const [bare, usual] = (await Promise.all([
    pool.probe(0, '/tokenize', { model, prompt: BYTE_LEVEL_PROBE, add_special_tokens: false, return_token_strs: true }),
    pool.probe(0, '/tokenize', { model, prompt: BYTE_LEVEL_PROBE }),
  ])) as (Json | null)[];
  const normalForm = byteLevelOfTokenStrings(bare?.token_strs);
  if (normalForm === undefined) return { reason: "the server's /tokenize gives no token strings in GPT-2's byte alphabet (return_token_strs)" };
  const count = (answer: Json | null | undefined) => (typeof answer?.count === 'number' ? answer.count : Array.isArray(answer?.tokens) ? answer.tokens.length : null);
  const [without, withSpecials] = [count(bare), count(usual)];
  if (without === null || withSpecials === null || withSpecials < without) return { reason: "the server's /tokenize counts are inconsistent" };
  return { normalForm, specialTokens: withSpecials - without, decidedBy: 'server /tokenize token strings' };
}

async function countRequestTokens(p: Probe, model: string, requests: GenerationRequest[], templateKwargs: Record<string, unknown> | undefined, exact: boolean): Promise<(number | null)[]> {
  const { contextLength, bound } = p;
  if (contextLength === null) return requests.map(() => null);
  // Proven to fit: not counted (null), unless every count is asked for (`ragtax prompts`).
  const fits = (r: GenerationRequest) => !exact && bound !== null && !r.messages && tokenUpperBound(bound, r.prompt, r.chat === true) + r.decoding.maxNewTokens <= contextLength;
  const { tokenizer } = p;
  if (tokenizer) {
    return requests.map((r) => {
      if (fits(r)) return null;
      if (!r.messages) return tokenizer.encode(r.prompt, r.chat === true).length;
      // Messages: the server renders the template and, like vLLM, adds no special tokens to it.
      return tokenizer.renderChat ? tokenizer.encode(tokenizer.renderChat(r.messages), true).length : null;
    });
  }
  if (p.tokenCounting !== 'server') return requests.map(() => null);
  return Promise.all(
    requests.map(async (r) => {
      if (fits(r)) return null;
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
  choices: CompletionChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/** `a string`, `a number`, `an array`, `null`… for messages about a field of the wrong type. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** The first bytes of a body, one line, for messages. */
function excerpt(json: unknown): string {
  const text = JSON.stringify(json) ?? String(json);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/**
 * What is wrong with a completion body, or undefined when it is usable: a JSON object whose
 * `choices[0]` has a string `text` (/v1/completions) or a `message` whose `content` is a string or
 * null (/v1/chat/completions; null and absent are an empty text, as vLLM sends when every token
 * went to a reasoning block); `usage` counts, when present, are numbers. Other fields are optional.
 */
export function checkCompletion(json: unknown, chat: boolean): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return `the response is ${kindOf(json)}, not a JSON object (body: ${excerpt(json)})`;
  const body = json as Json;
  const choices = body.choices;
  if (choices === undefined || choices === null) {
    const error = body.error;
    const said = typeof error === 'string' ? error : typeof error === 'object' && error !== null && typeof (error as Json).message === 'string' ? ((error as Json).message as string) : undefined;
    return `the response has no \`choices\` array (${said !== undefined ? `the server says: ${said.replace(/\s+/g, ' ').slice(0, 200)}` : `body: ${excerpt(json)}`})`;
  }
  if (!Array.isArray(choices)) return `\`choices\` is ${kindOf(choices)}, not an array (body: ${excerpt(json)})`;
  if (choices.length === 0) return `\`choices\` is empty (body: ${excerpt(json)})`;
  const choice = choices[0] as unknown;
  if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) return `\`choices[0]\` is ${kindOf(choice)}, not an object (body: ${excerpt(json)})`;
  const c = choice as Json;
  if (chat) {
    const message = c.message;
    if (message === undefined || message === null) return `\`choices[0].message\` is missing (body: ${excerpt(json)})`;
    if (typeof message !== 'object' || Array.isArray(message)) return `\`choices[0].message\` is ${kindOf(message)}, not an object (body: ${excerpt(json)})`;
    const content = (message as Json).content;
    if (content !== undefined && content !== null && typeof content !== 'string') return `\`choices[0].message.content\` is ${kindOf(content)}, not a string (body: ${excerpt(json)})`;
  } else {
    if (c.text === undefined || c.text === null) return `\`choices[0].text\` is missing (body: ${excerpt(json)})`;
    if (typeof c.text !== 'string') return `\`choices[0].text\` is ${kindOf(c.text)}, not a string (body: ${excerpt(json)})`;
  }
  const usage = body.usage;
  if (usage !== undefined && usage !== null) {
    if (typeof usage !== 'object' || Array.isArray(usage)) return `\`usage\` is ${kindOf(usage)}, not an object (body: ${excerpt(json)})`;
    for (const field of ['prompt_tokens', 'completion_tokens']) {
      const value = (usage as Json)[field];
      if (value !== undefined && value !== null && typeof value !== 'number') return `\`usage.${field}\` is ${kindOf(value)}, not a number (body: ${excerpt(json)})`;
    }
  }
  return undefined;
}

const checkText: ResponseCheck = (json) => checkCompletion(json, false);
const checkChat: ResponseCheck = (json) => checkCompletion(json, true);

export class OpenAIGenerator implements Generator {
  private empty = 0;
  private keyEchoes = 0;

  constructor(
    private readonly pool: EndpointPool,
    private readonly model: string,
    private readonly maxStops: number,
    /** Sent with chat requests as vLLM's `chat_template_kwargs` (e.g. `{enable_thinking: false}`). */
    private readonly templateKwargs?: Record<string, unknown>,
    /** The suite's name for the model, in notes. */
    private readonly label: string = model,
    /** The name of the key's environment variable, in notes. */
    private readonly apiKeyEnv?: string,
  ) {}

  /** Peak requests in flight per endpoint so far. */
  get peakInFlight(): number[] {
    return [...this.pool.peakInFlight];
  }

  /** Requests in flight now, per endpoint. */
  get inFlight(): number[] {
    return this.pool.inFlight;
  }

  /** Completions whose text the server sent empty, so far. */
  get emptyCompletions(): number {
    return this.empty;
  }

  /** What generation found so far that a run should say (LoadedModel.notes). */
  get notes(): string[] {
    const notes: string[] = [];
    const n = this.empty;
    if (n > 0) notes.push(`${n} empty completion${n === 1 ? '' : 's'} from model '${this.label}' (the server returned no text; each is scored as an empty answer)`);
    const k = this.keyEchoes;
    if (k > 0) {
      notes.push(`the API key${this.apiKeyEnv ? ` (${this.apiKeyEnv})` : ''} appeared in ${k} completion${k === 1 ? '' : 's'} from model '${this.label}' and was replaced by [redacted]`);
    }
    return notes;
  }

  /**
   * Sends every request at once (the pool bounds what is in flight). When one fails for good the
   * others are cancelled (in flight: aborted; waiting or backing off: never sent) and awaited, then
   * a PartialGenerationError carries the results that had finished, by request index, and the
   * failure as its cause.
   */
  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // one listener per request in flight or waiting
    const finished = new Array<GenerationResult | undefined>(requests.length).fill(undefined);
    let failure: { error: unknown } | undefined;
    await Promise.all(
      requests.map(async (r, i) => {
        try {
          finished[i] = await this.one(r, controller.signal);
        } catch (error) {
          // The first failure is the cause; the others are its cancellations (or later failures).
          if (failure === undefined) {
            failure = { error };
            controller.abort(error);
          }
        }
      }),
    );
    if (failure !== undefined) throw new PartialGenerationError<GenerationResult>(finished, failure.error);
    return finished as GenerationResult[];
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
      chat ? checkChat : checkText,
    )) as CompletionResponse;
    const latencyMs = performance.now() - started;
    // checkCompletion has made sure these have the right types.
    const choice = response.choices[0]!;
    const sent = (chat ? choice.message?.content : choice.text) ?? '';
    if (sent === '') this.empty += 1;
    // The key is removed before the stop strings are applied, so that a cut cannot leave part of it.
    const { text: raw, count } = this.pool.redactKey(sent);
    if (count > 0) this.keyEchoes += 1;
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
