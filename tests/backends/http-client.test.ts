// The HTTP backend against small node:http test servers: concurrency limit and balancing,
// retries on 503 then success, final failures, stop strings, token counting, the API key.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { InputError, PartialGenerationError, RuntimeFailure } from '../../src/errors.js';
import { openModel, modelFingerprint } from '../../src/models/backends.js';
import type { DecodingParams, GenerationRequest } from '../../src/types.js';
import { completion, delay, json, modelsList, testServer, TINY_CHAT, type TestServer } from './helpers.js';

const greedy = (maxNewTokens = 4, stop: string[] = []): DecodingParams => ({ maxNewTokens, stop, temperature: 0, repetitionPenalty: 1, seed: 3 });
const requests = (n: number, decoding = greedy()): GenerationRequest[] => Array.from({ length: n }, (_, i) => ({ prompt: `prompt ${i}`, decoding }));
const KEY = 'sk-client-test-91b2c3d4';
const servers: TestServer[] = [];
/** generate() fails with a PartialGenerationError (the rows that finished) whose cause is the failure. */
const causeOf = (e: unknown): unknown => (e instanceof PartialGenerationError ? e.cause : e);
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(handler: Parameters<typeof testServer>[0]): Promise<TestServer> {
  const s = await testServer(handler);
  servers.push(s);
  return s;
}

/** A well-behaved server: /v1/models, no /tokenize, completions after `ms`. */
function slowModel(ms: number) {
  return server(async (req, res) => {
    if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
    if (req.url === '/tokenize') return json(res, 404, { detail: 'Not Found' });
    await delay(ms);
    json(res, 200, completion(`echo ${String(req.body?.prompt)}`));
  });
}

const spec = (endpoints: string[], extra: Record<string, unknown> = {}) => ({ backend: 'openai' as const, name: 'm', endpoints, model: 'm', retryBaseMs: 5, retryMaxMs: 20, ...extra });

describe('openai backend: concurrency and balancing', () => {
  it('keeps at most `concurrency` requests in flight per endpoint and balances two endpoints', async () => {
    const a = await slowModel(25);
    const b = await slowModel(25);
    const model = await openModel(spec([a.url, b.url], { concurrency: 3 }));
    const results = await model.generator.generate(requests(30));
    assert.equal(results.length, 30);
    results.forEach((r, i) => assert.equal(r.text, `echo prompt ${i}`, 'results come back in request order'));
    const completions = (s: TestServer) => s.requests.filter((r) => r.url === '/v1/completions').length;
    assert.equal(completions(a) + completions(b), 30);
    assert.ok(a.peakInFlight <= 3 && b.peakInFlight <= 3, `peaks ${a.peakInFlight}, ${b.peakInFlight}`);
    assert.equal(a.peakInFlight, 3, 'the limit is reached (requests wait, not fail)');
    assert.ok(Math.abs(completions(a) - completions(b)) <= 4, `balanced: ${completions(a)} vs ${completions(b)}`);
  });

  it('sends greedy decoding, the seed, max_tokens and at most max_stops stop strings; applies the rest itself', async () => {
    const s = await server((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
      if (req.url === '/tokenize') return json(res, 404, {});
      json(res, 200, completion('one|two;three', 'length'));
    });
    const model = await openModel(spec([s.url], { maxStops: 2 }));
    const [r] = await model.generator.generate([{ prompt: 'p', decoding: greedy(7, ['#', '@', ';', '|']) }]);
    const body = s.requests.find((x) => x.url === '/v1/completions')!.body!;
    assert.deepEqual([body.temperature, body.seed, body.max_tokens, body.model, body.prompt], [0, 3, 7, 'm', 'p']);
    assert.deepEqual(body.stop, ['#', '@']);
    assert.equal(r!.text, 'one', 'cut at the earliest stop string, including those not sent');
    assert.equal(r!.finishReason, 'stop');
  });
});

