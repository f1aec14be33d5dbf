// The JSON records of derived results that the cache folder keeps across runs (bootstrap
// intervals, rendered chat prompts): entries by digest, read whole at the start of a run; a missing
// record is simply empty, and one that cannot be read or is not of the expected format is empty
// with the reason (its owner warns, and it is rewritten). Written back only when the run added an
// entry, the entries it used first, then older ones, up to a budget.
import { readFileSync } from 'node:fs';
import { messageOf } from '../errors.js';
import { writeAtomically } from './atomic-write.js';

export interface LastingRecordShape<V> {
  /** The record's `format` field. */
  format: string;
  /** The field holding the entries. */
  entriesKey: string;
  /** Fields besides `format` and the entries that the record must carry to be read (e.g. the implementation it was made by), and that a save writes. */
  identity?: Record<string, unknown>;
  /** An entry's value as stored, or undefined when it is not one (skipped). */
  parse(value: unknown): V | undefined;
  /** What an entry costs of `budget` (1 each: a count). */
  cost?(value: V): number;
  /** The most a saved record holds, in `cost` units. */
  budget: number;
}

export class LastingRecord<V> {
  /** Used or added by this process, in first-use order. */
  private readonly used = new Map<string, V>();
  private added = 0;
  private readonly stored = new Map<string, V>();
  /** Why the record on disk could not be used, if it could not (a missing one is not a reason). */
  readonly unreadable: string | null = null;

  constructor(
    readonly file: string,
    private readonly shape: LastingRecordShape<V>,
  ) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.unreadable = messageOf(error);
      return;
    }
    try {
      const parsed = JSON.parse(text) as Record<string, unknown> | null;
      const entries = parsed?.[shape.entriesKey];
      if (parsed?.format !== shape.format || typeof entries !== 'object' || entries === null) throw new Error(`not a ${shape.format} record`);
      // A record made by another implementation is not ours: start afresh (not an error).
      if (Object.entries(shape.identity ?? {}).some(([key, value]) => parsed[key] !== value)) return;
      for (const [digest, value] of Object.entries(entries)) {
        const entry = shape.parse(value);
        if (entry !== undefined) this.stored.set(digest, entry);
      }
    } catch (error) {
      this.unreadable = messageOf(error);
    }
  }

  get(digest: string): V | undefined {
    const known = this.used.get(digest) ?? this.stored.get(digest);
    if (known !== undefined) this.used.set(digest, known);
    return known;
  }

  set(digest: string, value: V): void {
    this.used.set(digest, value);
    this.added += 1;
  }

  /** Entries this process added (not read back). */
  get made(): number {
    return this.added;
  }

  /** Writes the record when this process added an entry (or the one on disk was unreadable). */
  async save(): Promise<void> {
    if (this.added === 0 && this.unreadable === null) return;
    const { format, entriesKey, identity, cost = () => 1, budget } = this.shape;
    const entries: Record<string, V> = {};
    let spent = 0;
    fill: for (const source of [this.used, this.stored]) {
      for (const [digest, value] of source) {
        if (digest in entries) continue;
        if (spent + cost(value) > budget) break fill;
        entries[digest] = value;
        spent += cost(value);
      }
    }
    await writeAtomically(this.file, `${JSON.stringify({ format, ...identity, [entriesKey]: entries })}\n`);
  }
}
