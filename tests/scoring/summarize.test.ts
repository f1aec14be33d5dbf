import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../../src/aggregate/summarize.js';
import type { Suite } from '../../src/suite/load.js';
import type { SampleRecord } from '../../src/types.js';

const point = { instruction: 'nores', context: 'retrieved' as const, k: 3, shots: 0, cot: false };
const suite = {
  pairs: [{ base: 'base', instruct: 'chat' }],
  models: [
    { name: 'base', formats: ['raw'] },
    { name: 'chat', formats: ['raw', 'chat'] },
  ],
  points: [point],
  seed: 1,
  config: { metrics: { bootstrap_samples: 200 } },
} as unknown as Suite;

function sample(itemId: string, model: string, format: 'raw' | 'chat', correct: boolean, excluded = false): SampleRecord {
  return {
    itemId, model, format, ...point, question: 'q', answers: ['a'], docIds: [], prompt: 'p', response: correct ? 'a' : 'x', scoredText: '',
    scores: { correct, exactMatch: correct, f1: correct ? 1 : 0, refusal: false, answerInContext: true },
    finishReason: 'eos', promptTokens: 1, completionTokens: 1, latencyMs: 1,
    ...(excluded ? { excluded: 'context-overflow' as const } : {}),
  };
}

test('an item that overflows one model is excluded from every model at that grid point', () => {
  const records = [
    sample('i1', 'base', 'raw', true), sample('i1', 'chat', 'raw', false), sample('i1', 'chat', 'chat', false),
    sample('i2', 'base', 'raw', true), sample('i2', 'chat', 'raw', true), sample('i2', 'chat', 'chat', false, true),
    sample('i3', 'base', 'raw', false), sample('i3', 'chat', 'raw', false), sample('i3', 'chat', 'chat', true),
  ];
  const { cells, pairs } = summarize(suite, records);
  assert.equal(cells.length, 3);
  for (const c of cells) {
    assert.equal(c.n, 2, `${c.model} ${c.format}: i2 excluded everywhere`);
    assert.equal(c.excludedContextOverflow, 1);
  }
  const raw = pairs.find((p) => p.format === 'raw')!;
  assert.deepEqual([raw.n, raw.baseAccuracy, raw.instructAccuracy, raw.tax], [2, 0.5, 0, 0.5]);
  assert.deepEqual(raw.table, { bothCorrect: 0, baseOnly: 1, instructOnly: 0, neither: 1 });
  const chat = pairs.find((p) => p.format === 'chat')!;
  assert.deepEqual(chat.table, { bothCorrect: 0, baseOnly: 1, instructOnly: 1, neither: 0 });
  assert.equal(chat.mcnemarP, 1);
});

test('pair p-values are Holm-adjusted across the run by default; the statistics say how', () => {
  // 40 items: base right on all, chat raw wrong on 12, chat chat wrong on 3.
  const records = Array.from({ length: 40 }, (_, i) => [
    sample(`i${i}`, 'base', 'raw', true),
    sample(`i${i}`, 'chat', 'raw', i >= 12),
    sample(`i${i}`, 'chat', 'chat', i >= 3),
  ]).flat();
  const { pairs, statistics } = summarize(suite, records);
  assert.deepEqual(statistics, { alpha: 0.05, pAdjust: 'holm', comparisons: 2 });
  const [raw, chat] = [pairs.find((p) => p.format === 'raw')!, pairs.find((p) => p.format === 'chat')!];
  // Holm with two tests: the smaller p doubles, the larger stays (or rises to it).
  assert.equal(raw.mcnemarPAdjusted, Math.min(1, 2 * raw.mcnemarP));
  assert.equal(chat.mcnemarPAdjusted, Math.max(raw.mcnemarPAdjusted!, chat.mcnemarP));
  assert.ok(raw.minimumDetectableTax! > 0 && raw.minimumDetectableTax! < 1);
  const none = summarize({ ...suite, config: { metrics: { bootstrap_samples: 200, p_adjust: 'none' } } } as unknown as Suite, records);
  assert.equal(none.pairs.find((p) => p.format === 'raw')!.mcnemarPAdjusted, raw.mcnemarP);
});

test('clustered items: the tax interval resamples clusters and reports the design effect', () => {
  // 10 entities of 4 items each; outcomes shared within an entity.
  const records = Array.from({ length: 40 }, (_, i) => {
    const entity = Math.floor(i / 4);
    const cluster = `e${entity}`;
    return [
      { ...sample(`i${i}`, 'base', 'raw', true), cluster },
      { ...sample(`i${i}`, 'chat', 'raw', entity % 2 === 0), cluster },
      { ...sample(`i${i}`, 'chat', 'chat', entity % 3 === 0), cluster },
    ];
  }).flat();
  const clustered = summarize({ ...suite, config: { metrics: { bootstrap_samples: 2000, cluster_by: 'cluster' } } } as unknown as Suite, records);
  const raw = clustered.pairs.find((p) => p.format === 'raw')!;
  assert.equal(raw.clusters, 10);
  assert.ok(raw.designEffect! > 1.3, `design effect ${raw.designEffect}`);
  assert.ok(raw.taxCi95[1] - raw.taxCi95[0] > raw.naiveTaxCi95![1] - raw.naiveTaxCi95![0]);
  assert.equal(clustered.statistics.clusterBy, 'cluster');
  assert.equal(clustered.cells.find((c) => c.model === 'chat' && c.format === 'raw')!.clusters, 10);
});
