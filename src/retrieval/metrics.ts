// Retrieval metrics against relevance judgements: recall@k, nDCG@10 and MRR@10, averaged over the
// items that have at least one relevant document. Judgements come from an item's `relevance`
// (graded, BEIR qrels: grade > 0 is relevant) or else its `goldDocIds` (each grade 1).
// Definitions (as trec_eval / pytrec_eval, which BEIR reports):
//   recall@k = |relevant ∩ top k| / |relevant|
//   nDCG@k   = DCG@k / IDCG@k with DCG@k = Σ_{i=1..k} grade(doc_i) / log2(i + 1) (linear gain)
//   MRR@k    = 1 / rank of the first relevant document in the top k (0 when none)
//   all-gold@k = 1 when every relevant document is in the top k, else 0 (multi-hop questions need
//                all their supporting documents; for an item with one relevant document it is its
//                recall@k)
// Ranks are the retriever's raw ranks (no de-duplication).
import { InputError } from '../errors.js';
import type { QaItem, Retriever } from '../types.js';

export interface RetrievalMetrics {
  /** Items with at least one relevant document (the denominator of every mean). */
  n: number;
  recallAtK: { k: number; recall: number }[];
  /** Share of the items with every relevant document in the top k. */
  allGoldAtK: { k: number; rate: number }[];
  ndcgAt10: number;
  mrrAt10: number;
}

const SEARCH_BATCH = 512;

/** Relevance grades of an item (only grades > 0), or null when it has no judgements. */
export function judgements(item: QaItem): Map<string, number> | null {
  const grades = new Map<string, number>();
  if (item.relevance) {
    for (const [id, grade] of Object.entries(item.relevance)) if (grade > 0) grades.set(id, grade);
  } else {
    for (const id of item.goldDocIds ?? []) grades.set(id, 1);
  }
  return grades.size > 0 ? grades : null;
}

export function recallAt(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): number {
  let hits = 0;
  for (const id of new Set(ranked.slice(0, k))) if (grades.has(id)) hits += 1;
  return hits / grades.size;
}

/** Every relevant document is in the top k. */
export function allGoldAt(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): boolean {
  const top = new Set(ranked.slice(0, k));
  for (const id of grades.keys()) if (!top.has(id)) return false;
  return true;
}

export function ndcgAt(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): number {
  let dcg = 0;
  const seen = new Set<string>();
  ranked.slice(0, k).forEach((id, i) => {
    if (seen.has(id)) return; // a document counts once
    seen.add(id);
    dcg += (grades.get(id) ?? 0) / Math.log2(i + 2);
  });
  const ideal = [...grades.values()].sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return idcg > 0 ? dcg / idcg : 0;
}

export function reciprocalRankAt(ranked: readonly string[], grades: ReadonlyMap<string, number>, k: number): number {
  const i = ranked.slice(0, k).findIndex((id) => grades.has(id));
  return i < 0 ? 0 : 1 / (i + 1);
}

/** Whether any item has relevance judgements. */
export function hasJudgements(items: readonly QaItem[]): boolean {
  return items.some((item) => judgements(item) !== null);
}

/** Metrics from rankings already made (best-first corpus ids per item). */
export function metricsFromRankings(items: readonly QaItem[], rankings: readonly (readonly string[])[], ks: readonly number[]): RetrievalMetrics | null {
  const judged: { grades: Map<string, number>; ranked: readonly string[] }[] = [];
  items.forEach((item, i) => {
    const grades = judgements(item);
    if (grades) judged.push({ grades, ranked: rankings[i] ?? [] });
  });
  if (judged.length === 0) return null;
  const mean = (f: (x: (typeof judged)[number]) => number) => judged.reduce((s, x) => s + f(x), 0) / judged.length;
  return {
    n: judged.length,
    recallAtK: ks.map((k) => ({ k, recall: mean((x) => recallAt(x.ranked, x.grades, k)) })),
    allGoldAtK: ks.map((k) => ({ k, rate: mean((x) => (allGoldAt(x.ranked, x.grades, k) ? 1 : 0)) })),
    ndcgAt10: mean((x) => ndcgAt(x.ranked, x.grades, 10)),
    mrrAt10: mean((x) => reciprocalRankAt(x.ranked, x.grades, 10)),
  };
}

/** The depth the metrics read: max(10, ks) (nDCG@10 and MRR@10 read 10). */
export function metricsDepth(ks: readonly number[]): number {
  return Math.max(10, ...ks);
}

/** Runs the retriever over the judged items at depth max(10, ks) and scores it; null without judgements. */
export async function retrievalMetrics(items: readonly QaItem[], retriever: Retriever, ks: readonly number[] = [1, 5, 10, 100]): Promise<RetrievalMetrics | null> {
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new InputError(`recall@k needs whole k ≥ 1, got ${k}`);
  const judged = items.filter((item) => judgements(item) !== null);
  if (judged.length === 0) return null;
  const depth = metricsDepth(ks);
  const rankings: string[][] = [];
  for (let start = 0; start < judged.length; start += SEARCH_BATCH) {
    const batch = judged.slice(start, start + SEARCH_BATCH);
    const results = await retriever.search(batch.map((item) => item.question), depth);
    batch.forEach((_, b) => rankings.push((results[b] ?? []).map((hit) => hit.doc.id)));
  }
  return metricsFromRankings(judged, rankings, ks);
}
