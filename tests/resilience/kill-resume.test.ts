// A run killed with SIGKILL and resumed ends with exactly one record per (item, cell) and the same
// aggregates as an uninterrupted run; a warm re-run is served from the generation cache alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src/rundir/types.js';
import type { SampleRecord } from '../../src/types.js';
import { sampleKey } from '../../src/rundir/sample-record.js';
import { CLI, ragtax, TINY_SUITE } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-resume-'));
const SECRET = 'sk-test-do-not-write-7f3a9c';
const env = { RAGTAX_CACHE_DIR: path.join(tmp, 'cache'), RAGTAX_TEST_SECRET: SECRET };
const readSummary = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
const readSamples = (dir: string) =>
  readFileSync(path.join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
const lineCount = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);

const cold = path.join(tmp, 'cold');
const coldRun = ragtax(['run', TINY_SUITE, '--out', cold, '--quiet'], env);

test('a warm re-run makes no model call and gives identical results', async () => {
  const first = await coldRun;
  assert.equal(first.code, 0, first.stderr);
  const warm = path.join(tmp, 'warm');
  const t0 = performance.now();
  const second = await ragtax(['run', TINY_SUITE, '--out', warm, '--quiet'], env);
  const warmMs = performance.now() - t0;
  assert.equal(second.code, 0, second.stderr);
  const a = readSummary(cold);
  const b = readSummary(warm);
  for (const [name, t] of Object.entries(b.timing.models)) {
    assert.equal(t.modelCalls, 0, `${name}: no model call`);
    assert.equal(t.weightsLoaded, false, `${name}: weights never loaded`);
    assert.equal(t.generatedSamples, 0);
    assert.equal(t.cachedSamples, a.timing.models[name]!.generatedSamples);
    assert.equal(t.tokensPerSecond, 0, 'hits are not throughput');
  }
  assert.deepEqual(b.cells, a.cells);
  assert.deepEqual(b.pairs, a.pairs);
  const sa = readSamples(cold);
  const sb = readSamples(warm);
  assert.deepEqual(sb.map((s) => s.response), sa.map((s) => s.response));
  for (const s of sb) {
    if (s.excluded) continue;
    assert.equal(s.cached, true);
    assert.equal(s.latencyMs, 0);
  }
  assert.ok(sa.every((s) => s.cached !== true), 'the cold run generated everything');
  assert.ok(b.timing.totalSeconds < a.timing.totalSeconds, `warm ${b.timing.totalSeconds}s vs cold ${a.timing.totalSeconds}s (wall ${Math.round(warmMs)} ms)`);
  assert.match(b.manifest.generationCache ?? '', /generations\.sqlite$/);
});

