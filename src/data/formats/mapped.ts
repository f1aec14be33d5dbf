// Datasets read through a field mapping (docs/datasets.md): any JSON Lines, JSON array or Parquet
// file whose records hold a question, its answers and, optionally, ids, gold ids, passages and tags.
// `fields:` says where each sits (a path: src/data/field-path.ts). The shipped `ragtax`, `nq-open`
// and `litm` formats are presets: a default mapping and a file shape read by this same code.
//
// Every record is checked (`validate: true`) unless the file's bytes were checked before with the
// same mapping (src/data/validated.ts); both paths build the same items, the second without checks.
import { z } from 'zod';
import { InputError, messageOf } from '../../errors.js';
import type { Doc, QaItem, ScoredDoc } from '../../types.js';
import { parseFieldPath, PathMiss, resolvePath, type FieldPath, type PathValue } from '../field-path.js';
import { ExactInteger } from '../jsonl.js';
import { detectShape, readRecordBatches, recordPlace, type DataRecord, type Shape } from '../records.js';
import { contentDocId, contentKey } from './doc-id.js';
import { answersField, booleanField, idField, scoreField, stringField } from './validate.js';

// ---- The suite's `fields:` ----------------------------------------------------------------------

const pathText = (allowRecord: boolean) =>
  z.string().min(1).superRefine((text, ctx) => {
    try {
      parseFieldPath(text, { allowRecord });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: messageOf(error) });
    }
  });

const itemPath = (what: string) => pathText(false).describe(what).optional();
const passagePath = (what: string) => pathText(true).describe(what).optional();

export const passageFieldsSchema = z
  .object({
    path: pathText(false).describe('Where the passages are in a record: a list (`ctxs[]`, `positive`) or one object (`gold`)'),
    id: passagePath('The passage id (else an id made from title + text; passages are merged by id, or by title + text)'),
    title: passagePath("The passage title (default none); `$.` starts at the record, e.g. `$.title`"),
    text: passagePath('The passage text (default: the passage itself, when it is a string)'),
    supporting: z
      .union([pathText(true), z.boolean()])
      .describe('A yes/no field that makes a passage gold (`is_supporting`), or `true` for all of them')
      .optional(),
    score: passagePath('A retriever score (default: best first by position)'),
  })
  .strict();

export const corpusFieldsSchema = z
  .object({
    id: itemPath('The document id (default: an id made from title + text)'),
    title: itemPath('The document title (default none)'),
    text: pathText(false).describe('The document text'),
  })
  .strict();

export const fieldsSchema = z
  .object({
    id: itemPath('The item id (default: `<line>` or `<record number>` after the format\'s prefix)'),
    question: itemPath('The question'),
    answers: itemPath('The gold answers: a string or a list of strings (`answers_objects[].spans[]`)'),
    unanswerable: itemPath('A yes/no field: the item has no answer (its answers may be empty)'),
    gold_doc_ids: itemPath('Corpus ids of the documents that hold the answer: an id or a list'),
    answer_in_corpus: itemPath('A yes/no field: the answer is in the corpus'),
    context_answers: itemPath('The answers the item\'s passages support, when they differ from `answers`'),
    counterfactual: itemPath('Wrong answers planted in the passages (RGB\'s `fakeanswer`)'),
    cluster: itemPath('The group the item is not independent of (for `metrics.cluster_by: cluster`)'),
    passages: z
      .union([passageFieldsSchema, z.array(passageFieldsSchema).nonempty()])
      .describe('Passages each item carries: they become its contexts, its gold documents (`supporting`) and, without `dataset.corpus`, the corpus')
      .optional(),
  })
  .strict();

export type FieldsMapping = z.infer<typeof fieldsSchema>;
export type PassageFields = z.infer<typeof passageFieldsSchema>;
export type CorpusFields = z.infer<typeof corpusFieldsSchema>;

// ---- Presets ------------------------------------------------------------------------------------

interface Preset {
  /** The file shape the preset documents; `auto` detects it (src/data/records.ts). */
  shape: Shape;
  /** Before a generated item id (`nq-12`). */
  idPrefix: string;
  /** Before a passage id made from title + text. */
  docPrefix: string;
  /** `answers` and `gold_doc_ids` must be lists (the shipped formats always said so). */
  strictLists: boolean;
  fields: FieldsMapping;
}

