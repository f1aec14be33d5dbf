// `ragtax run <suite>`: reads the suite, runs it into a new (or resumed) folder, prints the headline.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { printHeadline } from '../report/headline.js';
import { onInterrupt, shellWord } from '../run/interrupt.js';
import { InputError } from '../errors.js';
import { prepareData, runSuite } from '../run/runner.js';
import { SamplesFile } from '../rundir/samples-file.js';
import { SAMPLES_FILE } from '../rundir/types.js';
import { pointLabel } from '../suite/grid.js';
import { loadSuite, type Suite } from '../suite/load.js';

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
  /** `key.path=value` overrides of suite fields (`--set`, `--seed`), applied before validation. */
  set?: string[];
  /** Run only these models (`--models`); pairs with a dropped model are dropped. */
  models?: string[];
  /** Keep only the grid points whose label contains this text (`--cells`). */
  cells?: string;
}

/** Above this many samples to generate, `ragtax run` warns (it does not ask). */
export const LARGE_RUN_SAMPLES = 50_000;

/**
 * `--models`: the parsed suite file narrowed to these models before validation (so the config
 * hash, and with it --resume, covers the choice); pairs naming a dropped model are dropped, and
 * lineages lose its stage, noted.
 */
export function keepModels(names: string[], note: (message: string) => void): (data: Record<string, unknown>) => void {
  return (data) => {
    const models = data.models;
    if (typeof models !== 'object' || models === null || Array.isArray(models)) return; // validation reports it
    const existing = Object.keys(models);
    const unknown = names.filter((n) => !existing.includes(n));
    if (unknown.length > 0) throw new InputError(`--models: no model named ${unknown.map((n) => `\`${n}\``).join(', ')}; models: ${existing.join(', ')}`);
    for (const name of existing) if (!names.includes(name)) delete (models as Record<string, unknown>)[name];
    if (Array.isArray(data.pairs)) {
      data.pairs = data.pairs.filter((pair: unknown) => {
        const { base, instruct } = (pair ?? {}) as { base?: unknown; instruct?: unknown };
        const kept = names.includes(String(base)) && names.includes(String(instruct));
        if (!kept) note(`--models drops the pair ${String(base)} / ${String(instruct)} (both of its models are needed)`);
        return kept;
      });
    }
    // A lineage keeps its remaining stages in order (base → DPO without the SFT model); with fewer
    // than two left it is dropped.
    if (Array.isArray(data.lineages)) {
      data.lineages = data.lineages.flatMap((lineage: unknown) => {
        const { name, stages } = (lineage ?? {}) as { name?: unknown; stages?: unknown };
        if (!Array.isArray(stages)) return [lineage]; // validation reports it
        const left = stages.filter((s: unknown) => names.includes(String(s)));
        if (left.length === stages.length) return [lineage];
        if (left.length < 2) {
          note(`--models drops the lineage ${String(name)} (fewer than two of its stages are run)`);
          return [];
        }
        note(`--models shortens the lineage ${String(name)} to ${left.map(String).join(' → ')}`);
        return [{ ...(lineage as object), stages: left }];
      });
    }
  };
}

/**
 * `--cells`: only the grid points whose label contains `filter`. The filter is recorded in the
 * config (`cells_filter`), so that the run's config hash and a --resume check cover it.
 */
export function keepCells(suite: Suite, filter: string): Suite {
  const points = suite.points.filter((p) => pointLabel(p).includes(filter));
  if (points.length === 0) {
    throw new InputError(`--cells ${JSON.stringify(filter)} matches no grid point; grid points:\n  ${suite.points.map(pointLabel).join('\n  ')}`);
  }
  return { ...suite, points, config: { ...suite.config, cells_filter: filter } as Suite['config'] };
}

/** Samples the run will generate: models × formats × points × items, minus those a resumed run kept. */
export function plannedSamples(suite: Suite, items: number, resumed: number): number {
  const total = suite.models.reduce((sum, m) => sum + m.formats.length * suite.points.length * items, 0);
  return Math.max(0, total - resumed);
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
    const note = (message: string) => process.stderr.write(`note: ${message}\n`);
    const loaded = await loadSuite(options.suite, { set: options.set, edit: options.models ? keepModels(options.models, note) : undefined });
    const suite = options.cells !== undefined ? keepCells(loaded, options.cells) : loaded;
    const given = options.out ?? defaultOutDir(suite.name);
    const outDir = path.resolve(given);
    // What the run will generate, before it starts.
    const dataset = await prepareData(suite, options.limit);
    if (!options.quiet) for (const note of dataset.notes ?? []) process.stderr.write(`${note}\n`);
    const items = dataset.items.length;
    const resumed = options.resume ? await countLines(path.join(outDir, SAMPLES_FILE)) : 0;
    const planned = plannedSamples(suite, items, resumed);
    const shape = `${suite.models.length} model(s), ${suite.points.length} grid point(s), ${items} item(s)`;
    if (!options.quiet) process.stderr.write(`${planned.toLocaleString('en-US')} samples to generate (${shape}${resumed > 0 ? `; ${resumed} kept from the interrupted run` : ''})\n`);
    if (planned > LARGE_RUN_SAMPLES) {
      process.stderr.write(`warning: this run will generate about ${planned.toLocaleString('en-US')} samples (over ${LARGE_RUN_SAMPLES.toLocaleString('en-US')}); narrow it with --limit, --models or --cells if that is not what you meant\n`);
    }
    target = { given, outDir };
    // The data read for the count is the run's data: it is not read twice.
    const { summary } = await runSuite({ suite, outDir, limit: options.limit, quiet: options.quiet, resume: options.resume, cache: options.cache, checkDeterminism: options.checkDeterminism, dataset });
    printHeadline(summary, outDir, out, { headline: suite.config.headline });
  } finally {
    release();
  }
}
