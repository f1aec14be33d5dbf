// The `trec-run` retriever: rankings made elsewhere (Pyserini/Anserini, an Elasticsearch export,
// ir_datasets tools, a 21M-passage Contriever search on a cluster), read from a standard TREC run
// file, with the documents taken from the suite's corpus. A line is `qid Q0 docid rank score tag`
// (whitespace-separated); a query's qid is an item id. Each query's documents are ordered as
// trec_eval orders them (score descending, ties by docid descending; the rank column is checked but,
// as in trec_eval, not used), so ragtax's gold metrics agree with trec_eval on the same file.
// The Retriever interface passes questions, not ids: the retriever maps each item's question to
// its ranking, as `precomputed` does.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readTextLines } from '../data/jsonl.js';
import { at, InputError } from '../errors.js';
import type { Doc, QaItem, Retriever, ScoredDoc } from '../types.js';

/** The fields `retriever: trec-run` adds to the suite's `retrieval` block. */
export const trecRunSettings = {
  /** The TREC run file (`qid Q0 docid rank score tag` lines; `.gz` read as gzip), relative to the suite file. */
  run_file: z.string().min(1).optional(),
  /**
   * Items the run has no line for: `error` (the default) stops at the first search for one, naming
   * them all; `empty` gives them an empty ranking (they count as misses in recall, and a context that
   * needs documents for them fails).
   */
  run_missing: z.enum(['error', 'empty']).optional(),
};

export type MissingPolicy = 'error' | 'empty';

/** A longer line is not a TREC run line (a missing line break, a binary file). */
const MAX_LINE_BYTES = 64 * 1024;
/** Ids quoted in a message. */
const SHOWN_IDS = 5;

interface RunLine {
  docid: string;
  score: number;
  line: number;
}

export interface TrecRunStats {
  file: string;
  lines: number;
  /** Distinct qids in the file. */
  queries: number;
  /** Items with at least one line. */
  matchedItems: number;
  /** Items without a line (given an empty ranking under `run_missing: empty`). */
  missingItems: number;
  /** The longest ranking of an item. */
  maxDepth: number;
  seconds: number;
}

export interface TrecRunRetriever extends Retriever {
  readonly stats: TrecRunStats;
}

export interface TrecRunOptions {
  /** Items whose ids are the run's qids (evaluated and few-shot). */
  items: readonly QaItem[];
  corpus: readonly Doc[];
  missing?: MissingPolicy;
}

/** trec_eval's order: score descending, then docid descending, byte-wise (its strcmp). */
function trecEvalOrder(a: RunLine, b: RunLine): number {
  if (a.score !== b.score) return b.score - a.score;
  return Buffer.compare(Buffer.from(b.docid), Buffer.from(a.docid));
}

const quoted = (ids: readonly string[], total: number) => ids.slice(0, SHOWN_IDS).map((id) => `\`${id}\``).join(', ') + (total > SHOWN_IDS ? ', …' : '');

/** The run file's absolute path: `retrieval.run_file` relative to the suite file. */
export function trecRunPath(suiteFile: string, runFile: string): string {
  return path.resolve(path.dirname(suiteFile), runFile);
}

/**
 * The run file a suite's `retrieval` block reads, when it uses `retriever: trec-run` and the file
 * exists (a missing one is reported by the retriever, naming it): a data file, hashed in the manifest.
 */
export function trecRunDataFile(suiteFile: string, retrieval: { retriever: string; run_file?: unknown }): string | undefined {
  if (retrieval.retriever !== 'trec-run' || typeof retrieval.run_file !== 'string') return undefined;
  const file = trecRunPath(suiteFile, retrieval.run_file);
  return existsSync(file) ? file : undefined;
}

/**
 * Reads `file` (streamed: only the lines of the items' qids are kept) and resolves its documents in
 * `corpus`. Refused with an InputError naming file and line: a malformed line, a non-numeric score,
 * a document listed twice for one query, a document not in the corpus; and, unless `missing` is
 * `empty`, a search for an item the run has no line for.
 */
