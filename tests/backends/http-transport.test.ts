// The openai backend's transport (undici's request on a keep-alive Agent, see http-pool.ts):
// connections are reused and bounded by `concurrency`, an endpoint's path prefix is kept,
// redirects are refused with the place they point to, and dispose() closes the connections.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { PartialGenerationError, RuntimeFailure } from '../../src/errors.js';
import { openModel } from '../../src/models/backends.js';
import type { GenerationRequest } from '../../src/types.js';
import { completion, delay, json, modelsList, testServer, type TestServer } from './helpers.js';

const requests = (n: number): GenerationRequest[] => Array.from({ length: n }, (_, i) => ({ prompt: `p${i}`, decoding: { maxNewTokens: 2, stop: [], temperature: 0, repetitionPenalty: 1, seed: 1 } }));
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const spec = (endpoint: string, extra: Record<string, unknown> = {}) => ({ backend: 'openai' as const, name: 'm', endpoints: [endpoint], model: 'm', retryBaseMs: 5, retryMaxMs: 20, ...extra });

/** A well-behaved server under `prefix` that records the sockets it served. */
async function server(prefix = ''): Promise<TestServer & { sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const s = await testServer(async (req, res) => {
    sockets.add(res.socket as Socket);
    if (req.url === `${prefix}/v1/models`) return json(res, 200, modelsList('m'));
    if (req.url === `${prefix}/tokenize`) return json(res, 404, {});
    if (req.url === `${prefix}/v1/completions`) {
      await delay(2);
      return json(res, 200, completion('ok'));
    }
    json(res, 404, { detail: `no route ${req.url}` });
  });
  servers.push(s);
  return Object.assign(s, { sockets });
}

describe('openai backend: transport', () => {
  it('reuses keep-alive connections, at most `concurrency` of them, and closes them on dispose', async () => {
    const s = await server();
    const model = await openModel(spec(s.url, { concurrency: 3 }));
    const before = s.sockets.size;
    await model.generator.generate(requests(40));
    await model.generator.generate(requests(40));
    const used = s.sockets.size - before;
    assert.ok(used >= 1 && used <= 3, `80 completions over ${used} new connections (concurrency 3)`);
    await model.dispose();
    await delay(50);
    assert.ok([...s.sockets].every((socket) => socket.destroyed || socket.readableEnded), 'dispose() closed the connections');
  });

  it('keeps a path prefix of the endpoint (a proxy mount) on every request', async () => {
    const s = await server('/proxy');
    const model = await openModel(spec(`${s.url}/proxy/v1`));
    const [r] = await model.generator.generate(requests(1));
    assert.equal(r!.text, 'ok');
    assert.deepEqual([...new Set(s.requests.map((x) => x.url))].sort(), ['/proxy/tokenize', '/proxy/v1/completions', '/proxy/v1/models']);
    await model.dispose();
  });

  it('does not follow a redirect: one request, a RuntimeFailure naming where it points', async () => {
    const s = await testServer((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m'));
      if (req.url === '/tokenize') return json(res, 404, {});
      res.writeHead(308, { location: '/elsewhere/v1/completions' });
      res.end();
    });
    servers.push(s);
    const model = await openModel(spec(s.url, { maxRetries: 3 }));
    const error = await model.generator.generate(requests(1)).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => (e instanceof PartialGenerationError ? e.cause : e),
    );
    assert.ok(error instanceof RuntimeFailure, String(error));
    assert.match(error.message, new RegExp(`POST ${s.url.replace(/\./g, '\\.')}/v1/completions failed: HTTP 308 Permanent Redirect \\(redirects are not followed: it points to ${s.url.replace(/\./g, '\\.')}/elsewhere/v1/completions\\)`));
    assert.equal(s.requests.filter((x) => x.url === '/v1/completions').length, 1, 'sent once');
    await model.dispose();
  });

  it('refuses an endpoint that is not a URL before any request', async () => {
    await assert.rejects(openModel(spec('http://exa mple:80')), /endpoint .* is not an http\(s\) URL/);
  });
});
