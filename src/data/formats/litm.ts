// Lost-in-the-middle QA files (nelson-liu/lost-in-the-middle, `qa_data/`), gzipped or not:
// `{question, answers, ctxs: [{title, text, hasanswer, isgold, id?, score?}], ...}`.
// `ctxs` are kept per item (best first) for the `precomputed` retriever; all ctxs pooled and
// de-duplicated by title + text form the corpus, so retrieval over it can also miss.
import { z } from 'zod';
import { InputError, at } from '../../errors.js';
import type { Doc, QaItem, ScoredDoc } from '../../types.js';
import { ExactInteger, readJsonlRecords } from '../jsonl.js';
import { contentDocId, contentKey } from './doc-id.js';
import { answersField, idField, parseOrThrow, record, stringField } from './validate.js';

// Retrieval-results files store scores as numbers or numeric strings.
// (A score is a number: an integer too long for a double is read as its nearest double.)
const scoreField = z
  .union([z.number(), z.instanceof(ExactInteger), z.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/)], {
    errorMap: () => ({ message: 'expected a number' }),
  })
  .transform((v) => Number(v instanceof ExactInteger ? v.text : v));

const ctxRecord = record({
  title: stringField(),
  text: stringField({ nonEmpty: true }),
  isgold: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
  id: idField.optional(),
  score: scoreField.optional(),
});

const litmLine = record({
  question: stringField({ nonEmpty: true }),
  answers: answersField,
  ctxs: z.array(ctxRecord, { invalid_type_error: 'expected an array of passages', required_error: 'missing (expected an array of passages)' }),
});

export interface LitmData {
  items: QaItem[];
  corpus: Doc[];
}

/**
 * Reads a lost-in-the-middle file. Item ids are `litm-<line>`. A ctx keeps its `id` when it has
 * one, otherwise gets `litm-<hash of title+text>`; a passage seen again (same title + text) maps to
 * the first one's Doc, so item ctxs, `goldDocIds` and the corpus agree. Scores missing from the
 * file become `ctxs.length - rank` (strictly decreasing, so "best first" survives any sort).
 */
export async function readLitm(file: string, idPrefix = 'litm-'): Promise<LitmData> {
  const items: QaItem[] = [];
  const corpus: Doc[] = [];
  const byContent = new Map<string, Doc>();
  const contentOfId = new Map<string, { key: string; line: number }>();

  for await (const { line, value } of readJsonlRecords(file)) {
    const parsed = parseOrThrow(litmLine, value, file, line);
    const ctxs: ScoredDoc[] = [];
    const goldDocIds: string[] = [];
    parsed.ctxs.forEach((ctx, rank) => {
      const key = contentKey(ctx.title, ctx.text);
      let doc = byContent.get(key);
      if (!doc) {
        doc = { id: ctx.id ?? contentDocId('litm-', ctx.title, ctx.text), title: ctx.title, text: ctx.text };
        const clash = contentOfId.get(doc.id);
        if (clash && clash.key !== key) {
          throw new InputError(
            at(file, line, `field \`ctxs[${rank}].id\`: id \`${doc.id}\` names a different passage at line ${clash.line}`),
          );
        }
        contentOfId.set(doc.id, { key, line });
        byContent.set(key, doc);
        corpus.push(doc);
      }
      ctxs.push({ doc, score: ctx.score ?? parsed.ctxs.length - rank });
      if (ctx.isgold && !goldDocIds.includes(doc.id)) goldDocIds.push(doc.id);
    });
    const item: QaItem = { id: `${idPrefix}${line}`, question: parsed.question, answers: parsed.answers, ctxs };
    if (goldDocIds.length > 0) {
      item.goldDocIds = goldDocIds;
      item.answerInCorpus = true;
    }
    items.push(item);
  }
  if (items.length === 0) throw new InputError(at(file, undefined, 'no QA items'));
  return { items, corpus };
}
