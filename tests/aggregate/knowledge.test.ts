// The knows × context-holds-it table (docs/tax-decomposition.md): items labelled by a closed-book
// cell, groups counted by hand; which closed-book cell labels which cell; summarize carries it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gridCells, knowledgeTables } from '../../src/aggregate/knowledge.js';
import { cellKey, type ScoredSample } from '../../src/aggregate/cells.js';
import { summarize } from '../../src/aggregate/summarize.js';
import { decompositionSection } from '../../src/report/decomposition.js';
import type { Suite } from '../../src/suite/load.js';
import type { Cell, SampleRecord, SampleScores } from '../../src/types.js';

type Outcome = 'right' | 'wrong' | 'nores';
const s = (itemId: string, outcome: Outcome, holds = false, extra: Partial<SampleScores> & { excluded?: true } = {}): ScoredSample => {
  const { excluded, ...more } = extra;
  return {
    itemId,
    scores: { correct: outcome === 'right', exactMatch: false, f1: 0, refusal: outcome === 'nores', answerInContext: holds, ...more },
    ...(excluded ? { excluded: 'context-overflow' as const } : {}),
  };
};

const closedBook = (shots: number): Cell => ({ model: 'm', format: 'raw', instruction: 'closed-book', context: 'closed-book', k: 0, shots, cot: false });
const retrieved = (shots: number, model = 'm'): Cell => ({ model, format: 'raw', instruction: 'nores', context: 'retrieved', k: 3, shots, cot: false });