test('kill -9 mid-run, a torn last line, then --resume: one record per (item, cell), same aggregates', async () => {
  assert.equal((await coldRun).code, 0);
  const out = path.join(tmp, 'killed');
  const samples = path.join(out, 'samples.jsonl');
  const child = spawn(process.execPath, [CLI, 'run', TINY_SUITE, '--out', out, '--quiet', '--no-cache'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  while (lineCount(samples) < 5 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', 'the run was killed before it finished');
  assert.ok(!existsSync(path.join(out, 'summary.json')));
  assert.ok(existsSync(path.join(out, 'run.json')), 'run.json is written at the start');
  const kept = lineCount(samples);
  assert.ok(kept >= 5 && kept < 99, `killed mid-way (${kept} lines)`);

  // Without --resume the directory is refused, with a hint.
  const refused = await ragtax(['run', TINY_SUITE, '--out', out, '--quiet', '--no-cache'], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /not empty.*add --resume/);

  appendFileSync(samples, '{"itemId":"q1","model":"ba'); // a line torn by the kill
  const size = statSync(samples).size;
  const resumed = await ragtax(['run', TINY_SUITE, '--out', out, '--resume', '--no-cache'], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /dropped a torn last line \(26 bytes\)/);
  assert.ok(statSync(samples).size > size);

  const records = readSamples(out);
  assert.equal(records.length, 99);
  assert.equal(new Set(records.map(sampleKey)).size, 99, 'exactly one record per (item, cell)');
  const reference = new Map(readSamples(cold).map((s) => [sampleKey(s), s]));
  for (const r of records) assert.equal(r.response, reference.get(sampleKey(r))!.response);

  const a = readSummary(cold);
  const b = readSummary(out);
  assert.deepEqual(b.cells, a.cells);
  assert.deepEqual(b.pairs, a.pairs);
  assert.equal(b.manifest.resumed?.length, 1);
  assert.equal(b.manifest.resumed![0]!.samplesKept, kept);
  assert.equal(b.manifest.resumed![0]!.tornBytesDropped, 26);
  assert.equal(b.manifest.generationCache, null);
  const resumedSamples = Object.values(b.timing.models).reduce((n, t) => n + t.resumedSamples, 0);
  assert.equal(resumedSamples, kept);
  for (const file of ['run.json', 'summary.json', 'samples.jsonl']) {
    assert.ok(!readFileSync(path.join(out, file), 'utf8').includes(SECRET), `${file} holds no environment value`);
  }

  // Resuming a finished run changes nothing.
  const again = await ragtax(['run', TINY_SUITE, '--out', out, '--resume', '--quiet', '--no-cache'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(lineCount(samples), 99);
  assert.deepEqual(readSummary(out).cells, a.cells);
});

test('--resume refuses a different suite, and a damaged (not torn) samples file', async () => {
  assert.equal((await coldRun).code, 0);
  const other = path.join(tmp, 'other.yaml');
  writeFileSync(
    other,
    readFileSync(TINY_SUITE, 'utf8')
      .replace(/\.\.\//g, `${path.dirname(path.dirname(TINY_SUITE))}/`)
      .replace('max_new_tokens: 6', 'max_new_tokens: 7'),
  );
  const mismatch = await ragtax(['run', other, '--out', cold, '--resume', '--quiet'], env);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /cannot resume: this run was made from a different suite or models \(the suite configuration differs\)/);
  const limited = await ragtax(['run', TINY_SUITE, '--out', cold, '--resume', '--quiet', '--limit', '2'], env);
  assert.equal(limited.code, 2);
  assert.match(limited.stderr, /--limit differs/);

  const damaged = path.join(tmp, 'damaged');
  cpSync(cold, damaged, { recursive: true });
  const file = path.join(damaged, 'samples.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[2] = lines[2]!.slice(0, 40);
  writeFileSync(file, lines.join('\n'));
  const r = await ragtax(['run', TINY_SUITE, '--out', damaged, '--resume', '--quiet'], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /samples\.jsonl:3: cannot resume: a complete line is not valid JSON/);
});

test('kill -9 at the run-file write and during the report writes, then --resume: complete, same aggregates, no leftovers', async () => {
  assert.equal((await coldRun).code, 0);
  const reference = readSummary(cold);
  // Each moment is the first sight of a file the run writes: the run file's temporary name (its
  // first atomic write), the run file, and the report files written at the end.
  const moments: { name: string; file: RegExp }[] = [
    { name: 'run-file write', file: /^run\.json\.tmp-\d+$/ },
    { name: 'run file written', file: /^run\.json$/ },
    { name: 'report write', file: /^summary\.csv(\.tmp-\d+)?$/ },
    { name: 'report write', file: /^report\.md(\.tmp-\d+)?$/ },
  ];
  let killed = 0;
  for (const [i, moment] of moments.entries()) {
    const out = path.join(tmp, `killed-at-${i}`);
    const child = spawn(process.execPath, [CLI, 'run', TINY_SUITE, '--out', out, '--quiet', '--no-cache'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    while (child.exitCode === null && !(existsSync(out) && readdirSync(out).some((f) => moment.file.test(f)))) await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGKILL');
    const signal = await exited;
    if (signal !== 'SIGKILL') continue; // finished before the moment: nothing to test here
    killed += 1;
    const resumed = await ragtax(['run', TINY_SUITE, '--out', out, '--resume', '--quiet', '--no-cache'], env);
    assert.equal(resumed.code, 0, `${moment.name}: ${resumed.stderr}`);
    const records = readSamples(out);
    assert.equal(new Set(records.map(sampleKey)).size, 99, `${moment.name}: one record per (item, cell)`);
    assert.equal(records.length, 99, `${moment.name}: nothing duplicated`);
    assert.deepEqual(readSummary(out).cells, reference.cells, moment.name);
    assert.deepEqual(readSummary(out).pairs, reference.pairs, moment.name);
    assert.deepEqual(readdirSync(out).filter((f) => /\.tmp-\d+$/.test(f)), [], `${moment.name}: no temporary file left`);
  }
  assert.ok(killed >= 3, `only ${killed} of ${moments.length} runs were killed at their moment`);
});