describe('openai backend: retries and failures', () => {
  it('retries 503s with backoff, then succeeds', async () => {
    let failures = 0;
    const s = await server((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
      if (req.url === '/tokenize') return json(res, 404, {});
      if (failures < 2) {
        failures += 1;
        return json(res, 503, { error: { message: 'overloaded' } });
      }
      json(res, 200, completion('ok'));
    });
    const model = await openModel(spec([s.url], { maxRetries: 3 }));
    const [r] = await model.generator.generate(requests(1));
    assert.equal(r!.text, 'ok');
    assert.equal(s.requests.filter((x) => x.url === '/v1/completions').length, 3);
  });

  it('fails with a RuntimeFailure naming the endpoint and status after the last try, never the key', async () => {
    const s = await server((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
      if (req.url === '/tokenize') return json(res, 404, {});
      // A careless server that echoes the request's Authorization header in its error body.
      json(res, 503, { error: { message: `unavailable (got ${String(req.headers.authorization)})` } });
    });
    process.env.RAGTAX_CLIENT_TEST_KEY = KEY;
    const model = await openModel(spec([s.url], { maxRetries: 2, apiKeyEnv: 'RAGTAX_CLIENT_TEST_KEY' }));
    const error = await model.generator.generate(requests(3)).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => causeOf(e),
    );
    assert.ok(error instanceof RuntimeFailure, String(error));
    assert.equal(error.exitCode, 3);
    assert.match(error.message, new RegExp(`POST ${s.url.replace(/[.]/g, '\\.')}/v1/completions failed: HTTP 503`));
    assert.match(error.message, /after 3 attempts/);
    assert.ok(!error.message.includes(KEY), error.message);
    assert.match(error.message, /\[redacted\]/);
    assert.equal(s.requests[1]!.headers.authorization, `Bearer ${KEY}`, 'the key is sent to the server');
  });

  it('does not retry a 400, and names a connection error and a timeout', async () => {
    const bad = await server((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
      if (req.url === '/tokenize') return json(res, 404, {});
      json(res, 400, { error: { message: 'max_tokens is too large' } });
    });
    const m1 = await openModel(spec([bad.url], { maxRetries: 4 }));
    await assert.rejects(m1.generator.generate(requests(1)), (e: Error) => causeOf(e) instanceof RuntimeFailure && /HTTP 400.*max_tokens is too large/.test(e.message) && !/attempts/.test(e.message));
    assert.equal(bad.requests.filter((x) => x.url === '/v1/completions').length, 1);

    const silent = await server(async (req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
      if (req.url === '/tokenize') return json(res, 404, {});
      await delay(2000);
      json(res, 200, completion('late'));
    });
    const m2 = await openModel(spec([silent.url], { maxRetries: 1, timeoutS: 0.2 }));
    await assert.rejects(m2.generator.generate(requests(1)), /no response within 0\.2 s \(timeout_s\) after 2 attempts/);

    const gone = await server((_req, res) => json(res, 200, {}));
    const goneUrl = gone.url;
    await gone.close();
    await assert.rejects(modelFingerprint(spec([goneUrl], { maxRetries: 1 })), (e: Error) => e instanceof RuntimeFailure && e.message.includes(`GET ${goneUrl}/v1/models failed: connection error (ECONNREFUSED) after 2 attempts`));
  });

  it('never retries a 4xx other than 408 and 429: one request, one RuntimeFailure naming the endpoint', async () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422]) {
      const s = await server((req, res) => {
        if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
        if (req.url === '/tokenize') return json(res, 404, {});
        json(res, status, { error: { message: `refused with ${status}` } });
      });
      const model = await openModel(spec([s.url], { maxRetries: 4 }));
      const error = await model.generator.generate(requests(1)).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => causeOf(e),
      );
      assert.ok(error instanceof RuntimeFailure, String(error));
      assert.equal(error.exitCode, 3);
      assert.equal((error as RuntimeFailure & { status?: number }).status, status);
      assert.match(error.message, new RegExp(`POST ${s.url.replace(/[.]/g, '\\.')}/v1/completions failed: HTTP ${status}.*refused with ${status}`));
      assert.match(error.message, /not retried/, error.message);
      assert.ok(!/attempts/.test(error.message), error.message);
      assert.equal(s.requests.filter((x) => x.url === '/v1/completions').length, 1, `HTTP ${status} is sent once`);
    }
    for (const status of [408, 429]) {
      const s = await server((req, res) => {
        if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
        if (req.url === '/tokenize') return json(res, 404, {});
        json(res, status, { error: { message: 'later' } });
      });
      const model = await openModel(spec([s.url], { maxRetries: 2 }));
      await assert.rejects(model.generator.generate(requests(1)), new RegExp(`HTTP ${status}.*after 3 attempts`));
      assert.equal(s.requests.filter((x) => x.url === '/v1/completions').length, 3, `HTTP ${status} is retried`);
    }
  });

  it('refuses a model the server does not serve, replicas that differ, and an unset key variable', async () => {
    const a = await server((req, res) => json(res, 200, req.url === '/v1/models' ? modelsList('other') : {}));
    await assert.rejects(modelFingerprint(spec([a.url])), (e: Error) => e instanceof InputError && /does not serve model 'm' \(GET \/v1\/models lists: other\)/.test(e.message));
    const b = await server((req, res) => json(res, 200, req.url === '/v1/models' ? modelsList('m', { root: '/weights/v1', max_model_len: 2048 }) : {}));
    const c = await server((req, res) => json(res, 200, req.url === '/v1/models' ? modelsList('m', { root: '/weights/v2', max_model_len: 2048 }) : {}));
    await assert.rejects(modelFingerprint(spec([b.url, c.url])), /serve different models under id 'm'/);
    delete process.env.RAGTAX_UNSET_KEY;
    await assert.rejects(modelFingerprint(spec([b.url], { apiKeyEnv: 'RAGTAX_UNSET_KEY' })), /environment variable RAGTAX_UNSET_KEY \(api_key_env\) is not set/);
  });
});

