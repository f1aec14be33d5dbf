// BEIR (Thakur et al., 2021) dataset folders: `corpus.jsonl` ({_id, title, text}), `queries.jsonl`
// ({_id, text}) and `qrels/<split>.tsv` (a `query-id corpus-id score` header, then tab-separated
// rows). Every query with a judgement in the split becomes an item whose `relevance` holds the
// qrels grades and whose `goldDocIds` are the relevant documents (grade > 0), best grade first.
// BEIR has no answers: items carry `answers: []`, so QA scoring does not apply to them; BEIR is
// for retrieval metrics (recall@k, nDCG@10, MRR: src/retrieval/metrics.ts). Files may be gzipped
// (`corpus.jsonl.gz`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { at, InputError } from '../../errors.js';
import type { Doc, QaItem } from '../../types.js';
import { readJsonlRecords, readTextLines } from '../jsonl.js';
import { IdRegistry, idField, parseOrThrow, record, stringField } from './validate.js';

const corpusLine = record({
  _id: idField,
  title: stringField().optional(),
  text: stringField(),
}).refine((d) => d.text.trim() !== '' || (d.title ?? '').trim() !== '', { message: 'a document needs a non-empty `text` or `title`' });

const queryLine = record({ _id: idField, text: stringField({ nonEmpty: true }) });

function existing(folder: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(folder, candidate);
    if (existsSync(file)) return file;
  }
  throw new InputError(at(path.join(folder, name), undefined, 'file not found (a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv)'));
}

export async function readBeirCorpus(file: string): Promise<Doc[]> {
  const docs: Doc[] = [];
  const ids = new IdRegistry(file, 'document');
  for await (const { line, value } of readJsonlRecords(file)) {
    const { _id, title, text } = parseOrThrow(corpusLine, value, file, line);
    ids.add(_id, line);
    docs.push({ id: _id, title: title ?? '', text });
  }
  if (docs.length === 0) throw new InputError(at(file, undefined, 'the corpus is empty (no documents)'));
  return docs;
}

async function readQueries(file: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  const ids = new IdRegistry(file, 'query');
  for await (const { line, value } of readJsonlRecords(file)) {
    const { _id, text } = parseOrThrow(queryLine, value, file, line);
    ids.add(_id, line);
    queries.set(_id, text);
  }
  return queries;
}

interface QrelRow {
  line: number;
  query: string;
  doc: string;
  grade: number;
}

async function readQrels(file: string): Promise<QrelRow[]> {
  const rows: QrelRow[] = [];
  for await (const { line, text } of readTextLines(file)) {
    if (text.trim() === '') continue;
    const cells = text.split('\t');
    if (line === 1) {
      if (cells[0]?.trim() !== 'query-id') {
        throw new InputError(at(file, 1, 'expected the header `query-id<TAB>corpus-id<TAB>score`'));
      }
      continue;
    }
    if (cells.length !== 3) throw new InputError(at(file, line, `expected 3 tab-separated columns (query-id, corpus-id, score), got ${cells.length}`));
    const [query, doc, score] = cells.map((c) => c.trim()) as [string, string, string];
    const grade = Number(score);
    if (query === '' || doc === '') throw new InputError(at(file, line, 'empty query-id or corpus-id'));
    if (score === '' || !Number.isInteger(grade)) throw new InputError(at(file, line, `score must be a whole number, got \`${score}\``));
    rows.push({ line, query, doc, grade });
  }
  if (rows.length === 0) throw new InputError(at(file, undefined, 'no judgements (only a header)'));
  return rows;
}

/**
 * Reads a BEIR folder for one split. Items follow the order of first appearance in the qrels;
 * a qrels row naming an unknown query or document is an error (file:line).
 */
export async function readBeir(folder: string, split = 'test'): Promise<{ items: QaItem[]; corpus: Doc[] }> {
  if (!existsSync(folder)) throw new InputError(at(folder, undefined, 'BEIR folder not found'));
  if (!/^[\w.-]+$/.test(split)) throw new InputError(`BEIR split must be a plain name such as test, dev or train, got \`${split}\``);
  const corpus = await readBeirCorpus(existing(folder, 'corpus.jsonl'));
  const queries = await readQueries(existing(folder, 'queries.jsonl'));
  const qrelsFile = existing(path.join(folder, 'qrels'), `${split}.tsv`);
  const known = new Set(corpus.map((d) => d.id));
  const byQuery = new Map<string, Map<string, number>>();
  for (const row of await readQrels(qrelsFile)) {
    if (!queries.has(row.query)) throw new InputError(at(qrelsFile, row.line, `query \`${row.query}\` is not in queries.jsonl`));
    if (!known.has(row.doc)) throw new InputError(at(qrelsFile, row.line, `document \`${row.doc}\` is not in corpus.jsonl`));
    let grades = byQuery.get(row.query);
    if (!grades) byQuery.set(row.query, (grades = new Map()));
    if (grades.has(row.doc)) throw new InputError(at(qrelsFile, row.line, `duplicate judgement for query \`${row.query}\` and document \`${row.doc}\``));
    grades.set(row.doc, row.grade);
  }
  const items: QaItem[] = [...byQuery].map(([id, grades]) => ({
    id,
    question: queries.get(id)!,
    answers: [],
    goldDocIds: [...grades].filter(([, g]) => g > 0).sort((a, b) => b[1] - a[1]).map(([doc]) => doc),
    relevance: Object.fromEntries(grades),
  }));
  return { items, corpus };
}
