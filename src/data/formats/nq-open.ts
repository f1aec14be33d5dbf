// NQ-open (google-research-datasets/natural-questions, `nq_open/`): JSONL `{question, answer: [str]}`.
// No ids and no corpus of its own; item ids are `nq-<line>` (1-based physical line), stable for a file.
import { InputError, at } from '../../errors.js';
import type { QaItem } from '../../types.js';
import { readJsonlRecords } from '../jsonl.js';
import { answersField, parseOrThrow, record, stringField } from './validate.js';

const nqLine = record({
  question: stringField({ nonEmpty: true }),
  answer: answersField,
});

/** Reads NQ-open items. Answers are kept verbatim (tokenised text such as `May 18 , 2018`). */
export async function readNqOpen(file: string, idPrefix = 'nq-'): Promise<QaItem[]> {
  const items: QaItem[] = [];
  for await (const { line, value } of readJsonlRecords(file)) {
    const { question, answer } = parseOrThrow(nqLine, value, file, line);
    items.push({ id: `${idPrefix}${line}`, question, answers: answer });
  }
  if (items.length === 0) throw new InputError(at(file, undefined, 'no QA items'));
  return items;
}
