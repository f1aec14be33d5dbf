// The dataset-format table: adding a format is one reader file in this folder and one line here.
import type { Doc, QaItem } from '../../types.js';
import { readBeir } from './beir.js';
import { readLitm } from './litm.js';
import { readNqOpen } from './nq-open.js';
import { readRagtaxItems } from './ragtax.js';
import { readSquad2 } from './squad2.js';

export interface FormatReadOptions {
  /**
   * Prefix of the ids that formats without ids generate from line numbers (`nq-`, `litm-`); a
   * few-shot file's ids get `fewshot-` before it, so they cannot clash with the evaluated file's.
   */
  idPrefix: string;
  /** `beir`: the qrels split (qrels/<split>.tsv); other formats refuse it at suite load. */
  split?: string;
}

export interface DatasetFormat {
  /**
   * The corpus comes with the data (its gold ids point into it), so a separate `dataset.corpus`
   * file is refused.
   */
  ownCorpus: boolean;
  /** The format reads `dataset.split`. */
  takesSplit?: boolean;
  /** Items and, for formats with their own corpus, the corpus. `file` is a file or (beir) a folder. */
  read(file: string, options: FormatReadOptions): Promise<{ items: QaItem[]; corpus: Doc[] }>;
}

export const FORMATS = {
  ragtax: { ownCorpus: false, read: async (file) => ({ items: await readRagtaxItems(file), corpus: [] }) },
  'nq-open': { ownCorpus: false, read: async (file, o) => ({ items: await readNqOpen(file, `${o.idPrefix}nq-`), corpus: [] }) },
  litm: { ownCorpus: true, read: (file, o) => readLitm(file, `${o.idPrefix}litm-`) },
  squad2: { ownCorpus: true, read: (file) => readSquad2(file) },
  beir: { ownCorpus: true, takesSplit: true, read: (file, o) => readBeir(file, o.split) },
} satisfies Record<string, DatasetFormat>;

export type DatasetFormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as [DatasetFormatName, ...DatasetFormatName[]];
