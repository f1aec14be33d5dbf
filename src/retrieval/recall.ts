// Answer recall@k of a retriever: the share of answerable items whose top-k documents contain a
// gold answer (title + text, normalised substring). The paper reports it for Contriever on NQ.
import { InputError } from '../errors.js';
import type { QaItem, Retriever } from '../types.js';
import { docMentionsAnswer } from './contexts.js';

export interface RecallAtK {
  k: number;
  /** hits / n; null when no item is answerable. */
  recall: number | null;
  hits: number;
  /** Answerable items (answers present, not `unanswerable`). */
  n: number;
}

const SEARCH_BATCH = 512;

/** The items recall counts: answers present, not `unanswerable`. */
export function isAnswerable(item: QaItem): boolean {
  return !item.unanswerable && item.answers.length > 0;
}

/**
 * Recall for every k in `ks` from one retrieval pass at max(ks). Raw retriever ranks are used (no
 * de-duplication), as retriever recall is usually reported.
 */
export async function answerRecallAtK(items: readonly QaItem[], retriever: Retriever, ks: readonly number[]): Promise<RecallAtK[]> {
  if (ks.length === 0) return [];
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new InputError(`recall@k needs whole k ≥ 1, got ${k}`);
  const answerable = items.filter(isAnswerable);
  const maxK = Math.max(...ks);
  // Rank (1-based) of the first document holding an answer, or Infinity.
  const firstHitRank: number[] = [];
  for (let start = 0; start < answerable.length; start += SEARCH_BATCH) {
    const batch = answerable.slice(start, start + SEARCH_BATCH);
    const results = await retriever.search(batch.map((item) => item.question), maxK);
    batch.forEach((item, b) => {
      const rank = (results[b] ?? []).findIndex(({ doc }) => docMentionsAnswer(doc, item.answers));
      firstHitRank.push(rank < 0 ? Infinity : rank + 1);
    });
  }
  return ks.map((k) => {
    const hits = firstHitRank.filter((rank) => rank <= k).length;
    return { k, recall: answerable.length === 0 ? null : hits / answerable.length, hits, n: answerable.length };
  });
}
