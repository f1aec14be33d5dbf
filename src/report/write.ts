// Writes summary.json, summary.csv and report.md. Each file is written to a temporary name and
// renamed, so a crash never leaves a file that looks complete but is not.
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunSummary } from '../run/runner.js';
import { renderCsv } from './csv.js';
import { renderMarkdown } from './markdown.js';

async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

export async function writeReports(outDir: string, summary: RunSummary): Promise<void> {
  await writeAtomically(path.join(outDir, 'summary.csv'), renderCsv(summary.cells));
  await writeAtomically(path.join(outDir, 'report.md'), renderMarkdown(summary));
  // summary.json last: its presence marks a finished run.
  await writeAtomically(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}