export const PRESETS = {
  ragtax: {
    shape: 'jsonl',
    idPrefix: '',
    docPrefix: 'doc-',
    strictLists: true,
    fields: {
      id: 'id', question: 'question', answers: 'answers', gold_doc_ids: 'gold_doc_ids?', answer_in_corpus: 'answer_in_corpus?', cluster: 'cluster?',
      context_answers: 'context_answers?', counterfactual: 'counterfactual?',
    },
  },
  'nq-open': { shape: 'jsonl', idPrefix: 'nq-', docPrefix: 'doc-', strictLists: true, fields: { question: 'question', answers: 'answer' } },
  litm: {
    shape: 'jsonl',
    idPrefix: 'litm-',
    docPrefix: 'litm-',
    strictLists: true,
    fields: { question: 'question', answers: 'answers', passages: { path: 'ctxs[]', id: 'id?', title: 'title', text: 'text', supporting: 'isgold?', score: 'score?' } },
  },
  mapped: { shape: 'auto', idPrefix: 'item-', docPrefix: 'doc-', strictLists: false, fields: { question: 'question', answers: 'answers' } },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

/** The ragtax corpus file: `{id, title, text}` a line. */
const RAGTAX_CORPUS: CorpusFields = { id: 'id', title: 'title', text: 'text' };

/** What one read is: the preset, the suite's own fields over it, the file shape. */
export interface MappedSpec {
  preset: PresetName;
  fields?: FieldsMapping;
  shape?: Shape;
}

// ---- Compiled mapping ---------------------------------------------------------------------------

type ItemField = Exclude<keyof FieldsMapping, 'passages'>;

interface Rule {
  /** `answers`, `passages.text`: how the suite names it. */
  name: string;
  path: FieldPath;
  /** Set by the suite (messages then quote the mapping), not by the preset. */
  user: boolean;
  strict: boolean;
}

interface PassageRule {
  name: string;
  path: Rule;
  id?: Rule;
  title?: Rule;
  text?: Rule;
  supporting?: Rule | boolean;
  score?: Rule;
}

interface Compiled {
  preset: Preset;
  item: Partial<Record<ItemField, Rule>>;
  passages: PassageRule[];
}

function compile(spec: MappedSpec): Compiled {
  const preset: Preset = PRESETS[spec.preset];
  const own = spec.fields ?? {};
  const rule = (name: string, text: string, user: boolean, allowRecord = false): Rule => ({
    name,
    path: parseFieldPath(text, { allowRecord }),
    user,
    strict: preset.strictLists && !user,
  });
  const item: Partial<Record<ItemField, Rule>> = {};
  for (const key of Object.keys(fieldsSchema.shape) as (keyof FieldsMapping)[]) {
    if (key === 'passages') continue;
    const text = own[key] ?? preset.fields[key];
    if (text !== undefined) item[key] = rule(key, text, own[key] !== undefined);
  }
  const blocks = own.passages ?? preset.fields.passages;
  const user = own.passages !== undefined;
  const list = blocks === undefined ? [] : Array.isArray(blocks) ? blocks : [blocks];
  const passages = list.map((b, i): PassageRule => {
    const name = list.length > 1 ? `passages[${i}]` : 'passages';
    const sub = (key: string, text: string | undefined) => (text === undefined ? undefined : rule(`${name}.${key}`, text, user, true));
    return {
      name,
      path: rule(`${name}.path`, b.path, user),
      id: sub('id', b.id),
      title: sub('title', b.title),
      text: sub('text', b.text),
      supporting: typeof b.supporting === 'boolean' ? b.supporting : sub('supporting', b.supporting),
      score: sub('score', b.score),
    };
  });
  return { preset, item, passages };
}

/** The mapping as data, for the validation record's key: the same mapping gives the same key. */
export function mappingIdentity(spec: MappedSpec): unknown {
  const preset = PRESETS[spec.preset];
  return { preset: spec.preset, fields: { ...preset.fields, ...spec.fields }, shape: spec.shape ?? preset.shape };
}

/** The mapping brings passages (so a corpus can be built from the items). */
export function mapsPassages(spec: MappedSpec): boolean {
  return compile(spec).passages.length > 0;
}

/** Passages without an `id` mapping get content ids, which a separate corpus file cannot hold. */
export function passagesWithoutIds(spec: MappedSpec): string[] {
  return compile(spec).passages.filter((p) => p.id === undefined).map((p) => p.name);
}

// ---- Reading ------------------------------------------------------------------------------------

export interface MappedData {
  items: QaItem[];
  /** Built from the items' passages (empty when the mapping has none). */
  corpus: Doc[];
  /** Passages seen across items, before merging. */
  passagesSeen: number;
  shape: Exclude<Shape, 'auto'>;
}

export interface MappedReadOptions {
  /** Before generated item ids (default the preset's, e.g. `nq-`; a few-shot file's `fewshot-nq-`). */
  idPrefix?: string;
  /** Check every record (false only for bytes already checked with this mapping). */
  validate: boolean;
}

const EXPECTED: Record<ItemField, string> = {
  id: 'a non-empty string or an integer',
  question: 'a string',
  answers: 'a non-blank string or a list of them',
  unanswerable: 'true or false',
  gold_doc_ids: 'an id or a list of ids',
  answer_in_corpus: 'true or false',
  context_answers: 'a string or a list of strings',
  counterfactual: 'a string or a list of strings',
  cluster: 'a non-empty string or an integer',
};

const nonEmptyString = stringField({ nonEmpty: true });
const anyString = stringField();

/** The id as text (what `idField` gives, without its checks). */
function idText(value: unknown): string {
  return value instanceof ExactInteger ? value.text : String(value);
}

/** Per record: where it is, and how to fail there. */
class RecordContext {
  constructor(
    readonly file: string,
    readonly shape: Exclude<Shape, 'auto'>,
    readonly record: DataRecord,
    readonly validate: boolean,
  ) {}

  fail(message: string): never {
    throw new InputError(recordPlace(this.file, this.shape, this.record, message));
  }

  failField(at: string, problem: string, rule?: Rule): never {
    const mapping = rule?.user ? ` (fields.${rule.name}: \`${rule.path.text}\`)` : '';
    this.fail(`field \`${at || rule?.path.text || '(record)'}\`: ${problem}${mapping}`);
  }

  /** The values of `rule` from `start` (a record or a passage at `base`); undefined when absent. */
  values(rule: Rule, start: unknown, base: string, expected: string): PathValue[] | undefined {
    const found = resolvePath(rule.path, start, this.record.value, base, this.validate);
    if (found instanceof PathMiss) {
      const what = rule.strict && rule.name === 'answers' ? `expected ${expected}` : `missing (expected ${expected})`;
      this.failField(found.at, found.reason === 'missing' ? `${what}; ${found.problem}` : found.problem, rule);
    }
    const present = found.filter((v) => v.value !== null || !rule.path.optional);
    return present.length === 0 && rule.path.optional ? undefined : present;
  }

  /** One value (a path without `[]`, or one that reached exactly one). */
  single(rule: Rule, start: unknown, base: string, expected: string): PathValue | undefined {
    const found = this.values(rule, start, base, expected);
    if (found === undefined) return undefined;
    if (found.length !== 1) {
      if (!this.validate) return found[0];
      this.failField(rule.path.text, found.length === 0 ? `reached nothing (an empty list); expected ${expected}` : `reached ${found.length} values; \`${rule.name}\` takes one`, rule);
    }
    return found[0];
  }

  check<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, found: PathValue, rule: Rule): T {
    const result = schema.safeParse(found.value);
    if (!result.success) this.failField(found.at, result.error.issues[0]?.message ?? 'invalid', rule);
    return result.data as T;
  }

  /** Strings from a value or list of values (`answers: "x"` or `["x", "y"]`); blank ones refused when `nonBlank`. */
  strings(found: PathValue[], rule: Rule, nonBlank: boolean, expected: string): string[] {
    const out: string[] = [];
    const take = (value: unknown, at: string) => {
      if (this.validate && (typeof value !== 'string' || (nonBlank && value.trim() === ''))) this.failField(at, `expected ${expected}`, rule);
      out.push(value as string);
    };
    for (const { value, at } of found) {
      if (Array.isArray(value)) value.forEach((v, i) => take(v, this.validate ? `${at}[${i}]` : ''));
      else take(value, at);
    }
    return out;
  }

  ids(found: PathValue[], rule: Rule): string[] {
    const out: string[] = [];
    const take = (value: unknown, at: string) => out.push(this.validate ? this.check(idField, { value, at }, rule) : idText(value));
    for (const { value, at } of found) {
      if (Array.isArray(value)) value.forEach((v, i) => take(v, this.validate ? `${at}[${i}]` : ''));
      else {
        if (rule.strict && this.validate) this.failField(at, 'expected an array of ids', rule);
        take(value, at);
      }
    }
    return out;
  }

  bool(rule: Rule, start: unknown, base: string): boolean | undefined {
    const found = this.single(rule, start, base, 'true or false');
    if (found === undefined) return undefined;
    return this.validate ? this.check(booleanField, found, rule) : (found.value as boolean);
  }
}

