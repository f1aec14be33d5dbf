// End to end through the CLI and the real transformers.js backend on the tiny fixture models.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src/rundir/types.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-e2e-'));

function ragtax(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const out = path.join(tmp, 'run');
const run = ragtax('run', SUITE, '--out', out, '--quiet');

test('ragtax run writes every output and exits 0', () => {
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /alignment tax/);
  for (const f of ['samples.jsonl', 'summary.json', 'summary.csv', 'report.md']) assert.ok(readFileSync(path.join(out, f), 'utf8').length > 0, f);
});

test('one sample per item × model × format × grid point, each with its exact prompt', () => {
  const samples = readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as RunSummary;
  // 3 items (5 minus a 2-item few-shot split) × (base raw + instruct raw + instruct chat) × 11 grid points
  assert.equal(summary.items, 3);
  assert.equal(samples.length, 3 * 3 * 11);
  const keys = new Set(samples.map((s) => `${s.itemId}|${s.model}|${s.format}|${s.instruction}|${s.context}|${s.k}|${s.shots}|${s.cot}`));
  assert.equal(keys.size, samples.length);
  for (const s of samples) {
    assert.equal(typeof s.prompt, 'string');
    assert.ok(s.prompt.length > 0);
    if (s.format === 'chat') assert.ok(s.prompt.startsWith('<|im_start|>system\n'));
    else assert.ok(s.prompt.endsWith('\nAnswer:') || s.prompt.endsWith('\nReasoning:'));
  }
  // Byte-identical contexts and raw prompts for base and instruct at every grid point.
  const byPoint = new Map<string, SampleRecord[]>();
  for (const s of samples.filter((x) => x.format === 'raw')) {
    const k = `${s.itemId}|${s.instruction}|${s.k}|${s.shots}|${s.cot}`;
    byPoint.set(k, [...(byPoint.get(k) ?? []), s]);
  }
  for (const [k, pair] of byPoint) {
    assert.equal(pair.length, 2, k);
    assert.deepEqual(pair[0]!.docIds, pair[1]!.docIds);
    assert.equal(pair[0]!.prompt, pair[1]!.prompt);
  }
});

test('summary carries cells, pairs, retrieval and a manifest', () => {
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(summary.cells.length, 33);
  for (const c of summary.cells) {
    for (const f of ['model', 'format', 'instruction', 'k', 'shots', 'cot', 'n', 'accuracy', 'refusalRate', 'ci95'] as const) assert.ok(f in c, f);
    assert.ok(c.accuracy >= 0 && c.accuracy <= 1);
  }
  assert.equal(summary.pairs.length, 22);
  for (const p of summary.pairs) {
    for (const f of ['base', 'instruct', 'format', 'instruction', 'k', 'shots', 'cot', 'n', 'tax', 'taxRelative', 'taxCi95', 'mcnemarP', 'table', 'refusalDelta'] as const) assert.ok(f in p, f);
    assert.equal(p.table.bothCorrect + p.table.baseOnly + p.table.instructOnly + p.table.neither, p.n);
  }
  assert.deepEqual(summary.retrieval.answerRecallAtK.map((r) => r.k), [1, 2]);
  const m = summary.manifest;
  assert.match(m.suite.sha256, /^[0-9a-f]{64}$/);
  assert.equal(m.packages['@huggingface/transformers'], '4.3.1');
  assert.ok(m.models.base!.files.some((f) => f.path.endsWith('model.onnx') && /^[0-9a-f]{64}$/.test(f.sha256)));
  assert.equal(m.seeds.suite, 7);
  // Overflowing prompts are counted, and excluded on both sides of a pair.
  const overflowCells = summary.cells.filter((c) => c.excludedContextOverflow > 0);
  for (const c of overflowCells) {
    const twin = summary.cells.filter((o) => o.instruction === c.instruction && o.k === c.k && o.shots === c.shots && o.cot === c.cot);
    assert.ok(twin.every((o) => o.n === c.n), 'cells of one grid point share n');
  }
});

test('a second run with the same seed gives identical responses', () => {
  const again = path.join(tmp, 'run2');
  const r = ragtax('run', SUITE, '--out', again, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  const a = readFileSync(path.join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
  const b = readFileSync(path.join(again, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
  assert.deepEqual(b.map((s) => [s.prompt, s.response]), a.map((s) => [s.prompt, s.response]));
  const summary = JSON.parse(readFileSync(path.join(again, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(summary.retrieval.indexLoadedFromCache, true, 'the BM25 index is reused');
});

test('errors: one message, exit 2, no stack trace', () => {
  const existing = ragtax('run', SUITE, '--out', out, '--quiet');
  assert.equal(existing.code, 2);
  assert.match(existing.stderr, /^ragtax: .*output directory is not empty/);
  assert.doesNotMatch(existing.stderr, /\n\s+at /);
  const badSuite = path.join(tmp, 'bad.yaml');
  writeFileSync(badSuite, readFileSync(SUITE, 'utf8').replace('seed: 7', 'sede: 7'));
  const bad = ragtax('run', badSuite);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.yaml:3: unknown field `sede` \(did you mean `seed`\?\)/);
  const chatOnBase = path.join(tmp, 'chat-on-base.yaml');
  writeFileSync(chatOnBase, readFileSync(SUITE, 'utf8').replace('    path: ../models/tiny-base\n', `    path: ${path.join(ROOT, 'tests/fixtures/models/tiny-base')}\n    formats: [raw, chat]\n`).replace(/\.\.\/data/g, path.join(ROOT, 'tests/fixtures/data')).replace('../models/tiny-chat', path.join(ROOT, 'tests/fixtures/models/tiny-chat')));
  const chat = ragtax('run', chatOnBase, '--out', path.join(tmp, 'chat-run'), '--quiet');
  assert.equal(chat.code, 2, chat.stderr);
  assert.match(chat.stderr, /model `base` has no chat_template/);
  const usage = ragtax('run');
  assert.equal(usage.code, 2);
});

test('ragtax score scores predictions made elsewhere', () => {
  const preds = path.join(tmp, 'preds.jsonl');
  writeFileSync(
    preds,
    [
      { id: 'a', response: 'May 18, 2018\nmore text', answers: ['May 18 , 2018'], context: ['It was released on May 18 , 2018.'] },
      { id: 'b', response: 'NO-RES', answers: ['Paris'], context: ['Berlin is a city.'] },
    ].map((x) => JSON.stringify(x)).join('\n') + '\n',
  );
  const samplesOut = path.join(tmp, 'scored.jsonl');
  const r = ragtax('score', preds, '--json', '--samples', samplesOut);
  assert.equal(r.code, 0, r.stderr);
  const agg = JSON.parse(r.stdout);
  assert.equal(agg.n, 2);
  assert.equal(agg.accuracy, 0.5);
  assert.equal(agg.negativeRejectionRate, 1);
  const rows = readFileSync(samplesOut, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows[0], { id: 'a', correct: true, exactMatch: true, f1: 1, refusal: false, answerInContext: true });
});
