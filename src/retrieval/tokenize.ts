// The BM25 tokenizer: lowercase unicode words, minus a small English stopword list. Part of the
// index's identity (TOKENIZER_VERSION goes into the cache key), so change the version with it.

export const TOKENIZER_VERSION = 1;

// Function words and question words: frequent everywhere, so they only add noise to BM25.
// Kept short on purpose (content words like "first" or "year" stay searchable).
export const STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'been', 'but', 'by', 'did', 'do', 'does', 'for',
  'from', 'had', 'has', 'have', 'how', 'in', 'into', 'is', 'it', 'its', 'of', 'on', 'or', 's',
  'that', 'the', 'their', 'there', 'these', 'this', 'those', 'to', 'was', 'were', 'what', 'when',
  'where', 'which', 'who', 'whom', 'whose', 'why', 'will', 'with',
]);

// Letters, marks (so combining accents stay inside a word) and digits.
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** Words of `text`, lowercased (NFKC first, so ligatures and full-width forms fold). */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** Index/query terms: words that are not stopwords. */
export function tokenize(text: string): string[] {
  return words(text).filter((w) => !STOPWORDS.has(w));
}
