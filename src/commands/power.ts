// `ragtax power <run-dir> --effect POINTS [--power 0.8] [--alpha A] [--json]`: how many items a
// follow-up run needs to detect a tax of the given size, per paired comparison of a finished run,
// from that comparison's own discordance rate (the share of items only one model got right), and
// the smallest tax the run itself could detect.
import path from 'node:path';
import { DEFAULT_ALPHA } from '../aggregate/pairs.js';
import { InputError } from '../errors.js';
import { readRunSummary } from '../rundir/read.js';
import { DEFAULT_POWER, mcnemarMinimumDetectableEffect, mcnemarSampleSize } from '../stats/power.js';
import type { PairRecord } from '../types.js';

export interface PowerCommandOptions {
  dir: string;
  /** The tax to detect, in percentage points. */
  effect: number;
  power?: number;
  alpha?: number;
  json?: boolean;
}

export interface PowerRow {
  comparison: string;
  n: number;
  /** Share of items only one side got right (ψ). */
  discordance: number;
  observedTax: number;
  /** Items needed for `effect` at `power` (null: not reachable with this discordance). */
  itemsNeeded: number | null;
  /** The smallest tax detectable with the run's own n, percentage points. */
  minimumDetectableTax: number | null;
}

function label(p: PairRecord): string {
  const where = p.context === 'retrieved' ? `k=${p.k}` : `${p.context} k=${p.k}`;
  return `${p.base}${p.baseFormat ? ` (${p.baseFormat})` : ''} vs ${p.instruct} ${p.format} · ${p.instruction} · ${where} · shots=${p.shots}${p.cot ? ' · CoT' : ''}${p.variant !== undefined ? ` · ${p.variant}` : ''}`;
}

export async function runPowerCommand(options: PowerCommandOptions, out: NodeJS.WritableStream): Promise<PowerRow[]> {
  if (!(options.effect > 0 && options.effect <= 100)) throw new InputError(`--effect must be a tax in percentage points, above 0 and at most 100, got ${options.effect}`);
  const power = options.power ?? DEFAULT_POWER;
  if (!(power > 0 && power < 1)) throw new InputError(`--power must be between 0 and 1 (e.g. 0.8), got ${power}`);
  const dir = path.resolve(options.dir);
  const summary = await readRunSummary(dir);
  const alpha = options.alpha ?? summary.statistics?.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw new InputError(`--alpha must be between 0 and 1, got ${alpha}`);
  if (summary.pairs.length === 0) throw new InputError(`${dir}: the run has no paired comparisons (the suite names no \`pairs\`)`);
  const effect = options.effect / 100;
  const rows = summary.pairs.map((p): PowerRow => {
    const discordance = p.n > 0 ? (p.table.baseOnly + p.table.instructOnly) / p.n : 0;
    const mde = mcnemarMinimumDetectableEffect(p.n, discordance, alpha, power);
    return {
      comparison: label(p),
      n: p.n,
      discordance,
      observedTax: p.tax * 100,
      itemsNeeded: mcnemarSampleSize(effect, discordance, alpha, power),
      minimumDetectableTax: mde === null ? null : mde * 100,
    };
  });
  if (options.json) {
    out.write(`${JSON.stringify({ run: dir, effect: options.effect, power, alpha, rows }, null, 2)}\n`);
    return rows;
  }
  out.write(
    `ragtax power: ${summary.suite}, a tax of ${options.effect} points at ${Math.round(power * 100)}% power, alpha ${alpha} (two-sided exact McNemar; ` +
      'normal approximation from each comparison\'s own discordance rate; items, not clusters)\n',
  );
  const header = ['comparison', 'n', 'discordant', 'tax now', 'MDE now', `items for ${options.effect} pts`];
  const body = rows.map((r) => [
    r.comparison,
    String(r.n),
    `${(r.discordance * 100).toFixed(1)}%`,
    r.observedTax.toFixed(1),
    r.minimumDetectableTax === null ? '–' : r.minimumDetectableTax.toFixed(1),
    r.itemsNeeded === null ? 'not reachable' : r.itemsNeeded.toLocaleString('en-US'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.write([line(header), ...body.map(line)].join('\n') + '\n');
  if (rows.some((r) => r.itemsNeeded === null)) {
    out.write('not reachable: the effect is larger than the share of discordant items, or no item is discordant.\n');
  }
  return rows;
}
