// The few lines `ragtax run` prints when it finishes: where the outputs are and the alignment tax.
import path from 'node:path';
import type { RunSummary } from '../rundir/types.js';
import { pct, pctInterval, pValue, signedPct } from './format.js';

export function printHeadline(summary: RunSummary, outDir: string, out: NodeJS.WritableStream): void {
  const relative = path.relative(process.cwd(), outDir);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? outDir : relative || '.';
  const lines = [`ragtax: ${summary.suite}: ${summary.items} items, ${summary.cells.length} cells in ${summary.timing.totalSeconds.toFixed(1)} s`];
  if (summary.pairs.length > 0) {
    const s = summary.statistics;
    const adjust = s && s.pAdjust !== 'none' ? `, p_adj by ${s.pAdjust === 'holm' ? 'Holm' : 'Benjamini–Hochberg'} over ${s.comparisons}` : '';
    const clusters = s?.clusterBy !== undefined ? `, clustered by ${s.clusterBy}` : '';
    lines.push('', `alignment tax (base − instruct accuracy, percentage points, 95% paired-bootstrap CI${clusters}, McNemar p${adjust}):`);
    for (const p of summary.pairs) {
      const where = `${p.instruction} k=${p.k} shots=${p.shots}${p.cot ? ' cot' : ''} ${p.format}${p.variant !== undefined ? ` ${p.variant}` : ''}`;
      if (p.n === 0) {
        lines.push(`  ${p.base} vs ${p.instruct} [${where}]: no item was scored on both sides (see report.md, excluded samples)`);
        continue;
      }
      const adjusted = p.mcnemarPAdjusted !== undefined && summary.statistics?.pAdjust !== 'none' ? ` p_adj=${pValue(p.mcnemarPAdjusted)}` : '';
      lines.push(
        `  ${p.base} vs ${p.instruct} [${where}]: ${pct(p.baseAccuracy)} vs ${pct(p.instructAccuracy)} → tax ${signedPct(p.tax)} ${pctInterval(p.taxCi95)} p=${pValue(p.mcnemarP)}${adjusted} (n=${p.n})`,
      );
    }
  }
  if (summary.determinism) lines.push('', `determinism (re-generated without the cache): ${Object.entries(summary.determinism).map(([m, d]) => `${m} ${d.flippedText}/${d.checked} changed text, ${d.flippedCorrect} correctness`).join('; ')}`);
  lines.push('', `outputs: ${path.join(shown, 'report.md')}, summary.json, summary.csv, samples.jsonl`);
  out.write(lines.join('\n') + '\n');
}
