// Lost-in-the-middle QA files (nelson-liu/lost-in-the-middle, `qa_data/`), gzipped or not:
// `{question, answers, ctxs: [{title, text, hasanswer, isgold, id?, score?}], ...}`, the `litm`
// preset of the field mapping (mapped.ts). `ctxs` are kept per item (best first) for the
// `precomputed` retriever; all ctxs pooled and de-duplicated (by id, else by title + text) form
// the corpus, so retrieval over it can also miss.
import type { Doc, QaItem } from '../../types.js';
import { readMapped } from './mapped.js';

export interface LitmData {
  items: QaItem[];
  corpus: Doc[];
}

/**
 * Reads a lost-in-the-middle file. Item ids are `litm-<line>`. A ctx keeps its `id` when it has
 * one, otherwise gets `litm-<hash of title+text>`; a passage seen again maps to the first one's
 * Doc, so item ctxs, `goldDocIds` and the corpus agree. Scores missing from the file become
 * `ctxs.length - rank` (strictly decreasing, so "best first" survives any sort).
 */
export async function readLitm(file: string, idPrefix = 'litm-'): Promise<LitmData> {
  const { items, corpus } = await readMapped(file, { preset: 'litm' }, { idPrefix, validate: true });
  return { items, corpus };
}
