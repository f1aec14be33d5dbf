import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateCell, cellKey, groupSamples } from '../../src/aggregate/cells.js';
import { pairRecord } from '../../src/aggregate/pairs.js';
import { clopperPearsonInterval, wilsonInterval } from '../../src/stats/intervals.js';
import type { Cell, SampleRecord, SampleScores } from '../../src/types.js';

const baseCell: Cell = { model: 'llama-base', format: 'raw', instruction: 'task1-nq', context: 'retrieved', k: 5, shots: 0, cot: false };
const instructCell: Cell = { ...baseCell, model: 'llama-instruct' };

function sample(cell: Cell, itemId: string, scores: Partial<SampleScores>, excluded = false): SampleRecord {
  return {
    ...cell,
    itemId,
    question: `q ${itemId}`,
    answers: ['a'],
    docIds: [],
    prompt: '',
    response: '',
    scoredText: '',
    scores: { correct: false, exactMatch: false, f1: 0, refusal: false, answerInContext: false, ...scores },
    finishReason: excluded ? null : 'eos',
    promptTokens: 0,
    completionTokens: 0,
    latencyMs: 0,
    ...(excluded ? { excluded: 'context-overflow' as const } : {}),
  };
}

// 6 scored items + 1 excluded:
//   in context (3):  i1 correct+EM f1=1, i2 refusal, i3 wrong f1=0.5
//   absent (3):      i4 correct (parametric) f1=1, i5 refusal, i6 refusal AND correct ("X NO-RES")
const handBuilt: SampleRecord[] = [
  sample(baseCell, 'i1', { answerInContext: true, correct: true, exactMatch: true, f1: 1 }),
  sample(baseCell, 'i2', { answerInContext: true, refusal: true }),
  sample(baseCell, 'i3', { answerInContext: true, f1: 0.5 }),
  sample(baseCell, 'i4', { correct: true, f1: 1 }),
  sample(baseCell, 'i5', { refusal: true }),
  sample(baseCell, 'i6', { refusal: true, correct: true, f1: 0.5 }),
  sample(baseCell, 'i7', { correct: true, answerInContext: true }, true),
];

