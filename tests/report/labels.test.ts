// The one cell and pair label, and the terminal summary of `ragtax run` built on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseHeadline, printHeadline, renderHeadline } from '../../src/report/headline.js';
import { renderCsv, renderPairsCsv } from '../../src/report/csv.js';
import { cellLabel, pairLabel } from '../../src/report/labels.js';
import type { RunSummary } from '../../src/rundir/types.js';
import type { CellAggregate, Cell, PairRecord } from '../../src/types.js';

const point = { instruction: 'nores', context: 'retrieved', k: 3, shots: 0, cot: false } as const;

describe('labels', () => {
  it('carry every field that tells cells apart', () => {
    assert.equal(cellLabel({ model: 'instruct', format: 'chat', ...point, cot: true, variant: 'refusal=rgb' }), 'instruct chat · nores · retrieved k=3 · shots=0 · CoT · refusal=rgb');
    assert.equal(cellLabel({ model: 'base', format: 'raw', ...point, context: 'oracle' }), 'base raw · nores · oracle k=3 · shots=0');
    assert.equal(cellLabel({ model: 'base', format: 'raw', instruction: 'closed-book', context: 'closed-book', k: 0, shots: 2, cot: false }), 'base raw · closed-book · shots=2');
    assert.equal(cellLabel({ model: 'base', format: 'raw', instruction: 'mine', context: 'closed-book', k: 0, shots: 0, cot: false }), 'base raw · mine · closed-book · shots=0');
    assert.equal(pairLabel({ base: 'b', instruct: 'i', format: 'chat', ...point }), 'b vs i chat · nores · retrieved k=3 · shots=0');
    assert.equal(pairLabel({ base: 'b', instruct: 'i', format: 'chat', ...point }, { models: false }), 'chat · nores · retrieved k=3 · shots=0');
  });

  it('differ for every pair of distinct cells', () => {
    const cells: Cell[] = [];
    for (const model of ['base', 'instruct']) for (const format of ['raw', 'chat'] as const)
      for (const context of ['retrieved', 'oracle', 'distractors'] as const) for (const k of [1, 3]) for (const shots of [0, 2]) for (const cot of [false, true])
        for (const variant of [undefined, 'max_new_tokens=50', 'refusal=rgb']) cells.push({ model, format, instruction: 'nores', context, k, shots, cot, ...(variant ? { variant } : {}) });
    assert.equal(new Set(cells.map(cellLabel)).size, cells.length);
  });
});

function cell(model: string, format: 'raw' | 'chat', over: Partial<CellAggregate> = {}): CellAggregate {
  return {
    model, format, ...point, n: 100, nAnswerInContext: 60, nAnswerAbsent: 40, accuracy: 0.5, exactMatch: 0.4, f1: 0.5, refusalRate: 0.1,
    negativeRejectionRate: 0.2, overRefusalRate: null, parametricRecall: 0.3, contextAccuracy: 0.7, ci95: { accuracy: [0.4, 0.6] }, excludedContextOverflow: 0, ...over,
  };
}

function pair(format: 'raw' | 'chat', over: Partial<PairRecord> = {}): PairRecord {
  return {
    base: 'base', instruct: 'instruct', format, ...point, n: 100, baseAccuracy: 0.88, instructAccuracy: 0.46, tax: 0.42, taxRelative: 0.42 / 0.46,
    taxCi95: [0.29, 0.551], mcnemarP: 0.00001, mcnemarPAdjusted: 0.0002, table: { bothCorrect: 40, baseOnly: 48, instructOnly: 6, neither: 6 },
    refusalDelta: -0.4, minimumDetectableTax: 0.21, clusters: 25, naiveTaxCi95: [0.3, 0.54], designEffect: 1.11, ...over,
  };
}

/** Rows of a CSV without quoted fields, keyed by the header. */
function parse(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}

