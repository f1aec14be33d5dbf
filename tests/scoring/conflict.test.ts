// Knowledge-conflict scoring (docs/conflicts.md): which samples are conflicts, the four conflict
// rates, and that a conflict sample is never counted as over-refusal or parametric recall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateCell } from '../../src/aggregate/cells.js';
import { SampleTable } from '../../src/aggregate/sample-table.js';
import { isConflict, scoreResponse } from '../../src/scoring/score.js';
import type { Cell, SampleScores } from '../../src/types.js';

const cell: Cell = { model: 'm', format: 'raw', instruction: 'nores', context: 'counterfactual', k: 1, shots: 0, cot: false };

function score(response: string, contextAnswers?: string[], contextText = 'B was born in Vaskel.') {
  return scoreResponse({ response, answers: ['Medroukio'], contextText, ...(contextAnswers ? { contextAnswers } : {}) }).scores;
}

test('a conflict is a context answer that is not a true answer (normalised)', () => {
  assert.equal(isConflict(['Paris'], undefined), false);
  assert.equal(isConflict(['Paris'], ['paris.']), false);
  assert.equal(isConflict(['Paris'], ['Lyon']), true);
  assert.equal(isConflict(['Paris', 'Lyon'], ['Lyon']), false);
});

test('followsContext is set on conflict samples only, by paper accuracy against the context answers', () => {
  assert.equal(score('Vaskel').followsContext, undefined, 'no context answers: no conflict');
  assert.equal(score('Vaskel', ['Medroukio']).followsContext, undefined, 'the documents agree with the truth');
  const context = score('Vaskel, I think', ['Vaskel']);
  assert.deepEqual([context.followsContext, context.correct, context.refusal], [true, false, false]);
  const memory = score('Medroukio', ['Vaskel']);
  assert.deepEqual([memory.followsContext, memory.correct], [false, true]);
  const refusal = score('NO-RES', ['Vaskel']);
  assert.deepEqual([refusal.followsContext, refusal.correct, refusal.refusal], [false, false, true]);
});

test('cell rates: follows context / memory / refusal / neither over the conflict samples; none counted as over-refusal', () => {
  const responses = ['Vaskel', 'Vaskel', 'Medroukio', 'NO-RES', 'Tarn'];
  const conflict = responses.map((r, i) => ({ itemId: `c${i}`, scores: score(r, ['Vaskel']) }));
  // Two ordinary samples whose documents hold the answer, one refused: over-refusal 1/2.
  const plain = [
    { itemId: 'p1', scores: score('Medroukio', undefined, 'Medroukio') },
    { itemId: 'p2', scores: score('NO-RES', undefined, 'Medroukio') },
  ];
  const agg = aggregateCell(cell, [...conflict, ...plain]);
  assert.equal(agg.followsContext, 2 / 5);
  assert.equal(agg.followsMemory, 1 / 5);
  assert.equal(agg.conflictRefusal, 1 / 5);
  assert.equal(agg.conflictNeither, 1 / 5);
  assert.ok(agg.ci95.followsContext);
  assert.equal(agg.overRefusalRate, 1 / 2);
  assert.equal(agg.nAnswerInContext, 2);
  assert.equal(agg.nAnswerAbsent, 0, 'conflict samples are in neither answer subset');
  assert.equal(agg.negativeRejectionRate, null);
  assert.equal(agg.refusalRate, 2 / 7, 'the overall refusal rate still counts every sample');
  // A cell without conflicts has no conflict fields at all.
  const none = aggregateCell({ ...cell, context: 'oracle' }, plain);
  assert.equal('followsContext' in none, false);
  assert.equal('conflictNeither' in none, false);
});

test('the packed sample table keeps followsContext (absent, false, true)', () => {
  const scores: SampleScores[] = [score('Vaskel', ['Vaskel']), score('Medroukio', ['Vaskel']), score('Medroukio')];
  const table = SampleTable.of(scores.map((s, i) => ({ ...cell, itemId: `i${i}`, scores: s })));
  const back = table.cell(cell)!.samples(table.items, table.clusters).map((s) => s.scores);
  assert.deepEqual(back, scores);
  assert.deepEqual(back.map((s) => s.followsContext), [true, false, undefined]);
});

