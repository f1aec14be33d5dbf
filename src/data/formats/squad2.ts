// SQuAD v2.0 JSON (`data[].paragraphs[].qas[]`). Every paragraph becomes a corpus document
// (title = article title, id `<articleIndex>-<paragraphIndex>`), every question an item whose
// `goldDocIds` is its paragraph. `is_impossible` questions become `unanswerable` items with no
// answers: their paragraph does not hold the answer (a natural NO-RES setting). `plausible_answers`
// are never used as gold.
import { z } from 'zod';
import { InputError, at } from '../../errors.js';
import type { Doc, QaItem } from '../../types.js';
import { readJsonFile } from '../jsonl.js';
import { idField, parseOrThrow, record, stringField } from './validate.js';

const answer = record({ text: stringField() });

const question = record({
  id: idField,
  question: stringField({ nonEmpty: true }),
  answers: z.array(answer, { invalid_type_error: 'expected an array of answers', required_error: 'missing (expected an array of answers)' }),
  is_impossible: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
});

const paragraph = record({
  context: stringField({ nonEmpty: true }),
  qas: z.array(question, { invalid_type_error: 'expected an array of questions', required_error: 'missing (expected an array of questions)' }),
});

const article = record({
  title: stringField(),
  paragraphs: z.array(paragraph, { invalid_type_error: 'expected an array of paragraphs', required_error: 'missing (expected an array of paragraphs)' }),
});

const squadFile = record({
  data: z.array(article, { invalid_type_error: 'expected an array of articles', required_error: 'missing (expected an array of articles)' }),
});

export interface Squad2Data {
  items: QaItem[];
  corpus: Doc[];
}

/** Distinct non-blank answer texts, first occurrence order (annotators often repeat a span). */
function distinctAnswers(answers: { text: string }[]): string[] {
  return [...new Set(answers.map((a) => a.text.trim()).filter((a) => a !== ''))];
}

/**
 * SQuAD article titles use underscores (`Super_Bowl_50`); they are shown as words. JSON carries no
 * line numbers, so errors name the JSON path instead (`data[3].paragraphs[2].qas[0].answers`).
 */
export async function readSquad2(file: string): Promise<Squad2Data> {
  const parsed = parseOrThrow(squadFile, await readJsonFile(file), file, undefined);
  const items: QaItem[] = [];
  const corpus: Doc[] = [];
  const firstPathOfId = new Map<string, string>();
  parsed.data.forEach((art, a) => {
    const title = art.title.replace(/_/g, ' ');
    art.paragraphs.forEach((par, p) => {
      const doc: Doc = { id: `${a}-${p}`, title, text: par.context };
      corpus.push(doc);
      par.qas.forEach((qa, q) => {
        const where = `data[${a}].paragraphs[${p}].qas[${q}]`;
        const first = firstPathOfId.get(qa.id);
        if (first !== undefined) {
          throw new InputError(at(file, undefined, `${where}: duplicate question id \`${qa.id}\` (first at ${first})`));
        }
        firstPathOfId.set(qa.id, where);
        const unanswerable = qa.is_impossible === true;
        const answers = unanswerable ? [] : distinctAnswers(qa.answers);
        if (!unanswerable && answers.length === 0) {
          throw new InputError(at(file, undefined, `field \`${where}.answers\`: an answerable question needs at least one answer`));
        }
        // Questions on one article are not independent: the article is the item's cluster.
        const item: QaItem = { id: qa.id, question: qa.question, answers, goldDocIds: [doc.id], answerInCorpus: !unanswerable, cluster: art.title };
        if (unanswerable) item.unanswerable = true;
        items.push(item);
      });
    });
  });
  if (corpus.length === 0) throw new InputError(at(file, undefined, 'no paragraphs'));
  return { items, corpus };
}
