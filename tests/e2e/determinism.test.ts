// `ragtax run --check-determinism N`: end to end on the tiny fixture models (the in-process backend
// is deterministic: nothing flips), and the check itself against a generator that is not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checkDeterminism, MAX_LISTED_FLIPS, pickSamples, type DeterminismTarget } from '../../src/run/determinism.js';
import type { RunSummary } from '../../src/rundir/types.js';
import type { GenerationRequest, LoadedModel, SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-determinism-'));

function ragtax(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const readSummary = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;

test('--check-determinism 5 --no-cache: 5 samples per model re-generated, none changed, reported', () => {
  const out = path.join(tmp, 'checked');
  const run = ragtax('run', SUITE, '--out', out, '--no-cache', '--check-determinism', '5');
  assert.equal(run.code, 0, run.stderr);
  const summary = readSummary(out);
  assert.deepEqual(Object.keys(summary.determinism ?? {}).sort(), ['base', 'instruct']);
  for (const [model, d] of Object.entries(summary.determinism!)) {
    assert.deepEqual(d, { checked: 5, flippedText: 0, flippedCorrect: 0, rate: 0, flips: [] }, model);
  }
  // One progress line per model on stderr, one headline line on stdout.
  assert.match(run.stderr, /determinism: base: 0\/5 re-generated samples changed text/);
  assert.match(run.stderr, /determinism: instruct: 0\/5 re-generated samples changed text/);
  assert.match(run.stdout, /determinism \(re-generated without the cache\): base 0\/5 changed text/);
  const report = readFileSync(path.join(out, 'report.md'), 'utf8');
  assert.match(report, /## Determinism\n/);
  assert.match(report, /\| base \| 5 \| 0 \| /);
  assert.ok(report.indexOf('## Excluded samples') < report.indexOf('## Determinism'));
});

test('every sample from the cache: the check still loads the models and generates', () => {
  const warm = path.join(tmp, 'warm');
  const first = ragtax('run', SUITE, '--out', warm, '--quiet', '--limit', '1', '--check-determinism', '0');
  assert.equal(first.code, 0, first.stderr);
  // N = 0: no check and no field.
  assert.equal(readSummary(warm).determinism, undefined);
  assert.doesNotMatch(readFileSync(path.join(warm, 'report.md'), 'utf8'), /## Determinism/);
  const cached = path.join(tmp, 'cached');
  const second = ragtax('run', SUITE, '--out', cached, '--quiet', '--limit', '1', '--check-determinism', '3');
  assert.equal(second.code, 0, second.stderr);
  const summary = readSummary(cached);
  for (const model of ['base', 'instruct']) {
    const timing = summary.timing.models[model]!;
    assert.equal(timing.modelCalls, 0, `${model}: every sample came from the cache`);
    assert.equal(timing.weightsLoaded, false);
    assert.equal(summary.determinism![model]!.checked, 3, model);
    assert.equal(summary.determinism![model]!.rate, 0, model);
  }
});

test('--check-determinism must be a whole number ≥ 0 (exit 2)', () => {
  for (const bad of ['-1', '1.5', 'many']) {
    const r = ragtax('run', SUITE, '--out', path.join(tmp, `bad${bad}`), '--check-determinism', bad);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--check-determinism must be a whole number ≥ 0/);
  }
  // A bare flag (no N) is refused too, not taken as "no check".
  const bare = ragtax('run', SUITE, '--out', path.join(tmp, 'bare'), '--limit', '1', '--check-determinism');
  assert.equal(bare.code, 2, bare.stderr);
});

// The check on its own: records made up, a model whose answers alternate between two texts.

function record(itemId: string, instruction: string, response: string, correct: boolean, excluded = false): SampleRecord {
  return {
    itemId,
    model: 'flaky',
    format: 'raw',
    instruction,
    context: 'retrieved',
    k: 2,
    shots: 0,
    cot: false,
    question: `q ${itemId}`,
    answers: ['Paris'],
    docIds: [],
    prompt: `prompt ${itemId} ${instruction}`,
    response,
    scoredText: response,
    scores: { correct, exactMatch: correct, f1: correct ? 1 : 0, refusal: false, answerInContext: true },
    finishReason: 'eos',
    promptTokens: 3,
    completionTokens: 1,
    latencyMs: 0,
    ...(excluded ? { excluded: 'context-overflow' as const } : {}),
  };
}

/** Every call answers each request with "Paris" and "Lyon" by turns; counts loads, calls and disposals. */
function flakyTarget(batchSize: number) {
  const state = { loads: 0, calls: 0, disposed: 0, opened: 0, requests: [] as GenerationRequest[] };
  let turn = 0;
  const model: LoadedModel = {
    name: 'flaky',
    generator: {
      async generate(requests) {
        assert.equal(state.loads, 1, 'weights loaded before the first call');
        state.calls += 1;
        state.requests.push(...requests);
        return requests.map(() => ({ text: turn++ % 2 === 0 ? 'Paris' : 'Lyon', finishReason: 'eos' as const, promptTokens: 3, completionTokens: 1, latencyMs: 1 }));
      },
    },
    countTokens: () => 3,
    contextLength: 512,
    fingerprint: { source: 'fake', files: [] },
    async load() {
      state.loads += 1;
    },
    async dispose() {
      state.disposed += 1;
    },
  };
  const target: DeterminismTarget = {
    name: 'flaky',
    batchSize,
    async open() {
      state.opened += 1;
      return {
        model,
        replayOf: (r) => ({ request: { prompt: r.prompt, decoding: { maxNewTokens: 4, stop: [], temperature: 0, repetitionPenalty: 1, seed: 1 } }, correct: (result) => result.text === 'Paris' }),
      };
    },
  };
  return { target, state };
}

test('a generator that is not deterministic: flips counted, listed (at most 20) and scored', async () => {
  // Every record says "Paris" (correct): re-generated, every second one comes back "Lyon" (wrong).
  const records = Array.from({ length: 60 }, (_, i) => record(`q${i}`, i % 2 === 0 ? 'nores' : 'no-rejection', 'Paris', true));
  const { target, state } = flakyTarget(4);
  const result = await checkDeterminism([target], records, { n: 50, seed: 7 });
  const d = result!.flaky!;
  assert.equal(d.checked, 50);
  assert.equal(d.flippedText, 25);
  assert.equal(d.flippedCorrect, 25);
  assert.equal(d.rate, 0.5);
  assert.equal(d.flips.length, MAX_LISTED_FLIPS);
  for (const f of d.flips) {
    assert.equal(f.before, 'Paris');
    assert.equal(f.after, 'Lyon');
    assert.equal(f.correctChanged, true);
    assert.match(f.cell, /^flaky raw · (nores|no-rejection) · k=2 · shots=0$/);
    assert.ok(records.some((r) => r.itemId === f.itemId));
  }
  // Opened, loaded and disposed once; called in batches of the model's batch size; the recorded prompts.
  assert.deepEqual({ opened: state.opened, loads: state.loads, disposed: state.disposed, calls: state.calls }, { opened: 1, loads: 1, disposed: 1, calls: 13 });
  assert.equal(new Set(state.requests.map((r) => r.prompt)).size, 50);
});

test('a flip that keeps correctness counts as a text flip only; excluded samples are never picked', async () => {
  // Recorded wrong answers "Lyon" and "Rome"; the model answers "Paris" (correct), then "Lyon".
  const records = [record('a', 'nores', 'Lyon', false), record('b', 'nores', 'Rome', false), record('c', 'nores', 'x', true, true)];
  const order = pickSamples(records, 'flaky', 5, 1).map((r) => r.itemId);
  assert.deepEqual([...order].sort(), ['a', 'b']);
  const { target } = flakyTarget(1);
  const d = (await checkDeterminism([target], records, { n: 5, seed: 1 }))!.flaky!;
  assert.equal(d.checked, 2);
  // The first drawn gets "Paris": text and correctness flip. The second gets "Lyon": a text flip
  // without a correctness flip for "Rome", no flip at all for "Lyon".
  const expected = order[0] === 'a'
    ? [{ itemId: 'a', before: 'Lyon', after: 'Paris', correctChanged: true }, { itemId: 'b', before: 'Rome', after: 'Lyon', correctChanged: false }]
    : [{ itemId: 'b', before: 'Rome', after: 'Paris', correctChanged: true }];
  assert.deepEqual(d.flips.map(({ itemId, before, after, correctChanged }) => ({ itemId, before, after, correctChanged })), expected);
  assert.equal(d.flippedText, expected.length);
  assert.equal(d.flippedCorrect, 1);
  assert.equal(d.rate, expected.length / 2);
});

test('the picks depend on the seed, not on the order of the records; N = 0 checks nothing', async () => {
  const records = Array.from({ length: 40 }, (_, i) => record(`q${i}`, 'nores', 'Paris', true));
  const ids = (rs: SampleRecord[], seed: number) => pickSamples(rs, 'flaky', 5, seed).map((r) => r.itemId);
  assert.deepEqual(ids([...records].reverse(), 7), ids(records, 7));
  assert.notDeepEqual(ids(records, 8), ids(records, 7));
  assert.equal(ids(records, 7).length, 5);
  const { target, state } = flakyTarget(2);
  assert.equal(await checkDeterminism([target], records, { n: 0, seed: 7 }), undefined);
  assert.equal(state.opened, 0);
});
