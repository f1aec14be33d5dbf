// `ragtax serve`: the in-process transformers.js backend behind an OpenAI-compatible HTTP API
// (node:http, no framework): GET /v1/models, POST /v1/completions, POST /v1/chat/completions (the
// model's own chat template), plus vLLM's POST /tokenize and GET /health.
//
// Concurrent requests are batched: a request that arrives while the engine is idle waits a short
// window (5 ms by default) for others; requests that arrive while a batch runs form the next one,
// which starts as soon as the engine is free; a batch holds at most `batchSize` requests. Each row
// of a batch is generated as if alone (src/models/transformers/engine.ts), so a response does not depend
// on what it was batched with, and the same suite run in-process and through this server gives
// identical responses.
//
// Decoding is greedy only: a temperature above 0 is refused (400), as are sampling-only knobs.
// Errors use OpenAI's JSON shape: {"error": {"message", "type", "param", "code"}}; a chat template
// that refuses the messages (its raise_exception) is the request's fault: 400 on `messages`.
//
// Special tokens, as vLLM: a chat prompt is the rendered template, which writes its own BOS, so it
// is encoded without adding special tokens (GenerationRequest.chat); a /v1/completions prompt is
// encoded by the tokenizer's own rule, unless the body says `add_special_tokens: false` (vLLM's
// extension, which ragtax's `chat_mode: rendered` sends with a rendered template).

import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { InputError, messageOf } from '../errors.js';
import { loadModel } from '../models/backends.js';
import type { ChatMessage, DecodingParams, GenerationRequest, GenerationResult, LoadedModel } from '../types.js';

/** vLLM's completions default; a chat request defaults to the rest of the context instead. */
const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

export interface ServeOptions {
  /** Model folder or Hugging Face id. */
  source: string;
  /** The id clients name in `model` (default: the folder's name, or the id). */
  modelId?: string;
  host?: string;
  /** 0 picks a free port. Default 8000. */
  port?: number;
  /** Requests per batch (default 16). */
  batchSize?: number;
  device?: 'cpu' | 'cuda' | 'webgpu';
  dtype?: string;
  allowRemote?: boolean;
  cacheDir?: string;
  /** How long an idle engine waits for more requests before starting a batch (default 5 ms). */
  batchWindowMs?: number;
  /** When set, every /v1 and /tokenize request must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body (default 32 MiB). */
  maxBodyBytes?: number;
}

export interface ServeStats {
  requests: number;
  batches: number;
  /** Largest batch run so far. */
  maxBatch: number;
}

export interface RunningServer {
  url: string;
  port: number;
  modelId: string;
  model: LoadedModel;
  stats: ServeStats;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

interface Job {
  request: GenerationRequest;
  resolve: (result: GenerationResult) => void;
  reject: (error: unknown) => void;
}

/** Groups concurrent requests into batches for one engine that runs one batch at a time. */
class Batcher {
  private pending: Job[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: LoadedModel,
    private readonly batchSize: number,
    private readonly windowMs: number,
    private readonly stats: ServeStats,
  ) {}

