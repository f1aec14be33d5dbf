// HTTP plumbing of the OpenAI-compatible backend: a pool of endpoints (replicas of one model) with a
// per-endpoint concurrency limit, least-outstanding-requests balancing, FIFO backpressure, and
// retries with exponential backoff and full jitter on 408, 429, 5xx, timeouts and connection errors.
// Any other 4xx is the server's deterministic refusal of this request: it is sent once and fails
// at once (an HttpFailure, a RuntimeFailure: exit 3) naming the endpoint and the server's message.
//
// A malformed 2xx (a body that is not JSON, or JSON that the caller's `check` rejects: no
// `choices`, a field of the wrong type) is retried like a 5xx, at most max_retries times, then fails
// with what was wrong and the first bytes of the body. Retried because its usual causes are
// transient (a proxy's or load balancer's error page sent with 200 while a replica restarts, a
// server that answers `{"error": …}` with 200 while it loads, a truncated body); a server that is
// wrong every time costs max_retries backoffs (seconds) before the same message.
//
// Transport: undici's `request` (Dispatcher.request) over one keep-alive Agent per pool, not the
// global `fetch`. Both are undici; `fetch` adds the WHATWG layers (web streams, Headers, Response)
// and cost 0.28-0.63 ms of CPU per request against 0.06-0.14 ms for `request` (benchmarks/http.md),
// which capped a run against a fast server at one saturated JS thread. undici's own header and body timers are off:
// `timeout_s` (one timer per attempt, below) is the only deadline, so a long generation is not cut
// at undici's 300 s default.
//
// Hand-written rather than p-limit: p-limit bounds one queue, while this needs one limit per
// endpoint, a choice of endpoint at dispatch time (the least busy one, not a fixed assignment),
// and slots released during a retry's backoff so that a failing request never holds capacity. It
// is about a hundred lines and adds no dependency.
//
// Secrets: the API key is sent in the Authorization header only. Every message this module builds
// goes through `redact`, which removes the key and any credentials or query string of a URL, so a
// server that echoes the header in its error body cannot leak it into a log or a report.

import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { messageOf, RuntimeFailure } from '../../errors.js';