/** Where one item or document was first seen, for duplicate messages. */
function placeLabel(shape: Exclude<Shape, 'auto'>, record: DataRecord): string {
  return shape === 'jsonl' ? `line ${record.line}` : shape === 'json' ? `record ${record.number}` : `row ${record.number}`;
}

/** Documents merged by id, or by title + text when they have none; counts what it merged. */
class DocumentPool {
  readonly docs: Doc[] = [];
  seen = 0;
  private readonly byId = new Map<string, { doc: Doc; key: string; where: string }>();
  private readonly byContent = new Map<string, Doc>();

  constructor(
    private readonly docPrefix: string,
    /** A repeated id is an error (a corpus file) rather than the same document again (item passages). */
    private readonly uniqueIds: boolean,
  ) {}

  add(ctx: RecordContext, id: string | undefined, title: string, text: string, idAt: string): Doc {
    this.seen += 1;
    const key = contentKey(title, text);
    if (id !== undefined) {
      const known = this.byId.get(id);
      if (known) {
        if (ctx.validate && this.uniqueIds) ctx.fail(`duplicate document id \`${id}\` (first at ${known.where})`);
        if (ctx.validate && known.key !== key) ctx.failField(idAt, `id \`${id}\` names a different passage at ${known.where}`);
        return known.doc;
      }
      const doc: Doc = { id, title, text };
      this.byId.set(id, { doc, key, where: placeLabel(ctx.shape, ctx.record) });
      if (!this.byContent.has(key)) this.byContent.set(key, doc);
      this.docs.push(doc);
      return doc;
    }
    const same = this.byContent.get(key);
    if (same) return same;
    const doc: Doc = { id: contentDocId(this.docPrefix, title, text), title, text };
    this.byContent.set(key, doc);
    this.byId.set(doc.id, { doc, key, where: placeLabel(ctx.shape, ctx.record) });
    this.docs.push(doc);
    return doc;
  }
}

