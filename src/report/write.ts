// Writes summary.json, summary.csv, pairs.csv, report.md and report.html. Each file is written to a temporary name and
// renamed, so a crash never leaves a file that looks complete but is not; a failed write (a full
// disk) removes its temporary file and names the file (util/atomic-write.ts).
import path from 'node:path';
import { forEachRunSample } from '../rundir/read.js';
import { SUMMARY_FILE, type RunSummary } from '../rundir/types.js';
import { removeAtomicLeftovers, writeAtomically } from '../util/atomic-write.js';
import { renderCsv, renderPairsCsv } from './csv.js';
import { buildHtmlReportParts, EmbeddableSamples, HTML_SAMPLE_CAP, HTML_TEXT_BUDGET } from './html.js';
import { renderMarkdown } from './markdown.js';

/** `samples`: report.html's samples, when the caller kept them (a run does); else read back from samples.jsonl. */
export async function writeReports(outDir: string, summary: RunSummary, samples?: EmbeddableSamples): Promise<void> {
  // Written together: each file's disk writes overlap the rendering of the next. Every write is
  // waited for; the first failure is raised.
  const written = await Promise.allSettled([
    writeAtomically(path.join(outDir, 'summary.csv'), renderCsv(summary.cells)),
    writeAtomically(path.join(outDir, 'pairs.csv'), renderPairsCsv(summary.pairs)),
    writeAtomically(path.join(outDir, 'report.md'), renderMarkdown(summary)),
    writeHtmlReport(outDir, summary, undefined, samples),
  ]);
  const failed = written.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failed) throw failed.reason;
  // summary.json last: its presence marks a finished run.
  await writeAtomically(path.join(outDir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  // A finished run holds no temporary file of an earlier, killed write (e.g. summary.csv.tmp-<pid>).
  await removeAtomicLeftovers(outDir);
}

/**
 * Writes `<outDir>/report.html` (or `file`) from a summary and the run's samples: `given`, or
 * samples.jsonl (closed by now, the one record of them) streamed, holding in full only the
 * samples the page embeds.
 */
export async function writeHtmlReport(outDir: string, summary: RunSummary, file = path.join(outDir, 'report.html'), given?: EmbeddableSamples): Promise<void> {
  let samples = given;
  if (!samples) {
    const read = new EmbeddableSamples(HTML_SAMPLE_CAP, HTML_TEXT_BUDGET);
    await forEachRunSample(outDir, (sample) => read.add(sample));
    samples = read;
  }
  await writeAtomically(file, await buildHtmlReportParts(summary, samples));
}
