// One retrieval pass per run: a run needs each question's ranking for its contexts, its answer
// recall@k and its gold metrics, each at its own depth. `onePass` searches each question once, at
// the deepest of those depths (`prefetch`), and answers every later search of it at depth k ≤ that
// from the same ranking (its first k). A search deeper than the stored ranking (distractor contexts
// deepen until they find clean documents) goes to the retriever, and its ranking replaces the stored
// one. A ranking shorter than the depth it was asked at is complete (the retriever has nothing more),
// the assumption the context builder makes too.
//
// The first k of a ranking at depth D equal a search at depth k for bm25, exact dense search,
// precomputed and trec-run. Hybrid fuses lists max(k, 100) deep and HNSW searches with
// ef = max(ef_search, k): beyond 100 (hybrid) or ef_search (HNSW) the deeper pass ranks with deeper
// lists, and every number of the run comes from that one ranking.
import type { Retriever, ScoredDoc } from '../types.js';

/** Queries per call of the wrapped retriever: bounds memory on large suites. */
const SEARCH_BATCH = 512;

export interface OnePassRetriever extends Retriever {
  /** Searches the queries not yet searched at least `depth` deep, `depth` deep. */
  prefetch(queries: readonly string[], depth: number): Promise<void>;
  /** Queries sent to the wrapped retriever so far (each search of one query counts once). */
  readonly queriesSearched: number;
}

interface Stored {
  hits: ScoredDoc[];
  /** The depth it was searched at. */
  depth: number;
}

/** `retriever` searched at most once per query and depth (see the file comment). Its dispose() disposes `retriever`. */
export function onePass(retriever: Retriever): OnePassRetriever {
  const stored = new Map<string, Stored>();
  let queriesSearched = 0;
  const covers = (entry: Stored | undefined, k: number): boolean => entry !== undefined && (entry.depth >= k || entry.hits.length < entry.depth);

  async function fill(queries: readonly string[], k: number): Promise<void> {
    const todo = [...new Set(queries.filter((q) => !covers(stored.get(q), k)))];
    for (let start = 0; start < todo.length; start += SEARCH_BATCH) {
      const batch = todo.slice(start, start + SEARCH_BATCH);
      const results = await retriever.search(batch, k);
      queriesSearched += batch.length;
      batch.forEach((query, i) => stored.set(query, { hits: results[i] ?? [], depth: k }));
    }
  }

  return {
    name: retriever.name,
    get queriesSearched() {
      return queriesSearched;
    },
    prefetch: (queries, depth) => fill(queries, depth),
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      await fill(queries, k);
      return queries.map((query) => stored.get(query)!.hits.slice(0, k));
    },
    dispose: async () => {
      stored.clear();
      await retriever.dispose();
    },
  };
}