interface PassageSource {
  path?: Rule;
  id?: Rule;
  title?: Rule;
  text?: Rule;
}

/** One passage (an object, or a string that is its text) at `base` into the pool. */
function readPassage(ctx: RecordContext, pool: DocumentPool, rules: PassageSource, passage: unknown, base: string): Doc {
  let id: string | undefined;
  if (rules.id) {
    const found = ctx.single(rules.id, passage, base, EXPECTED.id);
    if (found !== undefined) id = ctx.validate ? ctx.check(idField, found, rules.id) : idText(found.value);
  }
  let title = '';
  if (rules.title) {
    const found = ctx.single(rules.title, passage, base, 'a string');
    if (found !== undefined) title = ctx.validate ? ctx.check(anyString, found, rules.title) : (found.value as string);
  }
  let text: string;
  if (rules.text) {
    const found = ctx.single(rules.text, passage, base, 'a non-empty string')!;
    text = ctx.validate ? ctx.check(nonEmptyString, found, rules.text) : (found.value as string);
  } else {
    if (ctx.validate && (typeof passage !== 'string' || passage.trim() === '')) {
      const keys = passage !== null && typeof passage === 'object' && !Array.isArray(passage) ? `; map \`text\` to one of its keys: ${Object.keys(passage).join(', ')}` : '';
      ctx.failField(base, `expected the passage text (a non-empty string)${keys}`, rules.path);
    }
    text = passage as string;
  }
  return pool.add(ctx, id, title, text, rules.id ? `${base}.${rules.id.path.text.replace(/\?$/, '')}` : base);
}

