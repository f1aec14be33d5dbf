// `backend: openai` and the generation cache: `revision` is part of the model's cache key (a server
// that reloads other weights under one id does not get the old generations back once the revision
// changes); `cache: false` sends that model's requests past the cache, read and write, while the
// other models of the run still use it. Checked on the suite entry and on runs against `ragtax serve`.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { modelCacheKey } from '../../src/cache/caching-generator.js';
import { GenerationCache } from '../../src/cache/generation-cache.js';
import { InputError } from '../../src/errors.js';
import { runSuite } from '../../src/run/runner.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { loadSuite, type SuiteModel } from '../../src/suite/load.js';
import { FIXTURE_DATA, TINY_BASE } from '../backends/helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-openai-cache-'));
let counter = 0;

function suiteText(models: string): string {
  return `name: openai-cache
seed: 7
dataset:
  format: ragtax
  path: ${JSON.stringify(path.join(FIXTURE_DATA, 'qa.jsonl'))}
  corpus: ${JSON.stringify(path.join(FIXTURE_DATA, 'corpus.jsonl'))}
models:
${models}
grid:
  - instruction: closed-book
decoding:
  max_new_tokens: 4
  stop: ["\\n"]
metrics:
  bootstrap_samples: 100
`;
}

function suiteFile(models: string): string {
  const file = path.join(tmp, `suite-${++counter}.yaml`);
  writeFileSync(file, suiteText(models));
  return file;
}

async function modelsOf(models: string): Promise<Map<string, SuiteModel>> {
  const suite = await loadSuite(suiteFile(models));
  return new Map(suite.models.map((m) => [m.name, m]));
}

const SERVER = 'endpoints: [http://127.0.0.1:9], model: tiny-base';

test('`revision` joins the model identity (and so the cache key); without it the identity is what it was', async () => {
  const models = await modelsOf(`  plain: { backend: openai, ${SERVER} }
  r1: { backend: openai, ${SERVER}, revision: "2024-06-01" }
  r2: { backend: openai, ${SERVER}, revision: sha-3f2a }
`);
  assert.deepEqual(models.get('plain')!.identity, { device: 'cpu' }, 'existing cache keys unchanged');
  assert.deepEqual(models.get('r1')!.identity, { device: 'cpu', revision: '2024-06-01' });
  assert.deepEqual(models.get('r1')!.recorded, { revision: '2024-06-01' }, 'and the manifest records it');
  const fingerprint = { source: 'openai:tiny-base', files: [{ path: 'server:/v1/models', sha256: 'ab'.repeat(32), bytes: 0 }] };
  const keys = ['plain', 'r1', 'r2'].map((name) => modelCacheKey(fingerprint, { backend: 'openai', ...models.get(name)!.identity }));
  assert.equal(new Set(keys).size, 3);
});

test('`cache: false` marks the model to bypass the cache (and the manifest records it); its key is unchanged', async () => {
  const models = await modelsOf(`  cached: { backend: openai, ${SERVER} }
  direct: { backend: openai, ${SERVER}, cache: false }
  explicit: { backend: openai, ${SERVER}, cache: true }
`);
  assert.equal(models.get('cached')!.cacheGenerations, undefined);
  assert.equal(models.get('explicit')!.cacheGenerations, undefined);
  assert.equal(models.get('direct')!.cacheGenerations, false);
  assert.deepEqual(models.get('direct')!.recorded, { generationCache: 'off' });
  assert.deepEqual(models.get('direct')!.identity, models.get('cached')!.identity);
});

test('bad `revision` and `cache` values, and the fields on another backend, are input errors naming the field', async () => {
  const cases: [string, RegExp][] = [
    [`  m: { backend: openai, ${SERVER}, cache: "no" }`, /`models\.m\.cache`/],
    [`  m: { backend: openai, ${SERVER}, revision: "" }`, /`models\.m\.revision`/],
    [`  m: { backend: openai, ${SERVER}, revision: 3 }`, /`models\.m\.revision`/],
    [`  m: { path: ${JSON.stringify(TINY_BASE)}, cache: false }`, /`models\.m\.cache` is for `backend: openai` only/],
    [`  m: { path: ${JSON.stringify(TINY_BASE)}, revision: main }`, /`models\.m\.revision` is for `backend: openai` only/],
  ];
  for (const [models, message] of cases) {
    await assert.rejects(loadSuite(suiteFile(models)), (e: unknown) => e instanceof InputError && message.test(e.message), models);
  }
});

describe('runs against ragtax serve', () => {
  let server: RunningServer;
  const cachePath = path.join(tmp, 'generations.sqlite');
  const endpoints = () => `endpoints: [${server.url}], model: tiny-base`;

  before(async () => {
    server = await startServer({ source: TINY_BASE, port: 0, batchSize: 8 });
  });
  after(async () => {
    await server.close();
  });

  async function run(models: string) {
    const suite = await loadSuite(suiteFile(models));
    const requestsBefore = server.stats.requests;
    const { summary } = await runSuite({ suite, outDir: path.join(tmp, `run-${++counter}`), quiet: true, cachePath });
    const timing = summary.timing.models;
    return { timing, serverRequests: server.stats.requests - requestsBefore };
  }
  const cacheRows = () => {
    const cache = GenerationCache.open(cachePath);
    try {
      return cache.size();
    } finally {
      cache.close();
    }
  };

  test('`cache: false`: that model generates every time and writes nothing; the others are served from the cache', async () => {
    const models = () => `  remote: { backend: openai, ${endpoints()}, revision: r1 }
  direct: { backend: openai, ${endpoints()}, cache: false }
  local: { path: ${JSON.stringify(TINY_BASE)} }
`;
    const first = await run(models());
    const n = first.timing.remote!.generatedSamples;
    assert.ok(n > 0);
    assert.deepEqual(
      Object.fromEntries(Object.entries(first.timing).map(([k, t]) => [k, [t.generatedSamples, t.cachedSamples]])),
      { remote: [n, 0], direct: [n, 0], local: [n, 0] },
    );
    assert.equal(first.serverRequests, 2 * n);
    assert.equal(cacheRows(), 2 * n, 'rows of `remote` and `local` only');

    const second = await run(models());
    assert.deepEqual(
      Object.fromEntries(Object.entries(second.timing).map(([k, t]) => [k, [t.generatedSamples, t.cachedSamples]])),
      { remote: [0, n], direct: [n, 0], local: [0, n] },
    );
    assert.equal(second.serverRequests, n, 'only `direct` reached the server');
    assert.equal(cacheRows(), 2 * n);
  });

  test('a new `revision` is a new cache key: the server is asked again; the same revision is served from the cache', async () => {
    const same = await run(`  remote: { backend: openai, ${endpoints()}, revision: r1 }\n`);
    const n = same.timing.remote!.cachedSamples;
    assert.ok(n > 0);
    assert.equal(same.timing.remote!.generatedSamples, 0);
    assert.equal(same.serverRequests, 0);
    const changed = await run(`  remote: { backend: openai, ${endpoints()}, revision: r2 }\n`);
    assert.deepEqual([changed.timing.remote!.generatedSamples, changed.timing.remote!.cachedSamples], [n, 0]);
    assert.equal(changed.serverRequests, n);
    const none = await run(`  remote: { backend: openai, ${endpoints()} }\n`);
    assert.deepEqual([none.timing.remote!.generatedSamples, none.timing.remote!.cachedSamples], [n, 0], 'no revision is another key again');
  });
});
