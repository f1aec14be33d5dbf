// Bootstrap intervals and chat prompts remembered across runs (stats/lasting-intervals.ts,
// prompts/lasting-renders.ts), through the CLI on the organism: a re-run in a new process reads
// every interval and prompt back and gets the summary and samples a run that computes them all gets
// (--no-cache), and another seed makes new intervals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src/rundir/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-lasting-'));
const cacheDir = path.join(tmp, 'cache');
const record = path.join(cacheDir, 'bootstrap-intervals.json');
const renders = path.join(cacheDir, 'chat-renders.json');
const suite = path.join(tmp, 'suite.yaml');
writeFileSync(
  suite,
  `name: lasting-intervals
seed: 5
dataset:
  format: ragtax
  path: ${path.join(ROOT, 'corpora/quennland/qa.jsonl')}
  corpus: ${path.join(ROOT, 'corpora/quennland/corpus.jsonl')}
  limit: 24
models:
  base: { path: ${path.join(ROOT, 'models/quennland-base')} }
  instruct: { path: ${path.join(ROOT, 'models/quennland-instruct')}, formats: [raw, chat] }
pairs:
  - { base: base, instruct: instruct }
grid:
  - { k: [1, 3], instruction: nores }
decoding:
  max_new_tokens: 12
  stop: ["\\n"]
metrics:
  cluster_by: "id:^([a-z]\\\\d+)-"
  bootstrap_samples: 300
`,
);

/** What each sample was asked and answered, in file order (not how long it took, nor where it came from). */
function samplesOf(name: string): string[] {
  return readFileSync(path.join(tmp, name, 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const { latencyMs: _latency, cached: _cached, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify(rest);
    });
}

function run(name: string, ...extra: string[]): RunSummary {
  const out = path.join(tmp, name);
  const r = spawnSync(process.execPath, [CLI, 'run', suite, '--out', out, '--quiet', ...extra], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: cacheDir } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no warning');
  return JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as RunSummary;
}

const statistics = (s: RunSummary) => ({ cells: s.cells, pairs: s.pairs, lineages: s.lineages });

test('a re-run reads its intervals back and summarizes as a run that computes them all', () => {
  const first = run('first');
  assert.ok(existsSync(record), 'the first run records its intervals');
  const written = readFileSync(record, 'utf8');
  const intervals = Object.keys((JSON.parse(written) as { intervals: object }).intervals).length;
  assert.ok(intervals >= 10, `${intervals} intervals recorded`);
  assert.ok(first.cells.some((c) => c.ci95.accuracy![0] < c.ci95.accuracy![1]), 'cluster intervals that are not a point');
  const modified = statSync(record).mtimeMs;

  const prompts = Object.keys((JSON.parse(readFileSync(renders, 'utf8')) as { prompts: object }).prompts).length;
  assert.ok(prompts >= 24, `${prompts} chat prompts recorded`);
  const rendersModified = statSync(renders).mtimeMs;

  const second = run('second');
  assert.deepEqual(statistics(second), statistics(first));
  assert.deepEqual(samplesOf('second'), samplesOf('first'), 'the same prompts, answers and scores');
  assert.equal(readFileSync(record, 'utf8'), written, 'every interval was read back: nothing new to record');
  assert.equal(statSync(record).mtimeMs, modified, 'not rewritten');
  assert.equal(statSync(renders).mtimeMs, rendersModified, 'every chat prompt was read back');

  // --no-cache computes every interval and renders every prompt (and leaves the records alone): the same.
  const computed = run('computed', '--no-cache');
  assert.deepEqual(statistics(computed), statistics(first));
  assert.deepEqual(samplesOf('computed'), samplesOf('first'));
  assert.equal(statSync(record).mtimeMs, modified);
  assert.equal(statSync(renders).mtimeMs, rendersModified);
});

test('another seed makes other intervals, added to the record', () => {
  const before = Object.keys((JSON.parse(readFileSync(record, 'utf8')) as { intervals: object }).intervals).length;
  const reseeded = run('reseeded', '--seed', '6');
  const after = Object.keys((JSON.parse(readFileSync(record, 'utf8')) as { intervals: object }).intervals).length;
  assert.ok(after > before, `${before} → ${after} intervals`);
  const computed = run('reseeded-computed', '--seed', '6', '--no-cache');
  assert.deepEqual(statistics(reseeded), statistics(computed));
});
