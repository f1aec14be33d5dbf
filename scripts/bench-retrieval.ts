// Retrieval benchmark: HNSW vs exact search on clustered vectors, BM25 on synthetic passages (in
// process, and at scale: 1M and 5M passages in child processes, against SQLite FTS5 at 1M), and the
// agreement of ragtax's BM25 with the independent Python BM25 (tools/bm25_reference.py) on public data.
//
//   npx tsx scripts/bench-retrieval.ts [--n 100000] [--dim 384] [--clusters 1000] [--queries 200]
//                                      [--bm25-n N] [--bm25-queries 2000] [--seed 1] [--out benchmarks]
//                                      [--scale 1000000,5000000] [--fts5-n 1000000] [--skip-dense] [--keep-scale]
//
// --skip-dense keeps the dense section of the previous <out>/retrieval.json (it takes minutes and
// does not change with BM25 work); --scale '' skips the scale rows; --keep-scale keeps the previous
// run's scale rows of other sizes.
//
// Dense: n unit vectors from `clusters` seeded Gaussian clusters (never uniform random data: on it
// every ANN index looks broken), queries from the same mixture. Exact search (the brute-force
// Float32Array scan of vector-index.ts) gives the ground truth and the baseline QPS; HNSW
// (M 16, efConstruction 200) is measured at two ef values in the same run: build time, file size,
// single-query QPS and recall@10. BM25: seeded passages over a Zipfian vocabulary, indexed with the
// project's BM25 retriever (Lucene's BM25, bm25-disk.ts); index time and QPS of keyword queries drawn from passages.
// Writes <out>/retrieval.json and <out>/retrieval.md with a machine description.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBm25Retriever } from '../src/retrieval/bm25.js';
import { agreement, nqOracleCorpus, referenceAvailable, squadCorpus, type Agreement } from './bm25-agreement.js';
import { bm25Scale, scaleChild, scaleMarkdown, type ScaleRow } from './bench-bm25-scale.js';
import { clusteredVectors, uniformSource, zipfPassages } from './synthetic.js';
import { ExactIndex, HnswIndex } from '../src/retrieval/vector-index.js';
import type { Doc } from '../src/types.js';

function arg(name: string, fallback: number): number;
function arg(name: string, fallback: string): string;
function arg(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) return fallback;
  const raw = process.argv[i + 1]!;
  return typeof fallback === 'number' ? Number(raw) : raw;
}

const n = arg('n', 100_000);
const dim = arg('dim', 384);
const clusters = arg('clusters', 1000);
const nQueries = arg('queries', 200);
const bm25N = arg('bm25-n', n);
const bm25Queries = arg('bm25-queries', 2000);
const seed = arg('seed', 1);
const outDir = path.resolve(arg('out', 'benchmarks'));
const scaleSizes = String(arg('scale', '1000000,5000000')).split(',').filter(Boolean).map(Number);
const fts5N = arg('fts5-n', 1_000_000);
const skipDense = process.argv.includes('--skip-dense');
const HNSW = { m: 16, efConstruction: 200 };
const EFS = [64, 128];
const K = 10;

const seconds = (t: number) => (performance.now() - t) / 1000;
const log = (m: string) => process.stderr.write(`${m}\n`);

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

