// Lineages (docs/lineages.md): a hand-computed three-stage example through summarize, the format
// rule, deduplication with `pairs:`, and the report's waterfall.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainFormats, fromFormat, planComparisons } from '../../src/aggregate/lineages.js';
import { summarize } from '../../src/aggregate/summarize.js';
import { renderPairsCsv } from '../../src/report/csv.js';
import { lineagesMarkdown, waterfallCharts } from '../../src/report/lineages.js';
import type { RunSummary } from '../../src/rundir/types.js';
import { renderHeadline } from '../../src/report/headline.js';
import type { Suite } from '../../src/suite/load.js';
import type { PromptFormat, SampleRecord } from '../../src/types.js';

const point = { instruction: 'nores', context: 'retrieved' as const, k: 3, shots: 0, cot: false };
const models = [
  { name: 'base', formats: ['raw'] as PromptFormat[] },
  { name: 'sft', formats: ['raw', 'chat'] as PromptFormat[] },
  { name: 'dpo', formats: ['raw', 'chat'] as PromptFormat[] },
];

function suiteWith(pairs: { base: string; instruct: string }[], lineages: { name: string; stages: string[] }[]): Suite {
  return { pairs, lineages, models, points: [point], seed: 1, config: { metrics: { bootstrap_samples: 500 } } } as unknown as Suite;
}

// Ten items i0..i9; which are right (and refused) per model and format.
const ITEMS = Array.from({ length: 10 }, (_, i) => `i${i}`);
const RIGHT: Record<string, number[]> = {
  'base raw': [0, 1, 2, 3, 4, 5, 6, 7], // 8/10
  'sft chat': [0, 1, 2, 3, 4, 8], // 6/10: base-only i5 i6 i7, sft-only i8
  'dpo chat': [0, 1, 2, 5], // 4/10: sft-only i3 i4 i8, dpo-only i5; against base: base-only i3 i4 i6 i7
  'sft raw': [0, 1, 2, 3, 4, 5, 6, 7],
  'dpo raw': [0, 1, 2, 3, 4, 5, 6, 7],
};
const REFUSED: Record<string, number[]> = { 'sft chat': [6, 7], 'dpo chat': [3, 4, 6, 7, 8] };

function records(): SampleRecord[] {
  return Object.keys(RIGHT).flatMap((key) => {
    const [model, format] = key.split(' ') as [string, PromptFormat];
    return ITEMS.map((itemId, i) => {
      const correct = RIGHT[key]!.includes(i);
      const refusal = (REFUSED[key] ?? []).includes(i);
      return {
        itemId, model, format, ...point, question: 'q', answers: ['a'], docIds: [], prompt: 'p', response: correct ? 'a' : 'x', scoredText: '',
        scores: { correct, exactMatch: correct, f1: correct ? 1 : 0, refusal, answerInContext: true },
        finishReason: 'eos' as const, promptTokens: 1, completionTokens: 1, latencyMs: 1,
      };
    });
  });
}

/** Exact two-sided McNemar by hand: 2 × P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1. */
function mcnemarByHand(b: number, c: number): number {
  const n = b + c;
  const choose = (m: number, k: number): number => (k === 0 ? 1 : (choose(m, k - 1) * (m - k + 1)) / k);
  let tail = 0;
  for (let k = 0; k <= Math.min(b, c); k++) tail += choose(n, k) / 2 ** n;
  return Math.min(1, 2 * tail);
}

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);

