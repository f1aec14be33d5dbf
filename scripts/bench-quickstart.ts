// Quickstart benchmark: `ragtax run suites/quickstart.yaml` cold (an empty cache folder: no BM25
// index, no generation cache) and warm (the same folder right after: every generation from the
// cache), alternating, and the warm/cold ratio. With --baseline, a second tree (for instance an
// earlier checkout, built) is measured in the same alternation, so that the two sides share the
// machine's load; every row carries the load average before and after it.
//
//   npx tsx scripts/bench-quickstart.ts [--runs 3] [--baseline /path/to/other/tree] [--models a,b] [--out benchmarks]
//
// --models runs only those models of the quickstart (`ragtax run --models`), e.g. `base,instruct` to
// time the same work on a tree whose quickstart had fewer models.
//
// Each tree must be built (`npm run build`): its bin/ragtax.js is what runs, as `npm start` does
// (npm's own start, 0.1–0.2 s, is not included). Writes <out>/quickstart.md and .json
// (quickstart-<models>.md with --models).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const ROOT = path.resolve(import.meta.dirname, '..');
const runs = Number(arg('runs', '3'));
const baseline = arg('baseline', '');
const models = arg('models', '');
const outDir = path.resolve(arg('out', path.join(ROOT, 'benchmarks')));
/** `<label> (<short revision>[, with uncommitted changes])` where the tree is a git checkout. */
function labelled(label: string, root: string): string {
  const git = (...args: string[]) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  const revision = git('rev-parse', '--short', 'HEAD');
  if (revision.status !== 0) return label;
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${label} (${revision.stdout.trim()}${dirty ? ', with uncommitted changes' : ''})`;
}
const trees: { label: string; root: string }[] = [
  { label: labelled('this tree', ROOT), root: ROOT },
  ...(baseline ? [{ label: labelled('baseline', path.resolve(baseline)), root: path.resolve(baseline) }] : []),
];
const log = (m: string) => process.stderr.write(`${m}\n`);
const load = () => os.loadavg()[0]!;

interface Row {
  tree: string;
  mode: 'cold' | 'warm';
  seconds: number;
  /** Seconds inside ragtax (summary.json timing.totalSeconds). */
  runSeconds: number;
  generated: number;
  cached: number;
  loadBefore: number;
  loadAfter: number;
}

function runOnce(tree: { label: string; root: string }, mode: 'cold' | 'warm', cacheDir: string, scratch: string): Row {
  const out = mkdtempSync(path.join(scratch, 'run-'));
  rmSync(out, { recursive: true });
  const loadBefore = load();
  const started = performance.now();
  const r = spawnSync(process.execPath, [path.join(tree.root, 'bin/ragtax.js'), 'run', 'suites/quickstart.yaml', '--out', out, '--quiet', ...(models ? ['--models', models] : [])], {
    cwd: tree.root,
    encoding: 'utf8',
    env: { ...process.env, RAGTAX_CACHE_DIR: cacheDir },
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${tree.root}: ragtax run failed (exit ${r.status}): ${r.stderr}`);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    timing: { totalSeconds: number; models: Record<string, { generatedSamples: number; cachedSamples: number }> };
  };
  const perModel = Object.values(summary.timing.models);
  return {
    tree: tree.label,
    mode,
    seconds,
    runSeconds: summary.timing.totalSeconds,
    generated: perModel.reduce((s, m) => s + m.generatedSamples, 0),
    cached: perModel.reduce((s, m) => s + m.cachedSamples, 0),
    loadBefore,
    loadAfter: load(),
  };
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bench-quickstart-'));
const rows: Row[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const caches = trees.map(() => mkdtempSync(path.join(scratch, 'cache-')));
    // Cold runs of every tree, then their warm runs: each pair of sides meets similar load.
    for (const mode of ['cold', 'warm'] as const) {
      trees.forEach((tree, t) => {
        const row = runOnce(tree, mode, caches[t]!, scratch);
        rows.push(row);
        log(`${row.tree} ${row.mode}: ${row.seconds.toFixed(2)} s (load ${row.loadBefore.toFixed(2)} → ${row.loadAfter.toFixed(2)})`);
      });
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const summaryOf = (tree: string) => {
  const of = (mode: 'cold' | 'warm') => rows.filter((r) => r.tree === tree && r.mode === mode);
  const cold = median(of('cold').map((r) => r.seconds));
  const warm = median(of('warm').map((r) => r.seconds));
  // The fastest run of each kind: on a shared machine, the one least slowed by other work.
  const coldBest = Math.min(...of('cold').map((r) => r.seconds));
  const warmBest = Math.min(...of('warm').map((r) => r.seconds));
  return { tree, cold, warm, ratio: warm / cold, coldBest, warmBest, ratioBest: warmBest / coldBest, generated: of('cold')[0]?.generated ?? 0 };
};
const summaries = trees.map((t) => summaryOf(t.label));
const cpus = os.cpus();
const machine = { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, node: process.version, platform: `${os.platform()} ${os.release()}` };
const fmt = (x: number) => x.toFixed(2);
const md = [
  '# Quickstart: cold and warm',
  '',
  `\`npx tsx scripts/bench-quickstart.ts --runs ${runs}${baseline ? ' --baseline <tree>' : ''}${models ? ` --models ${models}` : ''}\` on ${machine.cores} × ${machine.cpu}, Node ${machine.node}. ` +
    'Cold: an empty RAGTAX_CACHE_DIR; warm: the same folder right after. Wall seconds of `node bin/ragtax.js run suites/quickstart.yaml` ' +
    '(npm start without npm\'s own start), median and fastest; each row is one run, in the order they ran, with the load average before and after it.',
  '',
  '| tree | cold (s), median / fastest | warm (s), median / fastest | warm / cold, medians / fastest | samples generated cold |',
  '|---|---:|---:|---:|---:|',
  ...summaries.map(
    (s) => `| ${s.tree} | ${fmt(s.cold)} / ${fmt(s.coldBest)} | ${fmt(s.warm)} / ${fmt(s.warmBest)} | ${(100 * s.ratio).toFixed(1)}% / ${(100 * s.ratioBest).toFixed(1)}% | ${s.generated} |`,
  ),
  '',
  '| # | tree | mode | wall (s) | in ragtax (s) | generated | cached | load before | load after |',
  '|---:|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r, i) => `| ${i + 1} | ${r.tree} | ${r.mode} | ${fmt(r.seconds)} | ${fmt(r.runSeconds)} | ${r.generated} | ${r.cached} | ${fmt(r.loadBefore)} | ${fmt(r.loadAfter)} |`),
  '',
].join('\n');
mkdirSync(outDir, { recursive: true });
const stem = models ? `quickstart-${models.replace(/,/g, '-')}` : 'quickstart';
writeFileSync(path.join(outDir, `${stem}.md`), md);
writeFileSync(path.join(outDir, `${stem}.json`), JSON.stringify({ machine, runs, summaries, rows }, null, 2) + '\n');
log(md);
