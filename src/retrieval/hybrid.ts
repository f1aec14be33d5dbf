// Hybrid retrieval: reciprocal rank fusion (Cormack et al., 2009) of several retrievers' rankings.
// A document's fused score is Σ 1 / (rrfK + rank) over the lists it appears in (rank 1-based).
// Each list is taken `depth` deep (at least k). Hits with score ≤ 0 from a list marked `sparse`
// are not matches (BM25 pads short lists with score-0 documents in corpus order) and are left out.
// Ties: the better best rank first, then the earlier list, then the document id.
import { InputError } from '../errors.js';
import type { Doc, Retriever, ScoredDoc } from '../types.js';

export const DEFAULT_RRF_K = 60;
/** Each component list is read this deep (or k, if larger). */
export const DEFAULT_FUSION_DEPTH = 100;

export interface FusionInput {
  retriever: Retriever;
  /** Drop non-positive scores (padding) from this list. */
  sparse?: boolean;
}

export interface HybridOptions {
  rrfK?: number;
  depth?: number;
  /** Number of documents available (caps the depth and the result). */
  corpusSize?: number;
}

/** Fuses best-first lists; exported for tests and for fusing precomputed rankings. */
export function reciprocalRankFusion(lists: readonly (readonly ScoredDoc[])[], rrfK: number, k: number): ScoredDoc[] {
  const fused = new Map<string, { doc: Doc; score: number; bestRank: number; firstList: number }>();
  lists.forEach((list, l) => {
    list.forEach(({ doc }, i) => {
      const rank = i + 1;
      const entry = fused.get(doc.id);
      if (entry) {
        entry.score += 1 / (rrfK + rank);
        entry.bestRank = Math.min(entry.bestRank, rank);
      } else {
        fused.set(doc.id, { doc, score: 1 / (rrfK + rank), bestRank: rank, firstList: l });
      }
    });
  });
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.bestRank - b.bestRank || a.firstList - b.firstList || (a.doc.id < b.doc.id ? -1 : a.doc.id > b.doc.id ? 1 : 0))
    .slice(0, k)
    .map(({ doc, score }) => ({ doc, score }));
}

export function createHybridRetriever(inputs: readonly FusionInput[], opts: HybridOptions = {}): Retriever {
  const rrfK = opts.rrfK ?? DEFAULT_RRF_K;
  const depth = opts.depth ?? DEFAULT_FUSION_DEPTH;
  if (!(rrfK >= 0) || !Number.isFinite(rrfK)) throw new InputError(`rrf_k must be a number ≥ 0, got ${rrfK}`);
  if (inputs.length === 0) throw new InputError('hybrid retrieval needs at least one retriever');
  return {
    name: 'hybrid',
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      let want = Math.max(k, depth);
      if (opts.corpusSize !== undefined) want = Math.min(want, opts.corpusSize);
      const results = await Promise.all(inputs.map((input) => input.retriever.search(queries, want)));
      return queries.map((_, q) => {
        const lists = inputs.map((input, l) => {
          const list = results[l]![q] ?? [];
          return input.sparse ? list.filter((hit) => hit.score > 0) : list;
        });
        return reciprocalRankFusion(lists, rrfK, k);
      });
    },
    dispose: async () => {
      for (const input of inputs) await input.retriever.dispose();
    },
  };
}