async function dense() {
  log(`dense: generating ${n} × ${dim} clustered vectors (${clusters} clusters) and ${nQueries} queries`);
  let t = performance.now();
  const { vectors, queries } = clusteredVectors(n, nQueries, dim, clusters, seed);
  log(`  generated in ${seconds(t).toFixed(1)} s`);
  const exact = new ExactIndex(vectors, dim);
  const query = (q: number) => queries.subarray(q * dim, (q + 1) * dim);

  t = performance.now();
  const truth = Array.from({ length: nQueries }, (_, q) => exact.search(query(q), K).ids);
  const exactSeconds = seconds(t);
  const exactQps = nQueries / exactSeconds;
  log(`  exact scan: ${exactQps.toFixed(1)} queries/s`);

  t = performance.now();
  let lastLog = performance.now();
  const hnsw = await HnswIndex.build(vectors, dim, { ...HNSW, efSearch: EFS[0]! }, (done, total) => {
    if (performance.now() - lastLog > 15_000) {
      log(`  HNSW build: ${done}/${total}`);
      lastLog = performance.now();
    }
  });
  const buildSeconds = seconds(t);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bench-'));
  const file = path.join(tmp, await hnsw.writeData(tmp));
  const hnswBytes = statSync(file).size;
  rmSync(tmp, { recursive: true, force: true });
  log(`  HNSW build ${buildSeconds.toFixed(1)} s, ${(hnswBytes / 2 ** 20).toFixed(1)} MiB`);

  const runs = EFS.map((ef) => {
    hnsw.setEf(ef);
    // Warm up, then time enough rounds of the query set for a stable figure.
    for (let q = 0; q < Math.min(50, nQueries); q++) hnsw.search(query(q), K);
    let found = 0;
    const results = Array.from({ length: nQueries }, (_, q) => hnsw.search(query(q), K).ids);
    results.forEach((ids, q) => {
      const set = new Set(truth[q]);
      for (const id of ids) if (set.has(id)) found++;
    });
    const rounds = Math.max(1, Math.ceil(2000 / nQueries));
    const start = performance.now();
    for (let r = 0; r < rounds; r++) for (let q = 0; q < nQueries; q++) hnsw.search(query(q), K);
    const qps = (rounds * nQueries) / seconds(start);
    const recall = found / (nQueries * K);
    log(`  HNSW ef=${ef}: ${qps.toFixed(0)} queries/s, recall@10 ${recall.toFixed(4)}, ${(qps / exactQps).toFixed(0)}× exact`);
    return { ef, qps, recallAt10: recall, speedupOverExact: qps / exactQps };
  });
  return {
    n,
    dim,
    clusters,
    queries: nQueries,
    exact: { qps: exactQps, bytes: n * dim * 4 },
    hnsw: { ...HNSW, buildSeconds, bytes: hnswBytes, runs },
  };
}

async function bm25() {
  log(`bm25: generating ${bm25N} Zipfian passages`);
  const passages = zipfPassages(bm25N, 50_000, seed + 1);
  const corpus: Doc[] = passages.map((p, i) => ({ id: `p${i}`, ...p }));
  const uniform = uniformSource(seed + 2);
  // Known-item style keyword queries: 2–5 words taken from a random passage.
  const queries = Array.from({ length: bm25Queries }, () => {
    const words = corpus[Math.floor(uniform() * corpus.length)]!.text.split(' ');
    const length = 2 + Math.floor(uniform() * 4);
    return Array.from({ length }, () => words[Math.floor(uniform() * words.length)]!).join(' ');
  });
  let t = performance.now();
  const retriever = await createBm25Retriever(corpus, { onWarning: log });
  const indexSeconds = seconds(t);
  log(`  indexed in ${indexSeconds.toFixed(1)} s`);
  await retriever.search(queries.slice(0, 50), K); // warm up
  t = performance.now();
  await retriever.search(queries, K);
  const qps = queries.length / seconds(t);
  log(`  ${qps.toFixed(0)} queries/s`);
  return { n: bm25N, vocabulary: 50_000, queries: queries.length, indexSeconds, qps };
}

async function agreements(): Promise<Agreement[] | null> {
  if (!referenceAvailable()) {
    log('agreement: skipped (/usr/bin/python3 with numpy is needed)');
    return null;
  }
  const out: Agreement[] = [];
  for (const data of [squadCorpus(), nqOracleCorpus()]) {
    if (!data) continue; // ../shared/datasets absent
    for (const lengths of ['lucene', 'exact'] as const) {
      const a = await agreement(data, { lengths });
      log(`agreement: ${a.corpus}, lengths ${lengths}: top-1 ${(100 * a.top1).toFixed(2)}%, top-10 ${(100 * a.top10).toFixed(2)}%`);
      out.push(a);
    }
  }
  return out;
}

