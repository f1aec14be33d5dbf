// Sensitivity sweep: one factor at a time, end to end on the tiny fixture models.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PRESETS, RGB_REFUSAL, withRgbRefusal } from '../../src/prompts/presets.js';
import { runSuite } from '../../src/run/runner.js';
import { loadSuite } from '../../src/suite/load.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-sweep-'));
const fixture = (p: string) => path.join(ROOT, 'tests/fixtures', p);

function suiteText(sweep: string): string {
  return `name: sweep
seed: 5
dataset:
  path: ${fixture('data/qa.jsonl')}
  corpus: ${fixture('data/corpus.jsonl')}
  fewshot_size: 1
models:
  base: { path: ${fixture('models/tiny-base')} }
  instruct: { path: ${fixture('models/tiny-chat')}, formats: [raw, chat] }
pairs:
  - { base: base, instruct: instruct }
grid:
  - k: [1, 2]
    instruction: [nores, no-rejection]
decoding:
  max_new_tokens: 4
  stop: ["\\n"]
metrics:
  bootstrap_samples: 100
${sweep}`;
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

test('RGB refusal wording replaces NO-RES in the instruction and in exemplars', () => {
  const rgb = withRgbRefusal(PRESETS.nores!)!;
  assert.ok(rgb.text.endsWith(`If none of the documents contain the answer, respond with "${RGB_REFUSAL}"`));
  assert.ok(!rgb.text.includes('NO-RES'));
  assert.equal(rgb.refusal, RGB_REFUSAL);
  assert.equal(withRgbRefusal(PRESETS['no-rejection']!), undefined);
});

test('the sweep expands one factor at a time at the matching grid points', async () => {
  const suite = await loadSuite(
    write('expand.yaml', suiteText('sweep:\n  points: { k: 2 }\n  max_new_tokens: [4, 12]\n  refusal: [no-res, rgb]\n  scoring_rule: [first-line, whole]\n')),
  );
  // 4 base points; at k=2: nores gets 3 variants, no-rejection 2 (no refusal to reword).
  assert.equal(suite.points.length, 4 + 3 + 2);
  assert.deepEqual([...new Set(suite.points.flatMap((p) => (p.variant === undefined ? [] : [p.variant])))], ['max_new_tokens=12', 'refusal=rgb', 'scoring_rule=whole']);
  const at = (variant: string, instruction = 'nores') => suite.points.find((p) => p.variant === variant && p.instruction === instruction)!;
  assert.equal(at('max_new_tokens=12').settings.decoding.maxNewTokens, 12);
  assert.equal(at('refusal=rgb').settings.instruction.refusal, RGB_REFUSAL);
  assert.deepEqual(at('refusal=rgb').settings.scoring.refusalMarkers, ['insufficient information']);
  assert.equal(at('scoring_rule=whole').settings.scoring.rule, 'whole');
  assert.equal(suite.points.some((p) => p.variant === 'refusal=rgb' && p.instruction === 'no-rejection'), false);
});

test('a sweep that matches no grid point is an error naming the field', async () => {
  await assert.rejects(loadSuite(write('nomatch.yaml', suiteText('sweep:\n  points: { k: 9 }\n  scoring_rule: [whole]\n'))), /field `sweep\.points` matches no grid point/);
});

test('swept cells and pairs carry their variant through run, summary and reports', async () => {
  const suite = await loadSuite(write('run.yaml', suiteText('sweep:\n  points: { k: 1, instruction: nores }\n  max_new_tokens: [8]\n  refusal: [rgb]\n  scoring_rule: [whole]\n')));
  const outDir = path.join(tmp, 'out');
  const { summary } = await runSuite({ suite, outDir, quiet: true, cachePath: path.join(tmp, 'cache.sqlite') });
  const variants = [...new Set(summary.pairs.map((p) => p.variant))];
  assert.deepEqual(variants.sort(), [undefined, 'max_new_tokens=8', 'refusal=rgb', 'scoring_rule=whole'].sort());
  const samples = readFileSync(path.join(outDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
  const rgb = samples.filter((s) => s.variant === 'refusal=rgb');
  assert.ok(rgb.length > 0 && rgb.every((s) => s.prompt.includes(RGB_REFUSAL)));
  // Scoring-rule variants reuse the generations of the suite's own setting (served by the cache).
  const whole = samples.filter((s) => s.variant === 'scoring_rule=whole');
  const plain = new Map(samples.filter((s) => s.variant === undefined && s.instruction === 'nores' && s.k === 1).map((s) => [`${s.itemId}|${s.model}|${s.format}`, s]));
  for (const s of whole) assert.equal(s.response, plain.get(`${s.itemId}|${s.model}|${s.format}`)!.response);
  assert.ok(whole.every((s) => s.cached));
  const report = readFileSync(path.join(outDir, 'report.md'), 'utf8');
  assert.match(report, /## Sensitivity of the tax/);
  assert.match(readFileSync(path.join(outDir, 'summary.csv'), 'utf8').split('\n')[0]!, /,variant,/);
});
