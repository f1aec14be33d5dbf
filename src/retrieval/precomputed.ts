// The `precomputed` retriever: each item's own `ctxs` (lost-in-the-middle files ship them), best
// first. The Retriever interface only passes query strings, so the retriever is built from the
// items and maps question → ctxs; search with a question of no given item is an error.
import { InputError } from '../errors.js';
import type { QaItem, Retriever, ScoredDoc } from '../types.js';

function sameCtxs(a: ScoredDoc[], b: ScoredDoc[]): boolean {
  return a.length === b.length && a.every((x, i) => x.doc.id === b[i]!.doc.id && x.score === b[i]!.score);
}

/**
 * Items without `ctxs` are ignored here (searching for them fails). Two items with the same
 * question must carry the same ctxs, since a query could not tell them apart.
 * `search` returns the first k ctxs (fewer when the item has fewer).
 */
export function createPrecomputedRetriever(items: readonly QaItem[]): Retriever {
  const byQuestion = new Map<string, { itemId: string; ctxs: ScoredDoc[] }>();
  for (const item of items) {
    if (!item.ctxs) continue;
    const known = byQuestion.get(item.question);
    if (known && !sameCtxs(known.ctxs, item.ctxs)) {
      throw new InputError(
        `items \`${known.itemId}\` and \`${item.id}\` ask the same question with different precomputed contexts: "${item.question}"`,
      );
    }
    if (!known) byQuestion.set(item.question, { itemId: item.id, ctxs: item.ctxs });
  }
  return {
    name: 'precomputed',
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      return queries.map((query) => {
        const entry = byQuestion.get(query);
        if (!entry) throw new InputError(`precomputed retriever: no item with precomputed contexts asks "${query}"`);
        return entry.ctxs.slice(0, k);
      });
    },
    dispose: async () => {},
  };
}
