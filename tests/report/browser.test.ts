// report.html in headless Chromium: charts render, no console errors, a <script> in a response shows
// as text, the outcome filter works; a screenshot goes to the test's temp dir; long unbroken text
// (a 200,000-character question) wraps instead of widening the page; a real run's report at 1400 and
// 400 px opens with the headline, has every section (exclusions, cells, retrieval, statistics,
// timing), draws its intervals and never scrolls sideways. Skips when Chromium is not installed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { buildHtmlReport } from '../../src/report/html.js';
import type { SampleRecord } from '../../src/types.js';
import { copyRun, ragtax, readSamples, readSummary, tinyRun } from '../compare/helpers.js';

const CHROMIUM = process.env.RAGTAX_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const HOSTILE = '<script>window.__xss = 1</script><b>not bold</b>';

type TestContext = { skip(message: string): void };

/** Skips the test (and says how to install it) where Chromium is not installed. */
function chromiumMissing(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return false;
  t.skip(`Chromium not found at ${CHROMIUM} (install Debian's chromium or set RAGTAX_CHROMIUM)`);
  return true;
}

/** Headless Chromium, or undefined (the test skipped) where it does not start. */
async function launchChromium(t: TestContext) {
  const { chromium } = await import('playwright-core');
  try {
    return await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  } catch (err) {
    t.skip(`Chromium did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return undefined;
  }
}

/** One tiny run shared by the tests of this file (a few seconds). */
let shared: { tmp: string; run: string } | undefined;
function sharedRun(): { tmp: string; run: string } {
  if (!shared) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-browser-'));
    shared = { tmp, run: tinyRun(tmp) };
  }
  return shared;
}

test('report.html renders in headless Chromium', async (t) => {
  if (chromiumMissing(t)) return;
  const { tmp, run } = sharedRun();
  assert.ok(statSync(path.join(run, 'report.html')).size > 100_000, '`ragtax run` writes report.html with Chart.js inlined');

  // Plant: base right and instruct (raw) refused on q2 at nores k=1, and a hostile base response.
  const at = (s: SampleRecord, model: string, format: string) => s.itemId === 'q2' && s.model === model && s.format === format && s.instruction === 'nores' && s.k === 1;
  const samples = readSamples(run).map((s) => {
    if (at(s, 'base', 'raw')) return { ...s, response: HOSTILE, scoredText: HOSTILE, scores: { ...s.scores, correct: true, refusal: false } };
    if (at(s, 'instruct', 'raw')) return { ...s, response: 'NO-RES', scoredText: 'NO-RES', scores: { ...s.scores, correct: false, refusal: true } };
    return s;
  });
  const dir = copyRun(run, path.join(tmp, 'planted'), { samples });
  const r = ragtax(tmp, 'report', dir, '--html');
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(dir, 'report.html');
  assert.ok(readFileSync(file, 'utf8').includes('\\u003cscript\\u003ewindow.__xss'));

  const browser = await launchChromium(t);
  if (!browser) return;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) requests.push(req.url());
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });

    // Charts: Chart.js instances exist and their canvases have drawn pixels.
    const charts = await page.evaluate(() => {
      const w = window as unknown as { Chart: { instances: Record<string, unknown> }; ragtaxCharts: { canvas: HTMLCanvasElement }[] };
      return {
        instances: Object.keys(w.Chart.instances).length,
        drawn: w.ragtaxCharts.map((c) => {
          const ctx = c.canvas.getContext('2d')!;
          const { data } = ctx.getImageData(0, 0, c.canvas.width, c.canvas.height);
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted += 1;
          return { id: c.canvas.id, painted };
        }),
      };
    });
    assert.ok(charts.instances >= 3, `chart instances: ${charts.instances}`);
    for (const id of ['chart-accuracy', 'chart-refusal', 'chart-tax']) {
      const drawn = charts.drawn.find((d) => d.id === id);
      assert.ok(drawn && drawn.painted > 500, `${id} is drawn: ${JSON.stringify(drawn)}`);
    }

    // The filter: base right, instruct refused → exactly the planted item, hostile response as text.
    await page.selectOption('#f-view', 'pairs');
    await page.selectOption('#f-base', 'right');
    await page.selectOption('#f-instruct', 'refused');
    const entries = page.locator('#samples .entry');
    assert.equal(await entries.count(), 1);
    assert.equal(await entries.first().getAttribute('data-base-outcome'), 'right');
    assert.equal(await entries.first().getAttribute('data-instruct-outcome'), 'refused');
    assert.match((await page.textContent('#match-count')) ?? '', /^1 paired item\(s\) match/);
    const responses = await entries.first().locator('pre.response').allTextContents();
    assert.ok(responses.includes(HOSTILE), JSON.stringify(responses));
    assert.ok(responses.includes('NO-RES'));
    // The hostile response was scored as written: no separate "scored text" block for it.
    assert.deepEqual(await entries.first().locator('.label').allTextContents(), ['response', 'response'], 'scored text shown only where it differs from the response');
    assert.equal(await page.locator('#samples b').count(), 0, 'no element was created from a response');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    // The exact prompt is there, behind a <details>.
    await entries.first().locator('details').first().click();
    assert.match((await entries.first().locator('pre.prompt').first().textContent()) ?? '', /Question: What is the capital of France\?\nAnswer:$/);
    assert.equal(await page.locator('#sample-filters').isVisible(), false);
    const screenshots = [path.join(tmp, 'report-top.png'), path.join(tmp, 'report-samples.png')];
    await page.screenshot({ path: screenshots[1]! });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshots[0]! });
    for (const s of screenshots) assert.ok(statSync(s).size > 10_000);
    t.diagnostic(`screenshots: ${screenshots.join(', ')}`);

    // Other filters narrow and widen.
    await page.selectOption('#f-instruct', 'any');
    const widened = await entries.count();
    assert.ok(widened >= 2, `base right, instruct any: ${widened}`);
    await page.selectOption('#f-view', 'samples');
    await page.selectOption('#f-outcome', 'refused');
    assert.equal(await page.locator('#samples .entry[data-outcome="refused"]').count(), await entries.count());
    assert.equal(await page.locator('#pair-filters').isVisible(), false);
    assert.deepEqual(errors, [], 'no console errors');
    assert.deepEqual(requests, [], 'no network requests');

    // Pairs that carry a sweep `variant` get a sensitivity table and chart (hidden otherwise).
    assert.equal(await page.locator('#sensitivity').isVisible(), false);
    const summary = readSummary(dir);
    summary.pairs = summary.pairs.flatMap((p) => [p, ...['max_new_tokens=6', 'scoring=whole'].map((variant, i) => ({ ...p, variant, tax: p.tax + 0.1 * (i + 1), taxCi95: [p.tax + 0.1 * i - 0.05, p.tax + 0.1 * (i + 1) + 0.15] as [number, number] }))]);
    // …and clustered intervals, a determinism check and a named headline comparison.
    summary.pairs = summary.pairs.map((p, i) => ({ ...p, clusters: 2, designEffect: 1 + (i % 5) / 10 }));
    summary.statistics = { alpha: 0.05, pAdjust: 'bh', comparisons: summary.pairs.length, clusterBy: 'source' };
    summary.determinism = { base: { checked: 5, flippedText: 1, flippedCorrect: 0, rate: 0.2, flips: [{ cell: 'base raw nores k=1', itemId: 'q1', before: 'Paris', after: 'Paris.', correctChanged: false }] } };
    Object.assign(summary, { headline: { base: 'base', instruct: 'instruct', format: 'chat', instruction: 'nores', k: 2 } });
    const swept = path.join(tmp, 'swept.html');
    writeFileSync(swept, await buildHtmlReport(summary, readSamples(dir)));
    await page.goto(pathToFileURL(swept).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    assert.equal(await page.locator('#sensitivity').isVisible(), true);
    // pair label, the suite's own setting, then one column per variant
    assert.equal(await page.locator('#sensitivity th').count(), 4);
    assert.equal(await page.locator('#sensitivity th').nth(1).textContent(), 'suite setting');
    // Dot-and-interval per variant: no line joins the categorical settings, every point has its interval, 0 is on the axis.
    const sens = await page.evaluate(() => {
      const c = (window as unknown as { ragtaxCharts: ChartLike[] }).ragtaxCharts.find((x) => x.canvas.id === 'chart-sensitivity')!;
      return { showLine: c.data.datasets.map((d) => d.showLine), bars: c.data.datasets.every((d) => d.errorBars!.every((b) => Array.isArray(b))), min: c.scales.y!.min, max: c.scales.y!.max };
    });
    assert.ok(sens.showLine.length > 0 && sens.showLine.every((v) => v === false), JSON.stringify(sens));
    assert.ok(sens.bars && sens.min <= 0 && sens.max >= 0, JSON.stringify(sens));
    // The suite's headline comparison is the one shown; statistics notes name the adjustment, clustering and determinism.
    assert.match((await page.textContent('#headline')) ?? '', /headline comparison: base vs instruct · format chat · instruction nores · context retrieved · k=2/);
    assert.match((await page.textContent('#statistics')) ?? '', /Benjamini–Hochberg over the run's \d+ paired comparisons/);
    assert.match((await page.textContent('#statistics [data-note="clustering"]')) ?? '', /clustered by source \(2 clusters\).*Design effect/);
    assert.equal(await page.locator('#determinism').isVisible(), true);
    assert.match((await page.textContent('#determinism')) ?? '', /base.*5.*1.*20\.0/);
    assert.deepEqual(errors, [], 'no console errors on the swept report');
  } finally {
    await browser.close();
  }
});

test('report.html wraps long unbroken text: a 200,000-character question does not widen the page', async (t) => {
  if (chromiumMissing(t)) return;
  const { tmp, run } = sharedRun();
  // No spaces anywhere: the question, the prompt that quotes it, a response and its scored text.
  const question = 'Q'.repeat(200_000);
  const response = 'R'.repeat(50_000);
  const samples = readSamples(run).map((s) => {
    if (s.itemId !== 'q2') return s;
    const planted = { ...s, question, prompt: `${s.prompt}${question}` };
    return s.model === 'base' ? { ...planted, response, scoredText: `${response}S` } : planted;
  });
  const file = path.join(tmp, 'long.html');
  writeFileSync(file, await buildHtmlReport(readSummary(run), samples));

  const browser = await launchChromium(t);
  if (!browser) return;
  try {
    for (const width of [1400, 400]) {
      for (const view of ['pairs', 'samples']) {
        const page = await browser.newPage({ viewport: { width, height: 900 } });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
        await page.selectOption('#f-view', view);
        await page.fill('#f-search', 'q2');
        assert.ok((await page.locator('#samples .entry').count()) > 0, `${view}: the planted item is shown`);
        // Every prompt opened: a closed <details> takes no width.
        await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
        const layout = await page.evaluate(() => {
          const wide: string[] = [];
          for (const node of Array.from(document.body.querySelectorAll('*'))) {
            const e = node as HTMLElement;
            const r = e.getBoundingClientRect();
            // An element wider than the window, or one that scrolls sideways inside itself.
            if (r.right > window.innerWidth + 2 || e.scrollWidth > e.clientWidth + 2 && getComputedStyle(e).overflowX !== 'visible' && e.tagName !== 'CANVAS') {
              wide.push(`${e.tagName.toLowerCase()}.${e.className} right=${Math.round(r.right)} scrollWidth=${e.scrollWidth}`);
            }
          }
          return { scrollWidth: document.documentElement.scrollWidth, bodyScrollWidth: document.body.scrollWidth, innerWidth: window.innerWidth, wide: wide.slice(0, 8) };
        });
        const where = `${width} px, ${view} view`;
        assert.ok(layout.scrollWidth <= layout.innerWidth + 2, `${where}: page scrollWidth ${layout.scrollWidth} > viewport ${layout.innerWidth}; ${layout.wide.join('; ')}`);
        assert.ok(layout.bodyScrollWidth <= layout.innerWidth + 2, `${where}: body scrollWidth ${layout.bodyScrollWidth}`);
        assert.deepEqual(layout.wide, [], `${where}: elements wider than the viewport`);
        const shown = await page.locator('#samples .item-head strong').first().textContent();
        assert.equal(shown?.length, question.length, `${where}: the whole question is shown (wrapped, not cut)`);
        assert.deepEqual(errors, [], `${where}: no page errors`);
        if (width === 400 && view === 'pairs') {
          const shot = path.join(tmp, 'report-long-400.png');
          await page.screenshot({ path: shot });
          t.diagnostic(`screenshot: ${shot}`);
        }
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
});

/** What the tests read of a Chart.js instance. */
interface ChartLike {
  canvas: HTMLCanvasElement;
  data: { datasets: { label: string; errorBars?: ([number, number] | null)[]; borderDash?: number[]; pointStyle?: string; showLine?: boolean; borderColor: string }[] };
  scales: Record<string, { min: number; max: number; getPixelForValue(v: number): number }>;
  getDatasetMeta(i: number): { data: { x: number; y: number; skip?: boolean }[] };
}

test('report.html of a real run at 1400 px and 400 px: headline first, every section, drawn intervals, no sideways scroll', async (t) => {
  if (chromiumMissing(t)) return;
  const { tmp, run } = sharedRun();
  const summary = readSummary(run);
  const file = path.join(run, 'report.html');
  // The tiny suite overflows its models' context at some grid points: n differs across cells.
  assert.ok(new Set(summary.cells.map((c) => c.n)).size > 1, 'the fixture run has excluded items');

  const browser = await launchChromium(t);
  if (!browser) return;
  try {
    for (const width of [1400, 400]) {
      const where = `${width} px`;
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });

      // No horizontal overflow: the page is no wider than the window.
      const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, inner: window.innerWidth }));
      assert.ok(widths.doc <= widths.inner && widths.body <= widths.inner, `${where}: ${JSON.stringify(widths)}`);

      // The headline numbers come before any chart.
      const first = summary.pairs[0]!;
      const headline = await page.evaluate(() => {
        const h = document.getElementById('headline')!;
        const canvas = document.querySelector('canvas')!;
        const figures: Record<string, string> = {};
        h.querySelectorAll('[data-figure]').forEach((f) => (figures[f.getAttribute('data-figure')!] = f.querySelector('.figure-value')!.textContent!));
        return { beforeCharts: (h.compareDocumentPosition(canvas) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0, figures, text: h.textContent };
      });
      assert.ok(headline.beforeCharts, `${where}: headline before the first chart`);
      assert.deepEqual(Object.keys(headline.figures).sort(), ['base', 'instruct', 'p', 'p-adjusted', 'tax']);
      assert.equal(headline.figures.tax, (first.tax > 0 ? '+' : '') + (100 * first.tax).toFixed(1));
      assert.match(headline.text ?? '', /95% CI \[/);
      assert.equal(headline.figures['p-adjusted'], first.mcnemarPAdjusted! < 0.001 ? '<0.001' : first.mcnemarPAdjusted!.toFixed(3));
      assert.match(headline.text ?? '', /base vs instruct · format raw · instruction nores · context retrieved · k=1 · shots=0 · CoT no/);

      // Exclusions banner: which cells, how many items.
      assert.equal(await page.locator('#exclusions').isVisible(), true, `${where}: exclusions banner`);
      const lost = summary.cells.filter((c) => c.excludedContextOverflow > 0);
      assert.equal(await page.locator('#exclusions li').count(), lost.length);
      assert.match((await page.textContent('#exclusions')) ?? '', new RegExp(`${lost.length} cell\\(s\\) lost items`));

      // Cells table: one row per cell, the label carries every field, small cells marked.
      assert.equal(await page.locator('#cells table.metrics tbody tr').count(), summary.cells.length);
      assert.equal(await page.locator('#cells [data-small-sample]').count(), summary.cells.filter((c) => c.smallSample).length);
      const label = await page.locator('#cells tbody tr').first().locator('td').first().textContent();
      assert.equal(label, 'base · format raw · instruction nores · context retrieved · k=1 · shots=0 · CoT no');
      const headers = (await page.locator('#cells thead').textContent()) ?? '';
      for (const h of ['accuracy', 'refusal', 'documents lack the answer', 'negative rejection', 'parametric recall', 'documents hold the answer', 'over-refusal', 'context accuracy']) assert.ok(headers.includes(h), h);

      // Retrieval, statistics, timing.
      const retrieval = (await page.textContent('#retrieval')) ?? '';
      assert.match(retrieval, /answer recall@k/);
      assert.equal(await page.locator('#retrieval table.recall tbody tr').count(), summary.retrieval.answerRecallAtK.length);
      if (summary.retrieval.goldMetrics) assert.match(retrieval, /nDCG@10/);
      assert.match((await page.textContent('#statistics [data-note="p-adjust"]')) ?? '', /Holm over the run's 22 paired comparisons/);
      assert.match((await page.textContent('#statistics [data-note="clustering"]')) ?? '', /independent/);
      assert.equal(await page.locator('#timing table.timing tbody tr').count(), Object.keys(summary.timing.models).length);
      assert.equal(await page.locator('#determinism').isVisible(), false, 'no determinism section without summary.determinism');

      // Intervals are drawn: the plugin is registered, every point has its bar, and the canvas is
      // painted half-way along a bar; raw and chat differ in dash and marker, not only colour.
      const bars = await page.evaluate(() => {
        const w = window as unknown as { Chart: { registry: { plugins: { get(id: string): unknown } } }; ragtaxCharts: ChartLike[] };
        const acc = w.ragtaxCharts.find((c) => c.canvas.id === 'chart-accuracy')!;
        const ds = acc.data.datasets[0]!;
        const [lo, hi] = ds.errorBars![0]!;
        const pt = acc.getDatasetMeta(0).data[0]!;
        const y = acc.scales.y!.getPixelForValue((lo + hi) / 2);
        const ratio = acc.canvas.width / acc.canvas.clientWidth;
        const pixel = Array.from(acc.canvas.getContext('2d')!.getImageData(Math.round(pt.x * ratio), Math.round(y * ratio), 1, 1).data);
        const tax = w.ragtaxCharts.find((c) => c.canvas.id === 'chart-tax')!;
        return {
          registered: Boolean(w.Chart.registry.plugins.get('ragtaxErrorBars')),
          everyPoint: acc.data.datasets.every((d) => d.errorBars!.every((b) => Array.isArray(b))),
          taxBars: tax.data.datasets.every((d) => d.errorBars!.length > 0),
          pixel,
          styles: acc.data.datasets.map((d) => ({ label: d.label, dash: d.borderDash!.length, point: d.pointStyle })),
        };
      });
      assert.ok(bars.registered && bars.everyPoint && bars.taxBars, `${where}: ${JSON.stringify(bars)}`);
      assert.ok(bars.pixel[3]! > 0, `${where}: the interval bar is painted: ${JSON.stringify(bars.pixel)}`);
      const raw = bars.styles.find((x) => x.label === 'instruct raw')!;
      const chat = bars.styles.find((x) => x.label === 'instruct chat')!;
      assert.ok(raw.dash === 0 && chat.dash > 0 && raw.point !== chat.point, JSON.stringify(bars.styles));

      // Charts shrink with the window.
      const canvasWidth = await page.evaluate(() => document.getElementById('chart-accuracy')!.getBoundingClientRect().width);
      assert.ok(canvasWidth <= width - 20, `${where}: chart width ${canvasWidth}`);
      assert.deepEqual(errors, [], `${where}: no page errors`);

      const shot = path.join(tmp, `report-real-${width}.png`);
      await page.screenshot({ path: shot, fullPage: width === 400 ? false : true });
      assert.ok(statSync(shot).size > 10_000);
      t.diagnostic(`screenshot: ${shot}`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
});
