// Bootstrap intervals remembered across runs, in the cache folder (`bootstrap-intervals.json`).
//
// Why: an interval is a pure function of its inputs (per-cluster totals or a 2×2 table, the seed,
// the resample count, the level) and of the bootstrap's implementation, and it is most of what a
// run's statistics cost: on a warm quickstart re-run, ~190 cell intervals and ~60 pair intervals
// took 80–100 ms of 1.1 s. A re-run whose scores are unchanged (a CI gate on an unchanged
// checkpoint), or a suite grown by a grid point or a model, gets the unchanged intervals back.
//
// Each entry is keyed by the sha256 of everything the interval depends on (bootstrap.ts builds
// the key), and the whole record by the implementation's fingerprint (`bootstrapFingerprint`:
// results of the real code on small fixed inputs, and a version number), so that a ragtax whose
// bootstrap gives other numbers never reads another's. Stored as JSON numbers, which read back to
// the same doubles. Only the entries of recent runs are kept (most recent first).
import path from 'node:path';
import type { Interval } from '../types.js';
import { LastingRecord } from '../util/lasting-record.js';
import { sha256Hex } from '../util/hash.js';
import { bootstrapFingerprint, type LastingIntervalMemo } from './bootstrap.js';

const FORMAT = 'ragtax-bootstrap-intervals/1';
export const LASTING_INTERVALS_FILE = 'bootstrap-intervals.json';
/** Entries kept (most recently used first): ~100 bytes each, so the record stays under 1 MB and reads in a few ms. */
const MAX_ENTRIES = 8000;

export class LastingIntervals implements LastingIntervalMemo {
  private constructor(private readonly record: LastingRecord<Interval>) {}

  /** The record in `folder` (none yet, unreadable, or from another implementation: empty). */
  static open(folder: string): LastingIntervals {
    return new LastingIntervals(
      new LastingRecord(path.join(folder, LASTING_INTERVALS_FILE), {
        format: FORMAT,
        entriesKey: 'intervals',
        identity: { implementation: bootstrapFingerprint() },
        parse: (value) => (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number' ? [value[0], value[1]] : undefined),
        budget: MAX_ENTRIES,
      }),
    );
  }

  get file(): string {
    return this.record.file;
  }

  /** Why the record on disk was not read (it is then rewritten), if it was not. */
  get unreadable(): string | null {
    return this.record.unreadable;
  }

  get(key: string): Interval | undefined {
    return this.record.get(sha256Hex(key));
  }

  set(key: string, interval: Interval): void {
    this.record.set(sha256Hex(key), [interval[0], interval[1]]);
  }

  /** Intervals this process made (not read back). */
  get made(): number {
    return this.record.made;
  }

  /** Writes the record when this process made an interval (or the one on disk was unreadable): the ones it used first, then older ones. */
  save(): Promise<void> {
    return this.record.save();
  }
}