describe('openai backend: token counting and identity', () => {
  it('records a skipped context check when there is no tokenizer and no /tokenize', async () => {
    const s = await slowModel(0);
    const model = await openModel(spec([s.url]));
    assert.match(model.notes!.join(' '), /context-overflow check skipped/);
    assert.equal(model.fingerprint.details!.tokenCounting, 'none');
    assert.deepEqual(await model.countRequestTokens!(requests(2)), [null, null]);
  });

  it('counts with the server /tokenize and takes max_model_len as the context', async () => {
    const s = await server((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m', { max_model_len: 64 }));
      if (req.url === '/tokenize') return json(res, 200, { count: String(req.body?.prompt ?? '').length, max_model_len: 64 });
      json(res, 200, completion('x'));
    });
    const model = await openModel(spec([s.url]));
    assert.equal(model.contextLength, 64);
    assert.deepEqual(await model.countRequestTokens!([{ prompt: 'abcd', decoding: greedy() }]), [4]);
    const fp = model.fingerprint;
    assert.equal(fp.source, 'openai:m');
    assert.match(fp.files[0]!.sha256, /^[0-9a-f]{64}$/);
    // Another root under the same id is another model: another fingerprint (cache key).
    const t = await server((req, res) => json(res, 200, req.url === '/v1/models' ? modelsList('m', { max_model_len: 64, root: '/elsewhere' }) : { count: 1 }));
    assert.notEqual((await modelFingerprint(spec([t.url])))!.files[0]!.sha256, fp.files[0]!.sha256);
  });
});

describe('openai backend: chat_mode rendered', () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bos-tokenizer-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('sends rendered chat prompts with add_special_tokens: false, raw prompts without it, and counts them the same way', async () => {
    // tiny-chat's tokenizer, made to add a BOS (<|endoftext|>, id 0) to a raw prompt, as Llama's does.
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(TINY_CHAT, file), path.join(folder, file));
    const tokenizerPath = path.join(folder, 'tokenizer.json');
    const tokenizer = JSON.parse(readFileSync(tokenizerPath, 'utf8')) as Record<string, unknown>;
    const bos = { SpecialToken: { id: '<|endoftext|>', type_id: 0 } };
    tokenizer.post_processor = {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] } },
    };
    writeFileSync(tokenizerPath, JSON.stringify(tokenizer));

    const s = await server((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m', { max_model_len: 4096 }));
      if (req.url === '/tokenize') return json(res, 404, {});
      json(res, 200, completion('ok'));
    });
    const model = await openModel(spec([s.url], { chatMode: 'rendered', tokenizer: folder }));
    assert.equal(model.acceptsMessages, false);
    const rendered = model.renderChat!([{ role: 'user', content: 'Where is the tower?' }]);
    assert.ok(rendered.startsWith('<|im_start|>user'), rendered);

    await model.generator.generate([{ prompt: rendered, chat: true, decoding: greedy() }]);
    await model.generator.generate([{ prompt: 'Where is the tower?', decoding: greedy() }]);
    const [chatBody, rawBody] = s.requests.filter((x) => x.url === '/v1/completions').map((x) => x.body!);
    assert.equal(chatBody!.prompt, rendered);
    assert.equal(chatBody!.add_special_tokens, false, "vLLM's switch: the template's own special tokens only");
    assert.equal(rawBody!.prompt, 'Where is the tower?');
    assert.ok(!('add_special_tokens' in rawBody!), 'a raw prompt gets the server tokenizer’s own rule');
    assert.ok(!('messages' in chatBody!));

    // Local counting: a chat prompt without the BOS the tokenizer adds to a raw one.
    // exact: these prompts fit by the byte-level bound, which would leave them uncounted.
    const [chatCount, rawCount] = (await model.countRequestTokens!(
      [
        { prompt: rendered, chat: true, decoding: greedy() },
        { prompt: rendered, decoding: greedy() },
      ],
      { exact: true },
    )) as number[];
    assert.equal(rawCount, chatCount! + 1);
    assert.equal(model.countTokens(rendered, true), chatCount);
    assert.equal(model.countTokens(rendered), rawCount);
  });
});