if (process.argv[2] === '--child') {
  await scaleChild(process.argv.slice(3));
  process.exit(0);
}

const before = machine();
const modelCard = path.resolve('models/quennland-instruct/MODEL_CARD.md');
const started = performance.now();
const previousFile = path.join(outDir, 'retrieval.json');
const previous = existsSync(previousFile)
  ? (JSON.parse(readFileSync(previousFile, 'utf8')) as {
      date: string;
      dense: Awaited<ReturnType<typeof dense>>;
      denseFrom?: { date: string; load: number[] } | null;
      machine: { loadAverageAtStart: number[] };
    })
  : null;
if (skipDense && !previous) throw new Error(`--skip-dense needs an earlier ${previousFile}`);
const denseResult = skipDense ? previous!.dense : await dense();
// Kept dense figures name the run that measured them (which may itself have kept them).
const denseFrom = skipDense ? (previous!.denseFrom ?? { date: previous!.date, load: previous!.machine.loadAverageAtStart }) : null;
const agreementResult = await agreements();
const bm25Result = await bm25();
const scaleRows: ScaleRow[] = [];
for (const size of scaleSizes) scaleRows.push(await bm25Scale(size, { seed, queries: bm25Queries, fts5: size === fts5N, log }));
// --keep-scale: rows of the previous run for sizes not measured now (each row carries its own load).
const previousScale = (previous as { scale?: ScaleRow[] } | null)?.scale ?? [];
if (process.argv.includes('--keep-scale')) {
  for (const row of previousScale) {
    const now = scaleRows.find((r) => r.n === row.n);
    if (!now) scaleRows.push(row);
    else if (!now.fts5 && row.fts5) now.fts5 = { ...row.fts5, note: `measured in the run of ${previous!.date.slice(0, 10)}, load ${row.loadAtStart.join(' / ')}` };
  }
}
scaleRows.sort((x, y) => x.n - y.n);
const after = os.loadavg().map((x) => Math.round(x * 100) / 100);
const contended = Math.max(...before.loadAverageAtStart, ...after) > before.cores * 0.75;
const best = denseResult.hnsw.runs.find((r) => r.recallAt10 >= 0.99);
const result = {
  date: new Date().toISOString(),
  machine: { ...before, loadAverageAtEnd: after },
  contended,
  trainingFinished: existsSync(modelCard),
  totalSeconds: seconds(started),
  dense: denseResult,
  denseFrom,
  bm25: bm25Result,
  agreement: agreementResult,
  scale: scaleRows,
  targets: {
    dense: { want: 'recall@10 ≥ 0.99 at ≥ 50× exact QPS', met: best !== undefined && best.speedupOverExact >= 50 },
    bm25Index: { want: '≤ 30 s for 100k passages', met: bm25Result.indexSeconds <= 30 },
    bm25Qps: { want: '≥ 500 queries/s', met: bm25Result.qps >= 500 },
    agreement: { want: '≥ 99% top-1 agreement with tools/bm25_reference.py', met: agreementResult !== null && agreementResult.every((a) => a.top1 >= 0.99) },
    scale1M: {
      want: '1M passages indexed in ≤ 300 s with peak memory ≤ 3 GB; ≥ 500 queries/s at k = 10',
      met: scaleRows.some((r) => r.n === 1_000_000 && r.ragtax.buildSeconds <= 300 && r.ragtax.buildPeakMiB <= 3072 && r.ragtax.qps >= 500),
    },
    scale5M: { want: '5M passages indexed without running out of memory', met: scaleRows.some((r) => r.n === 5_000_000 && r.ragtax.exitCode === 0) },
  },
};

