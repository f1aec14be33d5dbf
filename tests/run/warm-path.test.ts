// The run's cost-saving paths give the samples a plain generation gives: a max_new_tokens sweep
// reuses the answers that ended on their own (natural-endings.ts), a warm re-run is served from
// the cache without loading weights, and both write the same samples.jsonl as a run without the
// cache, on ragtax's own organism pair (real tokenizers, chat template and weights); and what a run
// keeps of its records while writing them summarizes and reports as samples.jsonl read back does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { summarize } from '../../src/aggregate/summarize.js';
import { writeHtmlReport } from '../../src/report/write.js';
import { readSampleTable } from '../../src/rundir/read.js';
import { runSuite } from '../../src/run/runner.js';
import { loadSuite } from '../../src/suite/load.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-warm-path-'));
const SUITE = `name: warm-path
seed: 3
dataset:
  format: ragtax
  path: ${path.join(ROOT, 'corpora/quennland/qa.jsonl')}
  corpus: ${path.join(ROOT, 'corpora/quennland/corpus.jsonl')}
  limit: 16
models:
  base: { path: ${path.join(ROOT, 'models/quennland-base')} }
  instruct: { path: ${path.join(ROOT, 'models/quennland-instruct')}, formats: [raw, chat] }
pairs:
  - { base: base, instruct: instruct }
grid:
  - { k: [1, 3], instruction: nores }
sweep:
  points: { k: 3 }
  max_new_tokens: [40]
decoding:
  max_new_tokens: 12
  stop: ["\\n"]
metrics:
  bootstrap_samples: 200
`;

/** What a sample says (not how long it took, nor where it came from). */
function samplesOf(outDir: string): Omit<SampleRecord, 'latencyMs' | 'cached'>[] {
  return readFileSync(path.join(outDir, 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const { latencyMs: _latency, cached: _cached, ...rest } = JSON.parse(line) as SampleRecord;
      return rest;
    });
}

test('a budget sweep and a warm re-run give the samples of a run without the cache, in the same order', async () => {
  const file = path.join(tmp, 'suite.yaml');
  writeFileSync(file, SUITE);
  const suite = await loadSuite(file);
  const cachePath = path.join(tmp, 'generations.sqlite');

  const plain = await runSuite({ suite, outDir: path.join(tmp, 'plain'), quiet: true, cache: false });
  const cold = await runSuite({ suite, outDir: path.join(tmp, 'cold'), quiet: true, cachePath });
  const warm = await runSuite({ suite, outDir: path.join(tmp, 'warm'), quiet: true, cachePath });

  const expected = samplesOf(plain.outDir);
  assert.equal(expected.length, 3 * 3 * 16, 'three model formats × three points × 16 items');
  assert.deepEqual(samplesOf(cold.outDir), expected, 'the cold run with reuse');
  assert.deepEqual(samplesOf(warm.outDir), expected, 'the warm re-run');
  assert.deepEqual(cold.summary.pairs, plain.summary.pairs);
  assert.deepEqual(warm.summary.cells, plain.summary.cells);

  // The sweep's budget of 40: every answer that ended on its own under 12 tokens is not generated again.
  const natural = expected.filter((s) => s.k === 3 && s.variant === undefined && (s.finishReason === 'eos' || s.finishReason === 'stop')).length;
  assert.ok(natural > 0, 'the organism ends its answers on its own');
  const timings = Object.values(cold.summary.timing.models);
  const total = (key: 'generatedSamples' | 'cachedSamples' | 'modelCalls') => timings.reduce((sum, t) => sum + t[key], 0);
  assert.equal(total('generatedSamples'), expected.length - natural);
  assert.equal(total('cachedSamples'), natural);
  const plainGenerated = Object.values(plain.summary.timing.models).reduce((sum, t) => sum + t.generatedSamples, 0);
  assert.equal(plainGenerated, expected.length, 'without the cache nothing is reused');

  // Warm: everything from the cache, no weights loaded, no model call.
  for (const [name, timing] of Object.entries(warm.summary.timing.models)) {
    assert.equal(timing.cachedSamples, timing.samples, name);
    assert.equal(timing.modelCalls, 0, name);
    assert.equal(timing.weightsLoaded, false, name);
  }
});

test("a run's summary and report.html, made from the records it kept while writing them, equal those made from samples.jsonl read back", async () => {
  const file = path.join(tmp, 'suite-readback.yaml');
  writeFileSync(file, SUITE.replace('name: warm-path', 'name: read-back'));
  const suite = await loadSuite(file);
  const cachePath = path.join(tmp, 'generations-readback.sqlite');
  const { summary, outDir } = await runSuite({ suite, outDir: path.join(tmp, 'readback'), quiet: true, cachePath });
  const table = await readSampleTable(outDir);
  const fromFile = summarize(suite, table);
  assert.deepEqual(
    { cells: summary.cells, pairs: summary.pairs, statistics: summary.statistics, lineages: summary.lineages, knowledge: summary.knowledge },
    { cells: fromFile.cells, pairs: fromFile.pairs, statistics: fromFile.statistics, lineages: fromFile.lineages, knowledge: fromFile.knowledge },
  );
  const written = readFileSync(path.join(outDir, 'report.html'), 'utf8');
  await writeHtmlReport(outDir, summary, path.join(tmp, 'readback-report.html'));
  assert.equal(readFileSync(path.join(tmp, 'readback-report.html'), 'utf8'), written);

  // A resumed run keeps the records of its first part (from the file) and adds the rest: the same again.
  const resumedDir = path.join(tmp, 'resumed');
  await runSuite({ suite, outDir: resumedDir, quiet: true, cachePath });
  const lines = readFileSync(path.join(resumedDir, 'samples.jsonl'), 'utf8').trim().split('\n');
  // As a run killed after 50 samples leaves it: no summary yet.
  writeFileSync(path.join(resumedDir, 'samples.jsonl'), `${lines.slice(0, 50).join('\n')}\n`);
  rmSync(path.join(resumedDir, 'summary.json'));
  const resumed = await runSuite({ suite, outDir: resumedDir, quiet: true, cachePath, resume: true });
  const resumedTable = await readSampleTable(resumedDir);
  assert.deepEqual(resumed.summary.pairs, summarize(suite, resumedTable).pairs);
  assert.deepEqual(resumed.summary.cells, summary.cells);
  const resumedHtml = path.join(tmp, 'resumed-report.html');
  await writeHtmlReport(resumedDir, resumed.summary, resumedHtml);
  assert.equal(readFileSync(resumedHtml, 'utf8'), readFileSync(path.join(resumedDir, 'report.html'), 'utf8'));
});
