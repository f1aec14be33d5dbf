// Answer normalisation as the study defines it (protocol.md, "Metrics"): lowercase; unify unicode
// quotes, dashes and slashes; replace every punctuation character by a space (SQuAD deletes it
// instead, which breaks tokenised NQ answers such as "May 18 , 2018"); drop the articles a/an/the
// as whole words; collapse whitespace. Hand-written because no library implements this variant.

const QUOTES = /[\u2018\u2019\u201A\u201B\u2032\u2035\u0060\u00B4]/g; // ‘ ’ ‚ ‛ ′ ‵ ` ´
const DOUBLE_QUOTES = /[\u201C\u201D\u201E\u201F\u2033\u2036\u00AB\u00BB]/g; // “ ” „ ‟ ″ ‶ « »
const DASHES = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/g; // ‐ ‑ ‒ – — ― − ﹘ ﹣ －
const SLASHES = /[\u2044\u2215\uFF0F]/g; // ⁄ ∕ ／
// Unicode punctuation and symbols (so `$`, `+`, `|` and the like separate words too).
const PUNCTUATION = /[\p{P}\p{S}]/gu;
// Articles are dropped as whole tokens after punctuation became spaces. A regex with `\b` would be
// wrong here: JS `\b` is ASCII-only, so it saw a word boundary inside "España" and produced "españ".
const ARTICLES = new Set(['a', 'an', 'the']);
const WHITESPACE = /\s+/;

// Scoring one sample normalises its scored text four times and its gold answers and the refusal
// markers about six times, and the same answers and responses recur across a run's cells: keep the
// normalised forms of short texts (30 ms of a warm quickstart's 3,600 samples otherwise).
const NORMALIZED = new Map<string, string>();
const MAX_NORMALIZED = 50_000;
const MAX_NORMALIZED_LENGTH = 400;

export function normalizeAnswer(text: string): string {
  return text.length > MAX_NORMALIZED_LENGTH ? normalizeUncached(text) : remembered(NORMALIZED, MAX_NORMALIZED, text);
}

/** The normalised text through a bounded memo, emptied when full (which only costs recomputation). */
function remembered(memo: Map<string, string>, capacity: number, text: string): string {
  let normalized = memo.get(text);
  if (normalized === undefined) {
    if (memo.size >= capacity) memo.clear();
    normalized = normalizeUncached(text);
    memo.set(text, normalized);
  }
  return normalized;
}

function normalizeUncached(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(QUOTES, "'")
    .replace(DOUBLE_QUOTES, '"')
    .replace(DASHES, '-')
    .replace(SLASHES, '/')
    .replace(PUNCTUATION, ' ')
    .split(WHITESPACE)
    .filter((token) => token.length > 0 && !ARTICLES.has(token))
    .join(' ');
}

/** Normalised, non-empty gold answers (an answer that normalises to "" would match everything). */
export function normalizedAnswers(answers: readonly string[]): string[] {
  return answers.map(normalizeAnswer).filter((a) => a.length > 0);
}

// A run checks the same retrieved documents once per grid cell (and the runner once more): keep
// their normalised text.
const NORMALIZED_CONTEXTS = new Map<string, string>();
const MAX_NORMALIZED_CONTEXTS = 20_000;

function normalizedContext(text: string): string {
  return remembered(NORMALIZED_CONTEXTS, MAX_NORMALIZED_CONTEXTS, text);
}

/** Whether any gold answer occurs in `text` as a plain substring after normalisation. */
export function containsAnswer(text: string, answers: readonly string[]): boolean {
  const haystack = normalizedContext(text);
  return normalizedAnswers(answers).some((a) => haystack.includes(a));
}
