// `ragtax run <suite>`: reads the suite, runs it into a new (or resumed) folder, prints the headline.
import path from 'node:path';
import type { Writable } from 'node:stream';
import { printHeadline } from '../report/headline.js';
import { runSuite } from '../run/runner.js';
import { loadSuite } from '../suite/load.js';

export interface RunCommandOptions {
  suite: string;
  /** Default reports/<suite>-<time>. */
  out?: string;
  limit?: number;
  quiet: boolean;
  resume: boolean;
  cache: boolean;
  /** Re-generate N finished samples per model without the cache and compare (0 or absent: no check). */
  checkDeterminism?: number;
}

function defaultOutDir(suiteName: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return path.join('reports', `${suiteName}-${stamp}`);
}

export async function runRunCommand(options: RunCommandOptions, out: Writable): Promise<void> {
  const suite = await loadSuite(options.suite);
  const outDir = path.resolve(options.out ?? defaultOutDir(suite.name));
  const { summary } = await runSuite({ suite, outDir, limit: options.limit, quiet: options.quiet, resume: options.resume, cache: options.cache, checkDeterminism: options.checkDeterminism });
  printHeadline(summary, outDir, out);
}
