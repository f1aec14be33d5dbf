// `ragtax compare <baseline-run> <candidate-run>`: the regression gate. Returns the exit code:
// 0 no regression, 1 at least one; bad input throws InputError (exit 2).
import { makeDirectory, writeAtomically } from '../util/atomic-write.js';
import path from 'node:path';
import { InputError } from '../errors.js';
import { Interner } from '../aggregate/sample-table.js';
import { loadRun, type LoadedRun } from '../rundir/read.js';
import { P_ADJUST_METHODS, type PAdjust } from '../stats/adjust.js';
import { BOOTSTRAP_SAMPLES_MAX, BOOTSTRAP_SAMPLES_MIN, compareSamples, DEFAULT_COMPARE_OPTIONS, type ComparisonResult } from '../compare/compare.js';
import { renderJunit } from '../compare/junit.js';
import { renderCompareMarkdown, renderCompareText, type CompareContext } from '../compare/summary-text.js';

export interface CompareCommandOptions {
  baseline: string;
  candidate: string;
  maxDrop?: number;
  alpha?: number;
  gateRefusal?: boolean;
  /** Compare runs whose suite configuration hashes differ (same suite name). */
  allowConfigChange?: boolean;
  seed?: number;
  bootstrapSamples?: number;
  /** Multiple-comparison adjustment across the gated comparisons: holm (default), bh or none. */
  adjust?: string;
  junit?: string;
  md?: string;
}

/** Refuses to compare runs of different suites; returns notes for differences that are allowed. */
export function checkComparable(baseline: LoadedRun, candidate: LoadedRun, allowConfigChange: boolean): string[] {
  const notes: string[] = [];
  const a = baseline.summary;
  const b = candidate.summary;
  if (a.suite !== b.suite) {
    throw new InputError(`${candidate.dir}: runs come from different suites (baseline \`${a.suite}\`, candidate \`${b.suite}\`); compare runs of the same suite`);
  }
  const ha = a.manifest.suite.configSha256;
  const hb = b.manifest.suite.configSha256;
  if (ha !== hb) {
    const message = `the suite configuration differs (config sha256 ${ha.slice(0, 12)} vs ${hb.slice(0, 12)})`;
    if (!allowConfigChange) {
      throw new InputError(`${candidate.dir}: ${message}; the runs are not comparable (pass --allow-config-change if the change is intended, e.g. a new model path)`);
    }
    notes.push(`${message}; compared anyway (--allow-config-change)`);
  }
  for (const run of [baseline, candidate]) {
    if (run.duplicates > 0) notes.push(`${run.dir}: ${run.duplicates} repeated (item, cell) record(s) in samples.jsonl; the last of each was used`);
  }
  return notes;
}

export async function runCompareCommand(options: CompareCommandOptions, out: NodeJS.WritableStream): Promise<{ exitCode: 0 | 1; result: ComparisonResult }> {
  const maxDrop = options.maxDrop ?? DEFAULT_COMPARE_OPTIONS.maxDrop;
  const alpha = options.alpha ?? DEFAULT_COMPARE_OPTIONS.alpha;
  if (!(Number.isFinite(maxDrop) && maxDrop >= 0 && maxDrop <= 100)) throw new InputError(`--max-drop must be a number of percentage points in [0, 100], got ${maxDrop}`);
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha <= 1)) throw new InputError(`--alpha must be in (0, 1], got ${alpha}`);
  const bootstrapSamples = options.bootstrapSamples ?? DEFAULT_COMPARE_OPTIONS.bootstrapSamples;
  if (!(Number.isInteger(bootstrapSamples) && bootstrapSamples >= BOOTSTRAP_SAMPLES_MIN && bootstrapSamples <= BOOTSTRAP_SAMPLES_MAX)) {
    throw new InputError(`--bootstrap must be a whole number of resamples from ${BOOTSTRAP_SAMPLES_MIN} to ${BOOTSTRAP_SAMPLES_MAX}, got ${bootstrapSamples}`);
  }
  const adjust = options.adjust ?? DEFAULT_COMPARE_OPTIONS.adjust;
  if (!(P_ADJUST_METHODS as readonly string[]).includes(adjust)) {
    throw new InputError(`--adjust must be one of ${P_ADJUST_METHODS.join(', ')}, got \`${adjust}\``);
  }
  // The two runs' item ids are held once.
  const items = new Interner();
  const baseline = await loadRun(path.resolve(options.baseline), items);
  const candidate = await loadRun(path.resolve(options.candidate), items);
  const notes = checkComparable(baseline, candidate, options.allowConfigChange ?? false);
  const result = compareSamples(baseline.samples, candidate.samples, {
    maxDrop,
    alpha,
    gateRefusal: options.gateRefusal ?? false,
    seed: options.seed ?? baseline.summary.manifest.seeds?.bootstrap ?? DEFAULT_COMPARE_OPTIONS.seed,
    bootstrapSamples,
    adjust: adjust as PAdjust,
  });
  if (result.pairedSamples === 0) {
    throw new InputError(
      `${candidate.dir}: no (item, cell) is scored in both runs (${result.cells.length} shared cells, ${result.onlyBaselineCells.length} only in baseline, ${result.onlyCandidateCells.length} only in candidate); nothing to compare`,
    );
  }
  const ctx: CompareContext = { suite: baseline.summary.suite, baselineDir: options.baseline, candidateDir: options.candidate, notes };
  if (options.junit) await writeOutput(options.junit, renderJunit(result, ctx.suite));
  if (options.md) await writeOutput(options.md, renderCompareMarkdown(result, ctx));
  out.write(renderCompareText(result, ctx));
  return { exitCode: result.regressions.length > 0 ? 1 : 0, result };
}

async function writeOutput(file: string, content: string): Promise<void> {
  // One level at a time (Node's recursive mkdir spins under /proc), then an atomic write whose
  // failures name the file: a bad place is exit 2, a full disk exit 3.
  makeDirectory(path.dirname(path.resolve(file)));
  await writeAtomically(file, content);
}
