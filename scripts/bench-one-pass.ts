// One retrieval pass per run: what it saves. A run needs each question's ranking for its contexts
// (once per context mode and k of the grid), its answer recall@k and its gold metrics. Before, each
// of those searched every question again; now the run searches each question once, at the deepest
// depth any of them reads (src/retrieval/one-pass.ts), and derives all of them from that ranking.
// This script does both on seeded synthetic data with BM25, checks that the contexts and the metrics
// are identical, and writes the searches and times to <out>/one-pass.md.
//
//   npx tsx scripts/bench-one-pass.ts [--passages 100000] [--items 10000] [--seed 1] [--out benchmarks]
//
// The grid is the quickstart's shape: retrieved contexts at k = 1, 3, 5, oracle at k = 3, answer
// recall and gold recall at 1, 3, 5, 20, 100. Items are made from passages: 8 words of a passage
// are the question, its rarest word the answer, the passage the gold document.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBm25Retriever } from '../src/retrieval/bm25.js';
import { buildContexts, CONTEXT_MODES } from '../src/retrieval/contexts.js';
import { judgements, metricsDepth, retrievalMetrics } from '../src/retrieval/metrics.js';
import { onePass } from '../src/retrieval/one-pass.js';
import { answerRecallAtK, isAnswerable } from '../src/retrieval/recall.js';
import type { ContextMode, Doc, QaItem, Retriever, ScoredDoc } from '../src/types.js';
import { uniformSource, zipfPassages } from './synthetic.js';

function arg(name: string, fallback: number | string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : String(fallback);
}
const passages = Number(arg('passages', 100_000));
const nItems = Number(arg('items', 10_000));
const seed = Number(arg('seed', 1));
const outDir = path.resolve(arg('out', 'benchmarks'));
const POINTS: { mode: ContextMode; k: number }[] = [
  { mode: 'retrieved', k: 1 },
  { mode: 'retrieved', k: 3 },
  { mode: 'retrieved', k: 5 },
  { mode: 'oracle', k: 3 },
];
const RECALL_AT = [1, 3, 5, 20, 100];
const log = (m: string) => process.stderr.write(`${m}\n`);

const corpus: Doc[] = zipfPassages(passages, 50_000, seed).map((p, i) => ({ id: `p${i}`, ...p }));
const uniform = uniformSource(seed + 1);
const items: QaItem[] = Array.from({ length: nItems }, (_, i) => {
  const gold = corpus[Math.floor(uniform() * corpus.length)]!;
  const words = gold.text.split(' ');
  const question = Array.from({ length: 8 }, () => words[Math.floor(uniform() * words.length)]!).join(' ');
  // Longer pronounceable words are rarer ranks of the Zipfian vocabulary.
  const answer = words.reduce((a, b) => (b.length > a.length ? b : a));
  return { id: `q${i}`, question, answers: [answer], goldDocIds: [gold.id] };
});

/** Counts the questions sent to the retriever and the CPU seconds its searches take. */
function counting(inner: Retriever): Retriever & { queries: number; cpu: number } {
  const counter = {
    name: inner.name,
    queries: 0,
    cpu: 0,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      counter.queries += queries.length;
      const start = process.cpuUsage();
      const hits = await inner.search(queries, k);
      const used = process.cpuUsage(start);
      counter.cpu += (used.user + used.system) / 1e6;
      return hits;
    },
    dispose: () => inner.dispose(),
  };
  return counter;
}

/** Everything a run derives from retrieval: contexts per point, answer recall, gold metrics. */
async function derive(retriever: Retriever) {
  const corpusById = new Map(corpus.map((d) => [d.id, d]));
  const contexts = [];
  for (const { mode, k } of POINTS) contexts.push(await buildContexts(items, retriever, { mode, k, order: 'ascending', seed, corpusById }));
  const recall = await answerRecallAtK(items, retriever, RECALL_AT);
  const gold = await retrievalMetrics(items, retriever, RECALL_AT);
  return { contexts, recall, gold };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const value = await f();
  const used = process.cpuUsage(cpu);
  return { value, wall: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6 };
}

const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-one-pass-'));
try {
  log(`indexing ${passages} passages`);
  const bm25 = await createBm25Retriever(corpus, { cacheDir });

  log(`before: every consumer searches every question (${nItems} items)`);
  const separate = counting(bm25);
  const before = await timed(() => derive(separate));

  log('after: one pass');
  const inner = counting(bm25);
  const after = await timed(async () => {
    const once = onePass(inner);
    // The run's pass depth (runner.ts passDepth): the contexts' first searches, recall@k, the metrics.
    const contextDepth = Math.max(...POINTS.map((p) => CONTEXT_MODES[p.mode].searchDepth(p.k)));
    const depth = (item: QaItem) => Math.max(contextDepth, isAnswerable(item) ? Math.max(...RECALL_AT) : 0, judgements(item) ? metricsDepth(RECALL_AT) : 0);
    await once.prefetch(items.map((item) => item.question), Math.max(...items.map(depth)));
    return derive(once);
  });

  const same = JSON.stringify(before.value) === JSON.stringify(after.value);
  if (!same) throw new Error('one pass changed the contexts or the metrics');
  const load = os.loadavg().map((x) => x.toFixed(2)).join(', ');
  const md = `# One retrieval pass per run

\`npx tsx scripts/bench-one-pass.ts --passages ${passages} --items ${nItems} --seed ${seed}\`, ${new Date().toISOString().slice(0, 10)};
${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, load average (1, 5, 15 min) at the end: ${load}.

BM25 over ${passages.toLocaleString('en')} synthetic passages (scripts/synthetic.ts), ${nItems.toLocaleString('en')} items;
the grid's retrieved contexts at k = 1, 3, 5 and oracle at k = 3, answer recall and gold metrics at
k = ${RECALL_AT.join(', ')}. Contexts, answer recall and gold metrics are identical both ways: ${same ? 'yes' : 'NO'}.

| | questions searched | CPU s in searches | CPU s in all | wall s in all |
|---|---:|---:|---:|---:|
| every consumer searches (before) | ${separate.queries.toLocaleString('en')} | ${separate.cpu.toFixed(1)} | ${before.cpu.toFixed(1)} | ${before.wall.toFixed(1)} |
| one pass (now) | ${inner.queries.toLocaleString('en')} | ${inner.cpu.toFixed(1)} | ${after.cpu.toFixed(1)} | ${after.wall.toFixed(1)} |

"All" is the searches plus what is derived from them (contexts, answer matching for recall@k in up
to 100 documents per item, the metrics), the same work both ways. Wall times depend on the load.
`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'one-pass.md'), md);
  process.stdout.write(md);
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
