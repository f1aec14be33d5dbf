// `ragtax index <suite.yaml> [--verify] [--no-metrics] [--quiet]`: builds (or, with --verify, only
// checks: nothing is built or written, and a missing or unusable index exits 2) the retrieval
// indexes a suite needs, printing what was built or reused, where, how big
// and how long it took. It also prints the retriever's answer recall@k (items with answers) and,
// when the items have gold documents or qrels (BEIR), recall@k, all-gold@k, nDCG@10 and MRR@10,
// all from one retrieval pass, at k = 1, 5, 10, 100 and the suite's `recall_at`.
import { existsSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { loadDataset } from '../data/load.js';
import { openRetriever, RETRIEVERS, throttledProgressLog } from '../retrieval/retrievers.js';
import { hasJudgements, judgements, metricsDepth, retrievalMetrics } from '../retrieval/metrics.js';
import { onePass } from '../retrieval/one-pass.js';
import { answerRecallAtK, isAnswerable } from '../retrieval/recall.js';
import { loadSuite } from '../suite/load.js';

export interface IndexCommandOptions {
  suite: string;
  verify?: boolean;
  metrics?: boolean;
  quiet?: boolean;
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export async function runIndexCommand(opts: IndexCommandOptions, out: Writable, err: Writable = process.stderr): Promise<void> {
  const started = performance.now();
  const suite = await loadSuite(opts.suite);
  // The index covers the corpus only: no few-shot exemplars are drawn.
  const dataset = await loadDataset({ ...suite.dataset, fewshot: undefined, fewshotSize: 0 });
  const kind = suite.config.retrieval.retriever;
  const print = (line: string) => out.write(`${line}\n`);
  print(`suite ${suite.name}: ${dataset.corpus.length} documents, ${dataset.items.length} items, retriever ${kind}`);
  if (!RETRIEVERS[kind].needsCorpus) {
    print(`${kind} contexts: no index to build`);
    if (opts.metrics === false) return;
  }
  const log = opts.quiet ? () => {} : (m: string) => err.write(`${m}\n`);
  // --verify: every index is loaded, never built; a missing or unusable one (missing files, a
  // checksum or meta.json mismatch, an unreadable file) is an InputError (exit 2) naming it.
  const opened = await openRetriever(kind, suite.config.retrieval, {
    suiteFile: opts.suite,
    corpus: dataset.corpus,
    items: dataset.items,
    dense: suite.dense,
    cacheDir: suite.retrievalCacheDir,
    mode: opts.verify ? 'verify' : 'build',
    onWarning: (m) => err.write(`warning: ${m}\n`),
    onProgress: throttledProgressLog(log),
  });
  // One pass: the answer recall and the gold metrics read the same rankings.
  const built = { ...opened, retriever: onePass(opened.retriever) };
  try {
    if (built.note) print(built.note);
    if (built.bm25) {
      const bytes = built.bm25.cachePath && existsSync(built.bm25.cachePath) ? statSync(built.bm25.cachePath).size : 0;
      const how = built.bm25.loadedFromCache ? 'reused' : 'built';
      print(`bm25: ${how} ${built.bm25.cachePath ?? '(in memory)'} (${mib(bytes)}, ${built.bm25Seconds!.toFixed(2)} s)`);
    }
    if (built.dense) {
      const dn = built.dense;
      const how = dn.loadedFromCache ? 'reused' : `built in ${dn.buildSeconds.toFixed(2)} s`;
      print(`dense: ${how}: ${dn.kind} index of ${dn.size} × ${dn.dim}-d vectors at ${dn.indexPath} (${mib(dn.indexBytes)}); model ${built.embedder!.source}`);
    }
    if (opts.metrics !== false) {
      const t = performance.now();
      const ks = [...new Set([1, 5, 10, 100, ...(suite.config.retrieval.recall_at ?? [])])].sort((a, b) => a - b);
      const searched = dataset.items.filter((item) => isAnswerable(item) || judgements(item) !== null);
      const depth = metricsDepth(ks);
      await built.retriever.prefetch(searched.map((item) => item.question), depth);
      if (searched.length > 0) print(`retrieved the top ${depth} for ${built.retriever.queriesSearched} questions in ${((performance.now() - t) / 1000).toFixed(2)} s`);
      if (searched.some(isAnswerable)) {
        const recall = await answerRecallAtK(dataset.items, built.retriever, ks);
        const n = recall[0]!.n;
        print(`answer recall (${n} answerable items): ${recall.map((r) => `R@${r.k} ${r.recall!.toFixed(4)}`).join('  ')}`);
      }
      const metrics = hasJudgements(dataset.items) ? await retrievalMetrics(dataset.items, built.retriever, ks) : null;
      if (metrics) {
        const recall = metrics.recallAtK.map((r) => `R@${r.k} ${r.recall.toFixed(4)}`).join('  ');
        // all-gold@k differs from recall@k only where an item has several relevant documents (multi-hop).
        const multi = dataset.items.some((item) => (judgements(item)?.size ?? 0) > 1);
        const allGold = multi ? `  ${metrics.allGoldAtK.map((r) => `all-gold@${r.k} ${r.rate.toFixed(4)}`).join('  ')}` : '';
        print(`retrieval (${metrics.n} judged items): ${recall}${allGold}  nDCG@10 ${metrics.ndcgAt10.toFixed(4)}  MRR@10 ${metrics.mrrAt10.toFixed(4)}`);
      }
    }
  } finally {
    await built.retriever.dispose();
  }
  print(`done in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
