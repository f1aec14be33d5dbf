// The HTTP backend under fault injection, against loopback node:http servers: every fault is either
// retried (and the run goes on) or stops with a RuntimeFailure (exit 3) that names the suite's model
// and the endpoint; malformed 200 responses; a failed batch keeps its finished rows
// (PartialGenerationError); empty completions are counted and reported; the API key is redacted
// from everything the backend returns; and the CLI prints one line, no stack, exit 3.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PartialGenerationError, RuntimeFailure } from '../../src/errors.js';
import { openModel } from '../../src/models/backends.js';
import type { OpenAIGenerator } from '../../src/models/openai/engine.js';
import type { DecodingParams, GenerationRequest, GenerationResult } from '../../src/types.js';
import { completion, delay, FIXTURE_DATA, json, modelsList, ragtax, testServer, type TestServer } from './helpers.js';

const greedy = (maxNewTokens = 4): DecodingParams => ({ maxNewTokens, stop: [], temperature: 0, repetitionPenalty: 1, seed: 3 });
const requests = (n: number): GenerationRequest[] => Array.from({ length: n }, (_, i) => ({ prompt: `prompt ${i}`, decoding: greedy() }));
/** The suite's name for the model differs from the server's id, so that messages can be told apart. */
const NAME = 'suite-m';
const SERVED = 'server-m';
const KEY = 'sk-faults-test-0a1b2c3d4e';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-faults-'));
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

type Handler = Parameters<typeof testServer>[0];
type Req = Parameters<Handler>[0];

/** A server that lists the model, has no /tokenize and answers completions with `completions`. */
async function server(completions: (req: Req, res: ServerResponse) => void | Promise<void>): Promise<TestServer> {
  const s = await testServer(async (req, res) => {
    if (req.url === '/v1/models') return json(res, 200, modelsList(SERVED));
    if (req.url === '/tokenize') return json(res, 404, { detail: 'Not Found' });
    await completions(req, res);
  });
  servers.push(s);
  return s;
}

const spec = (s: TestServer, extra: Record<string, unknown> = {}) => ({ backend: 'openai' as const, name: NAME, endpoints: [s.url], model: SERVED, retryBaseMs: 5, retryMaxMs: 20, ...extra });
const completionsOf = (s: TestServer) => s.requests.filter((r) => r.url === '/v1/completions' || r.url === '/v1/chat/completions').length;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a failure'),
    (e: unknown) => e,
  );
}

/** A generate() failure: a PartialGenerationError whose cause is a RuntimeFailure; returns both. */
function unwrap(error: unknown): { partial: PartialGenerationError<GenerationResult>; cause: RuntimeFailure } {
  assert.ok(error instanceof PartialGenerationError, `a PartialGenerationError, got ${String(error)}`);
  assert.ok(error.cause instanceof RuntimeFailure, `its cause is a RuntimeFailure, got ${String(error.cause)}`);
  assert.equal(error.cause.exitCode, 3);
  assert.equal(error.message, error.cause.message);
  return { partial: error as PartialGenerationError<GenerationResult>, cause: error.cause };
}

/** The raw socket of a response, for faults below HTTP. */
const socketOf = (res: ServerResponse) => res.socket!;