export async function createTrecRunRetriever(file: string, opts: TrecRunOptions): Promise<TrecRunRetriever> {
  const started = performance.now();
  // One entry per item id: its lines and, to refuse duplicates, its documents.
  const byQid = new Map<string, { lines: RunLine[]; docs: Set<string> }>();
  for (const item of opts.items) byQid.set(item.id, { lines: [], docs: new Set() });
  const wanted = byQid.size;
  const otherQids = new Set<string>();
  let lines = 0;
  for await (const { line, text } of readTextLines(file, { maxLineBytes: MAX_LINE_BYTES })) {
    const fields = text.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue; // a blank line
    lines += 1;
    if (fields.length !== 6) {
      throw new InputError(at(file, line, `expected 6 whitespace-separated fields \`qid Q0 docid rank score tag\`, found ${fields.length}`));
    }
    const [qid, , docid, rank, scoreText] = fields as [string, string, string, string, string, string];
    if (!/^-?\d+$/.test(rank)) throw new InputError(at(file, line, `rank \`${rank}\` is not a whole number (field 4 of \`qid Q0 docid rank score tag\`)`));
    const score = Number(scoreText);
    if (scoreText === '' || !Number.isFinite(score)) {
      throw new InputError(at(file, line, `score \`${scoreText}\` is not a finite number (field 5 of \`qid Q0 docid rank score tag\`)`));
    }
    const entry = byQid.get(qid);
    if (!entry) {
      otherQids.add(qid);
      continue;
    }
    if (entry.docs.has(docid)) {
      // trec_eval refuses a run that lists a document twice for a query: so does ragtax.
      const earlier = entry.lines.find((x) => x.docid === docid)!.line;
      throw new InputError(at(file, line, `query \`${qid}\` lists document \`${docid}\` twice (also on line ${earlier})`));
    }
    entry.docs.add(docid);
    entry.lines.push({ docid, score, line });
  }

  // Every document the kept lines name, found in one pass over the corpus (no id map of a 21M corpus).
  const needed = new Map<string, Doc | null>();
  for (const entry of byQid.values()) {
    entry.docs.clear();
    for (const { docid } of entry.lines) needed.set(docid, null);
  }
  for (const doc of opts.corpus) if (needed.has(doc.id)) needed.set(doc.id, doc);
  let first: { qid: string; docid: string; line: number } | undefined;
  for (const [qid, { lines: ranking }] of byQid) {
    for (const { docid, line } of ranking) if (needed.get(docid) === null && (!first || line < first.line)) first = { qid, docid, line };
  }
  if (first) {
    const absent = [...needed.values()].filter((doc) => doc === null).length;
    throw new InputError(
      at(file, first.line, `document \`${first.docid}\` (query \`${first.qid}\`) is not in the corpus (${opts.corpus.length} documents); ${absent} of the ${needed.size} documents the run ranks for the items are missing from it: the run must come from an index of the same corpus, with the same document ids`),
    );
  }

  const rankings = new Map<string, ScoredDoc[]>();
  let maxDepth = 0;
  for (const [qid, { lines: ranking }] of byQid) {
    if (ranking.length === 0) continue;
    ranking.sort(trecEvalOrder);
    rankings.set(qid, ranking.map(({ docid, score }) => ({ doc: needed.get(docid)!, score })));
    maxDepth = Math.max(maxDepth, ranking.length);
  }
  byQid.clear();

  const missing = [...new Set(opts.items.filter((item) => !rankings.has(item.id)).map((item) => item.id))];
  const policy = opts.missing ?? 'error';
  // Checked when a missing item is searched, so that items never searched (few-shot exemplars shown
  // without documents) need no line; the message counts every missing item.
  const missingError = (): InputError => {
    // When nothing matches, the ids are likely of another form: show both sides.
    const hint = rankings.size === 0 && otherQids.size > 0 ? `; the run's qids look like ${quoted([...otherQids], otherQids.size)}` : '';
    return new InputError(
      `${file}: ${missing.length} of ${wanted} items have no line in the run (${quoted(missing, missing.length)})${hint}. ` +
        'A query id (the first field) must be an item id; run every item, or set `retrieval.run_missing: empty` to give those items an empty ranking',
    );
  };

  const byQuestion = new Map<string, { itemId: string; ranking: ScoredDoc[] | null }>();
  for (const item of opts.items) {
    const ranking = rankings.get(item.id) ?? (policy === 'empty' ? [] : null);
    const known = byQuestion.get(item.question);
    if (known && !sameRanking(known.ranking, ranking)) {
      throw new InputError(`${file}: items \`${known.itemId}\` and \`${item.id}\` ask the same question with different rankings, which a search by question cannot tell apart: "${item.question}"`);
    }
    if (!known) byQuestion.set(item.question, { itemId: item.id, ranking });
  }

  const stats: TrecRunStats = {
    file,
    lines,
    queries: rankings.size + otherQids.size,
    matchedItems: wanted - missing.length,
    missingItems: missing.length,
    maxDepth,
    seconds: (performance.now() - started) / 1000,
  };
  return {
    name: 'trec-run',
    stats,
    async search(queries: string[], k: number): Promise<ScoredDoc[][]> {
      return queries.map((query) => {
        const entry = byQuestion.get(query);
        if (!entry) throw new InputError(`trec-run retriever (${file}): no item asks "${query}"`);
        if (entry.ranking === null) throw missingError();
        return entry.ranking.slice(0, k);
      });
    },
    dispose: async () => {},
  };
}

function sameRanking(a: readonly ScoredDoc[] | null, b: readonly ScoredDoc[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x.doc.id === b[i]!.doc.id && x.score === b[i]!.score);
}
