// One entry point for every dataset format, plus the few-shot split. The split guarantees that no
// exemplar is ever evaluated: drawn exemplars are removed from the items, and a separate few-shot
// file may not share an id or a question with them.
import path from 'node:path';
import { InputError, at } from '../errors.js';
import { normalizeAnswer } from '../scoring/normalize.js';
import type { Dataset, Doc, QaItem } from '../types.js';
import { cacheRoot } from '../util/cache-dir.js';
import { runRng, seededDraw } from '../util/seeded.js';
import { FORMATS, type DatasetFormat, type DatasetFormatName } from './formats/formats.js';
import { mappingIdentity, readCorpusFile, type CorpusFields, type FieldsMapping } from './formats/mapped.js';
import type { Shape } from './records.js';
import { checkOnce, readValidated } from './validated.js';

export interface DatasetSpec {
  format: DatasetFormatName;
  /** A file, or for `beir` the dataset folder. */
  path: string;
  /** `beir` only: the qrels split (qrels/<split>.tsv), default `test`. */
  split?: string;
  /** Mapped formats: the suite's `fields:` over the format's own mapping. */
  fields?: FieldsMapping;
  /** Mapped formats: `jsonl`, `json` (an array), `parquet` or `auto` (default: the format's). */
  shape?: Shape;
  corpus?: string;
  /** The corpus file's fields (default `{id, title, text}` JSON Lines). */
  corpusFields?: CorpusFields;
  fewshot?: string;
  fewshotSize?: number;
  seed: number;
  /**
   * Skip the per-record checks of a file whose bytes passed them before with the same format and
   * mapping (a record under the cache folder's `validated/`). Off unless set: the suite loader sets it.
   */
  skipRevalidation?: boolean;
}

/** Where the "these bytes were checked" records live, when the spec asks for them. */
function validationDir(spec: DatasetSpec): string | undefined {
  return spec.skipRevalidation ? path.join(cacheRoot(), 'validated') : undefined;
}

/** What decides the items a file gives (format, role, mapping), as data: part of a validation record's key. */
function readerIdentity(spec: DatasetSpec, role: 'eval' | 'fewshot'): unknown {
  const preset = (FORMATS[spec.format] as DatasetFormat).mapped;
  // A format of its own (no mapping) reads by its name, split and options alone.
  if (preset === undefined) return { format: spec.format, role, split: spec.split ?? null, fields: spec.fields ?? null, shape: spec.shape ?? null };
  return { format: spec.format, role, ...(mappingIdentity({ preset, fields: spec.fields, shape: spec.shape }) as object) };
}

/** Reads items (and the format's own corpus); a few-shot file's generated ids get a `fewshot-` prefix. */
async function readFormat(spec: DatasetSpec, file: string, role: 'eval' | 'fewshot', notes: string[]): Promise<{ items: QaItem[]; corpus: Doc[]; passagesSeen?: number }> {
  const format: DatasetFormat = FORMATS[spec.format];
  const options = { idPrefix: role === 'fewshot' ? 'fewshot-' : '', split: spec.split, fields: spec.fields, shape: spec.shape };
  if (format.mapped === undefined) return format.read(file, { ...options, validate: true });
  const read = await readValidated(validationDir(spec), file, readerIdentity(spec, role), (validate) => format.read(file, { ...options, validate }));
  if (read.warning) notes.push(`warning: ${read.warning}`);
  return read.value;
}

async function readCorpus(spec: DatasetSpec, file: string, notes: string[]): Promise<Doc[]> {
  const reader = { corpus: spec.corpusFields ?? 'ragtax' };
  const read = await readValidated(validationDir(spec), file, reader, (validate) => readCorpusFile(file, { fields: spec.corpusFields, validate }));
  if (read.warning) notes.push(`warning: ${read.warning}`);
  return read.value;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Loads a dataset. `corpus` (a corpus file) is accepted for formats without their own corpus;
 * without it a mapping with `passages` builds the corpus from the items' passages (merged by id,
 * or by title + text), and otherwise the corpus is empty (closed-book). Few-shot exemplars come
 * from `fewshot` (same format as `path`; with `fewshotSize` a seeded sample of it) or else
 * `fewshotSize` answerable items drawn with the seed and removed from the evaluated items (which
 * keep their file order). `notes` says what was built ("corpus: N passages from M items ...").
 */
