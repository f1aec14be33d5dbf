// Bookkeeping benchmark: `ragtax compare` and `ragtax report` on runs of a million samples and more.
//
//   npm run build   # the commands are timed through the real CLI, bin/ragtax.js → dist/bundle/
//   npx tsx scripts/bench-bookkeeping.ts [--records 1000000] [--big 5000000] [--old DIR] [--tmp DIR] [--out benchmarks] [--keep]
//
// Synthesises run folders in the real format (samples.jsonl records as the runner writes them,
// with prompts of a few hundred bytes, responses, scores, and a summary.json made by ragtax's own
// `summarize` from the streamed samples), over the grid of tests/fixtures/suites/tiny.yaml (3
// model/format pairs × 11 grid points = 33 cells). Two runs of `--records` samples (the candidate's
// outcomes a seeded perturbation of the baseline's) are compared, and one is reported; one run of
// `--big` samples is compared with itself (that it works, and its memory). Each command runs once
// under /usr/bin/time -v (else a child that reports its own peak RSS): wall time and peak RSS, with
// the load average beside them. `--old DIR` also times a ragtax checkout at DIR (its bin/ragtax.js)
// on the same data. The synthetic folders (gigabytes) are deleted at the end, unless --keep.
// Writes <out>/bookkeeping.md and .json.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from '../src/aggregate/summarize.js';
import { readSampleTable } from '../src/rundir/read.js';
import { baseManifest } from '../src/rundir/manifest.js';
import { SAMPLES_FILE, SUMMARY_FILE, type RunSummary } from '../src/rundir/types.js';
import { coordinatesOf } from '../src/suite/grid.js';
import { loadSuite, type Suite } from '../src/suite/load.js';
import type { Cell, SampleRecord } from '../src/types.js';
import { mulberry32 } from './synthetic.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');

function arg(name: string, fallback: number): number;
function arg(name: string, fallback: string): string;
function arg(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) return fallback;
  const raw = process.argv[i + 1]!;
  return typeof fallback === 'number' ? Number(raw) : raw;
}

const records = arg('records', 1_000_000);
const big = arg('big', 5_000_000);
const oldDir = arg('old', '');
const tmpRoot = arg('tmp', os.tmpdir());
const outDir = path.resolve(arg('out', 'benchmarks'));
/** Keep the synthetic folders (for profiling); they are deleted otherwise. */
const keep = process.argv.includes('--keep');
const log = (m: string) => process.stderr.write(`${m}\n`);
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

/** The targets of issue 21. */
const TARGETS = { compare: { seconds: 30, mb: 1000 }, report: { seconds: 10, mb: 500 } };

const WORDS = 'the of river city museum capital founded century king bridge station island mountain author novel painter war treaty empire harbour cathedral university festival railway'.split(' ');

function words(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]!).join(' ');
}

const INSTRUCTION =
  'You are given a question and you MUST respond by EXTRACTING the answer (max 5 tokens) from one of the provided documents. If none of the documents contain the answer, respond with NO-RES.';

function cellsOf(suite: Suite): Cell[] {
  return suite.models.flatMap((m) => m.formats.flatMap((format) => suite.points.map((p) => ({ model: m.name, format, ...coordinatesOf(p) }))));
}

/**
 * One run's samples.jsonl: `items` items in every cell, in the runner's order (model, then grid
 * point, then item). `perturb` > 0 makes a candidate: each outcome is redrawn with that probability.
 */
