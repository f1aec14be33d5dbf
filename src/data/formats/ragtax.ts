// The project's own format: a corpus JSONL of `{id, title, text}` and a QA JSONL of
// `{id, question, answers, gold_doc_ids?, answer_in_corpus?, cluster?}`: the `ragtax` preset of the
// field mapping (mapped.ts), read by the same code as any mapped dataset.
import type { Doc, QaItem } from '../../types.js';
import { readCorpusFile, readMapped } from './mapped.js';

/** Reads a corpus JSONL; ids must be unique and the corpus non-empty. */
export async function readRagtaxCorpus(file: string, options: { validate?: boolean } = {}): Promise<Doc[]> {
  return readCorpusFile(file, { validate: options.validate ?? true });
}

/** Reads a QA JSONL; ids must be unique and every item needs at least one answer. */
export async function readRagtaxItems(file: string): Promise<QaItem[]> {
  return (await readMapped(file, { preset: 'ragtax' }, { validate: true })).items;
}