export async function loadDataset(spec: DatasetSpec): Promise<Dataset> {
  if (spec.corpus !== undefined && FORMATS[spec.format].ownCorpus) {
    throw new InputError(
      at(spec.corpus, undefined, `format \`${spec.format}\` brings its own corpus; a separate corpus file is not supported`),
    );
  }
  const size = spec.fewshotSize ?? 0;
  if (!Number.isInteger(size) || size < 0) {
    throw new InputError(`fewshotSize must be a whole number ≥ 0, got ${String(spec.fewshotSize)}`);
  }
  const notes: string[] = [];
  const data = await readFormat(spec, spec.path, 'eval', notes);
  const corpus = spec.corpus !== undefined ? await readCorpus(spec, spec.corpus, notes) : data.corpus;
  if (spec.corpus === undefined && data.passagesSeen !== undefined && data.passagesSeen > 0) {
    const merged = data.passagesSeen - data.corpus.length;
    notes.push(`corpus: ${count(data.corpus.length)} passages from ${count(data.items.length)} items (${count(merged)} duplicate${merged === 1 ? '' : 's'} merged)`);
  }
  checkGoldIds(spec.path, data.items, corpus);
  const withNotes = (d: Dataset): Dataset => (notes.length > 0 ? { ...d, notes } : d);

  if (spec.fewshot !== undefined) {
    const pool = (await readFormat(spec, spec.fewshot, 'fewshot', notes)).items;
    const fewshotFile = spec.fewshot;
    const inputs = [
      { file: spec.path, reader: readerIdentity(spec, 'eval') },
      { file: fewshotFile, reader: readerIdentity(spec, 'fewshot') },
    ];
    const warning = await checkOnce(validationDir(spec), 'few-shot disjointness', inputs, () => checkDisjoint(fewshotFile, pool, data.items));
    if (warning) notes.push(`warning: ${warning}`);
    const fewShot = spec.fewshotSize === undefined ? pool : drawExemplars(pool, size, spec.seed, spec.fewshot).drawn;
    return withNotes({ items: data.items, corpus, fewShot });
  }
  const { drawn, rest } = drawExemplars(data.items, size, spec.seed, spec.path);
  return withNotes({ items: rest, corpus, fewShot: drawn });
}

/**
 * Draws `size` answerable items (exemplars must show an answer) with a seeded partial
 * Fisher–Yates shuffle; `drawn` is in draw order, `rest` keeps the input order.
 */
export function drawExemplars(items: QaItem[], size: number, seed: number, file: string): { drawn: QaItem[]; rest: QaItem[] } {
  if (size === 0) return { drawn: [], rest: items };
  const candidates = items.filter((item) => item.answers.length > 0 && !item.unanswerable);
  if (candidates.length < size) {
    throw new InputError(at(file, undefined, `cannot draw ${size} few-shot exemplars: only ${candidates.length} answerable items`));
  }
  const drawn = seededDraw(candidates, size, runRng(seed));
  const drawnIds = new Set(drawn.map((item) => item.id));
  return { drawn, rest: items.filter((item) => !drawnIds.has(item.id)) };
}

/** `size` items drawn with the seed, returned in their input order (a representative subset). */
export function sampleItems(items: readonly QaItem[], size: number, seed: number): QaItem[] {
  if (size >= items.length) return [...items];
  const chosen = new Set(seededDraw(items, size, runRng(seed)).map((item) => item.id));
  return items.filter((item) => chosen.has(item.id));
}

/** A few-shot item may not be an evaluated item under another name (same id or same question). */
function checkDisjoint(fewshotFile: string, fewShot: QaItem[], evaluated: QaItem[]): void {
  const evalIds = new Set(evaluated.map((item) => item.id));
  const evalQuestions = new Map(evaluated.map((item) => [normalizeAnswer(item.question), item.id]));
  for (const item of fewShot) {
    if (evalIds.has(item.id)) {
      throw new InputError(at(fewshotFile, undefined, `few-shot item \`${item.id}\` has the id of an evaluated item`));
    }
    const clash = evalQuestions.get(normalizeAnswer(item.question));
    if (clash !== undefined) {
      throw new InputError(
        at(fewshotFile, undefined, `few-shot item \`${item.id}\` repeats the question of evaluated item \`${clash}\`: "${item.question}"`),
      );
    }
  }
}

/** Gold ids must name corpus documents, or oracle contexts would fail much later. */
function checkGoldIds(file: string, items: QaItem[], corpus: Doc[]): void {
  if (corpus.length === 0) return; // closed-book use: nothing to check against
  const known = new Set(corpus.map((doc) => doc.id));
  for (const item of items) {
    const missing = item.goldDocIds?.find((id) => !known.has(id));
    if (missing !== undefined) {
      throw new InputError(at(file, undefined, `item \`${item.id}\`: gold document \`${missing}\` is not in the corpus`));
    }
  }
}