describe('the format rule', () => {
  it('prompts the earlier stage in the later one\'s format where it has it, else raw', () => {
    assert.equal(fromFormat({ name: 'base', formats: ['raw'] }, 'chat'), 'raw');
    assert.equal(fromFormat({ name: 'sft', formats: ['raw', 'chat'] }, 'chat'), 'chat');
    assert.equal(fromFormat({ name: 'sft', formats: ['raw', 'chat'] }, 'raw'), 'raw');
    assert.equal(fromFormat({ name: 'chatonly', formats: ['chat'] }, 'raw'), undefined);
    assert.deepEqual(chainFormats(models, 'chat'), ['raw', 'chat', 'chat']);
    assert.deepEqual(chainFormats(models, 'raw'), ['raw', 'raw', 'raw']);
  });

  it('plans the suite pairs first (base raw), then each step, then first → last, each pairing once', () => {
    const planned = planComparisons([{ base: 'base', instruct: 'sft' }], [{ name: 'l', stages: ['base', 'sft', 'dpo'] }], models);
    assert.deepEqual(planned, [
      { base: 'base', instruct: 'sft', pairings: [{ baseFormat: 'raw', format: 'raw' }, { baseFormat: 'raw', format: 'chat' }] },
      // base → sft again is a duplicate of the suite pair: not planned twice.
      { base: 'sft', instruct: 'dpo', pairings: [{ baseFormat: 'raw', format: 'raw' }, { baseFormat: 'chat', format: 'chat' }] },
      { base: 'base', instruct: 'dpo', pairings: [{ baseFormat: 'raw', format: 'raw' }, { baseFormat: 'raw', format: 'chat' }] },
    ]);
    // A suite pair between aligned models keeps its raw base (unchanged `pairs:`); the lineage step adds chat → chat.
    const both = planComparisons([{ base: 'sft', instruct: 'dpo' }], [{ name: 'l', stages: ['sft', 'dpo'] }], models);
    assert.deepEqual(both.map((c) => [c.base, c.instruct, c.pairings.map((p) => `${p.baseFormat}→${p.format}`)]), [
      ['sft', 'dpo', ['raw→raw', 'raw→chat']],
      ['sft', 'dpo', ['chat→chat']],
    ]);
  });
});