describe('openai backend: malformed 200 responses', () => {
  // Each is retried like a 5xx (a proxy's error page or a half-restarted server is often transient),
  // at most max_retries times, then stops naming the suite's model, the endpoint and what was wrong.
  const cases: { what: string; body: unknown; raw?: string; chat?: boolean; expect: RegExp }[] = [
    { what: 'no choices', body: { id: 'x', object: 'text_completion', model: SERVED }, expect: /the response has no `choices` array \(body: \{"id":"x"/ },
    { what: 'empty choices', body: { choices: [] }, expect: /`choices` is empty/ },
    { what: 'choices not an array', body: { choices: 'oops' }, expect: /`choices` is a string, not an array/ },
    { what: 'choices[0] not an object', body: { choices: [7] }, expect: /`choices\[0\]` is a number, not an object/ },
    { what: 'choices[0] without text', body: { choices: [{ index: 0, finish_reason: 'stop' }] }, expect: /`choices\[0\]\.text` is missing/ },
    { what: 'text of the wrong type', body: { choices: [{ text: 42 }] }, expect: /`choices\[0\]\.text` is a number, not a string/ },
    { what: 'usage of the wrong type', body: { choices: [{ text: 'a' }], usage: { prompt_tokens: '3' } }, expect: /`usage\.prompt_tokens` is a string, not a number/ },
    { what: 'chat choices[0] without message', body: { choices: [{ index: 0, text: 'a' }] }, chat: true, expect: /`choices\[0\]\.message` is missing/ },
    { what: 'chat content of the wrong type', body: { choices: [{ message: { content: ['a'] } }] }, chat: true, expect: /`choices\[0\]\.message\.content` is an array, not a string/ },
    { what: 'a JSON array', body: [1, 2], expect: /the response is an array, not a JSON object/ },
    { what: 'a 200 carrying an error object', body: { error: { message: 'model is loading' } }, expect: /no `choices` array \(the server says: model is loading\)/ },
    { what: 'a body that is not JSON', body: null, raw: '<html>502 Bad Gateway</html>', expect: /the response is not JSON \(HTTP 200, 28 bytes: "<html>502 Bad Gateway<\/html>"\)/ },
    { what: 'truncated JSON', body: null, raw: '{"choices": [{"text": "ab', expect: /the response is not JSON/ },
  ];
  for (const c of cases) {
    it(`${c.what}: retried max_retries times, then a RuntimeFailure naming the model and endpoint`, async () => {
      const s = await server((_req, res) => {
        if (c.raw !== undefined) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(c.raw);
        }
        json(res, 200, c.body);
      });
      const model = await openModel(spec(s, { maxRetries: 2 }));
      const request: GenerationRequest = c.chat ? { prompt: '', messages: [{ role: 'user', content: 'hi' }], decoding: greedy() } : requests(1)[0]!;
      const { cause } = unwrap(await rejection(model.generator.generate([request])));
      const where = `model '${NAME}': POST ${s.url}/v1/${c.chat ? 'chat/' : ''}completions failed: `;
      assert.ok(cause.message.startsWith(where), `${cause.message}\nshould start with ${where}`);
      assert.match(cause.message, c.expect);
      assert.match(cause.message, /after 3 attempts$/);
      assert.ok(!cause.message.includes(`'${SERVED}'`), 'names the suite model, not the server id');
      assert.ok(!cause.message.includes('\n'), 'one line');
      assert.equal(completionsOf(s), 3, 'sent once and retried twice');
    });
  }

  it('a malformed body followed by a good one is a transient fault: the retry succeeds', async () => {
    const s = await server((req, res) => {
      if (req.n % 2 === 1) return json(res, 200, { choices: [] });
      json(res, 200, completion(`ok ${String(req.body?.prompt)}`));
    });
    const model = await openModel(spec(s, { maxRetries: 2, concurrency: 1 }));
    const results = await model.generator.generate(requests(2));
    assert.deepEqual(results.map((r) => r.text), ['ok prompt 0', 'ok prompt 1']);
  });
});

describe('openai backend: a failed batch keeps its finished rows', () => {
  it('throws a PartialGenerationError whose `finished` holds the requests that completed', async () => {
    const s = await server(async (req, res) => {
      if (req.body?.prompt === 'prompt 2') {
        await delay(150);
        return json(res, 400, { error: { message: 'prompt 2 is refused' } });
      }
      json(res, 200, completion(`echo ${String(req.body?.prompt)}`));
    });
    const model = await openModel(spec(s, { maxRetries: 3 }));
    const { partial, cause } = unwrap(await rejection(model.generator.generate(requests(5))));
    assert.match(cause.message, new RegExp(`^model '${NAME}': POST ${escape(s.url)}/v1/completions failed: HTTP 400 Bad Request: prompt 2 is refused`));
    assert.equal(partial.finished.length, 5);
    assert.equal(partial.finished[2], undefined);
    for (const i of [0, 1, 3, 4]) assert.equal(partial.finished[i]?.text, `echo prompt ${i}`, `row ${i} is kept`);
  });

  it('settles every other request before throwing: in-flight ones are aborted, queued ones never sent', async () => {
    const s = await server(async (req, res) => {
      if (req.body?.prompt === 'prompt 1') {
        await delay(100);
        return json(res, 400, { error: { message: 'no' } });
      }
      if (req.body?.prompt === 'prompt 2') await delay(2500);
      json(res, 200, completion(`echo ${String(req.body?.prompt)}`));
    });
    const model = await openModel(spec(s, { concurrency: 2 }));
    const generator = model.generator as OpenAIGenerator;
    const started = performance.now();
    const { partial } = unwrap(await rejection(generator.generate(requests(6))));
    assert.ok(performance.now() - started < 1500, 'the slow request was aborted, not awaited');
    assert.deepEqual(generator.inFlight, [0], 'nothing is in flight when the error is thrown');
    assert.equal(partial.finished[0]?.text, 'echo prompt 0');
    assert.deepEqual(partial.finished.slice(1), [undefined, undefined, undefined, undefined, undefined]);
    await delay(200);
    assert.equal(completionsOf(s), 3, 'prompts 3 to 5 were never sent');
    assert.equal(s.inFlight, 0, 'the aborted request was closed');
  });
});

describe('openai backend: empty completions', () => {
  it('accepts an empty text, counts it and says so in the model notes', async () => {
    const s = await server((req, res) => {
      const prompt = String(req.body?.prompt ?? '');
      json(res, 200, completion(prompt === 'prompt 1' || prompt === 'prompt 3' ? '' : 'text', 'stop'));
    });
    const model = await openModel(spec(s));
    assert.ok(!(model.notes ?? []).some((n) => /empty/.test(n)), 'no note before any empty completion');
    const results = await model.generator.generate(requests(5));
    assert.deepEqual(results.map((r) => r.text), ['text', '', 'text', '', 'text']);
    assert.equal((model.generator as OpenAIGenerator).emptyCompletions, 2);
    const notes = model.notes ?? [];
    assert.ok(notes.includes(`2 empty completions from model '${NAME}' (the server returned no text; each is scored as an empty answer)`), JSON.stringify(notes));
    await model.generator.generate(requests(2));
    assert.equal((model.notes ?? []).filter((n) => /empty completion/.test(n)).length, 1, 'one note, updated');
    assert.ok((model.notes ?? []).some((n) => n.startsWith('3 empty completions')));
  });

  it('a chat message with null content is an empty completion, not a malformed one', async () => {
    const s = await server((_req, res) => json(res, 200, { choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'length' }] }));
    const model = await openModel(spec(s));
    const [r] = await model.generator.generate([{ prompt: '', messages: [{ role: 'user', content: 'hi' }], decoding: greedy() }]);
    assert.equal(r!.text, '');
    assert.ok((model.notes ?? []).some((n) => n.startsWith('1 empty completion from')), JSON.stringify(model.notes));
  });
});

