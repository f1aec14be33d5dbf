// A slice of the quickstart on the committed organism lineage: the outputs are complete, and the pair
// shows the study's mechanism (measured here, never hard-coded): where the shown documents lack the
// answer, the instruct model refuses more often than the base model, and the base model answers more
// of those items from memory.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runSuite } from '../../src/run/runner.js';
import { loadSuite } from '../../src/suite/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-organism-'));

test('quickstart slice on the trained pair', async () => {
  const suite = await loadSuite(path.join(ROOT, 'suites/quickstart.yaml'));
  // One grid point of the headline (nores, k = 3), 60 items: a few seconds on two cores.
  suite.points = suite.points.filter((p) => p.instruction === 'nores' && p.k === 3 && p.shots === 0 && !p.cot && p.variant === undefined);
  assert.equal(suite.points.length, 1);
  const { summary } = await runSuite({ suite, outDir: path.join(tmp, 'run'), limit: 60, quiet: true, cache: false });

  assert.equal(summary.items, 60);
  assert.equal(summary.cells.length, 4, 'base raw, instruct raw, instruct chat, chat chat');
  assert.equal(summary.pairs.length, 4, 'base → instruct raw and chat, instruct chat → chat, base → chat');
  assert.equal(summary.contextOverflow.base, 0);
  const cell = (model: string, format: string) => summary.cells.find((c) => c.model === model && c.format === format)!;
  const base = cell('base', 'raw');
  // The lineage base → instruct → chat: its two steps add up to base → chat.
  const [lineage] = summary.lineages!;
  assert.deepEqual(lineage!.stages, ['base', 'instruct', 'chat']);
  assert.equal(lineage!.points.length, 1);
  const { steps, total } = lineage!.points[0]!;
  const tax = (i: number) => summary.pairs[i]!.tax;
  assert.ok(Math.abs(tax(steps[0]!) + tax(steps[1]!) - tax(total)) < 1e-9);
  assert.equal(summary.pairs[steps[1]!]!.baseFormat, 'chat', 'instruct → chat compares both in the chat format');
  for (const instruct of [cell('instruct', 'raw'), cell('instruct', 'chat'), cell('chat', 'chat')]) {
    assert.ok(instruct.nAnswerAbsent > 5, 'the slice has items whose context lacks the answer');
    assert.ok(instruct.negativeRejectionRate! > base.negativeRejectionRate!, `${instruct.format}: instruct refuses more where the answer is absent`);
    assert.ok(base.parametricRecall! > instruct.parametricRecall!, `${instruct.format}: base recalls more from memory`);
    // The instruct model reads: it refuses less where the documents hold the answer than where they
    // lack it, and answers some of those items (its chat format once collapsed to NO-RES everywhere).
    assert.ok(instruct.overRefusalRate! < instruct.negativeRejectionRate!, `${instruct.format}: refuses less when the answer is shown`);
    assert.ok(instruct.contextAccuracy! > 0.2, `${instruct.format}: context accuracy ${instruct.contextAccuracy}`);
  }
  for (const p of summary.pairs) {
    assert.equal(p.n, 60);
    const parts = p.decomposition!;
    assert.ok(Math.abs(parts.answerAbsent.tax + parts.answerInContext.tax - p.tax) < 1e-9, 'the tax decomposes into its two parts');
    assert.ok(p.taxCi95[0] <= p.tax && p.tax <= p.taxCi95[1]);
  }
});
