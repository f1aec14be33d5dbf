// `ragtax index <suite.yaml> [--verify] [--no-metrics] [--quiet]`: builds (or, with --verify, only
// checks) the retrieval indexes a suite needs, printing what was built or reused, where, how big
// and how long it took. When the items have gold documents or qrels (BEIR), it also prints
// recall@k, nDCG@10 and MRR@10 of the suite's retriever.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { loadDataset } from '../data/load.js';
import { InputError } from '../errors.js';
import { bm25CacheKey } from '../retrieval/bm25.js';
import { bm25CacheDir, createSuiteRetriever, throttledProgressLog } from '../retrieval/from-suite.js';
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
  if (kind === 'precomputed') {
    print('precomputed contexts: no index to build');
    return;
  }
  if (opts.verify && (kind === 'bm25' || kind === 'hybrid')) {
    const file = path.join(bm25CacheDir(suite), `bm25-${bm25CacheKey(dataset.corpus)}.json`);
    if (!existsSync(file)) throw new InputError(`the BM25 index for this corpus is missing (${file}); build it with \`ragtax index ${opts.suite}\``);
  }
  const log = opts.quiet ? () => {} : (m: string) => err.write(`${m}\n`);
  const built = await createSuiteRetriever(suite, dataset.corpus, {
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
    await built.dispose();
  }
  print(`done in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