function summary(): RunSummary {
  return {
    suite: 'quickstart', items: 100,
    cells: [
      cell('base', 'raw'), cell('instruct', 'raw'), cell('instruct', 'chat', { n: 97, excludedContextOverflow: 3 }),
      cell('base', 'raw', { context: 'oracle' }), cell('instruct', 'raw', { context: 'oracle' }),
      cell('base', 'raw', { cot: true, cotMissingAnswer: 0.25 }), cell('instruct', 'raw', { cot: true, reasoningUnclosed: 0.1 }),
      cell('base', 'raw', { variant: 'refusal=rgb' }), cell('instruct', 'raw', { variant: 'refusal=rgb' }),
    ],
    pairs: [
      pair('raw'), pair('chat', { n: 97, mcnemarP: 0.2, mcnemarPAdjusted: 0.6 }), pair('raw', { context: 'oracle', tax: 0.05 }),
      pair('raw', { cot: true, tax: -0.07, taxCi95: [-0.177, 0.042] }), pair('raw', { variant: 'refusal=rgb', tax: 0.3 }),
    ],
    statistics: { alpha: 0.05, pAdjust: 'holm', comparisons: 5, clusterBy: 'id:^([a-z]\\d+)-' },
    retrieval: {} as RunSummary['retrieval'],
    contextOverflow: { instruct: 3 },
    timing: { models: {}, totalSeconds: 21.34 },
    manifest: {} as RunSummary['manifest'],
  };
}

