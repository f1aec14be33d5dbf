// report.html as a string: escaping of everything a model wrote, the embedded-sample cap, and the
// file being self-contained.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embedSamples, renderHtml, renderHtmlParts, scriptSafeJson } from '../../src/report/html.js';
import type { RunSummary } from '../../src/rundir/types.js';
import type { CellAggregate, SampleRecord } from '../../src/types.js';

const HOSTILE = '</script><script>window.__xss = 1</script><!-- <img src=x onerror=alert(1)> \u2028\u2029 & "quotes" \'single\'';

function sample(itemId: string, model: string, response: string): SampleRecord {
  return {
    itemId, model, format: 'raw', instruction: 'nores', context: 'retrieved', k: 1, shots: 0, cot: false,
    question: `question ${itemId} <b>bold</b>`, answers: ['a'], docIds: [], prompt: `prompt for ${itemId} ${HOSTILE}`, response, scoredText: response,
    scores: { correct: false, exactMatch: false, f1: 0, refusal: false, answerInContext: true },
    finishReason: 'eos', promptTokens: 1, completionTokens: 1, latencyMs: 0,
  };
}

function summary(cells: CellAggregate[]): RunSummary {
  return {
    suite: 'suite <script>alert(1)</script>',
    items: 2,
    cells,
    pairs: [],
    retrieval: { retriever: 'bm25', corpusSize: 0, indexLoadedFromCache: null, answerRecallAtK: [], answerInContext: {} },
    contextOverflow: {},
    timing: { models: {}, totalSeconds: 0 },
    manifest: { suite: { file: 'x', sha256: 'a'.repeat(64), configSha256: 'b'.repeat(64) }, seeds: { suite: 1, fewShot: 1, bootstrap: 1 } } as RunSummary['manifest'],
  };
}

/** The parsed JSON data block of a generated page. */
function dataBlock(html: string): { samples: { rows: { r: string }[]; prompts: string[]; capped: boolean } } {
  const match = /<script type="application\/json" id="ragtax-data">([^<]*)<\/script>/.exec(html);
  assert.ok(match, 'data block present and free of `<`');
  return JSON.parse(match[1]!);
}

describe('report.html escaping', () => {
  it('scriptSafeJson leaves no <, >, & or line separators, and round-trips', () => {
    const value = { s: HOSTILE, lone: '\ud800', nested: [HOSTILE] };
    const json = scriptSafeJson(value);
    assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(json), value);
  });

  it('the page in pieces: their concatenation is renderHtml, and the data block is scriptSafeJson of one object, samples last', () => {
    const samples = [sample('q1', 'base', HOSTILE), sample('q1', 'chat', 'naïve → fine')];
    const options = { chartJs: '/* chart.js stand-in */' };
    const parts = renderHtmlParts(summary([]), samples, options);
    assert.equal(parts.join(''), renderHtml(summary([]), samples, options));
    const html = parts.join('');
    const open = '<script type="application/json" id="ragtax-data">';
    const json = html.slice(html.indexOf(open) + open.length, html.indexOf('</script>', html.indexOf(open)));
    const data = JSON.parse(json) as Record<string, unknown>;
    assert.equal(json, scriptSafeJson(data), 'the same bytes as serializing the whole object at once');
    assert.equal(Object.keys(data).at(-1), 'samples');
    assert.ok(parts.length > 3, 'the samples are a piece of their own');
  });

  it('a response, prompt, question or suite name with <script> cannot open an element', () => {
    const samples = [sample('q1', 'base', HOSTILE), sample('q1', 'chat', 'fine')];
    const html = renderHtml(summary([]), samples, { chartJs: '/* chart.js stand-in */ window.Chart = function () {};' });
    // Exactly our three script elements (data, Chart.js, page script), no other tag from the data.
    assert.equal((html.match(/<script/gi) ?? []).length, 3);
    assert.equal((html.match(/<\/script/gi) ?? []).length, 3);
    assert.ok(!html.includes('<img'));
    assert.ok(!html.includes('<b>bold'));
    assert.ok(html.includes('<title>ragtax report: suite &lt;script&gt;alert(1)&lt;/script&gt;</title>'));
    const data = dataBlock(html);
    assert.equal(data.samples.rows[0]!.r, HOSTILE);
    assert.ok(data.samples.prompts[0]!.endsWith(HOSTILE));
    // Self-contained: nothing loaded from elsewhere, and a CSP that forbids it anyway.
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|@import/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    // The page script renders data with textContent, never innerHTML.
    assert.doesNotMatch(html.slice(html.lastIndexOf('<script>')), /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('opens with the headline and the exclusions banner, before any chart, and embeds every section\'s data', () => {
    const base = summary([]);
    const html = renderHtml(
      { ...base, statistics: { alpha: 0.05, pAdjust: 'holm', comparisons: 3 }, determinism: { m: { checked: 1, flippedText: 0, flippedCorrect: 0, rate: 0, flips: [] } } },
      [],
      { chartJs: '' },
    );
    const at = (needle: string) => {
      const i = html.indexOf(needle);
      assert.ok(i >= 0, needle);
      return i;
    };
    const order = ['id="headline"', 'id="exclusions"', '<canvas', 'id="chart-tax"', 'id="cells"', 'id="retrieval"', 'id="statistics"', 'id="determinism"', 'id="timing"', 'id="browser"'].map(at);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'sections in reading order');
    const data = JSON.parse(/<script type="application\/json" id="ragtax-data">([^<]*)<\/script>/.exec(html)![1]!) as Record<string, unknown>;
    for (const key of ['statistics', 'retrieval', 'contextOverflow', 'timing', 'determinism', 'headline']) assert.ok(key in data, key);
    assert.equal(data.headline, null);
  });

  it('an inlined script cannot close its own element', () => {
    const html = renderHtml(summary([]), [], { chartJs: 'var s = "</script><script>alert(1)";' });
    assert.equal((html.match(/<\/script/gi) ?? []).length, 3);
  });
});

describe('embedded sample cap', () => {
  const samples = ['q1', 'q2', 'q3'].flatMap((id) => ['a', 'b', 'c', 'd'].map((m) => sample(id, m, `${id}-${m}`)));

  it('keeps whole items, first seen first, and says it capped', () => {
    const embedded = embedSamples(samples, [], 9, 1e9);
    assert.equal(embedded.shown, 8);
    assert.equal(embedded.itemsShown, 2);
    assert.equal(embedded.itemsTotal, 3);
    assert.equal(embedded.total, 12);
    assert.equal(embedded.capped, true);
    assert.deepEqual(new Set(embedded.rows.map((r) => r.i)), new Set(['q1', 'q2']));
  });

  it('stores each distinct prompt once', () => {
    const embedded = embedSamples(samples, [], 100, 1e9);
    assert.equal(embedded.capped, false);
    assert.equal(embedded.prompts.length, 3);
    assert.equal(embedded.cells.length, 4);
  });

  it('stops at the text budget too (but always keeps one item)', () => {
    assert.equal(embedSamples(samples, [], 100, 10).itemsShown, 1);
  });
});
