// JUnit names are unique per cell × metric: a quickstart-like grid (two instruct formats, three k,
// two instructions, few-shot, CoT, closed-book and a sensitivity sweep whose variants share every
// other field) yields no two test cases with the same (classname, name).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareSamples, DEFAULT_COMPARE_OPTIONS, cellLabel as compareCellLabel } from '../../src/compare/compare.js';
import { renderJunit } from '../../src/compare/junit.js';
import { renderCompareMarkdown, renderCompareText } from '../../src/compare/summary-text.js';
import { cellLabel } from '../../src/report/labels.js';
import type { Cell, SampleRecord } from '../../src/types.js';
import { sample } from './helpers.js';

type Point = Omit<Cell, 'model' | 'format'>;

const points: Point[] = [
  ...[1, 3, 5].map((k): Point => ({ instruction: 'nores', context: 'retrieved', k, shots: 0, cot: false })),
  { instruction: 'no-rejection', context: 'retrieved', k: 3, shots: 0, cot: false },
  { instruction: 'nores', context: 'retrieved', k: 3, shots: 2, cot: false },
  { instruction: 'nores', context: 'retrieved', k: 3, shots: 0, cot: true },
  { instruction: 'nores', context: 'oracle', k: 3, shots: 0, cot: false },
  { instruction: 'closed-book', context: 'closed-book', k: 0, shots: 0, cot: false },
  // The quickstart's sweep: each variant differs from the k=3 nores point in one setting only.
  ...['max_new_tokens=50', 'refusal=rgb', 'scoring_rule=whole'].map((variant): Point => ({ instruction: 'nores', context: 'retrieved', k: 3, shots: 0, cot: false, variant })),
];
const models: Pick<Cell, 'model' | 'format'>[] = [
  { model: 'base', format: 'raw' },
  { model: 'instruct', format: 'raw' },
  { model: 'instruct', format: 'chat' },
];

function run(seed: number): SampleRecord[] {
  return models.flatMap((m) =>
    points.flatMap((p) =>
      Array.from({ length: 6 }, (_, i) => ({ ...sample(`q${i}`, (i + seed) % 3 === 0, i % 4 === 0, undefined, m.model), ...m, ...p })),
    ),
  );
}

const result = compareSamples(run(0), run(1), { ...DEFAULT_COMPARE_OPTIONS, bootstrapSamples: 100 });

test('every cell of a quickstart-like grid has its own label', () => {
  assert.equal(result.cells.length, models.length * points.length);
  const labels = result.cells.map((c) => cellLabel(c.cell));
  assert.equal(new Set(labels).size, labels.length, labels.join('\n'));
  // compare's export is the same function.
  assert.equal(compareCellLabel(result.cells[0]!.cell), labels[0]);
});

test('JUnit: (classname, name) is unique per cell × metric', () => {
  const xml = renderJunit(result, 'quickstart');
  const cases = [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map((m) => `${m[1]}\u0000${m[2]}`);
  assert.equal(cases.length, result.cells.reduce((s, c) => s + c.metrics.length, 0));
  assert.equal(new Set(cases).size, cases.length);
  assert.match(xml, /classname="instruct chat · nores · retrieved k=3 · shots=0 · refusal=rgb"/);
  assert.match(xml, /classname="instruct chat · nores · oracle k=3 · shots=0"/);
  assert.match(xml, /classname="base raw · closed-book · shots=0"/);
});

test('stdout and Markdown name the sweep variant', () => {
  const ctx = { suite: 'quickstart', baselineDir: 'a', candidateDir: 'b', notes: [] };
  const md = renderCompareMarkdown(result, ctx);
  const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| cell'));
  const labels = rows.map((l) => l.split(' | ')[0]);
  assert.equal(new Set(labels).size, labels.length);
  assert.ok(labels.some((l) => l!.endsWith('max_new_tokens=50')));
  const text = renderCompareText(result, ctx);
  assert.doesNotMatch(text, /\u001b\[/);
});