export interface PoolOptions {
  /** Base URLs, already normalised (no trailing slash, no trailing /v1). */
  endpoints: string[];
  /** Requests in flight per endpoint. */
  concurrency: number;
  apiKey?: string;
  /** Named in a 401/403 message (the name only, never the value). */
  apiKeyEnv?: string;
  timeoutMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff step (doubled per retry, capped at maxDelayMs, full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Label of the model in messages. */
  label: string;
}

interface Slot {
  url: string;
  /** `url` split once (undici would parse the URL again on every request). */
  origin: string;
  basePath: string;
  inFlight: number;
  /** Requests ever dispatched here: breaks ties between equally busy endpoints. */
  dispatched: number;
}

interface Waiter {
  avoid: number | undefined;
  resolve: (index: number) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

type Attempt =
  | { ok: true; json: unknown }
  | { ok: false; retryable: boolean; status?: number; reason: string; retryAfterMs?: number };

export class HttpFailure extends RuntimeFailure {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Looks at a parsed 2xx body; returns what is wrong with it (retried like a 5xx, then reported), or
 * undefined when it is usable.
 */
export type ResponseCheck = (json: unknown) => string | undefined;

/** `http://host:8000/v1/` → `http://host:8000`: paths are added per call. */
export function normaliseEndpoint(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** An endpoint as it may appear in messages and manifests: no credentials, no query string. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export class EndpointPool {
  private readonly slots: Slot[];
  private readonly waiters: Waiter[] = [];
  /** Keep-alive connections, at most `concurrency` per endpoint (a request never waits for a socket). */
  private readonly agent: Agent;
  /** Highest number of requests in flight at once, per endpoint (for tests and benchmarks). */
  readonly peakInFlight: number[];

  constructor(private readonly options: PoolOptions) {
    if (options.endpoints.length === 0) throw new Error('no endpoints');
    this.slots = options.endpoints.map((url) => {
      const { origin, pathname } = new URL(url);
      return { url, origin, basePath: pathname.replace(/\/+$/, ''), inFlight: 0, dispatched: 0 };
    });
    this.peakInFlight = this.slots.map(() => 0);
    this.agent = new Agent({ connections: options.concurrency, headersTimeout: 0, bodyTimeout: 0 });
  }

  /** Closes the idle connections; requests still in flight finish first. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  get endpoints(): string[] {
    return this.slots.map((s) => s.url);
  }

  /** Requests in flight now, per endpoint. */
  get inFlight(): number[] {
    return this.slots.map((s) => s.inFlight);
  }

  /** Removes the API key and URL credentials from any text bound for a message. */
  redact(text: string): string {
    return this.redactKey(text).text.replace(/(https?:\/\/)[^/@\s]+@/g, '$1');
  }

  /**
   * Replaces every occurrence of the API key's value with `[redacted]` (nothing else: text a
   * server generated keeps its URLs); `count` says how many were replaced.
   */
  redactKey(text: string): { text: string; count: number } {
    const key = this.options.apiKey;
    if (!key || !text.includes(key)) return { text, count: 0 };
    const parts = text.split(key);
    return { text: parts.join('[redacted]'), count: parts.length - 1 };
  }

  /**
   * POST JSON to `path` on the least busy endpoint, with retries; resolves to the parsed body.
   * `check` rejects a malformed 2xx body, which is then retried (see the top of this file).
   */
  post(path: string, body: unknown, signal?: AbortSignal, check?: ResponseCheck): Promise<unknown> {
    return this.call('POST', path, body, signal, undefined, check);
  }

  /** GET `path` on one given endpoint (no balancing), with retries. */
  async getFrom(index: number, path: string, signal?: AbortSignal): Promise<unknown> {
    return this.call('GET', path, undefined, signal, index);
  }

  /** POST to one given endpoint; an HTTP error status resolves to null instead of failing (probing). */
  async probe(index: number, path: string, body: unknown): Promise<unknown | null> {
    const slot = this.slots[index]!;
    const outcome = await this.attempt(slot, 'POST', path, body, undefined);
    return outcome.ok ? outcome.json : null;
  }

  private async call(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined, fixed?: number, check?: ResponseCheck): Promise<unknown> {
    const { maxRetries } = this.options;
    let previous: number | undefined;
    for (let attempt = 0; ; attempt++) {
      const index = fixed ?? (await this.acquire(previous, signal));
      const slot = this.slots[index]!;
      if (fixed !== undefined) slot.inFlight += 1;
      let outcome: Attempt;
      try {
        outcome = await this.attempt(slot, method, path, body, signal);
      } finally {
        this.release(index);
      }
      if (outcome.ok && check) {
        const problem = check(outcome.json);
        if (problem !== undefined) outcome = { ok: false, retryable: true, status: 200, reason: problem };
      }
      if (outcome.ok) return outcome.json;
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new RuntimeFailure('request cancelled');
      const where = `${method} ${displayUrl(slot.url + path)}`;
      if (!outcome.retryable || attempt >= maxRetries) {
        const tries = attempt + 1;
        const after = outcome.retryable ? ` after ${tries} attempt${tries === 1 ? '' : 's'}` : '';
        throw new HttpFailure(this.redact(`model '${this.options.label}': ${where} failed: ${outcome.reason}${after}`), outcome.status);
      }
      previous = index;
      await sleep(this.backoff(attempt, outcome.retryAfterMs), signal);
    }
  }

  /** Exponential backoff with full jitter; a server's Retry-After is honoured up to maxDelayMs. */
  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const { baseDelayMs, maxDelayMs } = this.options;
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    const jittered = cap / 2 + Math.random() * (cap / 2);
    return retryAfterMs !== undefined ? Math.min(maxDelayMs, Math.max(retryAfterMs, jittered)) : jittered;
  }

  private async attempt(slot: Slot, method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined): Promise<Attempt> {
    // One controller per attempt, aborted by the timeout or by the caller; listeners are removed
    // afterwards (AbortSignal.any would leave one per attempt on a long-lived caller signal).
    const controller = new AbortController();
    const timeout = { aborted: false };
    const timer = setTimeout(() => {
      timeout.aborted = true;
      controller.abort(new Error('timeout'));
    }, this.options.timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.send(slot, method, path, body, signal, controller.signal, timeout);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private async send(
    slot: Slot,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    combined: AbortSignal,
    timeout: { aborted: boolean },
  ): Promise<Attempt> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request({
        origin: slot.origin,
        path: slot.basePath + path,
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: combined,
      });
    } catch (error) {
      if (signal?.aborted) return { ok: false, retryable: false, reason: 'cancelled' };
      if (timeout.aborted) return { ok: false, retryable: true, reason: `no response within ${this.options.timeoutMs / 1000} s (timeout_s)` };
      return { ok: false, retryable: true, reason: `connection error (${connectionReason(error)})` };
    }
    const status = response.statusCode;
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (timeout.aborted) return { ok: false, retryable: true, status, reason: `response not finished within ${this.options.timeoutMs / 1000} s (timeout_s)` };
      return { ok: false, retryable: true, status, reason: `connection lost while reading the response (${connectionReason(error)})` };
    }
    if (status < 200 || status > 299) {
      // 408 and 429 say "later"; any other 4xx would be refused again (a retry only wastes time).
      const retryable = status === 408 || status === 429 || status >= 500;
      const detail = serverMessage(text);
      const phrase = STATUS_CODES[status];
      let reason = `HTTP ${status}${phrase ? ` ${phrase}` : ''}${detail ? `: ${detail}` : ''}`;
      if (status >= 300 && status < 400) {
        // Redirects are not followed (a POST body would be dropped or re-sent): the endpoint should be the final URL.
        const location = headerOf(response.headers, 'location');
        reason += ` (redirects are not followed${location ? `: it points to ${displayUrl(resolveUrl(location, slot.url))}` : ''})`;
      }
      if (status === 401 || status === 403) {
        reason += this.options.apiKeyEnv
          ? ` (check the API key in the environment variable ${this.options.apiKeyEnv})`
          : ' (the server wants an API key: set `api_key_env` in the model entry to the name of an environment variable that holds it)';
      }
      if (!retryable && status >= 400 && status < 500) reason += ' (not retried: the server refused this request)';
      return { ok: false, retryable, status, reason, retryAfterMs: retryAfter(headerOf(response.headers, 'retry-after')) };
    }
    try {
      return { ok: true, json: JSON.parse(text) };
    } catch {
      // Retried: usually a proxy's error page or a truncated body (see the top of this file).
      const bytes = Buffer.byteLength(text);
      return {
        ok: false,
        retryable: true,
        status,
        reason: `the response is not JSON (HTTP ${status}, ${bytes} byte${bytes === 1 ? '' : 's'}: ${JSON.stringify(text.slice(0, 80))}${text.length > 80 ? '…' : ''})`,
      };
    }
  }

