// A retriever with a fixed ranking per question, for exact context tests.
import type { Doc, Retriever, ScoredDoc } from '../../src/types.js';

export function doc(id: string, text: string, title = `T${id}`): Doc {
  return { id, title, text };
}

/** `rankings[question]` is the best-first list; scores descend from the list length. */
export function fakeRetriever(rankings: Record<string, Doc[]>): Retriever & { calls: { queries: number; k: number }[] } {
  const calls: { queries: number; k: number }[] = [];
  return {
    name: 'fake',
    calls,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      calls.push({ queries: queries.length, k });
      return queries.map((q) => (rankings[q] ?? []).slice(0, k).map((d, i, all) => ({ doc: d, score: all.length - i })));
    },
    dispose: async () => {},
  };
}
