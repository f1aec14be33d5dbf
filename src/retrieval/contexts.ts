// Builds the documents each item is shown with. Retrieval order is best first; the prompt order
// follows `order`: 'ascending' (the paper's choice) puts the best document LAST, next to the
// question. Duplicates (same title + text) are dropped before counting to k. Everything here is
// deterministic given the retriever, so every model sees byte-identical contexts.
import { contentKey } from '../data/formats/doc-id.js';
import { InputError } from '../errors.js';
import { containsAnswer, normalizeAnswer, normalizedAnswers } from '../scoring/normalize.js';
import type { ContextMode, Doc, DocOrder, ItemContext, QaItem, Retriever } from '../types.js';
import { itemRng, seededInt } from '../util/seeded.js';

export type OraclePosition = number | 'first' | 'last' | 'random';

export interface ContextOptions {
  mode: ContextMode;
  k: number;
  order: DocOrder;
  /**
   * Oracle mode: 0-based index of the gold document in prompt order (0 = first line, k − 1 = last,
   * next to the question), or 'first' / 'last' / 'random' (seeded per item id). Default: where the
   * best document goes under `order` ('last' when ascending, 'first' when descending).
   */
  oraclePosition?: OraclePosition;
  seed: number;
  /** The corpus by id: needed for oracle mode (gold lookup) and for the k ≤ corpus size check. */
  corpusById?: Map<string, Doc>;
}

/** Queries per retriever call: bounds memory on large suites. */
const SEARCH_BATCH = 512;
/** Distractor mode retrieves this many times k first, then deepens by the same factor. */
const DEEPEN_FACTOR = 4;
const MAX_DEPTH = 1 << 24;

export function docMentionsAnswer(doc: Doc, answers: readonly string[]): boolean {
  return containsAnswer(`${doc.title} ${doc.text}`, answers);
}

/** Any gold answer occurs in one of the documents (title + text); false for unanswerable items. */
export function answerInDocs(docs: readonly Doc[], answers: readonly string[]): boolean {
  return docs.some((doc) => docMentionsAnswer(doc, answers));
}

/** Best-first documents → prompt order. */
export function arrange(bestFirst: readonly Doc[], order: DocOrder): Doc[] {
  return order === 'ascending' ? [...bestFirst].reverse() : [...bestFirst];
}

/** Documents the prompt may not show for an item, besides duplicates. */
type Accept = (item: QaItem, doc: Doc) => boolean;

interface Collected {
  docs: Doc[]; // distinct, accepted, best first, at most `want`
  exhausted: boolean;
}

/**
 * Up to `want` distinct accepted documents per item, best first. Starts at `depth` results and
 * deepens (×4) for the items still short until the retriever runs out of documents.
 */
async function collect(
  items: readonly QaItem[],
  retriever: Retriever,
  want: number,
  depth: number,
  accept: Accept,
  corpusSize: number | undefined,
): Promise<Collected[]> {
  const out: Collected[] = items.map(() => ({ docs: [], exhausted: false }));
  let pending = items.map((_, i) => i);
  let current = corpusSize === undefined ? depth : Math.min(depth, corpusSize);
  while (pending.length > 0) {
    const stillShort: number[] = [];
    for (let start = 0; start < pending.length; start += SEARCH_BATCH) {
      const batch = pending.slice(start, start + SEARCH_BATCH);
      const results = await retriever.search(
        batch.map((i) => items[i]!.question),
        current,
      );
      batch.forEach((itemIndex, b) => {
        const hits = results[b] ?? [];
        const item = items[itemIndex]!;
        const seen = new Set<string>();
        const docs: Doc[] = [];
        for (const { doc } of hits) {
          const key = contentKey(doc.title, doc.text);
          if (seen.has(key)) continue;
          seen.add(key);
          if (!accept(item, doc)) continue;
          docs.push(doc);
          if (docs.length === want) break;
        }
        const exhausted = hits.length < current || (corpusSize !== undefined && current >= corpusSize);
        out[itemIndex] = { docs, exhausted };
        if (docs.length < want && !exhausted) stillShort.push(itemIndex);
      });
    }
    pending = stillShort;
    if (current >= MAX_DEPTH) break; // a retriever that never runs out: stop rather than loop
    current = corpusSize === undefined ? current * DEEPEN_FACTOR : Math.min(current * DEEPEN_FACTOR, corpusSize);
  }
  return out;
}