const f = (x: number, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const md = `# Retrieval benchmark

\`npx tsx scripts/bench-retrieval.ts --n ${n}\` on ${result.date.slice(0, 10)}.

Machine: ${before.cpu}, ${before.cores} cores, ${before.memoryGiB} GiB, Node ${before.node} (${before.platform}).
Load average at start ${before.loadAverageAtStart.join(' / ')}, at end ${after.join(' / ')}${
  contended ? ' — **the machine was contended** (another job was using the cores), so absolute times are pessimistic; the ratios within this run are the meaningful figures' : ''
}.${result.trainingFinished ? '' : ' The organism\'s model training (models/quennland-instruct) was still running during this run.'}

## Dense: ${f(denseResult.n, 0)} × ${denseResult.dim}-d clustered vectors (${denseResult.clusters} Gaussian clusters), ${denseResult.queries} queries
${denseFrom ? `\nFrom the run of ${denseFrom.date.slice(0, 10)} (load average ${denseFrom.load.join(' / ')}), kept by \`--skip-dense\`.\n` : ''}
| index | build | size | queries/s | recall@10 | × exact QPS |
|---|---|---|---|---|---|
| exact scan (Float32Array) | — | ${f(denseResult.exact.bytes / 2 ** 20)} MiB | ${f(denseResult.exact.qps)} | 1.0000 | 1 |
${denseResult.hnsw.runs
  .map(
    (r) =>
      `| HNSW M=${HNSW.m}, efC=${HNSW.efConstruction}, ef=${r.ef} | ${f(denseResult.hnsw.buildSeconds)} s | ${f(denseResult.hnsw.bytes / 2 ** 20)} MiB | ${f(r.qps, 0)} | ${r.recallAt10.toFixed(4)} | ${f(r.speedupOverExact, 0)} |`,
  )
  .join('\n')}

Target: recall@10 ≥ 0.99 at ≥ 50× the exact scan's QPS — **${result.targets.dense.met ? 'met' : 'not met'}**.

## BM25 (Lucene's formula, ragtax's postings file): agreement with an independent implementation

ragtax's BM25 against \`tools/bm25_reference.py\` (Python and numpy, its own tokenizer, exhaustive
scoring) at k1 1.2, b 0.75, Lucene's stopwords, on real public data (\`../shared/datasets\`). Top-1: the
same first document (or both none); top-10: the same ten in the same order.

${
  agreementResult === null
    ? 'Skipped: /usr/bin/python3 with numpy was not available.'
    : `| corpus | passages | queries | lengths | top-1 agreement | top-10 agreement |
|---|---:|---:|---|---:|---:|
${agreementResult.map((a) => `| ${a.corpus} | ${f(a.passages, 0)} | ${f(a.queries, 0)} | ${a.settings.lengths} | ${(100 * a.top1).toFixed(2)}% | ${(100 * a.top10).toFixed(2)}% |`).join('\n')}`
}

Target: ≥ 99% top-1 agreement — **${result.targets.agreement.met ? 'met' : 'not met'}**.

## BM25 in process: ${f(bm25Result.n, 0)} synthetic passages (Zipfian vocabulary of ${f(bm25Result.vocabulary, 0)} words, 40–80 words each)

\`createBm25Retriever\` over an in-memory corpus (the path of \`ragtax run\`), index in a temporary file.

| index time | queries/s (${bm25Result.queries} keyword queries of 2–5 words, top 10) |
|---|---|
| ${f(bm25Result.indexSeconds)} s | ${f(bm25Result.qps, 0)} |

Targets: index ≤ 30 s — **${result.targets.bm25Index.met ? 'met' : 'not met'}**; ≥ 500 queries/s — **${result.targets.bm25Qps.met ? 'met' : 'not met'}**.

## BM25 at scale: ragtax's postings file vs SQLite FTS5

${scaleRows.length === 0 ? 'Not run (--scale \'\').' : scaleMarkdown(scaleRows, f)}

Targets: ${result.targets.scale1M.want} — **${result.targets.scale1M.met ? 'met' : 'not met'}**; ${result.targets.scale5M.want} — **${result.targets.scale5M.met ? 'met' : 'not met'}**.
`;

mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'retrieval.json'), `${JSON.stringify(result, null, 1)}\n`);
writeFileSync(path.join(outDir, 'retrieval.md'), md);
process.stdout.write(md);