describe('terminal summary', () => {
  const text = renderHeadline(summary(), "/tmp/run");

  it('leads with the headline, then one row per pair, warnings and outputs', () => {
    assert.match(text, /^ragtax: quickstart: 100 items, 9 cells in 21\.3 s\n/);
    assert.match(text, /headline: base vs instruct raw · nores · retrieved k=3 · shots=0\n {2}alignment tax \+42\.0 points \[29\.0, 55\.1\], McNemar p <0\.001, Holm p_adj <0\.001\n/);
    for (const label of ['raw · nores · retrieved k=3 · shots=0 ', 'chat · nores · retrieved k=3 · shots=0 ', 'raw · nores · oracle k=3 · shots=0 ', 'raw · nores · retrieved k=3 · shots=0 · CoT ']) {
      assert.ok(text.includes(label), label);
    }
    // A label wider than its column breaks between its parts.
    assert.match(text, /\n {2}raw · nores · retrieved k=3 · shots=0 · +88\.0 +46\.0 +\+30\.0 [^\n]*\n {4}refusal=rgb\n/);
    assert.match(text, /chat · nores · retrieved k=3 · shots=0 +88\.0 +46\.0 +\+42\.0 \[29\.0, 55\.1\] +0\.200 +0\.600\n/);
    assert.match(text, /excluded samples: 3 in 1 cell\(s\)/);
    assert.match(text, /instruct chat · nores · retrieved k=3 · shots=0: 3 item\(s\)/);
    assert.match(text, /unequal n across a pair:\n {4}base vs instruct chat · nores · retrieved k=3 · shots=0: n base 100, instruct 97, paired 97/);
    assert.match(text, /truncated thinking[^\n]*:\n {4}instruct raw · nores · retrieved k=3 · shots=0 · CoT: 10\.0% of responses/);
    assert.match(text, /failed CoT extraction[^\n]*:\n {4}base raw · nores · retrieved k=3 · shots=0 · CoT: 25\.0% of responses/);
    assert.match(text, /\n\noutputs: \/tmp\/run\/report\.md, [^\n]*pairs\.csv[^\n]*\n$/);
  });

  it('stays within 100 columns (but the outputs path) and has no escape codes without a TTY', () => {
    for (const line of text.split('\n').filter((l) => !l.startsWith('outputs:'))) assert.ok([...line].length <= 100, line);
    let written = '';
    printHeadline(summary(), '/tmp/run', { write: (s: string) => ((written += s), true) } as unknown as NodeJS.WritableStream);
    assert.doesNotMatch(written, /\u001b\[/);
    assert.equal(written, text);
    assert.match(renderHeadline(summary(), '/tmp/run', { color: true }), /\u001b\[/);
  });

  it('a wrapped label keeps every part whole at any width (a line broken after a part ends in ` ·`, which must fit too)', () => {
    for (const width of [60, 72, 80, 100]) {
      const table = renderHeadline(summary(), '/tmp/run', { width }).split('\n').filter((l) => / · |^ {4}\S/.test(l));
      assert.ok(table.length > 0);
      for (const line of table) assert.ok(!line.includes('…'), `width ${width}: ${line}`);
      // The two-line label of the CoT pair shows its k and its CoT.
      assert.match(table.join('\n'), /retrieved k=3[^\n]*\n?[^\n]*CoT/);
    }
  });

  it('the suite may choose the headline', () => {
    const s = summary();
    assert.equal(chooseHeadline(s.pairs).pair, s.pairs[0]);
    assert.equal(chooseHeadline(s.pairs, { format: 'chat' }).pair, s.pairs[1]);
    assert.equal(chooseHeadline(s.pairs, { context: 'oracle' }).pair, s.pairs[2]);
    const none = chooseHeadline(s.pairs, { k: 99 });
    assert.deepEqual([none.pair, none.matched], [s.pairs[0], false]);
    assert.match(renderHeadline(s, '/tmp/run', { headline: { cot: true } }), /headline: base vs instruct raw · nores · retrieved k=3 · shots=0 · CoT\n {2}alignment tax -7\.0 points/);
    assert.match(renderHeadline(s, '/tmp/run', { headline: { k: 99 } }), /matches no pair/);
  });
});

describe('CSV files', () => {
  it('summary.csv writes booleans as true/false', () => {
    const rows = parse(renderCsv(summary().cells));
    assert.deepEqual([...new Set(rows.map((r) => r.cot))].sort(), ['false', 'true']);
    // Every metric column is a percentage, named so.
    const metricColumns = Object.keys(rows[0]!).filter((column) => /accuracy|rate|recall|f1|match/i.test(column));
    assert.ok(metricColumns.length > 10 && metricColumns.every((column) => /_pct(_lo|_hi)?$/.test(column)), metricColumns.join(','));
    for (const r of rows) assert.ok(Number(r.accuracy_pct) >= 0 && Number(r.accuracy_pct) <= 100 && Number(r.accuracy_pct_hi) >= Number(r.accuracy_pct));
  });

  it('pairs.csv has one row per pair with every label field and statistic', () => {
    const rows = parse(renderPairsCsv(summary().pairs));
    assert.equal(rows.length, 5);
    const r = rows[0]!;
    assert.deepEqual(
      [r.base, r.instruct, r.format, r.instruction, r.context, r.k, r.shots, r.cot, r.variant, r.n],
      ['base', 'instruct', 'raw', 'nores', 'retrieved', '3', '0', 'false', '', '100'],
    );
    // Units are in the names: percentage points for the tax (0.29 × 100 is 28.999999999999996 in
    // binary; the file says 29), probabilities for p, counts for the 2×2 cells.
    assert.deepEqual([r.tax_pp, r.tax_pp_lo, r.tax_pp_hi, r.mcnemarPAdjusted, r.minimumDetectableTax_pp, r.baseOnly, r.instructOnly, r.designEffect, r.clusters], ['42', '29', '55.1', '0.0002', '21', '48', '6', '1.11', '25']);
    assert.equal(Number(r.taxRelative_pct).toFixed(2), ((0.42 / 0.46) * 100).toFixed(2));
    assert.ok(Object.keys(r).every((column) => !/accuracy$|^tax$|_lo$|_hi$/i.test(column) || /_(pct|pp)(_lo|_hi)?$/.test(column)), Object.keys(r).join(','));
    assert.equal(rows[4]!.variant, 'refusal=rgb');
  });
});
