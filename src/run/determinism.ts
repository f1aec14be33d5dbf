// `ragtax run --check-determinism N`: greedy decoding on a server is not always deterministic
// (continuous batching changes the batch a request runs in; vLLM #11658). At the end of a run, N
// finished samples per model, drawn with the suite's seed, are generated again by the model itself,
// never through the generation cache, and their text and correctness compared with the record.
// Imports stay low-level (errors, types, seeded draws): rundir/types.ts takes its record types here.
import { RuntimeFailure } from '../errors.js';
import type { GenerationRequest, GenerationResult, LoadedModel, SampleRecord } from '../types.js';
import { itemRng, seededDraw } from '../util/seeded.js';

/** Flips listed per model (the counts cover every one). */
export const MAX_LISTED_FLIPS = 20;

/** One re-generated sample whose text differs from the recorded one. */
export interface DeterminismFlip {
  itemId: string;
  /** Its cell, e.g. `instruct chat · nores · k=2 · shots=0`. */
  cell: string;
  /** The recorded response, and the new one. */
  before: string;
  after: string;
  /** The new response scores differently (correct ↔ wrong). */
  correctChanged: boolean;
}

/** summary.json `determinism[model]`. */
export interface ModelDeterminism {
  /** Samples generated again. */
  checked: number;
  /** Those whose text differs from the record. */
  flippedText: number;
  /** Those whose correctness differs from the record. */
  flippedCorrect: number;
  /** flippedText / checked (0 when nothing was checked). */
  rate: number;
  /** The first MAX_LISTED_FLIPS flips, in draw order. */
  flips: DeterminismFlip[];
}

const nothingChecked = (): ModelDeterminism => ({ checked: 0, flippedText: 0, flippedCorrect: 0, rate: 0, flips: [] });

/** How one recorded sample is made again: the request it came from and how a new response scores. */
export interface Replay {
  request: GenerationRequest;
  /** Whether `result` would be scored correct for this sample (same answers, rule and context). */
  correct(result: GenerationResult): boolean;
}

/** A model the check runs on. */
export interface DeterminismTarget {
  name: string;
  /** Requests per generator call, as in the run. */
  batchSize: number;
  /**
   * Opens the model (the check loads its weights and disposes it) and says how each of its
   * recorded samples is replayed (undefined: not one of this run's planned samples).
   */
  open(): Promise<{ model: LoadedModel; replayOf(record: SampleRecord): Replay | undefined }>;
}

/**
 * The samples of `model` to check: N of its finished, non-excluded records, drawn with the suite's
 * seed from the records in (item, cell) order, so that a re-run (or a resumed run) draws the same ones.
 */
export function pickSamples(records: readonly SampleRecord[], model: string, n: number, seed: number): SampleRecord[] {
  const pool = records
    .filter((r) => r.model === model && r.excluded === undefined)
    .map((r) => [orderKey(r), r] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => r);
  return seededDraw(pool, n, itemRng(seed, model, 'check-determinism'));
}

/** A record's item and cell as one string: the draw's pool order, independent of generation order. */
function orderKey(r: SampleRecord): string {
  return JSON.stringify([r.itemId, r.format, r.instruction, r.context, r.k, r.shots, r.cot, r.variant ?? null]);
}

/** `instruct chat · nores · k=2 · shots=0` (as `compare` labels cells), then CoT and the sweep variant. */
export function cellLabelOf(r: SampleRecord): string {
  const parts = [`${r.model} ${r.format}`, r.instruction];
  if (r.context === 'closed-book') parts.push('closed-book');
  else parts.push(r.context === 'retrieved' ? `k=${r.k}` : `${r.context} k=${r.k}`);
  parts.push(`shots=${r.shots}`);
  if (r.cot) parts.push('CoT');
  if (r.variant !== undefined) parts.push(r.variant);
  return parts.join(' · ');
}

/** Generates `picks` again with `model`'s own generator (no cache) and compares them with their records. */
export async function checkModel(
  model: LoadedModel,
  picks: readonly { record: SampleRecord; replay: Replay }[],
  batchSize: number,
): Promise<ModelDeterminism> {
  const result = nothingChecked();
  if (picks.length === 0) return result;
  // Weights load here even when every sample of the run came from the cache.
  await model.load?.();
  const size = Math.max(1, batchSize);
  for (let start = 0; start < picks.length; start += size) {
    const chunk = picks.slice(start, start + size);
    const generated = await model.generator.generate(chunk.map((p) => p.replay.request));
    for (const [i, { record, replay }] of chunk.entries()) {
      const again = generated[i];
      if (!again) throw new RuntimeFailure(`model \`${model.name}\` returned ${generated.length} result(s) for ${chunk.length} request(s) in the determinism check`);
      result.checked += 1;
      if (again.text === record.response) continue;
      const correctChanged = replay.correct(again) !== record.scores.correct;
      result.flippedText += 1;
      if (correctChanged) result.flippedCorrect += 1;
      if (result.flips.length < MAX_LISTED_FLIPS) result.flips.push({ itemId: record.itemId, cell: cellLabelOf(record), before: record.response, after: again.text, correctChanged });
    }
  }
  result.rate = result.checked > 0 ? result.flippedText / result.checked : 0;
  return result;
}

/** One line per model, as the run prints it on stderr. */
export function determinismLine(name: string, d: ModelDeterminism): string {
  const rate = `${(100 * d.rate).toFixed(1)}%`;
  return `${name}: ${d.flippedText}/${d.checked} re-generated samples changed text (${rate}), ${d.flippedCorrect} changed correctness`;
}

/**
 * Runs the check on every target in turn (one model in memory at a time, disposed after), over the
 * run's records; `n` ≤ 0 checks nothing and returns undefined (no summary field).
 */
export async function checkDeterminism(
  targets: readonly DeterminismTarget[],
  records: readonly SampleRecord[],
  { n, seed, log }: { n: number; seed: number; log?: (message: string) => void },
): Promise<Record<string, ModelDeterminism> | undefined> {
  if (!(n > 0)) return undefined;
  const out: Record<string, ModelDeterminism> = {};
  for (const target of targets) {
    const chosen = pickSamples(records, target.name, n, seed);
    // A model with nothing to check (every sample excluded) is not even opened.
    const result = chosen.length === 0 ? nothingChecked() : await checkTarget(target, chosen);
    out[target.name] = result;
    log?.(`determinism: ${determinismLine(target.name, result)}`);
  }
  return out;
}

async function checkTarget(target: DeterminismTarget, chosen: readonly SampleRecord[]): Promise<ModelDeterminism> {
  const { model, replayOf } = await target.open();
  try {
    const picks = chosen.flatMap((record) => {
      const replay = replayOf(record);
      return replay ? [{ record, replay }] : [];
    });
    return await checkModel(model, picks, target.batchSize);
  } finally {
    await model.dispose();
  }
}