  submit(request: GenerationRequest): Promise<GenerationResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.timer) return;
    if (this.pending.length >= this.batchSize) return void setImmediate(() => void this.run());
    this.timer = setTimeout(() => void this.run(), this.windowMs);
  }

  private async run(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    const batch = this.pending.splice(0, this.batchSize);
    this.stats.batches += 1;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    try {
      const results = await this.model.generator.generate(batch.map((j) => j.request));
      batch.forEach((job, i) => job.resolve(results[i]!));
    } catch (error) {
      for (const job of batch) job.reject(error);
    } finally {
      this.running = false;
      // Requests that arrived during the batch already waited: run them now.
      if (this.pending.length > 0) setImmediate(() => void this.run());
    }
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`--batch-size must be a whole number ≥ 1, got ${batchSize}`);
  const isFolder = path.isAbsolute(options.source) || options.source.startsWith('.') || existsSync(options.source);
  const source = isFolder ? path.resolve(options.source) : options.source;
  const modelId = options.modelId ?? (isFolder ? path.basename(source) : source);
  // Loaded eagerly: a missing device or a broken folder fails at start, not on the first request.
  const model = await loadModel({
    backend: 'transformers',
    name: modelId,
    source,
    device: options.device ?? 'cpu',
    dtype: options.dtype,
    batchSize,
    allowRemote: options.allowRemote,
    cacheDir: options.cacheDir,
  });
  const stats: ServeStats = { requests: 0, batches: 0, maxBatch: 0 };
  const batcher = new Batcher(model, batchSize, options.batchWindowMs ?? 5, stats);
  const created = Math.floor(Date.now() / 1000);
  const fingerprintSha = createHash('sha256')
    .update(JSON.stringify(model.fingerprint.files.map((f) => [f.path, f.sha256, f.bytes])))
    .digest('hex');
  const modelEntry = {
    id: modelId,
    object: 'model',
    created,
    owned_by: 'ragtax',
    root: source,
    parent: null,
    max_model_len: model.contextLength,
    ragtax_fingerprint: fingerprintSha,
  };
  const maxBody = options.maxBodyBytes ?? 32 * 2 ** 20;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = (req.url ?? '/').split('?', 1)[0]!.replace(/\/+$/, '') || '/';
    const route = ROUTES[url];
    if (!route) throw new HttpError(404, `no route ${req.method} ${url}; this server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions, POST /tokenize, GET /health`, 'not_found_error');
    if (req.method !== route) throw new HttpError(405, `${url} takes ${route}, not ${req.method}`, 'invalid_request_error');
    if (url === '/health') return send(res, 200, { status: 'ok' });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      // The header is never echoed.
      throw new HttpError(401, 'missing or wrong API key (send Authorization: Bearer <key>)', 'authentication_error', null, 'invalid_api_key');
    }
    if (url === '/v1/models') return send(res, 200, { object: 'list', data: [modelEntry] });
    const body = await readJson(req, maxBody);
    if (url === '/tokenize') return send(res, 200, tokenize(body));
    stats.requests += 1;
    const chat = url === '/v1/chat/completions';
    checkModel(body);
    // vLLM's defaults: special tokens are added to a completions prompt, not to a rendered template.
    const addSpecialTokens = addSpecialTokensOf(body, !chat);
    const prompts = chat ? [renderChat(body)] : promptsOf(body);
    const { maxTokens, ...decodingRest } = decodingOf(body);
    const param = chat ? 'messages' : 'prompt';
    const requests = prompts.map((prompt): GenerationRequest => {
      const tokens = model.countTokens(prompt, !addSpecialTokens);
      if (tokens === 0) throw new HttpError(400, 'the prompt is empty (no tokens to condition on)', 'invalid_request_error', param);
      if (maxTokens === undefined && chat && tokens >= model.contextLength) {
        throw new HttpError(
          400,
          `This model's maximum context length is ${model.contextLength} tokens. However, your messages resulted in ${tokens} tokens, which leaves none for the completion. Please reduce the length of the messages.`,
          'invalid_request_error',
          param,
          'context_length_exceeded',
        );
      }
      // Without max_tokens a chat completion may use the rest of the context (OpenAI's and vLLM's
      // chat default); /v1/completions keeps vLLM's default of 16 new tokens.
      const maxNewTokens = maxTokens ?? (chat ? model.contextLength - tokens : COMPLETIONS_DEFAULT_MAX_TOKENS);
      if (tokens + maxNewTokens > model.contextLength) {
        throw new HttpError(
          400,
          `This model's maximum context length is ${model.contextLength} tokens. However, you requested ${tokens + maxNewTokens} tokens (${tokens} in the prompt, ${maxNewTokens} for the completion). Please reduce the length of the prompt or max_tokens.`,
          'invalid_request_error',
          param,
          'context_length_exceeded',
        );
      }
      return { prompt, decoding: { ...decodingRest, maxNewTokens }, ...(addSpecialTokens ? {} : { chat: true }) };
    });
    const results = await Promise.all(requests.map((r) => batcher.submit(r)));
    const stopReasons = results.map((r) => matchedStop(r));
    const usage = {
      prompt_tokens: sum(results.map((r) => r.promptTokens)),
      completion_tokens: sum(results.map((r) => r.completionTokens)),
      total_tokens: sum(results.map((r) => r.promptTokens + r.completionTokens)),
    };
    const finish = (r: GenerationResult, index: number) => ({
      finish_reason: r.finishReason === 'length' ? 'length' : 'stop',
      // vLLM's convention: the stop string that ended the text, null for EOS and length.
      stop_reason: stopReasons[index] ?? null,
      ragtax_finish_reason: r.finishReason,
    });
    const createdNow = Math.floor(Date.now() / 1000);
    if (chat) {
      return send(res, 200, {
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        created: createdNow,
        model: modelId,
        choices: results.map((r, index) => ({ index, message: { role: 'assistant', content: r.text }, logprobs: null, ...finish(r, index) })),
        usage,
      });
    }
    return send(res, 200, {
      id: `cmpl-${randomUUID()}`,
      object: 'text_completion',
      created: createdNow,
      model: modelId,
      choices: results.map((r, index) => ({ index, text: r.text, logprobs: null, ...finish(r, index) })),
      usage,
    });
  };

  function checkModel(body: Record<string, unknown>): void {
    if (body.model !== undefined && body.model !== modelId) {
      throw new HttpError(404, `The model \`${String(body.model)}\` does not exist; this server serves \`${modelId}\``, 'not_found_error', 'model', 'model_not_found');
    }
  }

  function renderChat(body: Record<string, unknown>): string {
    const messages = messagesOf(body);
    if (!model.renderChat) {
      throw new HttpError(400, `model \`${modelId}\` has no chat_template in its tokenizer_config.json; use /v1/completions with a rendered prompt`, 'invalid_request_error', 'messages');
    }
    try {
      return model.renderChat(messages);
    } catch (error) {
      // The template refused these messages (a TemplateError, or a plain Error from the template's
      // own raise_exception, e.g. "System role not supported"): the request's fault, never a 500.
      throw new HttpError(400, messageOf(error), 'invalid_request_error', 'messages');
    }
  }

  /** The stop string that ended a result's text (vLLM's `stop_reason`), null unless it ended on one. */
  function matchedStop(result: GenerationResult): string | null {
    return result.finishReason === 'stop' ? (result.stopString ?? null) : null;
  }

  function tokenize(body: Record<string, unknown>): unknown {
    checkModel(body);
    let text: string;
    const chat = body.messages !== undefined;
    // vLLM's /tokenize defaults, as the generation routes: special tokens for a prompt, none for messages.
    const addSpecialTokens = addSpecialTokensOf(body, !chat);
    if (chat) {
      text = renderChat(body);
    } else if (typeof body.prompt === 'string') {
      text = body.prompt;
    } else {
      throw new HttpError(400, '`prompt` (a string) or `messages` is required', 'invalid_request_error', 'prompt');
    }
    const count = model.countTokens(text, !addSpecialTokens);
    return { count, max_model_len: model.contextLength };
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return send(res, error.status, { error: { message: error.message, type: error.type, param: error.param, code: error.code } });
      const status = error instanceof InputError ? 400 : 500;
      const message = messageOf(error);
      send(res, status, { error: { message, type: status === 400 ? 'invalid_request_error' : 'server_error', param: null, code: null } });
    });
  });
  server.keepAliveTimeout = 30_000;
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8000, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await model.dispose();
    const code = (error as { code?: string }).code;
    throw new InputError(`cannot listen on ${host}:${options.port ?? 8000}: ${code === 'EADDRINUSE' ? 'the port is in use (choose another with --port)' : messageOf(error)}`);
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    modelId,
    model,
    stats,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await model.dispose();
    },
  };
}

