// The dataset-format table: adding a format is one reader file in this folder and one line here.
// `ragtax`, `nq-open` and `litm` are presets of the field mapping (mapped.ts); `mapped` is the
// mapping with only the suite's `fields:`; `squad2` and `beir` keep readers of their own (a nested
// article file, a folder of three files).
import type { Doc, QaItem } from '../../types.js';
import { readBeir } from './beir.js';
import { PRESETS, readMapped, type FieldsMapping, type PresetName } from './mapped.js';
import type { Shape } from '../records.js';
import { readSquad2 } from './squad2.js';

export interface FormatReadOptions {
  /**
   * Before the ids that formats without ids generate from record numbers (`nq-`, `litm-`): a
   * few-shot file's ids get `fewshot-`, so they cannot clash with the evaluated file's.
   */
  idPrefix: string;
  /** `beir`: the qrels split (qrels/<split>.tsv); other formats refuse it at suite load. */
  split?: string;
  /** The suite's `fields:` over the format's own mapping (mapped formats only). */
  fields?: FieldsMapping;
  /** The suite's `shape:` (mapped formats only). */
  shape?: Shape;
  /** Check every record; false only for bytes already checked with the same settings (formats with `trusts`). */
  validate: boolean;
}

export interface DatasetFormat {
  /**
   * The corpus comes with the data (its gold ids point into it), so a separate `dataset.corpus`
   * file is refused.
   */
  ownCorpus: boolean;
  /** The format reads `dataset.split`. */
  takesSplit?: boolean;
  /** A preset of the field mapping: takes `dataset.fields` and `dataset.shape`, and can skip checks it did before. */
  mapped?: PresetName;
  /** Items and, for formats with their own corpus, the corpus. `file` is a file or (beir) a folder. */
  read(file: string, options: FormatReadOptions): Promise<{ items: QaItem[]; corpus: Doc[]; passagesSeen?: number }>;
}

/** A preset of the mapping as a table entry. */
function mappedFormat(preset: PresetName, ownCorpus: boolean): DatasetFormat {
  return {
    ownCorpus,
    mapped: preset,
    read: (file, o) => readMapped(file, { preset, fields: o.fields, shape: o.shape }, { idPrefix: o.idPrefix === '' ? undefined : `${o.idPrefix}${PRESETS[preset].idPrefix}`, validate: o.validate }),
  };
}

export const FORMATS = {
  ragtax: mappedFormat('ragtax', false),
  'nq-open': mappedFormat('nq-open', false),
  litm: mappedFormat('litm', true),
  mapped: mappedFormat('mapped', false),
  squad2: { ownCorpus: true, read: (file) => readSquad2(file) },
  beir: { ownCorpus: true, takesSplit: true, read: (file, o) => readBeir(file, o.split) },
} satisfies Record<string, DatasetFormat>;

export type DatasetFormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as [DatasetFormatName, ...DatasetFormatName[]];
