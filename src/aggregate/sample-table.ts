// The samples of a run as the statistics need them: per cell, each sample's item, scores,
// exclusion and cluster, packed in typed columns (about 30 bytes a sample), without the prompts,
// responses and questions that make a samples.jsonl line a kilobyte. `compare`, `summarize` and
// `report` fill one while streaming samples.jsonl, so memory grows with the number of
// samples times 30 bytes rather than with the file. The metric code (METRICS) still sees plain
// SampleScores: a cell's scores are unpacked when that cell is aggregated, one cell at a time.
import type { Cell, SampleScores } from '../types.js';
import { cellKey, cellOf, type CellSample, type ScoredSample } from './cells.js';

/** What aggregation reads of a sample: its item, scores, exclusion and cluster (a SampleRecord is one). */
// ScoredSample and CellSample live in cells.ts (which this file builds on); re-exported for readers of tables.
export type { CellSample, ScoredSample } from './cells.js';

/** Strings numbered in first-seen order (item ids, clusters); two tables may share one. */
export class Interner {
  private readonly numbers = new Map<string, number>();
  readonly strings: string[] = [];

  number(text: string): number {
    let n = this.numbers.get(text);
    if (n === undefined) {
      n = this.strings.length;
      this.numbers.set(text, n);
      this.strings.push(text);
    }
    return n;
  }

  get size(): number {
    return this.strings.length;
  }
}

// ---- Packed scores ---------------------------------------------------------------------------------
//
// One Uint16 per sample: the four required booleans, four optional booleans in two bits each
// (absent / false / true), whether `proof` is absent, null or a string (the string is kept beside,
// only for the samples that have one), the exclusion, and whether a later record replaced it.

const CORRECT = 1 << 0;
const EXACT_MATCH = 1 << 1;
const REFUSAL = 1 << 2;
const ANSWER_IN_CONTEXT = 1 << 3;
const COT_SHIFT = 4;
const REASONING_SHIFT = 6;
const PROOF_COHERENT_SHIFT = 8;
const PROOF_SHIFT = 10; // 0 absent, 1 null, 2 a string
const EXCLUDED = 1 << 12;
const REPLACED = 1 << 13;
const FOLLOWS_CONTEXT_SHIFT = 14; // absent (no conflict) / false / true: the last two bits

/** Every SampleScores field is packed: adding one to SampleScores fails here until it is. */
type PackedFields = 'correct' | 'exactMatch' | 'f1' | 'refusal' | 'answerInContext' | 'cotAnswerFound' | 'reasoningClosed' | 'proof' | 'proofCoherent' | 'followsContext';
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type _EveryScoreFieldPacked = Same<keyof SampleScores, PackedFields> extends true ? true : never;
const everyScoreFieldPacked: _EveryScoreFieldPacked = true;
void everyScoreFieldPacked;

function optionalBits(value: boolean | undefined, shift: number): number {
  return (value === undefined ? 0 : value ? 2 : 1) << shift;
}

function optionalBoolean(flags: number, shift: number): boolean | undefined {
  const v = (flags >> shift) & 3;
  return v === 0 ? undefined : v === 2;
}

function packScores(s: SampleScores): number {
  return (
    (s.correct ? CORRECT : 0) |
    (s.exactMatch ? EXACT_MATCH : 0) |
    (s.refusal ? REFUSAL : 0) |
    (s.answerInContext ? ANSWER_IN_CONTEXT : 0) |
    optionalBits(s.cotAnswerFound, COT_SHIFT) |
    optionalBits(s.reasoningClosed, REASONING_SHIFT) |
    optionalBits(s.proofCoherent, PROOF_COHERENT_SHIFT) |
    optionalBits(s.followsContext, FOLLOWS_CONTEXT_SHIFT) |
    ((s.proof === undefined ? 0 : s.proof === null ? 1 : 2) << PROOF_SHIFT)
  );
}

const INITIAL_ROWS = 256;

function grown<T extends Int32Array | Uint16Array | Float64Array>(array: T, rows: number): T {
  const bigger = new (array.constructor as new (length: number) => T)(Math.max(rows, array.length * 2));
  bigger.set(array);
  return bigger;
}

/** One cell's samples in columns, in file order; a replaced record stays as a row marked REPLACED. */
export class CellSamples {
  readonly cell: Cell;
  readonly key: string;
  /** Rows, including replaced ones. */
  rows = 0;
  /** Rows not replaced by a later record of the same item. */
  live = 0;
  private items = new Int32Array(INITIAL_ROWS);
  private flags = new Uint16Array(INITIAL_ROWS);
  private f1 = new Float64Array(INITIAL_ROWS);
  /** Cluster number + 1 (0: none); allocated at the first sample with a cluster. */
  private clusters: Int32Array | null = null;
  /** Proof texts by row, for the samples whose `proof` is a string. */
  private proofs: Map<number, string> | null = null;
  /** Row of each item's current record. */
  private readonly rowOfItem = new Map<number, number>();

  constructor(cell: Cell, key: string) {
    this.cell = cellOf(cell);
    this.key = key;
  }

