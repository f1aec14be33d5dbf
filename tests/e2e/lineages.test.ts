// A three-stage lineage end to end on the tiny fixture models (the third stage is the chat fixture
// again under another name): run → summary.json → report.md, report.html and pairs.csv; the
// summary read back (`ragtax report`) keeps the lineages.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { runSuite } from '../../src/run/runner.js';
import { readRunSummary } from '../../src/rundir/read.js';
import { loadSuite } from '../../src/suite/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-lineages-e2e-'));
const fixture = (p: string) => path.join(ROOT, 'tests/fixtures', p);
const outDir = path.join(tmp, 'out');
const CHROMIUM = process.env.RAGTAX_CHROMIUM ?? '/usr/bin/chromium';

test('a base → sft → dpo lineage reaches summary.json and every report', async () => {
  const file = path.join(tmp, 'lineage.yaml');
  writeFileSync(file, `name: lineage
seed: 5
dataset:
  path: ${fixture('data/qa.jsonl')}
  corpus: ${fixture('data/corpus.jsonl')}
  fewshot_size: 1
models:
  base: { path: ${fixture('models/tiny-base')} }
  sft: { path: ${fixture('models/tiny-chat')}, formats: [raw, chat] }
  dpo: { path: ${fixture('models/tiny-chat')}, formats: [chat] }
pairs:
  - { base: base, instruct: sft }
lineages:
  - { name: tiny, stages: [base, sft, dpo] }
grid:
  - k: 1
decoding:
  max_new_tokens: 4
  stop: ["\\n"]
metrics:
  bootstrap_samples: 100
`);
  const suite = await loadSuite(file);
  const { summary } = await runSuite({ suite, outDir, quiet: true, cachePath: path.join(tmp, 'cache.sqlite') });
  const label = (i: number) => {
    const p = summary.pairs[i]!;
    return `${p.base} ${p.baseFormat ?? 'raw'} → ${p.instruct} ${p.format}`;
  };
  // Suite pair (base → sft raw, chat), the step sft chat → dpo chat, first → last base raw → dpo chat.
  assert.deepEqual(summary.pairs.map((_, i) => label(i)), ['base raw → sft raw', 'base raw → sft chat', 'sft chat → dpo chat', 'base raw → dpo chat']);
  assert.equal(summary.lineages?.length, 1);
  const [point] = summary.lineages![0]!.points;
  assert.deepEqual([summary.lineages![0]!.points.length, point!.format, point!.steps, point!.total], [1, 'chat', [1, 2], 3]);
  const [s1, s2] = point!.steps.map((i) => summary.pairs[i]!);
  assert.ok(Math.abs(s1!.tax + s2!.tax - summary.pairs[point!.total]!.tax) < 1e-12, 'steps sum to the total');

  const md = readFileSync(path.join(outDir, 'report.md'), 'utf8');
  assert.match(md, /^### tiny: base → sft → dpo$/m);
  assert.match(md, /^\| \*\*total\*\* base → dpo \| raw → chat \| /m);
  assert.match(md, /^\| sft \(chat\) vs dpo \| chat \| /m, 'the pair table names the earlier model\'s format');
  const html = readFileSync(path.join(outDir, 'report.html'), 'utf8');
  assert.ok(html.includes('"lineages":[{"lineage":"tiny"'), 'report.html embeds the waterfall data');
  assert.ok(html.includes('href="#lineages-h"'));
  const csv = readFileSync(path.join(outDir, 'pairs.csv'), 'utf8').trim().split('\n');
  assert.ok(csv[0]!.split(',').includes('baseFormat'));
  assert.deepEqual((await readRunSummary(outDir)).lineages, summary.lineages, 'summary.json keeps the lineages for `ragtax report`');
});

test('report.html draws the waterfall (headless Chromium, where installed)', async (t) => {
  if (!existsSync(path.join(outDir, 'report.html'))) return t.skip('the run above failed');
  if (!existsSync(CHROMIUM)) return t.skip(`Chromium not found at ${CHROMIUM} (install Debian's chromium or set RAGTAX_CHROMIUM)`);
  const { chromium } = await import('playwright-core');
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  } catch (err) {
    return t.skip(`Chromium did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(path.join(outDir, 'report.html')).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    assert.deepEqual(errors, []);
    assert.equal(await page.locator('#lineages').isVisible(), true);
    assert.equal(await page.locator('#lineages canvas').count(), 1);
    const rows = await page.locator('#lineages table.data tbody tr td.label-cell').allTextContents();
    assert.deepEqual(rows, ['base → sft', 'sft → dpo', 'total base → dpo']);
  } finally {
    await browser.close();
  }
});
