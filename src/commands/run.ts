// `ragtax run <suite>`: reads the suite, runs it into a new (or resumed) folder, prints the headline.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { printHeadline } from '../report/headline.js';
import { onInterrupt, shellWord } from '../run/interrupt.js';
import { runSuite } from '../run/runner.js';
import { SamplesFile } from '../rundir/samples-file.js';
import { SAMPLES_FILE } from '../rundir/types.js';
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

/** Complete lines of `file` (0 when it does not exist), counted without reading it whole. */
async function countLines(file: string): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) n++;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return n;
}

export async function runRunCommand(options: RunCommandOptions, out: Writable): Promise<void> {
  // Ctrl-C, SIGTERM, SIGHUP: close samples.jsonl cleanly, say what was kept and how to go on.
  let target: { given: string; outDir: string } | null = null;
  const release = onInterrupt(async () => {
    if (!target) return 'interrupted: the run had not started; nothing was written';
    await SamplesFile.closeAllForInterrupt();
    const kept = await countLines(path.join(target.outDir, SAMPLES_FILE));
    return `interrupted: ${kept} samples kept; resume with ragtax run ${shellWord(options.suite)} --out ${shellWord(target.given)} --resume`;
  });
  try {
    const suite = await loadSuite(options.suite);
    const given = options.out ?? defaultOutDir(suite.name);
    const outDir = path.resolve(given);
    target = { given, outDir };
    const { summary } = await runSuite({ suite, outDir, limit: options.limit, quiet: options.quiet, resume: options.resume, cache: options.cache, checkDeterminism: options.checkDeterminism });
    printHeadline(summary, outDir, out);
  } finally {
    release();
  }
}