  /** Adds a sample; returns true when it replaced an earlier record of the same item. */
  add(item: number, scores: SampleScores, excluded: boolean, cluster: number | null): boolean {
    const row = this.rows;
    if (row === this.items.length) {
      this.items = grown(this.items, row + 1);
      this.flags = grown(this.flags, row + 1);
      this.f1 = grown(this.f1, row + 1);
      if (this.clusters) this.clusters = grown(this.clusters, row + 1);
    }
    this.items[row] = item;
    this.flags[row] = packScores(scores) | (excluded ? EXCLUDED : 0);
    this.f1[row] = scores.f1;
    if (cluster !== null) {
      this.clusters ??= new Int32Array(this.items.length);
      this.clusters[row] = cluster + 1;
    }
    if (typeof scores.proof === 'string') (this.proofs ??= new Map()).set(row, scores.proof);
    this.rows += 1;
    const earlier = this.rowOfItem.get(item);
    this.rowOfItem.set(item, row);
    if (earlier === undefined) {
      this.live += 1;
      return false;
    }
    this.flags[earlier]! |= REPLACED;
    this.proofs?.delete(earlier);
    return true;
  }

  /** Whether the cell holds a (current) sample of this item. */
  has(item: number): boolean {
    return this.rowOfItem.has(item);
  }

  /** Marks the current sample of `item` excluded (an overflow elsewhere at its grid point). */
  exclude(item: number): void {
    const row = this.rowOfItem.get(item);
    if (row !== undefined) this.flags[row]! |= EXCLUDED;
  }

  /** Item numbers of the current samples that are excluded. */
  *excludedItems(): Generator<number> {
    for (let row = 0; row < this.rows; row++) {
      const flags = this.flags[row]!;
      if ((flags & (EXCLUDED | REPLACED)) === EXCLUDED) yield this.items[row]!;
    }
  }

  /** The current samples as plain objects, in file order (one cell at a time: they are not kept). */
  samples(items: Interner, clusters: Interner): ScoredSample[] {
    const out: ScoredSample[] = [];
    for (let row = 0; row < this.rows; row++) {
      const flags = this.flags[row]!;
      if (flags & REPLACED) continue;
      const scores: SampleScores = {
        correct: (flags & CORRECT) !== 0,
        exactMatch: (flags & EXACT_MATCH) !== 0,
        f1: this.f1[row]!,
        refusal: (flags & REFUSAL) !== 0,
        answerInContext: (flags & ANSWER_IN_CONTEXT) !== 0,
      };
      const followsContext = optionalBoolean(flags, FOLLOWS_CONTEXT_SHIFT);
      if (followsContext !== undefined) scores.followsContext = followsContext;
      const cot = optionalBoolean(flags, COT_SHIFT);
      if (cot !== undefined) scores.cotAnswerFound = cot;
      const reasoning = optionalBoolean(flags, REASONING_SHIFT);
      if (reasoning !== undefined) scores.reasoningClosed = reasoning;
      const proof = (flags >> PROOF_SHIFT) & 3;
      if (proof !== 0) scores.proof = proof === 1 ? null : this.proofs!.get(row)!;
      const coherent = optionalBoolean(flags, PROOF_COHERENT_SHIFT);
      if (coherent !== undefined) scores.proofCoherent = coherent;
      const sample: ScoredSample = { itemId: items.strings[this.items[row]!]!, scores };
      if (flags & EXCLUDED) sample.excluded = 'context-overflow';
      const cluster = this.clusters?.[row] ?? 0;
      if (cluster > 0) sample.cluster = clusters.strings[cluster - 1]!;
      out.push(sample);
    }
    return out;
  }

  /** The current samples by item id (see `samples`). */
  byItem(items: Interner, clusters: Interner): Map<string, ScoredSample> {
    return new Map(this.samples(items, clusters).map((s) => [s.itemId, s]));
  }
}

/**
 * A run's samples by cell, in first-seen order of cells. A repeated (item, cell) keeps the later
 * record and is counted in `duplicates`, never silently.
 */
export class SampleTable {
  readonly cells = new Map<string, CellSamples>();
  readonly clusters = new Interner();
  duplicates = 0;
  private lastCell: CellSamples | null = null;

  /** `items` may be shared with another table (compare pairs two runs' items by number). */
  constructor(readonly items: Interner = new Interner()) {}

  static of(samples: Iterable<CellSample>, items?: Interner): SampleTable {
    const table = new SampleTable(items);
    for (const s of samples) table.add(s);
    return table;
  }

  add(sample: CellSample): void {
    const cell = this.cellOf(sample);
    const cluster = sample.cluster === undefined ? null : this.clusters.number(sample.cluster);
    if (cell.add(this.items.number(sample.itemId), sample.scores, sample.excluded !== undefined, cluster)) this.duplicates += 1;
  }

  /** Current samples over all cells. */
  get size(): number {
    let n = 0;
    for (const cell of this.cells.values()) n += cell.live;
    return n;
  }

  cell(cell: Cell): CellSamples | undefined {
    return this.cells.get(cellKey(cell));
  }

  private cellOf(sample: CellSample): CellSamples {
    // Consecutive records mostly share their cell (the runner writes a cell's samples together):
    // comparing the coordinates is cheaper than making the key.
    const last = this.lastCell;
    if (last && sameCell(last.cell, sample)) return last;
    const key = cellKey(sample);
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = new CellSamples(sample, key)));
    this.lastCell = cell;
    return cell;
  }
}

/** Whether two cells have the same coordinates (cellKey's fields). */
export function sameCell(a: Cell, b: Cell): boolean {
  return (
    a.model === b.model &&
    a.format === b.format &&
    a.instruction === b.instruction &&
    a.context === b.context &&
    a.k === b.k &&
    a.shots === b.shots &&
    a.cot === b.cot &&
    (a.variant ?? null) === (b.variant ?? null)
  );
}