const ROUTES: Record<string, 'GET' | 'POST'> = {
  '/v1/models': 'GET',
  '/v1/completions': 'POST',
  '/v1/chat/completions': 'POST',
  '/tokenize': 'POST',
  '/health': 'GET',
};

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `the request body is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function promptsOf(body: Record<string, unknown>): string[] {
  const { prompt } = body;
  if (typeof prompt === 'string') return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string')) return prompt as string[];
  throw new HttpError(400, '`prompt` must be a string or a non-empty list of strings (token-id prompts are not supported)', 'invalid_request_error', 'prompt');
}

function messagesOf(body: Record<string, unknown>): ChatMessage[] {
  const { messages } = body;
  const roles = new Set(['system', 'user', 'assistant']);
  if (!Array.isArray(messages) || messages.length === 0) throw new HttpError(400, '`messages` must be a non-empty list', 'invalid_request_error', 'messages');
  return messages.map((m, i) => {
    const role = (m as { role?: unknown })?.role;
    const content = (m as { content?: unknown })?.content;
    if (typeof role !== 'string' || !roles.has(role)) throw new HttpError(400, `messages[${i}].role must be system, user or assistant`, 'invalid_request_error', `messages[${i}].role`);
    if (typeof content !== 'string') throw new HttpError(400, `messages[${i}].content must be a string`, 'invalid_request_error', `messages[${i}].content`);
    return { role: role as ChatMessage['role'], content };
  });
}

/** vLLM's `add_special_tokens` (a boolean; `fallback` when absent). */
function addSpecialTokensOf(body: Record<string, unknown>, fallback: boolean): boolean {
  const value = body.add_special_tokens ?? fallback;
  if (typeof value !== 'boolean') throw new HttpError(400, '`add_special_tokens` must be true or false', 'invalid_request_error', 'add_special_tokens');
  return value;
}


/**
 * OpenAI request fields → DecodingParams; anything that would not be greedy is refused. `maxTokens`
 * is undefined when the body gives none (the default depends on the route and the prompt).
 */
function decodingOf(body: Record<string, unknown>): Omit<DecodingParams, 'maxNewTokens'> & { maxTokens: number | undefined } {
  const temperature = body.temperature ?? 0;
  if (typeof temperature !== 'number' || temperature < 0) throw new HttpError(400, '`temperature` must be a number ≥ 0', 'invalid_request_error', 'temperature');
  if (temperature > 0) {
    throw new HttpError(400, `temperature ${temperature} is not supported: ragtax serve decodes greedily only (send temperature 0)`, 'invalid_request_error', 'temperature', 'unsupported_value');
  }
  if (body.stream === true) throw new HttpError(400, 'streaming is not supported (send stream: false)', 'invalid_request_error', 'stream');
  if (body.n !== undefined && body.n !== 1) throw new HttpError(400, 'only n = 1 is supported', 'invalid_request_error', 'n');
  if (body.top_p !== undefined && body.top_p !== 1) throw new HttpError(400, 'top_p has no effect on greedy decoding; send 1 or leave it out', 'invalid_request_error', 'top_p');
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) throw new HttpError(400, 'logprobs are not supported', 'invalid_request_error', 'logprobs');
  const maxTokens = body.max_tokens ?? body.max_completion_tokens;
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0)) throw new HttpError(400, '`max_tokens` must be a whole number ≥ 0', 'invalid_request_error', 'max_tokens');
  const stop = body.stop ?? [];
  const stops = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string')) throw new HttpError(400, '`stop` must be a string or a list of strings', 'invalid_request_error', 'stop');
  const seed = body.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new HttpError(400, '`seed` must be an integer', 'invalid_request_error', 'seed');
  const repetitionPenalty = body.repetition_penalty ?? 1;
  if (typeof repetitionPenalty !== 'number' || !(repetitionPenalty > 0)) throw new HttpError(400, '`repetition_penalty` must be a number > 0', 'invalid_request_error', 'repetition_penalty');
  return { maxTokens: maxTokens as number | undefined, stop: stops as string[], temperature: 0, repetitionPenalty, seed };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