describe('a three-stage lineage through summarize', () => {
  const { pairs, lineages, statistics } = summarize(suiteWith([{ base: 'base', instruct: 'sft' }], [{ name: 'qland', stages: ['base', 'sft', 'dpo'] }]), records());

  it('computes the union of the suite pairs, the steps and first → last, deduplicated, in order', () => {
    assert.deepEqual(
      pairs.map((p) => `${p.base} ${p.baseFormat ?? 'raw'} → ${p.instruct} ${p.format}`),
      ['base raw → sft raw', 'base raw → sft chat', 'sft raw → dpo raw', 'sft chat → dpo chat', 'base raw → dpo raw', 'base raw → dpo chat'],
    );
    // baseFormat only where it is not raw (older runs stay byte-identical).
    assert.deepEqual(pairs.map((p) => 'baseFormat' in p), [false, false, false, true, false, false]);
    assert.equal(statistics.comparisons, 6, 'the p adjustment spans every comparison');
  });

  it('indexes every step and the total per grid point and last-stage format', () => {
    assert.deepEqual(lineages, [
      {
        name: 'qland',
        stages: ['base', 'sft', 'dpo'],
        points: [
          { format: 'raw', ...point, steps: [0, 2], total: 4 },
          { format: 'chat', ...point, steps: [1, 3], total: 5 },
        ],
      },
    ]);
  });

  it('gives each step\'s tax, the total, McNemar p and refusal Δ as computed by hand; the steps sum to the total', () => {
    const chat = lineages![0]!.points[1]!;
    const [step1, step2] = chat.steps.map((i) => pairs[i]!);
    const total = pairs[chat.total]!;
    // base 8/10 → sft 6/10 → dpo 4/10.
    close(step1!.tax, 0.2, 'base → sft tax');
    close(step2!.tax, 0.2, 'sft → dpo tax');
    close(total.tax, 0.4, 'base → dpo tax');
    close(step1!.tax + step2!.tax, total.tax, 'steps sum to the total');
    assert.deepEqual(step1!.table, { bothCorrect: 5, baseOnly: 3, instructOnly: 1, neither: 1 });
    assert.deepEqual(step2!.table, { bothCorrect: 3, baseOnly: 3, instructOnly: 1, neither: 3 });
    assert.deepEqual(total.table, { bothCorrect: 4, baseOnly: 4, instructOnly: 0, neither: 2 });
    // Exact McNemar: (3, 1) → 2 × (1 + 4)/16 = 0.625; (4, 0) → 2 × 1/16 = 0.125.
    close(step1!.mcnemarP, 0.625, 'step p');
    close(mcnemarByHand(3, 1), 0.625, 'hand binomial');
    close(total.mcnemarP, mcnemarByHand(4, 0), 'total p');
    close(total.mcnemarP, 0.125, 'total p');
    // Refusals: base 0, sft chat 2, dpo chat 5 of 10.
    close(step1!.refusalDelta, 0.2, 'step 1 refusal Δ');
    close(step2!.refusalDelta, 0.3, 'step 2 refusal Δ');
    close(total.refusalDelta, 0.5, 'total refusal Δ');
    for (const p of [step1!, step2!, total]) assert.ok(p.taxCi95[0] <= p.tax && p.tax <= p.taxCi95[1], 'the interval holds the estimate');
  });

  const summary = { pairs, lineages, cells: [], suite: 's' } as unknown as RunSummary;

  it('the terminal summary gives the waterfall at the headline point: each step, then the total', () => {
    const full = { ...summary, items: 10, timing: { models: {}, totalSeconds: 1 } } as RunSummary;
    const block = (text: string) => text.split('\n\n').find((b) => b.startsWith('lineage qland'))!;
    // By default the headline is the first suite pair (base → sft raw): the raw point is shown.
    assert.match(block(renderHeadline(full, '/tmp/run')), /^lineage qland \(raw · /);
    // With the chat pair as headline, the chat point: base 8/10 → sft 6/10 → dpo 4/10.
    const chat = block(renderHeadline(full, '/tmp/run', { headline: { format: 'chat' } }));
    assert.match(chat, /^lineage qland \(chat · /);
    const rows = chat.split('\n').slice(1).map((l) => l.trim().replace(/\s+/g, ' '));
    assert.deepEqual(rows.map((r) => r.split(' [')[0]), ['base → sft +20.0', 'sft → dpo +20.0', 'total base → dpo +40.0']);
  });

  it('report.md shows the waterfall: steps with tax, p, share of the total and refusal Δ, then the total', () => {
    const text = lineagesMarkdown(summary).join('\n');
    assert.match(text, /^## Lineages$/m);
    assert.match(text, /^### qland: base → sft → dpo$/m);
    assert.match(text, /^dpo chat · nores · retrieved k=3 · shots=0$/m);
    assert.match(text, /^\| base → sft \| raw → chat \| 10 \| 80\.0 → 60\.0 \| \*\*\+20\.0\*\* \[[-\d.]+, [-\d.]+\] \| 0\.625 \| 50\.0% \| \+20\.0 \|$/m);
    assert.match(text, /^\| sft → dpo \| chat → chat \| 10 \| 60\.0 → 40\.0 \| \*\*\+20\.0\*\* \[[-\d.]+, [-\d.]+\] \| 0\.625 \| 50\.0% \| \+30\.0 \|$/m);
    assert.match(text, /^\| \*\*total\*\* base → dpo \| raw → chat \| 10 \| 80\.0 → 40\.0 \| \*\*\+40\.0\*\* \[[-\d.]+, [-\d.]+\] \| 0\.125 \| 100\.0% \| \+50\.0 \|$/m);
    // The raw chain has no tax at all: shares are undefined, not 0/0.
    assert.match(text, /^\| base → sft \| raw → raw \| 10 \| 80\.0 → 80\.0 \| \*\*0\.0\*\* \[0\.0, 0\.0\] \| 1\.000 \| – \| 0\.0 \|$/m);
    assert.deepEqual(lineagesMarkdown({ ...summary, lineages: undefined }), []);
  });

  it('report.html\'s waterfall floats each step from the running total; the total starts at 0', () => {
    const [chart] = waterfallCharts(summary);
    const bars = chart!.points[1]!.bars;
    assert.deepEqual(bars.map((b) => [b.label, b.formats, b.total]), [
      ['base → sft', 'raw → chat', false],
      ['sft → dpo', 'chat → chat', false],
      ['total base → dpo', 'raw → chat', true],
    ]);
    const spans = bars.map((b) => [b.start, b.end]);
    for (const [[start, end], [a, b]] of spans.map((s, i) => [s, [[0, 0.2], [0.2, 0.4], [0, 0.4]][i]!] as const)) {
      close(start!, a!, 'bar start');
      close(end!, b!, 'bar end');
    }
  });

  it('pairs.csv names the earlier model\'s format', () => {
    const [header, ...rows] = renderPairsCsv(pairs).trim().split('\n').map((l) => l.split(','));
    const column = header!.indexOf('baseFormat');
    assert.ok(column > 0);
    assert.deepEqual(rows.map((r) => r[column]), ['raw', 'raw', 'raw', 'chat', 'raw', 'raw']);
  });
});

describe('lineages and pairs together', () => {
  it('a lineage that repeats the suite pairs adds only its new comparisons', () => {
    const alone = summarize(suiteWith([], [{ name: 'two', stages: ['base', 'sft'] }]), records());
    const withPair = summarize(suiteWith([{ base: 'base', instruct: 'sft' }], [{ name: 'two', stages: ['base', 'sft'] }]), records());
    const onlyPair = summarize(suiteWith([{ base: 'base', instruct: 'sft' }], []), records());
    // A two-stage lineage of a base model is the pair: steps and total are the same records.
    assert.equal(withPair.pairs.length, 2);
    assert.deepEqual(withPair.pairs, onlyPair.pairs);
    assert.deepEqual(alone.pairs, onlyPair.pairs);
    assert.deepEqual(withPair.lineages![0]!.points.map((p) => [p.format, p.steps, p.total]), [['raw', [0], 0], ['chat', [1], 1]]);
    assert.equal(onlyPair.lineages, undefined, 'no lineages: no field (older summaries unchanged)');
  });

  it('a point where a stage has no samples is left out of the lineage', () => {
    const withoutDpoChat = records().filter((r) => !(r.model === 'dpo' && r.format === 'chat'));
    const { lineages } = summarize(suiteWith([], [{ name: 'l', stages: ['base', 'sft', 'dpo'] }]), withoutDpoChat);
    assert.deepEqual(lineages![0]!.points.map((p) => p.format), ['raw']);
  });
});

describe('knowledge conflicts in a waterfall', () => {
  it('shows each step\'s follows-context and follows-memory Δ', () => {
    // Every item a conflict; follows the context: base on 5 of 10, sft chat on 8 (i0..i7).
    const conflictRecords = records()
      .filter((r) => (r.model === 'base' || r.model === 'sft') && r.format !== 'raw' || r.model === 'base')
      .map((r) => {
        const i = Number(r.itemId.slice(1));
        const followsContext = r.model === 'base' ? i < 5 : i < 8;
        return { ...r, scores: { ...r.scores, answerInContext: false, followsContext } };
      });
    const { pairs, lineages } = summarize(suiteWith([], [{ name: 'c', stages: ['base', 'sft'] }]), conflictRecords);
    const text = lineagesMarkdown({ pairs, lineages, cells: [], suite: 's' } as unknown as RunSummary).join('\n');
    assert.match(text, /\| refusal Δ \| follows context Δ \| follows memory Δ \|$/m);
    // follows memory = right under conflict: base 8/10 → sft chat 6/10.
    assert.match(text, /^\| base → sft \| raw → chat \| 10 \| .* \| \+30\.0 \[[-\d.]+, [-\d.]+\] \| -20\.0 \[[-\d.]+, [-\d.]+\] \|$/m);
  });
});