function readItem(ctx: RecordContext, m: Compiled, pool: DocumentPool | undefined, idPrefix: string): QaItem {
  const root = ctx.record.value;
  if (ctx.validate && (root === null || typeof root !== 'object' || Array.isArray(root))) ctx.fail('expected a JSON object');
  const r = m.item;
  let id = `${idPrefix}${ctx.record.number}`;
  if (r.id) {
    const found = ctx.single(r.id, root, '', EXPECTED.id);
    if (found !== undefined) id = ctx.validate ? ctx.check(idField, found, r.id) : idText(found.value);
  }
  let question = '';
  if (r.question) {
    const found = ctx.single(r.question, root, '', EXPECTED.question)!;
    question = ctx.validate ? ctx.check(nonEmptyString, found, r.question) : (found.value as string);
  }
  const unanswerable = r.unanswerable ? ctx.bool(r.unanswerable, root, '') === true : false;
  let answers: string[] = [];
  if (r.answers) {
    if (r.answers.strict) {
      const found = ctx.single(r.answers, root, '', 'a non-empty array of strings')!;
      answers = ctx.validate ? ctx.check(answersField, found, r.answers) : (found.value as string[]);
    } else {
      const found = ctx.values(r.answers, root, '', EXPECTED.answers) ?? [];
      answers = ctx.strings(found, r.answers, true, EXPECTED.answers);
      if (ctx.validate && answers.length === 0 && !unanswerable) {
        ctx.failField(found[0]?.at ?? r.answers.path.text, 'no answers (an answerable item needs at least one; map `unanswerable` for items without)', r.answers);
      }
    }
  }
  const item: QaItem = { id, question, answers };
  if (unanswerable) item.unanswerable = true;

  const gold: string[] = [];
  if (r.gold_doc_ids) {
    const found = r.gold_doc_ids.strict ? ctx.single(r.gold_doc_ids, root, '', 'an array of ids') : ctx.values(r.gold_doc_ids, root, '', EXPECTED.gold_doc_ids);
    if (found !== undefined) {
      gold.push(...ctx.ids(Array.isArray(found) ? found : [found], r.gold_doc_ids));
      item.goldDocIds = gold;
    }
  }
  const answerInCorpus = r.answer_in_corpus ? ctx.bool(r.answer_in_corpus, root, '') : undefined;
  if (answerInCorpus !== undefined) item.answerInCorpus = answerInCorpus;
  for (const key of ['context_answers', 'counterfactual'] as const) {
    const rule = r[key];
    const found = rule ? ctx.values(rule, root, '', EXPECTED[key]) : undefined;
    if (rule && found !== undefined) {
      const list = ctx.strings(found, rule, true, 'a non-blank string or a list of them');
      if (list.length > 0) item[key === 'context_answers' ? 'contextAnswers' : 'counterfactual'] = list;
    }
  }
  if (r.cluster) {
    const found = ctx.single(r.cluster, root, '', EXPECTED.cluster);
    // A cluster is named like an id: a string, or an integer with every digit kept.
    if (found !== undefined) item.cluster = ctx.validate ? ctx.check(idField, found, r.cluster) : idText(found.value);
  }

  if (pool && m.passages.length > 0) {
    const docs: { doc: Doc; score?: number; gold: boolean }[] = [];
    for (const block of m.passages) {
      const found = ctx.values(block.path, root, '', 'a passage or a list of passages') ?? [];
      // `positive` and `positive[]` both give each passage of a list.
      const each = block.path.path.many ? found : found.flatMap((f) => (Array.isArray(f.value) ? f.value.map((value, i) => ({ value, at: ctx.validate ? `${f.at}[${i}]` : '' })) : [f]));
      for (const { value, at } of each) {
        const doc = readPassage(ctx, pool, block, value, at);
        let isGold = false;
        if (typeof block.supporting === 'boolean') isGold = block.supporting;
        else if (block.supporting) isGold = ctx.bool(block.supporting, value, at) === true;
        let score: number | undefined;
        if (block.score) {
          const s = ctx.single(block.score, value, at, 'a number');
          if (s !== undefined) score = ctx.validate ? ctx.check(scoreField, s, block.score) : Number(s.value instanceof ExactInteger ? s.value.text : s.value);
        }
        docs.push({ doc, score, gold: isGold });
      }
    }
    // Passages are listed best first unless scored: the rank makes a strictly decreasing score.
    item.ctxs = docs.map(({ doc, score }, rank): ScoredDoc => ({ doc, score: score ?? docs.length - rank }));
    for (const { doc, gold: isGold } of docs) if (isGold && !gold.includes(doc.id)) gold.push(doc.id);
    if (gold.length > 0) {
      item.goldDocIds = gold;
      item.answerInCorpus ??= true;
    }
  }
  return item;
}