  /** Waits for a free slot; picks the endpoint with the fewest requests in flight. */
  private acquire(avoid: number | undefined, signal: AbortSignal | undefined): Promise<number> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const index = this.pick(avoid);
    if (index !== undefined) {
      this.take(index);
      return Promise.resolve(index);
    }
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = { avoid, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  private pick(avoid: number | undefined): number | undefined {
    let best: number | undefined;
    this.slots.forEach((slot, i) => {
      if (slot.inFlight >= this.options.concurrency) return;
      if (best === undefined) return void (best = i);
      const b = this.slots[best]!;
      // Fewest in flight; then not the endpoint that just failed; then the least used overall.
      const score = (s: Slot, j: number) => [s.inFlight, j === avoid ? 1 : 0, s.dispatched];
      const [x, y] = [score(slot, i), score(b, best)];
      if (x[0]! < y[0]! || (x[0] === y[0] && (x[1]! < y[1]! || (x[1] === y[1] && x[2]! < y[2]!)))) best = i;
    });
    return best;
  }

  private take(index: number): void {
    const slot = this.slots[index]!;
    slot.inFlight += 1;
    slot.dispatched += 1;
    this.peakInFlight[index] = Math.max(this.peakInFlight[index]!, slot.inFlight);
  }

  private release(index: number): void {
    this.slots[index]!.inFlight -= 1;
    while (this.waiters.length > 0) {
      const waiter = this.waiters[0]!;
      const next = this.pick(waiter.avoid);
      if (next === undefined) return;
      this.waiters.shift();
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.take(next);
      waiter.resolve(next);
    }
  }
}

function connectionReason(error: unknown): string {
  // undici's `request` rejects with the socket's error itself (`fetch` wrapped it as `cause`).
  const e = error as { code?: string; cause?: { code?: string; message?: string } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  // undici's code for a socket the other side closed (before or during the response).
  if (code === 'UND_ERR_SOCKET') return 'the server closed the connection: UND_ERR_SOCKET';
  if (code) return code;
  if (e?.cause?.message) return e.cause.message;
  return messageOf(error);
}

/** `location` against the URL it came from (displayUrl reports an invalid one). */
function resolveUrl(location: string, base: string): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location;
  }
}

/** One header's value (the first, should a server repeat it). */
function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** OpenAI's `{error: {message}}`, vLLM's `{message}` / `{detail}`, or the first bytes of the body. */
function serverMessage(text: string): string {
  let message: unknown;
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const error = json.error;
    message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : (error ?? json.message ?? json.detail);
    if (typeof message !== 'string') message = JSON.stringify(message ?? json);
  } catch {
    message = text;
  }
  const oneLine = String(message).replace(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