test('hand-built: knows/unknown × holds/lacks, accuracy and refusal per group; conflicts, exclusions and unlabelled items left out', () => {
  const samples = new Map<string, ScoredSample[]>([
    // Closed-book: knows i1 i2 i6 i8; i3 refused and i4 wrong → unknown; i5 excluded → unlabelled.
    [cellKey(closedBook(0)), [s('i1', 'right'), s('i2', 'right'), s('i3', 'nores'), s('i4', 'wrong'), s('i5', 'right', false, { excluded: true }), s('i6', 'right'), s('i8', 'right')]],
    [cellKey(closedBook(2)), [s('i1', 'wrong'), s('i2', 'wrong')]],
    [
      cellKey(retrieved(0)),
      [
        s('i1', 'right', true), // knows · holds
        s('i8', 'nores', true), // knows · holds, refused
        s('i2', 'nores'), // knows · lacks: recall given up
        s('i3', 'right', true), // unknown · holds
        s('i4', 'wrong'), // unknown · lacks
        s('i5', 'right', true), // unlabelled
        s('i6', 'wrong', true, { followsContext: true }), // a conflict
        s('i7', 'right', true), // not in the closed-book cell
      ],
    ],
    [cellKey(retrieved(1)), [s('i1', 'wrong', true)]],
    [cellKey(retrieved(2)), [s('i1', 'right'), s('i2', 'wrong', true, { excluded: true })]],
    [cellKey(retrieved(0, 'other')), [s('i1', 'right', true)]],
  ]);
  const asked: string[] = [];
  const cells = [closedBook(0), retrieved(0), retrieved(1), closedBook(2), retrieved(2), { ...retrieved(3), shots: 3 }, retrieved(0, 'other')];
  const tables = knowledgeTables(cells, (cell) => {
    asked.push(cellKey(cell));
    return samples.get(cellKey(cell));
  });
  // `other` has no closed-book cell: no table. m: shots 0 and 1 (no closed-book cell with 1 shot:
  // the first in grid order) are labelled by closed-book shots=0, shots 2 by its own.
  assert.deepEqual(
    tables.map((t) => [t.model, t.closedBook.shots, t.cells.map((c) => c.cell.shots)]),
    [['m', 0, [0, 1]], ['m', 2, [2]]],
  );
  assert.deepEqual(tables[0]!.closedBook, { instruction: 'closed-book', context: 'closed-book', k: 0, shots: 0, cot: false });
  assert.deepEqual(tables[0]!.cells[0]!.groups, {
    knowsHolds: { n: 2, accuracy: 0.5, refusalRate: 0.5 },
    knowsLacks: { n: 1, accuracy: 0, refusalRate: 1 },
    unknownHolds: { n: 1, accuracy: 1, refusalRate: 0 },
    unknownLacks: { n: 1, accuracy: 0, refusalRate: 0 },
  });
  const empty = { n: 0, accuracy: null, refusalRate: null };
  assert.deepEqual(tables[0]!.cells[1]!.groups, { knowsHolds: { n: 1, accuracy: 0, refusalRate: 0 }, knowsLacks: empty, unknownHolds: empty, unknownLacks: empty });
  // shots=2: i1 unknown there (wrong closed-book), its documents lack it; i2 excluded.
  assert.deepEqual(tables[1]!.cells[0]!.groups, { knowsHolds: empty, knowsLacks: empty, unknownHolds: empty, unknownLacks: { n: 1, accuracy: 1, refusalRate: 0 } });
  // Each cell is unpacked once.
  assert.equal(new Set(asked).size, asked.length);

  const md = decompositionSection({ pairs: [], knowledge: tables }).join('\n');
  assert.match(md, /### Knows it closed-book × the documents hold it/);
  assert.match(md, /\*\*m raw\*\*, labelled by `closed-book · shots=0`:/);
  assert.match(md, /\| nores · retrieved k=3 · shots=0 \| 50\.0 \/ 50\.0 \(2\) \| 0\.0 \/ 100\.0 \(1\) \| 100\.0 \/ 0\.0 \(1\) \| 0\.0 \/ 0\.0 \(1\) \|/);
  assert.match(md, /\| nores · retrieved k=3 · shots=1 \| 0\.0 \/ 0\.0 \(1\) \| – \(0\) \| – \(0\) \| – \(0\) \|/);
});

test('a closed-book cell of the same shots, CoT and sweep variant is preferred', () => {
  const cb = (variant?: string): Cell => ({ ...closedBook(0), ...(variant ? { variant } : {}) });
  const doc: Cell = { ...retrieved(0), variant: 'refusal=rgb' };
  const tables = knowledgeTables([cb(), cb('refusal=rgb'), doc], () => [s('i1', 'right', true)]);
  assert.deepEqual(tables.map((t) => t.closedBook.variant), ['refusal=rgb']);
});

test('summarize: `knowledge` only with a closed-book cell, over the grid in order', () => {
  const points = [
    { instruction: 'closed-book', context: 'closed-book' as const, k: 0, shots: 0, cot: false },
    { instruction: 'nores', context: 'retrieved' as const, k: 3, shots: 0, cot: false },
  ];
  const suite = {
    pairs: [{ base: 'base', instruct: 'chat' }],
    models: [
      { name: 'base', formats: ['raw'] },
      { name: 'chat', formats: ['chat'] },
    ],
    points,
    seed: 1,
    config: { metrics: { bootstrap_samples: 100 } },
  } as unknown as Suite;
  assert.deepEqual(
    gridCells(suite).map((c) => [c.model, c.format, c.context]),
    [['base', 'raw', 'closed-book'], ['base', 'raw', 'retrieved'], ['chat', 'chat', 'closed-book'], ['chat', 'chat', 'retrieved']],
  );
  const record = (itemId: string, model: string, point: (typeof points)[number], correct: boolean, refusal: boolean, holds: boolean): SampleRecord => ({
    itemId, model, format: model === 'base' ? 'raw' : 'chat', ...point, question: 'q', answers: ['a'], docIds: [], prompt: 'p', response: '', scoredText: '',
    scores: { correct, exactMatch: correct, f1: 0, refusal, answerInContext: holds },
    finishReason: 'eos', promptTokens: 1, completionTokens: 1, latencyMs: 1,
  });
  // Both models know i1 and not i2 closed-book; i1's documents lack it, i2's hold it. Chat refuses i1
  // (recall given up), base answers it; both answer i2 from the documents.
  const records = [
    record('i1', 'base', points[0]!, true, false, false), record('i2', 'base', points[0]!, false, false, false),
    record('i1', 'chat', points[0]!, true, false, false), record('i2', 'chat', points[0]!, false, true, false),
    record('i1', 'base', points[1]!, true, false, false), record('i2', 'base', points[1]!, true, false, true),
    record('i1', 'chat', points[1]!, false, true, false), record('i2', 'chat', points[1]!, true, false, true),
  ];
  const result = summarize(suite, records);
  assert.deepEqual(result.knowledge?.map((t) => [t.model, t.format, t.cells.length, t.cells[0]!.groups.knowsLacks]), [
    ['base', 'raw', 1, { n: 1, accuracy: 1, refusalRate: 0 }],
    ['chat', 'chat', 1, { n: 1, accuracy: 0, refusalRate: 1 }],
  ]);
  // The retrieved pair's tax (1/2) is all in the answer-absent part.
  const pair = result.pairs.find((p) => p.context === 'retrieved')!;
  assert.deepEqual([pair.tax, pair.decomposition!.answerAbsent.tax, pair.decomposition!.answerInContext.tax], [0.5, 0.5, 0]);
  assert.equal(pair.transitions!.answerAbsent.right.nores, 1);
  // Without a closed-book cell: no `knowledge` key at all.
  const noClosedBook = summarize({ ...suite, points: [points[1]!] } as Suite, records.filter((r) => r.context === 'retrieved'));
  assert.equal('knowledge' in noClosedBook, false);
});