/** Reads a dataset file through its mapping: items and, when they carry passages, the corpus they make. */
export async function readMapped(file: string, spec: MappedSpec, options: MappedReadOptions): Promise<MappedData> {
  const m = compile(spec);
  const shape = await resolveShape(file, spec.shape ?? m.preset.shape);
  // Content ids carry no few-shot prefix: the same passage has the same id in every file.
  const pool = m.passages.length > 0 ? new DocumentPool(m.preset.docPrefix, false) : undefined;
  const items: QaItem[] = [];
  const firstOf = new Map<string, DataRecord>();
  for await (const batch of readRecordBatches(file, shape)) {
    for (const record of batch) {
      const ctx = new RecordContext(file, shape, record, options.validate);
      const item = readItem(ctx, m, pool, options.idPrefix ?? m.preset.idPrefix);
      if (options.validate) {
        const first = firstOf.get(item.id);
        if (first !== undefined) ctx.fail(`duplicate item id \`${item.id}\` (first at ${placeLabel(shape, first)})`);
        firstOf.set(item.id, { value: undefined, number: record.number, line: record.line });
      }
      items.push(item);
    }
  }
  if (items.length === 0) throw new InputError(`${file}: no QA items`);
  return { items, corpus: pool?.docs ?? [], passagesSeen: pool?.seen ?? 0, shape };
}

/** Reads a corpus file (`dataset.corpus`): one document a record, `{id, title, text}` unless `fields` says otherwise. */
export async function readCorpusFile(file: string, options: { fields?: CorpusFields; shape?: Shape; validate: boolean }): Promise<Doc[]> {
  const fields = options.fields ?? RAGTAX_CORPUS;
  const user = options.fields !== undefined;
  const rule = (key: string, text: string | undefined): Rule | undefined =>
    text === undefined ? undefined : { name: `corpus_fields.${key}`, path: parseFieldPath(text), user, strict: false };
  const rules: PassageSource = { id: rule('id', fields.id), title: rule('title', fields.title), text: rule('text', fields.text) };
  const shape = await resolveShape(file, options.shape ?? (user ? 'auto' : 'jsonl'));
  const pool = new DocumentPool('doc-', true);
  for await (const batch of readRecordBatches(file, shape)) {
    for (const record of batch) {
      const ctx = new RecordContext(file, shape, record, options.validate);
      if (options.validate && (record.value === null || typeof record.value !== 'object' || Array.isArray(record.value))) ctx.fail('expected a JSON object');
      readPassage(ctx, pool, rules, record.value, '');
    }
  }
  if (pool.docs.length === 0) throw new InputError(`${file}: the corpus is empty (no documents)`);
  return pool.docs;
}

async function resolveShape(file: string, shape: Shape): Promise<Exclude<Shape, 'auto'>> {
  return shape === 'auto' ? detectShape(file) : shape;
}