async function writeSamples(file: string, cells: readonly Cell[], items: number, seed: number, perturb: number): Promise<number> {
  const out = createWriteStream(file);
  let written = 0;
  let lines: string[] = [];
  const flush = async () => {
    if (!out.write(lines.join(''))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    lines = [];
  };
  for (const [c, cell] of cells.entries()) {
    const skill = 0.35 + 0.3 * ((c * 7919) % 11) / 11; // accuracy differs by cell
    for (let i = 0; i < items; i++) {
      // The item's own text and the outcome are seeded by (item, cell), so both runs share them.
      const itemRand = mulberry32(i * 2654435761 + 17);
      const question = `Which ${words(itemRand, 6)}?`;
      const answer = words(itemRand, 2);
      const inContext = itemRand() < 0.7;
      const docs = Array.from({ length: cell.context === 'closed-book' ? 0 : Math.max(1, cell.k) }, (_, d) => `Document [d${i}-${d}](Title: ${words(itemRand, 2)}) ${words(itemRand, 22)}.`);
      const outcome = mulberry32(i * 40503 + c * 9973 + 1);
      const own = mulberry32(i * 31337 + c * 7 + seed * 1000003);
      const pick = (p: number) => (perturb > 0 && own() < perturb ? own() < p : outcome() < p);
      const correct = pick(skill);
      const refusal = !correct && pick(0.3);
      const f1 = correct ? (pick(0.8) ? 1 : 0.8) : refusal ? 0 : pick(0.5) ? 0 : [0.25, 0.4, 0.5, 0.667][Math.floor(outcome() * 4)]!;
      const response = refusal ? 'NO-RES' : correct ? answer : words(own, 3);
      const scores: SampleRecord['scores'] = { correct, exactMatch: correct && f1 === 1, f1, refusal, answerInContext: inContext };
      if (cell.cot) scores.cotAnswerFound = pick(0.9);
      if (cell.instruction === 'proof') {
        scores.proof = pick(0.8) ? `${answer} is stated in document d${i}-0` : null;
        scores.proofCoherent = scores.proof !== null && correct;
      }
      const record: SampleRecord = {
        itemId: `q${i}`,
        ...cell,
        question,
        answers: [answer],
        docIds: docs.map((_, d) => `d${i}-${d}`),
        prompt: `${INSTRUCTION}\nDocuments:\n${docs.join('\n')}\nQuestion: ${question}\nAnswer:`,
        response,
        scoredText: response,
        scores,
        finishReason: 'stop',
        promptTokens: 180 + cell.k * 40,
        completionTokens: 4,
        latencyMs: Math.round(own() * 50000) / 1000,
      };
      lines.push(JSON.stringify(record) + '\n');
      written += 1;
      if (lines.length === 2000) await flush();
    }
  }
  await flush();
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return written;
}

/** A run folder: samples.jsonl and the summary.json ragtax's own summarize makes of it. */
async function makeRun(dir: string, suite: Suite, samples: number, seed: number, perturb: number): Promise<{ bytes: number; summarizeSeconds: number }> {
  mkdirSync(dir, { recursive: true });
  const cells = cellsOf(suite);
  const items = Math.ceil(samples / cells.length);
  const file = path.join(dir, SAMPLES_FILE);
  let t = performance.now();
  const n = await writeSamples(file, cells, items, seed, perturb);
  log(`  ${n} samples (${items} items × ${cells.length} cells), ${(statSync(file).size / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const { cells: aggregates, pairs, statistics } = summarize(suite, await readSampleTable(dir));
  const summarizeSeconds = (performance.now() - t) / 1000;
  const manifest = await baseManifest({ suiteFile: suite.file, suiteSha256: suite.hash, config: suite.config, dataFiles: [], seed: suite.seed });
  manifest.finishedAt = new Date().toISOString();
  const summary: RunSummary = {
    suite: suite.name,
    items,
    cells: aggregates,
    pairs,
    statistics,
    retrieval: { retriever: 'bm25', corpusSize: items, indexLoadedFromCache: null, answerRecallAtK: [], answerInContext: {} },
    contextOverflow: {},
    timing: { models: {}, totalSeconds: 0 },
    manifest,
  };
  writeFileSync(path.join(dir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  return { bytes: statSync(file).size, summarizeSeconds };
}

interface Measured {
  what: string;
  code: string;
  records: number;
  seconds: number;
  /** User + system CPU seconds of the command (what a busy machine does not inflate). */
  cpuSeconds: number;
  peakMB: number;
  exit: number | null;
  loadBefore: number[];
  loadAfter: number[];
  target?: { seconds: number; mb: number };
}

const TIME = '/usr/bin/time';
/** Reports the child's own peak RSS where /usr/bin/time is missing. */
const RSS_HOOK = `data:text/javascript,${encodeURIComponent("import{writeSync}from'node:fs';process.on('exit',()=>writeSync(2,'ragtax-bench maxrss kB: '+process.resourceUsage().maxRSS+'\\n'));")}`;

function measure(what: string, code: string, cli: string, args: string[], recordsIn: number, target?: Measured['target']): Measured {
  const loadBefore = load();
  const useTime = existsSync(TIME);
  const command = useTime ? [TIME, '-v', process.execPath, cli, ...args] : [process.execPath, '--import', RSS_HOOK, cli, ...args];
  const t = performance.now();
  const r = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NODE_OPTIONS: '' } });
  const seconds = (performance.now() - t) / 1000;
  const rss = useTime ? /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr) : /ragtax-bench maxrss kB: (\d+)/.exec(r.stderr);
  const cpu = (label: string) => Number(new RegExp(`${label} time \\(seconds\\): ([\\d.]+)`).exec(r.stderr)?.[1] ?? NaN);
  const cpuSeconds = useTime ? cpu('User') + cpu('System') : NaN;
  const m: Measured = { what, code, records: recordsIn, seconds, cpuSeconds, peakMB: rss ? Number(rss[1]) / 1024 : NaN, exit: r.status, loadBefore, loadAfter: load(), ...(target ? { target } : {}) };
  log(`  ${code} ${what}: ${seconds.toFixed(1)} s (CPU ${cpuSeconds.toFixed(1)} s), peak ${m.peakMB.toFixed(0)} MB, exit ${r.status}, load ${loadBefore[0]} → ${m.loadAfter[0]}`);
  if (r.status !== 0 && r.status !== 1) log(r.stderr.split('\n').filter((l) => !/^\s+\S.*: /.test(l) || l.includes('rror')).slice(-12).join('\n'));
  return m;
}

const tmp = mkdtempSync(path.join(tmpRoot, 'ragtax-bookkeeping-'));
const results: Measured[] = [];
const notes: string[] = [];
try {
  const newCli = path.join(ROOT, 'bin/ragtax.js');
  if (!existsSync(path.join(ROOT, 'dist/bundle/cli.js'))) throw new Error('dist/bundle/ is missing: run `npm run build` first');
  const oldCli = oldDir ? path.join(path.resolve(oldDir), 'bin/ragtax.js') : null;
  const suite = await loadSuite(SUITE);
  log(`baseline run, ${records} samples`);
  const baseline = path.join(tmp, 'baseline');
  const made = await makeRun(baseline, suite, records, 1, 0);
  notes.push(`summarize (streamed readSampleTable + summarize, in the benchmark's process) over ${records} samples: ${made.summarizeSeconds.toFixed(1)} s`);
  log(`candidate run, ${records} samples`);
  const candidate = path.join(tmp, 'candidate');
  await makeRun(candidate, suite, records, 2, 0.05);
  const sizeGiB = (made.bytes / 2 ** 30).toFixed(2);
  notes.push(`samples.jsonl of ${records} samples: ${sizeGiB} GiB (prompts ${INSTRUCTION.length + 100}–${INSTRUCTION.length + 400} bytes)`);

  const compareArgs = ['compare', baseline, candidate];
  const reportArgs = (dir: string) => ['report', dir, '--html', '--out', path.join(tmp, `report-${path.basename(dir)}.html`)];
  if (oldCli) {
    results.push(measure(`compare, 2 × ${records}`, 'before', oldCli, compareArgs, records));
    results.push(measure(`report, ${records}`, 'before', oldCli, reportArgs(baseline), records));
  }
  results.push(measure(`compare, 2 × ${records}`, 'after', newCli, compareArgs, records, TARGETS.compare));
  results.push(measure(`report, ${records}`, 'after', newCli, reportArgs(baseline), records, TARGETS.report));
  if (!keep) rmSync(candidate, { recursive: true, force: true });

  if (big > 0) {
    log(`big run, ${big} samples`);
    rmSync(baseline, { recursive: true, force: true });
    const bigDir = path.join(tmp, 'big');
    const bigMade = await makeRun(bigDir, suite, big, 3, 0);
    notes.push(`summarize over ${big} samples: ${bigMade.summarizeSeconds.toFixed(1)} s; samples.jsonl ${(bigMade.bytes / 2 ** 30).toFixed(2)} GiB`);
    results.push(measure(`compare, 2 × ${big} (the run with itself)`, 'after', newCli, ['compare', bigDir, bigDir], big));
  }
} finally {
  if (keep) log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'bookkeeping.json'), JSON.stringify({ machine, results, notes }, null, 2) + '\n');
const met = (m: Measured) => (m.target ? (m.exit === 0 || m.exit === 1) && m.seconds <= m.target.seconds && m.peakMB <= m.target.mb ? 'met' : 'MISSED' : '');
const rows = results.map(
  (m) =>
    `| ${m.code} | ${m.what} | ${m.seconds.toFixed(1)} | ${m.cpuSeconds.toFixed(1)} | ${m.peakMB.toFixed(0)} | ${m.exit} | ${m.target ? `≤ ${m.target.seconds} s, ≤ ${m.target.mb} MB: ${met(m)}` : ''} | ${m.loadBefore[0]} → ${m.loadAfter[0]} |`,
);
const md = `# Bookkeeping benchmark

\`npx tsx scripts/bench-bookkeeping.ts --records ${records} --big ${big}${oldDir ? ' --old <checkout before the change>' : ''}\` on ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}.
Synthetic run folders in the real format over the tiny suite's 33 cells; each command once through \`node bin/ragtax.js\`,
wall time, CPU time (user + system) and peak RSS (${existsSync(TIME) ? '/usr/bin/time -v' : 'the child’s own maxRSS; no CPU time'}); load average (1 min) before → after
each command. On a shared 2-core machine the wall time grows with the load; the CPU time is what the command itself costs.

| code | command | wall s | CPU s | peak RSS MB | exit | target | load |
|---|---|---:|---:|---:|---:|---|---|
${rows.join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}
`;
writeFileSync(path.join(outDir, 'bookkeeping.md'), md);
log(md);