function shortfallError(item: QaItem, found: number, want: number, mode: ContextMode, corpusSize: number | undefined): InputError {
  const size = corpusSize === undefined ? '' : ` (corpus size: ${corpusSize} documents)`;
  return new InputError(
    `item \`${item.id}\`: ${mode} context needs ${want} distinct documents but the retriever has only ${found}${size}; lower k`,
  );
}

function oracleIndex(position: OraclePosition, k: number, seed: number, itemId: string): number {
  if (position === 'first') return 0;
  if (position === 'last') return k - 1;
  if (position === 'random') return seededInt(itemRng(seed, itemId, 'oracle'), 0, k - 1);
  if (!Number.isInteger(position) || position < 0 || position >= k) {
    throw new InputError(`oracle position ${position} is outside 0..${k - 1} (k = ${k})`);
  }
  return position;
}

function goldDoc(item: QaItem, corpusById: Map<string, Doc> | undefined): Doc {
  const goldId = item.goldDocIds?.[0];
  if (goldId === undefined) throw new InputError(`item \`${item.id}\` has no gold document; oracle contexts need one`);
  const doc = corpusById?.get(goldId) ?? item.ctxs?.find((ctx) => ctx.doc.id === goldId)?.doc;
  if (!doc) throw new InputError(`item \`${item.id}\`: gold document \`${goldId}\` is not in the corpus`);
  return doc;
}

/** The message for a k that no corpus of `corpusSize` documents can fill, or null when it fits. */
export function kExceedsCorpus(k: number, corpusSize: number): string | null {
  return k > corpusSize ? `k = ${k} is larger than the corpus (${corpusSize} documents)` : null;
}

function validate(opts: ContextOptions, retriever: Retriever | null): void {
  if (!CONTEXT_MODES[opts.mode].showsDocuments) return;
  if (!Number.isInteger(opts.k) || opts.k < 1) throw new InputError(`k must be a whole number ≥ 1 for ${opts.mode} contexts, got ${opts.k}`);
  if (opts.order !== 'ascending' && opts.order !== 'descending') throw new InputError(`unknown document order \`${String(opts.order)}\``);
  const corpusSize = opts.corpusById?.size;
  const tooLarge = corpusSize !== undefined ? kExceedsCorpus(opts.k, corpusSize) : null;
  if (tooLarge !== null) throw new InputError(tooLarge);
  const needsRetriever = CONTEXT_MODES[opts.mode].needsRetriever(opts.k);
  if (needsRetriever && !retriever) throw new InputError(`${opts.mode} contexts with k = ${opts.k} need a retriever`);
  if ((opts.mode === 'oracle' || opts.mode === 'counterfactual') && typeof opts.oraclePosition === 'number') oracleIndex(opts.oraclePosition, opts.k, opts.seed, '');
}

/** One item's documents in prompt order, and what they claim instead of the true answer, if anything. */
export interface Shown {
  docs: Doc[];
  contextAnswers?: string[];
}

const shownDocs = (docs: Doc[]): Shown => ({ docs });

// ---- Counterfactual contexts (docs/conflicts.md) -------------------------------------------------

/** The answer type of an item: its id's last `-` part (`p001-birthplace` → `birthplace`), or null. */
export function answerType(itemId: string): string | null {
  const dash = itemId.lastIndexOf('-');
  return dash > 0 && dash < itemId.length - 1 ? itemId.slice(dash + 1) : null;
}

/**
 * The wrong value a counterfactual context plants for each item: its own `counterfactual` field
 * when it has one, else the answer of another of the run's items of the same answer type (id
 * suffix) that is not one of its true answers, drawn with the suite's seed and the item id (so
 * every model, and every run of the same suite, gets the same value). An item with neither is an
 * InputError.
 */
