// ragtax's BM25 against the independent Python implementation (tools/bm25_reference.py) on public
// corpora: SQuAD v2's paragraphs with its questions, and the NQ-open oracle passages (pooled) with
// their questions. Shared by tests/retrieval/bm25-reference.test.ts and scripts/bench-retrieval.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createBm25Retriever, resolveBm25Settings, stopwordSet, type Bm25Settings } from '../src/retrieval/bm25.js';
import type { Doc } from '../src/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DATASETS = path.resolve(ROOT, '../shared/datasets');
export const PYTHON = '/usr/bin/python3';
export const REFERENCE = path.join(ROOT, 'tools/bm25_reference.py');

export interface PublicCorpus {
  name: string;
  corpus: Doc[];
  queries: string[];
}

/** SQuAD v2 (the CS224N dev half): every paragraph a passage (title: its article's), every question a query. */
export function squadCorpus(file = path.join(SHARED_DATASETS, 'squad2_cs224n/dev-v2.0.json')): PublicCorpus | null {
  if (!existsSync(file)) return null;
  const json = JSON.parse(readFileSync(file, 'utf8')) as { data: { title: string; paragraphs: { context: string; qas: { question: string }[] }[] }[] };
  const corpus: Doc[] = [];
  const queries: string[] = [];
  for (const article of json.data) {
    for (const p of article.paragraphs) {
      corpus.push({ id: `squad-${corpus.length}`, title: article.title.replace(/_/g, ' '), text: p.context });
      for (const qa of p.qas) queries.push(qa.question);
    }
  }
  return { name: 'SQuAD v2 dev (CS224N half)', corpus, queries };
}

/** NQ-open with the lost-in-the-middle gold passages: the passages pooled (deduplicated by title + text), every question a query. */
export function nqOracleCorpus(file = path.join(SHARED_DATASETS, 'nq_open_oracle_litm/nq-open-oracle.jsonl.gz')): PublicCorpus | null {
  if (!existsSync(file)) return null;
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const corpus: Doc[] = [];
  const seen = new Set<string>();
  const queries: string[] = [];
  for (const line of lines) {
    const item = JSON.parse(line) as { question: string; ctxs: { title: string; text: string }[] };
    queries.push(item.question);
    for (const c of item.ctxs) {
      const key = `${c.title}\u0000${c.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      corpus.push({ id: `nq-${corpus.length}`, title: c.title, text: c.text });
    }
  }
  return { name: 'NQ-open oracle passages (lost-in-the-middle)', corpus, queries };
}

export interface Agreement {
  corpus: string;
  passages: number;
  queries: number;
  /** Queries where both rank at least one document and the first is the same. */
  top1: number;
  /** Queries whose top 10 (order included) are the same. */
  top10: number;
  settings: Bm25Settings;
}

/** Runs both implementations over `data` and counts the agreements. */
export async function agreement(data: PublicCorpus, given: Partial<Bm25Settings> = {}): Promise<Agreement> {
  const settings = resolveBm25Settings(given);
  const k = 10;
  const retriever = await createBm25Retriever(data.corpus, { settings });
  const ours = (await retriever.search(data.queries, k)).map((hits) => hits.filter((h) => h.score > 0).map((h) => Number(h.doc.id.split('-')[1])));
  await retriever.dispose();
  const input = JSON.stringify({
    docs: data.corpus.map((d) => ({ title: d.title, text: d.text })),
    queries: data.queries,
    k1: settings.k1,
    b: settings.b,
    lengths: settings.lengths,
    stopwords: [...stopwordSet(settings)],
    k,
  });
  const run = spawnSync(PYTHON, [REFERENCE], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${REFERENCE} failed: ${run.stderr}`);
  const theirs = (JSON.parse(run.stdout) as { top: number[][] }).top;
  let top1 = 0;
  let top10 = 0;
  ours.forEach((mine, q) => {
    const ref = theirs[q]!;
    if (mine[0] === ref[0]) top1++; // both empty counts as agreeing (no document holds a query term)
    if (mine.length === ref.length && mine.every((d, j) => d === ref[j])) top10++;
  });
  return { corpus: data.name, passages: data.corpus.length, queries: data.queries.length, top1: top1 / ours.length, top10: top10 / ours.length, settings };
}

/** Python with numpy, as the reference needs it. */
export function referenceAvailable(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}
