// Where the tax comes from (docs/tax-decomposition.md): the tax split over answer-absent,
// answer-in-context and conflict items sums to the tax, with hand-computed parts and transitions,
// and reaches report.md and pairs.csv.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decomposeTax, outcomeOf, taxPartOf } from '../../src/aggregate/decomposition.js';
import { pairRecord, type PairSide } from '../../src/aggregate/pairs.js';
import { renderPairsCsv } from '../../src/report/csv.js';
import { decompositionSection } from '../../src/report/decomposition.js';
import { mulberry32 } from '../../scripts/synthetic.js';
import type { Cell, Outcome, PairRecord, SampleScores } from '../../src/types.js';

const point: Omit<Cell, 'model' | 'format'> = { instruction: 'nores', context: 'retrieved', k: 3, shots: 0, cot: false };
type Part = 'absent' | 'holds' | 'conflict';

/** A sample's scores from its part and outcome; `both` = correct and a refusal (`Lando NO-RES`), which is `right`. */
function scores(part: Part, outcome: Outcome | 'both'): SampleScores {
  const correct = outcome === 'right' || outcome === 'both';
  const refusal = outcome === 'nores' || outcome === 'both';
  return {
    correct, exactMatch: correct, f1: correct ? 1 : 0, refusal,
    answerInContext: part === 'holds' || part === 'conflict',
    // A conflict's `right` gives the true answer; its `wrong` here gives what the documents claim.
    ...(part === 'conflict' ? { followsContext: outcome === 'wrong' } : {}),
  };
}

function side(model: string, format: 'raw' | 'chat', rows: [string, SampleScores, string?][]): PairSide {
  return { model, format, ...point, samples: rows.map(([itemId, s, cluster]) => ({ itemId, scores: s, ...(cluster !== undefined ? { cluster } : {}) })) };
}

// Eleven items: (part, base outcome, instruct outcome).
const EXAMPLE: [string, Part, Outcome | 'both', Outcome | 'both'][] = [
  ['a1', 'absent', 'right', 'nores'],
  ['a2', 'absent', 'right', 'nores'],
  ['a3', 'absent', 'both', 'right'],
  ['a4', 'absent', 'wrong', 'nores'],
  ['a5', 'absent', 'nores', 'right'],
  ['h1', 'holds', 'right', 'right'],
  ['h2', 'holds', 'right', 'wrong'],
  ['h3', 'holds', 'wrong', 'right'],
  ['h4', 'holds', 'nores', 'right'],
  ['c1', 'conflict', 'right', 'wrong'],
  ['c2', 'conflict', 'wrong', 'nores'],
];

function examplePair(clusters = false, seed = 5): PairRecord {
  const rows = (which: 2 | 3) => EXAMPLE.map((e): [string, SampleScores, string?] => [e[0], scores(e[1], e[which]), clusters ? e[0].slice(0, 1) : undefined]);
  return pairRecord({ base: side('base', 'raw', rows(2)), instruct: side('instruct', 'chat', rows(3)), seed, bootstrapSamples: 2000 });
}

