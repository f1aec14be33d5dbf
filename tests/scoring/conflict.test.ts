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
