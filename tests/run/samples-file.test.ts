// samples.jsonl writing: every batch is in the file at once, the disk sync is throttled, and
// close() syncs what is left.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SamplesFile } from '../../src/rundir/samples-file.js';
import type { SampleRecord } from '../../src/types.js';

const record = (itemId: string) => ({ itemId, response: `answer ${itemId}` }) as unknown as SampleRecord;
const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { itemId: string }).itemId);

describe('SamplesFile', () => {
  it('writes every batch at once, in order, and appends to an existing file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ragtax-samples-'));
    const file = path.join(dir, 'samples.jsonl');
    try {
      const first = await SamplesFile.create(file, 60_000);
      await first.append([record('q1'), record('q2')]);
      assert.deepEqual(lines(file), ['q1', 'q2'], 'readable before any sync or close');
      await first.append([]);
      await first.close();
      const second = await SamplesFile.create(file);
      await second.append([record('q3')]);
      await second.close();
      assert.deepEqual(lines(file), ['q1', 'q2', 'q3']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends of changing sizes, in turn and at once, write exactly their lines (one buffer is reused)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ragtax-samples-'));
    const file = path.join(dir, 'samples.jsonl');
    const batch = (name: string, n: number, width: number) => Array.from({ length: n }, (_, i) => record(`${name}-${i}-${'x'.repeat(width)}`));
    try {
      const samples = await SamplesFile.create(file, 60_000);
      const batches = [batch('a', 50, 200), batch('b', 3, 10), batch('c', 400, 500), batch('d', 1, 0), batch('e', 20, 3000)];
      for (const b of batches.slice(0, 4)) await samples.append(b);
      // Two appends in flight at once: the second must not write from the buffer the first is writing.
      const more = [batch('f', 300, 400), batch('g', 200, 50), batch('h', 5, 5)];
      await Promise.all(more.map((b) => samples.append(b)));
      await samples.append(batches[4]!);
      await samples.close();
      const text = (records: SampleRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');
      const written = readFileSync(file, 'utf8');
      const inTurn = text(batches.slice(0, 4).flat());
      assert.equal(written.slice(0, inTurn.length), inTurn, 'appends in turn: their lines, in order');
      assert.equal(written.slice(written.length - text(batches[4]!).length), text(batches[4]!));
      // Appends at once may land in either order (the runner never makes them), but every line is whole.
      const middle = written.slice(inTurn.length, written.length - text(batches[4]!).length).split('\n').slice(0, -1).sort();
      assert.deepEqual(middle, more.flat().map((r) => JSON.stringify(r)).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('syncs at most once per interval, and on close', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ragtax-samples-'));
    try {
      const throttled = await SamplesFile.create(path.join(dir, 'a.jsonl'), 60_000);
      await throttled.append([record('q1')]);
      assert.equal(throttled.pendingSync, true, 'inside the interval: written, not yet synced');
      await throttled.close();
      assert.equal(throttled.pendingSync, false);

      const every = await SamplesFile.create(path.join(dir, 'b.jsonl'), 0);
      await every.append([record('q1')]);
      assert.equal(every.pendingSync, false, 'an interval of 0 syncs every batch');
      await every.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