describe('openai backend: the API key never leaves the backend', () => {
  it('redacts the key from completion text, chat content, the fingerprint and error messages', async () => {
    process.env.RAGTAX_FAULTS_KEY = KEY;
    const s = await testServer((req, res) => {
      const auth = String(req.headers.authorization);
      if (req.url === '/v1/models') return json(res, 200, modelsList(SERVED, { owned_by: `owner ${auth}` }));
      if (req.url === '/tokenize') return json(res, 404, {});
      if (req.url === '/v1/chat/completions') return json(res, 200, { choices: [{ message: { content: `chat saw ${auth}` }, finish_reason: 'stop' }] });
      if (req.body?.prompt === 'bad') return json(res, 200, { echoed: auth });
      if (req.body?.prompt === 'html') {
        res.writeHead(200);
        return void res.end(`<p>${auth}</p>`);
      }
      json(res, 200, completion(`text saw ${auth}; again ${KEY}`, 'stop'));
    });
    servers.push(s);
    const model = await openModel(spec(s, { apiKeyEnv: 'RAGTAX_FAULTS_KEY', maxRetries: 0 }));
    const [raw, chat] = await model.generator.generate([
      { prompt: 'p', decoding: greedy() },
      { prompt: '', messages: [{ role: 'user', content: 'hi' }], decoding: greedy() },
    ]);
    assert.equal(raw!.text, 'text saw Bearer [redacted]; again [redacted]');
    assert.equal(chat!.text, 'chat saw Bearer [redacted]');
    assert.equal(s.requests.find((r) => r.url === '/v1/completions')!.headers.authorization, `Bearer ${KEY}`, 'the key is sent');
    assert.ok(!JSON.stringify(model.fingerprint).includes(KEY), 'fingerprint (manifest) is redacted');
    assert.ok((model.notes ?? []).some((n) => /the API key \(RAGTAX_FAULTS_KEY\) appeared in 2 completions/.test(n)), JSON.stringify(model.notes));
    for (const prompt of ['bad', 'html']) {
      const { cause } = unwrap(await rejection(model.generator.generate([{ prompt, decoding: greedy() }])));
      assert.ok(!cause.message.includes(KEY), cause.message);
      assert.match(cause.message, /\[redacted\]/);
    }
  });
});

