// The few lines `ragtax run` prints when it finishes: where the outputs are and the alignment tax.
import path from 'node:path';
import type { RunSummary } from '../rundir/types.js';
import { pct, pctInterval, pValue, signedPct } from './format.js';

export function printHeadline(summary: RunSummary, outDir: string, out: NodeJS.WritableStream): void {
  const relative = path.relative(process.cwd(), outDir);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? outDir : relative || '.';
  const lines = [`ragtax: ${summary.suite}: ${summary.items} items, ${summary.cells.length} cells in ${summary.timing.totalSeconds.toFixed(1)} s`];
  if (summary.pairs.length > 0) {
    lines.push('', 'alignment tax (base − instruct accuracy, percentage points, 95% paired-bootstrap CI, McNemar p):');
    for (const p of summary.pairs) {
      const where = `${p.instruction} k=${p.k} shots=${p.shots}${p.cot ? ' cot' : ''} ${p.format}${p.variant !== undefined ? ` ${p.variant}` : ''}`;
      if (p.n === 0) {
        lines.push(`  ${p.base} vs ${p.instruct} [${where}]: no item was scored on both sides (see report.md, excluded samples)`);
        continue;
      }
      lines.push(
        `  ${p.base} vs ${p.instruct} [${where}]: ${pct(p.baseAccuracy)} vs ${pct(p.instructAccuracy)} → tax ${signedPct(p.tax)} ${pctInterval(p.taxCi95)} p=${pValue(p.mcnemarP)} (n=${p.n})`,
      );
    }
  }
  lines.push('', `outputs: ${path.join(shown, 'report.md')}, summary.json, summary.csv, samples.jsonl`);
  out.write(lines.join('\n') + '\n');
}