export function counterfactualValues(items: readonly QaItem[], seed: number): string[] {
  const byType = new Map<string, string[]>();
  for (const item of items) {
    const type = answerType(item.id);
    const answer = item.answers[0];
    if (type === null || answer === undefined) continue;
    const pool = byType.get(type) ?? [];
    if (!pool.includes(answer)) pool.push(answer);
    byType.set(type, pool);
  }
  for (const pool of byType.values()) pool.sort();
  return items.map((item) => {
    const own = item.counterfactual?.find((value) => normalizeAnswer(value).length > 0);
    if (own !== undefined) return own;
    const type = answerType(item.id);
    const truths = new Set(normalizedAnswers(item.answers));
    const candidates = (type === null ? [] : (byType.get(type) ?? [])).filter((value) => !truths.has(normalizeAnswer(value)));
    if (candidates.length === 0) {
      const why = type === null ? 'its id has no answer type (a `-` suffix such as `p001-birthplace`)' : `no other item of answer type \`${type}\` has a different answer`;
      throw new InputError(`item \`${item.id}\`: a counterfactual context needs a wrong value: it has no \`counterfactual\` field and ${why}`);
    }
    return candidates[seededInt(itemRng(seed, item.id, 'counterfactual'), 0, candidates.length - 1)]!;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `text` with every case-insensitive whole-word occurrence of each answer alias replaced by
 * `value` (longest alias first, so `Mount Everest` goes whole before `Everest`). Whole-word: not
 * inside a longer run of letters or digits.
 */
export function substituteAnswer(text: string, answers: readonly string[], value: string): string {
  const aliases = [...new Set(answers.map((a) => a.trim()).filter((a) => a.length > 0))].sort((a, b) => b.length - a.length);
  if (aliases.length === 0) return text;
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${aliases.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  return text.replace(pattern, () => value);
}

/** How one context mode picks each item's documents (best first, before `order` is applied). */
interface ContextModeDefinition {
  /** A suite's grid may name it (`closed-book` comes from closed-book instructions instead). */
  inGrid: boolean;
  /** The prompt shows documents (false: no retriever, k recorded as 0). */
  showsDocuments: boolean;
  needsRetriever(k: number): boolean;
  /** How deep its first search for an item goes (0: no search); a run retrieves once, at least this deep. */
  searchDepth(k: number): number;
  /** Documents per item, in prompt order (and what they claim instead of the truth, if anything). */
  build(items: QaItem[], retriever: Retriever | null, opts: ContextOptions): Promise<Shown[]>;
}

/**
 * The context modes. A mode's name is also in `ContextMode` (src/types.ts), so a missing entry is
 * a compile error.
 * - retrieved: top-k distinct documents; fewer than k available → InputError.
 * - oracle: the item's first gold document at the chosen position, plus the top k − 1 distinct
 *   retrieved documents that are not gold (by id or by content).
 * - distractors: top-k distinct documents none of which contains a gold answer (title + text) and
 *   none of which is a gold document; retrieval deepens until k are found or the corpus runs out,
 *   in which case the context simply has fewer than k documents (`docs.length < k`).
 * - counterfactual: the oracle's gold document with every whole-word occurrence of a gold answer
 *   replaced by a wrong value (counterfactualValues), plus, for k > 1, the top k − 1 documents that
 *   are neither gold nor hold a gold answer (as distractors: possibly fewer), so the context only
 *   ever states the wrong value. An item without a gold document is an InputError, as for oracle.
 * - closed-book: no documents (k recorded as 0).
 */
export const CONTEXT_MODES: Record<ContextMode, ContextModeDefinition> = {
  retrieved: {
    inGrid: true,
    showsDocuments: true,
    needsRetriever: () => true,
    searchDepth: (k) => k,
    async build(items, retriever, { k, order, corpusById }) {
      const corpusSize = corpusById?.size;
      const collected = await collect(items, retriever!, k, CONTEXT_MODES.retrieved.searchDepth(k), () => true, corpusSize);
      return items.map((item, i) => {
        const { docs } = collected[i]!;
        if (docs.length < k) throw shortfallError(item, docs.length, k, 'retrieved', corpusSize);
        return shownDocs(arrange(docs, order));
      });
    },
  },
  oracle: {
    inGrid: true,
    showsDocuments: true,
    needsRetriever: (k) => k > 1,
    searchDepth: (k) => (k > 1 ? k : 0),
    async build(items, retriever, opts) {
      const { k, order, corpusById } = opts;
      const corpusSize = corpusById?.size;
      const golds = items.map((item) => goldDoc(item, corpusById));
      const goldKeys = new Map(items.map((item, i) => [item, contentKey(golds[i]!.title, golds[i]!.text)]));
      const notGold: Accept = (item, doc) => !item.goldDocIds!.includes(doc.id) && contentKey(doc.title, doc.text) !== goldKeys.get(item);
      const others = k > 1 ? await collect(items, retriever!, k - 1, CONTEXT_MODES.oracle.searchDepth(k), notGold, corpusSize) : items.map(() => ({ docs: [], exhausted: true }));
      const position = opts.oraclePosition ?? (order === 'ascending' ? 'last' : 'first');
      return items.map((item, i) => {
        const { docs } = others[i]!;
        if (docs.length < k - 1) throw shortfallError(item, docs.length + 1, k, 'oracle', corpusSize);
        const shown = arrange(docs, order);
        shown.splice(oracleIndex(position, k, opts.seed, item.id), 0, golds[i]!);
        return shownDocs(shown);
      });
    },
  },
  distractors: {
    inGrid: true,
    showsDocuments: true,
    needsRetriever: () => true,
    searchDepth: (k) => DEEPEN_FACTOR * k,
    async build(items, retriever, { k, order, corpusById }) {
      const clean: Accept = (item, doc) => !(item.goldDocIds ?? []).includes(doc.id) && !docMentionsAnswer(doc, item.answers);
      const collected = await collect(items, retriever!, k, CONTEXT_MODES.distractors.searchDepth(k), clean, corpusById?.size);
      return collected.map((c) => shownDocs(arrange(c.docs, order)));
    },
  },
  counterfactual: {
    inGrid: true,
    showsDocuments: true,
    needsRetriever: (k) => k > 1,
    searchDepth: (k) => (k > 1 ? DEEPEN_FACTOR * k : 0),
    async build(items, retriever, opts) {
      const { k, order, corpusById } = opts;
      const golds = items.map((item) => goldDoc(item, corpusById));
      const values = counterfactualValues(items, opts.seed);
      const clean: Accept = (item, doc) => !(item.goldDocIds ?? []).includes(doc.id) && !docMentionsAnswer(doc, item.answers);
      const others = k > 1 ? await collect(items, retriever!, k - 1, CONTEXT_MODES.counterfactual.searchDepth(k), clean, corpusById?.size) : items.map(() => ({ docs: [], exhausted: true }));
      const position = opts.oraclePosition ?? (order === 'ascending' ? 'last' : 'first');
      return items.map((item, i) => {
        const gold = golds[i]!;
        const value = values[i]!;
        // Same id: the record's docIds says which document was altered, contextAnswers to what.
        const altered: Doc = { id: gold.id, title: substituteAnswer(gold.title, item.answers, value), text: substituteAnswer(gold.text, item.answers, value) };
        const shown = arrange(others[i]!.docs, order);
        shown.splice(Math.min(oracleIndex(position, k, opts.seed, item.id), shown.length), 0, altered);
        return { docs: shown, contextAnswers: [value] };
      });
    },
  },
  'closed-book': {
    inGrid: false,
    showsDocuments: false,
    needsRetriever: () => false,
    searchDepth: () => 0,
    build: async (items) => items.map(() => shownDocs([])),
  },
};

/** Modes a suite's grid may name. */
export const GRID_CONTEXT_MODES = (Object.keys(CONTEXT_MODES) as ContextMode[]).filter((mode) => CONTEXT_MODES[mode].inGrid) as [ContextMode, ...ContextMode[]];
export const ALL_CONTEXT_MODES = Object.keys(CONTEXT_MODES) as [ContextMode, ...ContextMode[]];

/** Contexts for `items`, in item order (see CONTEXT_MODES for what each mode shows). */
export async function buildContexts(items: QaItem[], retriever: Retriever | null, opts: ContextOptions): Promise<ItemContext[]> {
  validate(opts, retriever);
  const mode = CONTEXT_MODES[opts.mode];
  const shown = await mode.build(items, retriever, opts);
  return items.map((item, i): ItemContext => {
    const { docs } = shown[i]!;
    const context: ItemContext = { itemId: item.id, mode: opts.mode, k: mode.showsDocuments ? opts.k : 0, docs, answerInContext: answerInDocs(docs, item.answers) };
    // A dataset's own conflict (RGB's fake answer in its passages) counts where the documents show it.
    const claimed = shown[i]!.contextAnswers ?? item.contextAnswers ?? item.counterfactual;
    if (claimed && claimed.length > 0 && (shown[i]!.contextAnswers !== undefined || answerInDocs(docs, claimed))) context.contextAnswers = claimed;
    return context;
  });
}
