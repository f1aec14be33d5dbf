// The project's own format: a corpus JSONL of `{id, title, text}` and a QA JSONL of
// `{id, question, answers, gold_doc_ids?, answer_in_corpus?, cluster?}`.
import { z } from 'zod';
import { InputError, at } from '../../errors.js';
import type { Doc, QaItem } from '../../types.js';
import { readJsonlRecords } from '../jsonl.js';
import { IdRegistry, answersField, idField, parseOrThrow, record, stringField } from './validate.js';

const corpusLine = record({
  id: idField,
  title: stringField(),
  text: stringField({ nonEmpty: true }),
});

const qaLine = record({
  id: idField,
  question: stringField({ nonEmpty: true }),
  answers: answersField,
  gold_doc_ids: z.array(idField, { invalid_type_error: 'expected an array of ids' }).optional(),
  answer_in_corpus: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
  /** The group the item belongs to (its entity, page, paragraph), for clustered intervals. */
  cluster: stringField({ nonEmpty: true }).optional(),
});

/** Reads a corpus JSONL; ids must be unique and the corpus non-empty. */
export async function readRagtaxCorpus(file: string): Promise<Doc[]> {
  const docs: Doc[] = [];
  const ids = new IdRegistry(file, 'document');
  for await (const { line, value } of readJsonlRecords(file)) {
    const { id, title, text } = parseOrThrow(corpusLine, value, file, line);
    ids.add(id, line);
    docs.push({ id, title, text });
  }
  if (docs.length === 0) throw new InputError(at(file, undefined, 'the corpus is empty (no documents)'));
  return docs;
}

/** Reads a QA JSONL; ids must be unique and every item needs at least one answer. */
export async function readRagtaxItems(file: string): Promise<QaItem[]> {
  const items: QaItem[] = [];
  const ids = new IdRegistry(file, 'item');
  for await (const { line, value } of readJsonlRecords(file)) {
    const parsed = parseOrThrow(qaLine, value, file, line);
    ids.add(parsed.id, line);
    const item: QaItem = { id: parsed.id, question: parsed.question, answers: parsed.answers };
    if (parsed.gold_doc_ids !== undefined) item.goldDocIds = parsed.gold_doc_ids;
    if (parsed.answer_in_corpus !== undefined) item.answerInCorpus = parsed.answer_in_corpus;
    if (parsed.cluster !== undefined) item.cluster = parsed.cluster;
    items.push(item);
  }
  if (items.length === 0) throw new InputError(at(file, undefined, 'no QA items'));
  return items;
}
