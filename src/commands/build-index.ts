// `ragtax index <suite.yaml> [--verify] [--no-metrics] [--quiet]`: builds (or, with --verify, only
// checks: nothing is built or written, and a missing or unusable index exits 2) the retrieval
// indexes a suite needs, printing what was built or reused, where, how big
// and how long it took. When the items have gold documents or qrels (BEIR), it also prints
// recall@k, nDCG@10 and MRR@10 of the suite's retriever.
import { existsSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { loadDataset } from '../data/load.js';
import { openRetriever, RETRIEVERS, throttledProgressLog } from '../retrieval/retrievers.js';
import { hasJudgements, retrievalMetrics } from '../retrieval/metrics.js';
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
    return;
  }
  const log = opts.quiet ? () => {} : (m: string) => err.write(`${m}\n`);
  // --verify: every index is loaded, never built; a missing or unusable one (missing files, a
  // checksum or meta.json mismatch, an unreadable file) is an InputError (exit 2) naming it.
  const built = await openRetriever(kind, suite.config.retrieval, {
    suiteFile: opts.suite,
    corpus: dataset.corpus,
    items: dataset.items,
    dense: suite.dense,
    cacheDir: suite.retrievalCacheDir,
    mode: opts.verify ? 'verify' : 'build',
    onWarning: (m) => err.write(`warning: ${m}\n`),
    onProgress: throttledProgressLog(log),
  });
  try {
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
    if (opts.metrics !== false && hasJudgements(dataset.items)) {
      const t = performance.now();
      const metrics = await retrievalMetrics(dataset.items, built.retriever, [1, 5, 10, 100]);
      if (metrics) {
        const recall = metrics.recallAtK.map((r) => `R@${r.k} ${r.recall.toFixed(4)}`).join('  ');
        print(`retrieval (${metrics.n} judged items): ${recall}  nDCG@10 ${metrics.ndcgAt10.toFixed(4)}  MRR@10 ${metrics.mrrAt10.toFixed(4)}  (${((performance.now() - t) / 1000).toFixed(2)} s)`);
      }
    }
  } finally {
    await built.retriever.dispose();
  }
  print(`done in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