/** Rows of a CSV without quoted fields, keyed by the header. */
function parse(text: string): Record<string, string>[] {
  const [header, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('hand-computed: parts, their items, and the transitions per part', () => {
  const pair = examplePair();
  // Base right on a1 a2 a3 h1 h2 c1 (6), instruct on a3 a5 h1 h3 h4 (5): tax 1/11.
  assert.equal(pair.n, 11);
  close(pair.tax, 1 / 11, 'tax');
  const d = pair.decomposition!;
  // absent: base-only a1 a2, instruct-only a5 → +1/11; holds: base-only h2, instruct-only h3 h4 → −1/11; conflict: c1 → +1/11.
  assert.deepEqual([d.answerAbsent.n, d.answerInContext.n, d.conflict?.n], [5, 4, 2]);
  close(d.answerAbsent.tax, 1 / 11, 'absent');
  close(d.answerInContext.tax, -1 / 11, 'in context');
  close(d.conflict!.tax, 1 / 11, 'conflict');
  close(d.answerAbsent.tax + d.answerInContext.tax + d.conflict!.tax, pair.tax, 'sum');
  const t = pair.transitions!;
  const zero = { right: 0, wrong: 0, nores: 0 };
  assert.deepEqual(t.answerAbsent, { right: { ...zero, right: 1, nores: 2 }, wrong: { ...zero, nores: 1 }, nores: { ...zero, right: 1 } });
  assert.deepEqual(t.answerInContext, { right: { ...zero, right: 1, wrong: 1 }, wrong: { ...zero, right: 1 }, nores: { ...zero, right: 1 } });
  assert.deepEqual(t.conflict, { right: { ...zero, wrong: 1 }, wrong: { ...zero, nores: 1 }, nores: zero });
  // Each interval holds its part, within [−1, 1]; a part all of whose items move one way stays on its side of 0.
  for (const [name, p] of Object.entries(d)) {
    assert.ok(p.ci95[0] <= p.tax && p.tax <= p.ci95[1] && p.ci95[0] >= -1 && p.ci95[1] <= 1, `${name}: ${p.tax} in ${p.ci95}`);
  }
  assert.ok(d.conflict!.ci95[0] >= 0, String(d.conflict!.ci95));
  // Clustered (by the id's first letter: clusters a, h, c), the parts are the same and their intervals resample clusters.
  const clustered = examplePair(true);
  assert.equal(clustered.clusters, 3);
  assert.deepEqual(
    Object.values(clustered.decomposition!).map((p) => [p.n, p.tax]),
    Object.values(d).map((p) => [p.n, p.tax]),
  );
  // With three clusters, one per part, a resample's absent-part share is +1/5 × (share of draws on cluster a) ≥ 0.
  assert.ok(clustered.decomposition!.answerAbsent.ci95[0] >= 0 && clustered.decomposition!.answerAbsent.ci95[1] <= 1 / 5 + 1e-12);
});

test('outcomes and parts: correct wins over a refusal; every sample is in exactly one part', () => {
  assert.equal(outcomeOf(scores('absent', 'both')), 'right');
  assert.equal(outcomeOf(scores('absent', 'nores')), 'nores');
  assert.equal(outcomeOf(scores('absent', 'wrong')), 'wrong');
  assert.equal(taxPartOf(scores('holds', 'wrong')), 'answerInContext');
  assert.equal(taxPartOf(scores('absent', 'wrong')), 'answerAbsent');
  // A conflict whose documents "hold" (the substituted value's context) is a conflict only.
  assert.equal(taxPartOf(scores('conflict', 'wrong')), 'conflict');
  // An unanswerable item (no gold answer): never correct, no answer in its documents → answerAbsent.
  assert.equal(taxPartOf({ correct: false, exactMatch: false, f1: 0, refusal: true, answerInContext: false }), 'answerAbsent');
});

test('the parts sum to the tax on random pairs (clustered or not, with and without conflicts)', () => {
  const random = mulberry32(16);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(random() * 120);
    const clustered = trial % 2 === 0;
    const withConflicts = trial % 3 !== 0;
    const outcomes: Outcome[] = ['right', 'wrong', 'nores'];
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const base: [string, SampleScores, string?][] = [];
    const instruct: [string, SampleScores, string?][] = [];
    for (let i = 0; i < n; i++) {
      const part: Part = withConflicts ? pick(['absent', 'holds', 'conflict'] as const) : pick(['absent', 'holds'] as const);
      const cluster = clustered ? [`g${Math.floor(random() * 8)}`] : [];
      const id = `i${String(i).padStart(3, '0')}`;
      base.push([id, scores(part, random() < 0.1 ? 'both' : pick(outcomes)), ...cluster] as [string, SampleScores, string?]);
      instruct.push([id, scores(part, pick(outcomes)), ...cluster] as [string, SampleScores, string?]);
    }
    // A few items on one side only: not paired, in no part.
    base.push(['only-base', scores('absent', 'right')]);
    const pair = pairRecord({ base: side('b', 'raw', base), instruct: side('c', 'raw', instruct), seed: trial, bootstrapSamples: 200 });
    const d = pair.decomposition!;
    const parts = [d.answerAbsent, d.answerInContext, ...(d.conflict ? [d.conflict] : [])];
    assert.equal(pair.n, n);
    assert.equal(parts.reduce((sum, p) => sum + p.n, 0), n, `trial ${trial}: every item in one part`);
    close(parts.reduce((sum, p) => sum + p.tax, 0), pair.tax, `trial ${trial}: parts sum to the tax`);
    assert.equal(d.conflict !== undefined, pair.conflicts !== undefined, `trial ${trial}: conflict part iff conflict items`);
    assert.equal(pair.clusters !== undefined, clustered);
    for (const [name, p] of Object.entries(d)) {
      assert.ok(p.ci95[0] <= p.ci95[1] && p.ci95[0] >= -1 && p.ci95[1] <= 1, `trial ${trial} ${name}: ${p.ci95}`);
      // Each part's transitions count its items; the accuracy-moving ones give its tax.
      const t = pair.transitions![name as keyof typeof d]!;
      const lost = t.right.wrong + t.right.nores;
      const gained = t.wrong.right + t.nores.right;
      assert.equal(Object.values(t).flatMap((row) => Object.values(row)).reduce((a, b) => a + b, 0), p.n);
      close((lost - gained) / n, p.tax, `trial ${trial} ${name}: transitions`);
    }
    if (n >= 60) for (const p of parts) assert.ok(p.ci95[0] <= p.tax && p.tax <= p.ci95[1], `trial ${trial}: ${p.tax} in ${p.ci95}`);
  }
});

test('decomposeTax refuses unequal sides; no items gives zero parts', () => {
  assert.throws(() => decomposeTax({ base: [scores('absent', 'right')], instruct: [] }, { seed: 1 }), /1 base, 0 instruct/);
  const empty = decomposeTax({ base: [], instruct: [] }, { seed: 1 });
  assert.deepEqual(empty.decomposition, { answerAbsent: { n: 0, tax: 0, ci95: [-1, 1] }, answerInContext: { n: 0, tax: 0, ci95: [-1, 1] } });
  assert.equal(empty.transitions.conflict, undefined);
});

test('pairs.csv: the parts in points with their intervals; report.md: parts and named transitions', () => {
  const pair = examplePair();
  const [row] = parse(renderPairsCsv([pair]));
  // 1/11 = 9.090909…, −1/11 in context; the columns add up to tax_pp.
  assert.deepEqual([row!.tax_pp, row!.tax_absent_pp, row!.tax_in_context_pp, row!.tax_conflict_pp], ['9.090909', '9.090909', '-9.090909', '9.090909']);
  assert.ok(Number(row!.tax_absent_pp_lo) <= 9.090909 && Number(row!.tax_absent_pp_hi) >= 9.090909);
  // Without conflict items anywhere: no conflict part column.
  const plain = pairRecord({
    base: side('base', 'raw', [['x', scores('absent', 'right')]]),
    instruct: side('instruct', 'raw', [['x', scores('absent', 'nores')]]),
    seed: 1,
  });
  const header = renderPairsCsv([plain]).split('\n')[0]!;
  assert.match(header, /,tax_absent_pp,tax_absent_pp_lo,tax_absent_pp_hi,tax_in_context_pp,tax_in_context_pp_lo,tax_in_context_pp_hi$/);
  // Both: the conflict column, empty for the pair without conflicts.
  const rows = parse(renderPairsCsv([plain, pair]));
  assert.deepEqual([rows[0]!.tax_absent_pp, rows[0]!.tax_conflict_pp, rows[1]!.tax_conflict_pp], ['100', '', '9.090909']);

  const md = decompositionSection({ pairs: [pair] }).join('\n');
  assert.match(md, /^## Where the tax comes from/);
  assert.match(md, /\| base vs instruct chat · nores · retrieved k=3 · shots=0 \| 11 \| \*\*\+9\.1\*\* \[[^\]]+\] \| \+9\.1 \[[^\]]+\] \(5\) \| -9\.1 \[[^\]]+\] \(4\) \| \+9\.1 \[[^\]]+\] \(2\) \|/);
  assert.match(md, /\| pair \| part \| n \| right → NO-RES \| right → wrong \| wrong → right \| NO-RES → right \| wrong → NO-RES \| NO-RES → wrong \|/);
  assert.match(md, /\| docs lack it \| 5 \| 2 \| 0 \| 0 \| 1 \| 1 \| 0 \|/);
  assert.match(md, /\| docs hold it \| 4 \| 0 \| 1 \| 1 \| 1 \| 0 \| 0 \|/);
  assert.match(md, /\| conflicts \| 2 \| 0 \| 1 \| 0 \| 0 \| 1 \| 0 \|/);
  // A part without items reads `– (0)` and has no transitions row.
  const plainMd = decompositionSection({ pairs: [plain] }).join('\n');
  assert.match(plainMd, /\| 1 \| \*\*\+100\.0\*\* \[[^\]]+\] \| \+100\.0 \[[^\]]+\] \(1\) \| – \(0\) \|$/m);
  assert.match(plainMd, /\| docs lack it \| 1 \| 1 \| 0 \| 0 \| 0 \| 0 \| 0 \|/);
  assert.doesNotMatch(plainMd, /\| docs hold it \| 0/);
  // Old summaries (no decomposition, no knowledge): no section.
  const { decomposition: _d, transitions: _t, ...old } = pair;
  assert.deepEqual(decompositionSection({ pairs: [old] }), []);
});
