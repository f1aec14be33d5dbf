// The BM25 tokenizer: NFKC, lowercase, unicode words (letters, marks, digits), minus a stopword
// list. Part of an index's identity (TOKENIZER_VERSION and the stopword list go into its cache key),
// so change the version with it. tools/bm25_reference.py re-implements it in Python: keep the two in
// step (docs/retrieval.md states the rules).

export const TOKENIZER_VERSION = 1;

/**
 * ragtax's first list (MiniSearch-era scoring): function words and question words. The default of
 * `bm25.scoring: minisearch`, so that old results are reproduced.
 */
export const STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'been', 'but', 'by', 'did', 'do', 'does', 'for',
  'from', 'had', 'has', 'have', 'how', 'in', 'into', 'is', 'it', 'its', 'of', 'on', 'or', 's',
  'that', 'the', 'their', 'there', 'these', 'this', 'those', 'to', 'was', 'were', 'what', 'when',
  'where', 'which', 'who', 'whom', 'whose', 'why', 'will', 'with',
]);

/** Lucene's English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, 33 words): the default of `bm25.scoring: lucene`. */
export const LUCENE_STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no',
  'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this',
  'to', 'was', 'will', 'with',
]);

/** The named stopword lists a suite may give as `retrieval.bm25.stopwords`. */
export const STOPWORD_LISTS: Record<'lucene' | 'ragtax' | 'none', ReadonlySet<string>> = {
  lucene: LUCENE_STOPWORDS,
  ragtax: STOPWORDS,
  none: new Set(),
};

// Letters, marks (so combining accents stay inside a word) and digits.
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
// NFKC leaves ASCII as it is; skipping it there halves tokenising time on English corpora.
const ASCII = /^[\x00-\x7f]*$/;

/** Words of `text`, lowercased (NFKC first, so ligatures and full-width forms fold). */
export function words(text: string): string[] {
  const folded = ASCII.test(text) ? text : text.normalize('NFKC');
  return folded.toLowerCase().match(WORD) ?? [];
}

/** Index/query terms: words that are not stopwords (default: ragtax's first list). */
export function tokenize(text: string, stopwords: ReadonlySet<string> = STOPWORDS): string[] {
  return words(text).filter((w) => !stopwords.has(w));
}