describe('aggregateCell', () => {
  const aggregate = aggregateCell(baseCell, handBuilt);
  it('counts and rates', () => {
    assert.deepEqual(
      {
        n: aggregate.n,
        nAnswerInContext: aggregate.nAnswerInContext,
        nAnswerAbsent: aggregate.nAnswerAbsent,
        excludedContextOverflow: aggregate.excludedContextOverflow,
        accuracy: aggregate.accuracy,
        exactMatch: aggregate.exactMatch,
        f1: aggregate.f1,
        refusalRate: aggregate.refusalRate,
        negativeRejectionRate: aggregate.negativeRejectionRate,
        overRefusalRate: aggregate.overRefusalRate,
        parametricRecall: aggregate.parametricRecall,
        contextAccuracy: aggregate.contextAccuracy,
      },
      {
        n: 6,
        nAnswerInContext: 3,
        nAnswerAbsent: 3,
        excludedContextOverflow: 1,
        accuracy: 3 / 6,
        exactMatch: 1 / 6,
        f1: 3 / 6,
        refusalRate: 3 / 6,
        negativeRejectionRate: 2 / 3,
        overRefusalRate: 1 / 3,
        parametricRecall: 2 / 3,
        contextAccuracy: 1 / 3,
      },
    );
  });
  it('keeps the cell coordinates and nothing else of the samples', () => {
    assert.equal(aggregate.model, 'llama-base');
    assert.equal('itemId' in aggregate, false);
    assert.equal('cotMissingAnswer' in aggregate, false);
    assert.equal('proofCoherence' in aggregate, false);
  });
  it('exact (Clopper–Pearson) intervals for rates of small cells, which are marked; a mean interval for f1', () => {
    assert.deepEqual(aggregate.ci95.accuracy, clopperPearsonInterval(3, 6));
    assert.deepEqual(aggregate.ci95.negativeRejectionRate, clopperPearsonInterval(2, 3));
    assert.deepEqual(aggregate.ci95.contextAccuracy, clopperPearsonInterval(1, 3));
    assert.equal(aggregate.smallSample, true);
    assert.deepEqual(
      Object.keys(aggregate.ci95).sort(),
      ['accuracy', 'contextAccuracy', 'exactMatch', 'f1', 'negativeRejectionRate', 'overRefusalRate', 'parametricRecall', 'refusalRate'],
    );
    const [low, high] = aggregate.ci95.f1 ?? [NaN, NaN];
    assert.ok(low < 0.5 && high > 0.5);
  });
  it('null conditional rates when a denominator is 0, no ci95 for them', () => {
    const allInContext = aggregateCell(baseCell, [sample(baseCell, 'a', { answerInContext: true, correct: true })]);
    assert.equal(allInContext.negativeRejectionRate, null);
    assert.equal(allInContext.parametricRecall, null);
    assert.equal(allInContext.contextAccuracy, 1);
    assert.equal('parametricRecall' in allInContext.ci95, false);
  });
  it('empty / all-excluded cell', () => {
    const empty = aggregateCell(baseCell, [sample(baseCell, 'x', {}, true)]);
    assert.equal(empty.n, 0);
    assert.equal(empty.accuracy, 0);
    assert.equal(empty.excludedContextOverflow, 1);
    assert.equal(empty.overRefusalRate, null);
    assert.deepEqual(empty.ci95, {});
  });
  it('CoT cells report the share without an Answer: line', () => {
    const cot: Cell = { ...baseCell, cot: true };
    const aggregateCot = aggregateCell(cot, [
      sample(cot, 'a', { cotAnswerFound: true }),
      sample(cot, 'b', { cotAnswerFound: false }),
      sample(cot, 'c', { cotAnswerFound: false }),
      sample(cot, 'd', { cotAnswerFound: true }),
    ]);
    assert.equal(aggregateCot.cotMissingAnswer, 0.5);
    assert.deepEqual(aggregateCot.ci95.cotMissingAnswer, clopperPearsonInterval(2, 4));
  });
  it('Wilson intervals from 30 items on, and no small-sample mark', () => {
    const many = Array.from({ length: 40 }, (_, i) => sample(baseCell, `m${i}`, { correct: i % 4 === 0, answerInContext: true }));
    const large = aggregateCell(baseCell, many);
    assert.deepEqual(large.ci95.accuracy, wilsonInterval(10, 40));
    assert.equal(large.smallSample, undefined);
  });
  it('clustered items: every interval resamples whole clusters, and the cell counts them', () => {
    const clustered = Array.from({ length: 40 }, (_, i) => ({ ...sample(baseCell, `c${i}`, { correct: Math.floor(i / 4) % 2 === 0, answerInContext: true }), cluster: `e${Math.floor(i / 4)}` }));
    const cell = aggregateCell(baseCell, clustered, { seed: 1, bootstrapSamples: 2000 });
    assert.equal(cell.clusters, 10);
    const naive = wilsonInterval(20, 40);
    // Outcomes shared within clusters: the honest interval is much wider than the naive one.
    assert.ok(cell.ci95.accuracy![1] - cell.ci95.accuracy![0] > 1.5 * (naive[1] - naive[0]));
  });
  it('proof coherence among responses with a proof', () => {
    const proofs = aggregateCell(baseCell, [
      sample(baseCell, 'a', { proof: 'x', proofCoherent: true }),
      sample(baseCell, 'b', { proof: 'y', proofCoherent: false }),
      sample(baseCell, 'c', { proof: 'z', proofCoherent: true }),
      sample(baseCell, 'd', { proof: null, proofCoherent: false }),
    ]);
    assert.equal(proofs.proofCoherence, 2 / 3);
  });
});