/** Answers /v1/models and /tokenize, then stalls or breaks completions in a given way. */
const FAULTS: {
  fault: string;
  /** `ok`: retried and recovered; otherwise the reason in the final message. */
  outcome: 'ok' | RegExp;
  attempts: number;
  extra?: Record<string, unknown>;
  completions: (req: Req, res: ServerResponse) => void | Promise<void>;
  /** Closes the server before generating (connection refused). */
  closeFirst?: boolean;
}[] = [
  { fault: 'connection refused', outcome: /connection error \(ECONNREFUSED\) after 3 attempts$/, attempts: 0, closeFirst: true, completions: () => {} },
  {
    fault: 'connection reset mid-body, every time',
    outcome: /connection lost while reading the response \(the server closed the connection: UND_ERR_SOCKET\) after 3 attempts$/,
    attempts: 3,
    completions: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"choices": [{"text": "half');
      setTimeout(() => socketOf(res).destroy(), 20);
    },
  },
  {
    fault: 'connection reset mid-body once, then 200',
    outcome: 'ok',
    attempts: 2,
    completions: (req, res) => {
      if (req.n > 3) return json(res, 200, completion('ok'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"choices": [{"text": "half');
      setTimeout(() => socketOf(res).destroy(), 20);
    },
  },
  { fault: 'socket closed before any response', outcome: /connection error \(the server closed the connection: UND_ERR_SOCKET\) after 3 attempts$/, attempts: 3, completions: (_req, res) => void socketOf(res).destroy() },
  {
    fault: 'timeout (no response)',
    outcome: /no response within 0\.3 s \(timeout_s\) after 3 attempts$/,
    attempts: 3,
    extra: { timeoutS: 0.3 },
    completions: async (_req, res) => {
      await delay(1500);
      if (!res.destroyed) json(res, 200, completion('late'));
    },
  },
  { fault: '500 then 200', outcome: 'ok', attempts: 2, completions: (req, res) => (req.n > 3 ? json(res, 200, completion('ok')) : json(res, 500, { error: { message: 'boom' } })) },
  { fault: '500 every time', outcome: /HTTP 500 Internal Server Error: boom after 3 attempts$/, attempts: 3, completions: (_req, res) => json(res, 500, { error: { message: 'boom' } }) },
  {
    fault: '429 with Retry-After, then 200',
    outcome: 'ok',
    attempts: 2,
    extra: { retryMaxMs: 5000 },
    completions: (req, res) => (req.n > 3 ? json(res, 200, completion('ok')) : json(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' })),
  },
  { fault: '400', outcome: /HTTP 400 Bad Request: bad max_tokens \(not retried: the server refused this request\)$/, attempts: 1, completions: (_req, res) => json(res, 400, { error: { message: 'bad max_tokens' } }) },
  {
    fault: 'malformed JSON',
    outcome: /the response is not JSON \(HTTP 200, 11 bytes: "\{\\"choices\\":"\) after 3 attempts$/,
    attempts: 3,
    completions: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":');
    },
  },
  { fault: 'empty choices', outcome: /`choices` is empty \(body: \{"choices":\[\]\}\) after 3 attempts$/, attempts: 3, completions: (_req, res) => json(res, 200, { choices: [] }) },
  {
    fault: 'slow-loris headers',
    outcome: /no response within 0\.3 s \(timeout_s\) after 3 attempts$/,
    attempts: 3,
    extra: { timeoutS: 0.3 },
    completions: (_req, res) => {
      // The status line, then one header line every 50 ms, never the blank line that ends them.
      const socket = socketOf(res);
      socket.write('HTTP/1.1 200 OK\r\n');
      const timer = setInterval(() => socket.write(`x-drip: ${Date.now()}\r\n`), 50);
      socket.on('close', () => clearInterval(timer));
    },
  },
  {
    fault: 'slow-loris body',
    outcome: /response not finished within 0\.3 s \(timeout_s\) after 3 attempts$/,
    attempts: 3,
    extra: { timeoutS: 0.3 },
    completions: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    },
  },
];

describe('openai backend: the HTTP fault set', () => {
  for (const f of FAULTS) {
    it(`${f.fault}: ${f.outcome === 'ok' ? 'retried, then the answer' : 'stops with exit 3 naming the endpoint'}`, async (t) => {
      const s = await server(f.completions);
      const model = await openModel(spec(s, { maxRetries: 2, ...f.extra }));
      if (f.closeFirst) await s.close();
      const started = performance.now();
      const generated = model.generator.generate(requests(1));
      if (f.outcome === 'ok') {
        const [r] = await generated;
        assert.equal(r!.text, 'ok');
        if (f.fault.startsWith('429')) assert.ok(performance.now() - started >= 900, 'Retry-After: 1 was honoured');
      } else {
        const { cause } = unwrap(await rejection(generated));
        assert.ok(cause.message.startsWith(`model '${NAME}': POST ${s.url}/v1/completions failed: `), cause.message);
        assert.match(cause.message, f.outcome);
        t.diagnostic(cause.message);
      }
      assert.equal(completionsOf(s), f.attempts, 'attempts');
    });
  }
});

describe('ragtax run against faulty servers', () => {
  // The CLI: exit 3, one line naming the suite's model and the endpoint, no stack trace.
  const faults = FAULTS.filter((f) => ['connection reset mid-body, every time', 'malformed JSON', 'empty choices', '400', '500 every time'].includes(f.fault));
  for (const f of faults) {
    it(`${f.fault}: exit 3, one line`, async () => {
      const s = await server(f.completions);
      const suite = path.join(tmp, `${f.fault.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(
        suite,
        `name: faults
dataset: { format: ragtax, path: ${JSON.stringify(path.join(FIXTURE_DATA, 'qa.jsonl'))}, corpus: ${JSON.stringify(path.join(FIXTURE_DATA, 'corpus.jsonl'))}, fewshot_size: 1 }
models:
  base: { backend: openai, endpoints: [${s.url}], model: ${SERVED}, max_retries: 1, concurrency: 2 }
  instruct: { backend: openai, endpoints: [${s.url}], model: ${SERVED}, max_retries: 1, concurrency: 2 }
pairs: [{ base: base, instruct: instruct }]
grid: [{ k: 1, instruction: nores }]
decoding: { max_new_tokens: 3 }
`,
      );
      const r = await ragtax(['run', suite, '--out', path.join(tmp, `out-${servers.length}`), '--no-cache', '--quiet']);
      assert.equal(r.code, 3, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0]!.startsWith(`ragtax: model 'base': POST ${s.url}/v1/completions failed: `), lines[0]);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    });
  }
});
