// `ragtax report <run-dir> --html`: (re)writes report.html for a finished run.
import path from 'node:path';
import { InputError } from '../errors.js';
import { readRunSummary } from '../rundir/read.js';
import { writeHtmlReport } from '../report/write.js';
import { checkFileTarget } from '../util/atomic-write.js';

export interface ReportCommandOptions {
  dir: string;
  html: boolean;
  out?: string;
}

export async function runReportCommand(options: ReportCommandOptions, out: NodeJS.WritableStream): Promise<void> {
  if (!options.html) throw new InputError('nothing to write: --html is the only report format (report.md and summary.csv are written by `ragtax run`)');
  const dir = path.resolve(options.dir);
  const summary = await readRunSummary(dir);
  const file = path.resolve(options.out ?? path.join(dir, 'report.html'));
  // Before the report is built: a folder, or a file in a missing folder, is named at once.
  await checkFileTarget(file);
  await writeHtmlReport(dir, summary, file);
  out.write(`ragtax: wrote ${file}\n`);
}
