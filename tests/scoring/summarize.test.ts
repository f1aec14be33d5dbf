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