describe('cellKey and groupSamples', () => {
  it('key depends on every coordinate and nothing else', () => {
    assert.equal(cellKey(baseCell), cellKey(handBuilt[0] as Cell));
    assert.notEqual(cellKey(baseCell), cellKey({ ...baseCell, k: 3 }));
    assert.notEqual(cellKey(baseCell), cellKey({ ...baseCell, cot: true }));
    assert.notEqual(cellKey({ ...baseCell, model: 'a|b', instruction: 'c' }), cellKey({ ...baseCell, model: 'a', instruction: 'b|c' }));
  });
  it('groups by cell in first-seen order, excluded samples included', () => {
    const groups = groupSamples([...handBuilt, sample(instructCell, 'i1', {}), sample({ ...baseCell, k: 1 }, 'i1', {})]);
    assert.deepEqual([...groups.values()].map((group) => group.length), [7, 1, 1]);
    assert.equal(groups.get(cellKey(instructCell))?.[0]?.model, 'llama-instruct');
  });
});

describe('pairRecord', () => {
  // Items 1-8 on both sides (item 9 only on base, item 8 excluded on instruct → n = 7):
  //   base:     1 1 1 1 0 0 0 | 8: 1, 9: 1
  //   instruct: 1 0 0 0 1 0 0 | 8: excluded
  const baseCorrect = [true, true, true, true, false, false, false];
  const instructCorrect = [true, false, false, false, true, false, false];
  const base = {
    ...baseCell,
    samples: [
      ...baseCorrect.map((correct, i) => sample(baseCell, `q${i + 1}`, { correct, refusal: i === 6 })),
      sample(baseCell, 'q8', { correct: true }),
      sample(baseCell, 'q9', { correct: true }),
    ],
  };
  const instruct = {
    ...instructCell,
    format: 'chat' as const,
    samples: [
      // reversed order: pairing must not depend on it
      ...instructCorrect.map((correct, i) => sample(instructCell, `q${i + 1}`, { correct, refusal: i >= 4 })).reverse(),
      sample(instructCell, 'q8', {}, true),
    ],
  };
  const pair = pairRecord({ base, instruct, seed: 7, bootstrapSamples: 500 });

  it('pairs over shared, non-excluded items', () => {
    assert.equal(pair.n, 7);
    assert.deepEqual(pair.table, { bothCorrect: 1, baseOnly: 3, instructOnly: 1, neither: 2 });
    assert.equal(pair.baseAccuracy, 4 / 7);
    assert.equal(pair.instructAccuracy, 2 / 7);
  });
  it('tax, relative tax, refusal delta and McNemar', () => {
    assert.ok(Math.abs(pair.tax - 2 / 7) < 1e-12);
    assert.ok(Math.abs((pair.taxRelative ?? NaN) - 1) < 1e-12);
    assert.ok(Math.abs(pair.refusalDelta - (3 / 7 - 1 / 7)) < 1e-12);
    // b = 3, c = 1: 2 · P(X ≤ 1 | n = 4) = 2 · 5/16
    assert.equal(pair.mcnemarP, 0.625);
  });
  it('identity fields come from the instruct side', () => {
    assert.deepEqual([pair.base, pair.instruct, pair.format, pair.k], ['llama-base', 'llama-instruct', 'chat', 5]);
  });
  it('bootstrap interval is seeded and brackets the tax', () => {
    assert.deepEqual(pairRecord({ base, instruct, seed: 7, bootstrapSamples: 500 }).taxCi95, pair.taxCi95);
    assert.ok(pair.taxCi95[0] <= pair.tax && pair.tax <= pair.taxCi95[1]);
  });
  it('taxRelative is null when the instruct accuracy is 0', () => {
    const zero = { ...instructCell, samples: [sample(instructCell, 'q1', {})] };
    assert.equal(pairRecord({ base, instruct: zero, seed: 1, bootstrapSamples: 10 }).taxRelative, null);
  });
  it('refuses to pair different grid points and duplicate items', () => {
    assert.throws(() => pairRecord({ base, instruct: { ...instruct, k: 3 }, seed: 1 }), /differ in k/);
    const duplicated = { ...base, samples: [...base.samples, sample(baseCell, 'q1', {})] };
    assert.throws(() => pairRecord({ base: duplicated, instruct, seed: 1 }), /appears twice/);
  });
});
