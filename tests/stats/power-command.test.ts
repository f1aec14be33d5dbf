// `ragtax power`: items needed per comparison of a finished run, and the run's own MDE.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { runPowerCommand } from '../../src/commands/power.js';
import { InputError } from '../../src/errors.js';
import { mcnemarMinimumDetectableEffect, mcnemarSampleSize } from '../../src/stats/power.js';

function runDir(pairs: { n: number; baseOnly: number; instructOnly: number }[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-power-'));
  const summary = {
    suite: 'power',
    cells: [],
    statistics: { alpha: 0.05, pAdjust: 'holm', comparisons: pairs.length },
    pairs: pairs.map(({ n, baseOnly, instructOnly }, i) => ({
      base: 'b', instruct: 'i', format: 'raw', instruction: 'nores', context: 'retrieved', k: i + 1, shots: 0, cot: false, n,
      baseAccuracy: 0, instructAccuracy: 0, tax: (baseOnly - instructOnly) / n, taxCi95: [0, 0], mcnemarP: 1,
      table: { bothCorrect: n - baseOnly - instructOnly, baseOnly, instructOnly, neither: 0 }, refusalDelta: 0,
    })),
    manifest: { suite: { configSha256: 'x' } },
  };
  writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary));
  return dir;
}

const sink = () => {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, done) => ((text += String(chunk)), done()) }), text: () => text };
};

test('items needed and MDE per comparison, from its own discordance', async () => {
  const dir = runDir([{ n: 100, baseOnly: 30, instructOnly: 10 }, { n: 200, baseOnly: 5, instructOnly: 5 }, { n: 50, baseOnly: 0, instructOnly: 0 }]);
  const out = sink();
  const rows = await runPowerCommand({ dir, effect: 2 }, out.stream);
  assert.equal(rows.length, 3);
  assert.equal(rows[0]!.itemsNeeded, mcnemarSampleSize(0.02, 0.4, 0.05, 0.8));
  assert.ok(Math.abs(rows[0]!.minimumDetectableTax! - 100 * mcnemarMinimumDetectableEffect(100, 0.4, 0.05, 0.8)!) < 1e-9);
  // Less discordance needs fewer items for the same effect.
  assert.ok(rows[1]!.itemsNeeded! < rows[0]!.itemsNeeded!);
  // No discordant item: nothing is detectable, no sample size answers it.
  assert.equal(rows[2]!.itemsNeeded, null);
  assert.equal(rows[2]!.minimumDetectableTax, null);
  assert.match(out.text(), /a tax of 2 points at 80% power, alpha 0\.05/);
  assert.match(out.text(), /not reachable/);
  // The run's own MDE is what its n buys: at that n the sample-size formula gives back about n.
  const mde = rows[0]!.minimumDetectableTax! / 100;
  assert.ok(Math.abs(mcnemarSampleSize(mde, 0.4, 0.05, 0.8)! - 100) <= 1);
});

test('bad arguments are input errors', async () => {
  const dir = runDir([{ n: 10, baseOnly: 2, instructOnly: 1 }]);
  await assert.rejects(runPowerCommand({ dir, effect: 0 }, sink().stream), (e: Error) => e instanceof InputError && /--effect/.test(e.message));
  await assert.rejects(runPowerCommand({ dir, effect: 2, power: 1.5 }, sink().stream), (e: Error) => e instanceof InputError && /--power/.test(e.message));
  await assert.rejects(runPowerCommand({ dir: path.join(dir, 'nope'), effect: 2 }, sink().stream), InputError);
});
