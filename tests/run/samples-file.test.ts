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