test('pair: conflict rates on both sides and their paired differences instruct − base, hand-computed', async () => {
  const { pairRecord } = await import('../../src/aggregate/pairs.js');
  const { renderMarkdown } = await import('../../src/report/markdown.js');
  const { renderPairsCsv } = await import('../../src/report/csv.js');
  // Six conflict items. Base follows memory on all but c5 (context); instruct follows the context on
  // c0, c1, c5, refuses c2, c3 and gives the true value on c4. Two plain items are not conflicts.
  const baseResponses = ['Medroukio', 'Medroukio', 'Medroukio', 'Medroukio', 'Medroukio', 'Vaskel'];
  const instructResponses = ['Vaskel', 'Vaskel', 'NO-RES', 'NO-RES', 'Medroukio', 'Vaskel'];
  const side = (model: string, responses: string[]) => ({
    ...cell,
    model,
    samples: [
      ...responses.map((r, i) => ({ itemId: `c${i}`, scores: score(r, ['Vaskel']) })),
      { itemId: 'p1', scores: score('Medroukio', undefined, 'Medroukio') },
      { itemId: 'p2', scores: score('NO-RES', undefined, 'Medroukio') },
    ],
  });
  const pair = pairRecord({ base: side('base', baseResponses), instruct: side('instruct', instructResponses), seed: 3, bootstrapSamples: 2000 });
  const c = pair.conflicts!;
  assert.equal(c.n, 6);
  // follows context: base 1/6 (c5), instruct 3/6 (c0, c1, c5): +2/6, instruct-only 2, base-only 0.
  assert.deepEqual([c.metrics.followsContext!.base, c.metrics.followsContext!.instruct], [1 / 6, 3 / 6]);
  assert.ok(Math.abs(c.metrics.followsContext!.delta - 2 / 6) < 1e-12);
  // follows memory: base 5/6, instruct 1/6 (c4): −4/6; refusal: 0 → 2/6; neither: 0 → 0.
  assert.ok(Math.abs(c.metrics.followsMemory!.delta + 4 / 6) < 1e-12);
  assert.ok(Math.abs(c.metrics.conflictRefusal!.delta - 2 / 6) < 1e-12);
  assert.deepEqual([c.metrics.conflictNeither!.base, c.metrics.conflictNeither!.instruct, c.metrics.conflictNeither!.delta], [0, 0, 0]);
  // A difference made only of instruct-only items (refusal: 2 of 6, never base-only) has an interval
  // within [0, 1] around it; one with both signs can cross zero.
  const refusalCi = c.metrics.conflictRefusal!.ci95;
  assert.ok(refusalCi[0] >= 0 && refusalCi[0] <= 2 / 6 && refusalCi[1] >= 2 / 6 && refusalCi[1] <= 1, String(refusalCi));
  assert.deepEqual(c.metrics.conflictNeither!.ci95, [0, 0]);
  // The plain items are paired for the tax but not in the conflict block.
  assert.equal(pair.n, 8);
  // Both written outputs carry it.
  const csv = renderPairsCsv([pair]);
  assert.match(csv.split('\n')[0]!, /,conflictN,followsContextDelta_pp,followsContextDelta_pp_lo,followsContextDelta_pp_hi,followsMemoryDelta_pp/);
  assert.match(csv.split('\n')[1]!, /,6,33\.333333,/);
  const summary = { suite: 's', items: 8, cells: [], pairs: [pair], statistics: undefined, retrieval: { retriever: 'none', corpusSize: 0, indexLoadedFromCache: null, answerRecallAtK: [], answerInContext: {} }, contextOverflow: {}, timing: { models: {}, totalSeconds: 1 }, manifest: { models: {}, packages: {}, seeds: {}, data: {}, suite: { file: 's.yaml', sha256: 'x' }, node: 'v20', ragtax: '0.1.0', git: null } };
  const md = renderMarkdown(summary as unknown as Parameters<typeof renderMarkdown>[0]);
  assert.match(md, /## Knowledge conflicts/);
  assert.match(md, /\| base vs instruct \| raw \| nores \| counterfactual 1 \| 0 \| no \| 6 \| 16\.7 → 50\.0 \(\*\*\+33\.3\*\* \[/);
  // Without conflict items: no block, no columns.
  const plainPair = pairRecord({ base: { ...side('base', []), samples: side('base', []).samples }, instruct: { ...side('instruct', []), samples: side('instruct', []).samples }, seed: 3, bootstrapSamples: 200 });
  assert.equal(plainPair.conflicts, undefined);
  assert.doesNotMatch(renderPairsCsv([plainPair]).split('\n')[0]!, /conflict/);
});
