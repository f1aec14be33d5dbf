// A slice of the quickstart on the committed organism pair: the outputs are complete, and the pair
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
  assert.equal(summary.cells.length, 3, 'base raw, instruct raw, instruct chat');
  assert.equal(summary.pairs.length, 2, 'instruct with and without its chat template');
  assert.equal(summary.contextOverflow.base, 0);
  const cell = (model: string, format: string) => summary.cells.find((c) => c.model === model && c.format === format)!;
  const base = cell('base', 'raw');
  for (const instruct of [cell('instruct', 'raw'), cell('instruct', 'chat')]) {
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
    assert.ok(p.taxCi95[0] <= p.tax && p.tax <= p.taxCi95[1]);
  }
});
