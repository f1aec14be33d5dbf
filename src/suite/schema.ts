// The suite file's schema. Suites are data: everything a run needs is named here, and anything
// not named here is rejected (strict objects) so a misspelt field never silently falls back to a
// default.
import { z } from 'zod';
import { FORMAT_NAMES } from '../data/formats/formats.js';
import { corpusFieldsSchema, fieldsSchema } from '../data/formats/mapped.js';
import { SHAPES } from '../data/records.js';
import { ALL_CONTEXT_MODES, GRID_CONTEXT_MODES } from '../retrieval/contexts.js';
import { denseBlockSchema } from '../retrieval/embedding-settings.js';
import { RETRIEVER_NAMES, RETRIEVER_SETTINGS } from '../retrieval/retrievers.js';
import { BACKENDS, DEFAULT_BACKEND, type ModelEntry } from '../models/backends.js';

const oneOrMany = <T extends z.ZodTypeAny>(item: T) =>
  z.union([item, z.array(item).nonempty()]).transform((v): z.infer<T>[] => (Array.isArray(v) ? v : [v]));

/**
 * A model entry: the settings its backend declares (src/models/backends.ts), chosen by `backend`
 * (default transformers). Built from the backend table, so a backend's settings are declared once.
 */
export const modelSchema = z.preprocess(
  (entry) => (typeof entry === 'object' && entry !== null && !Array.isArray(entry) && !('backend' in entry) ? { backend: DEFAULT_BACKEND, ...entry } : entry),
  z.discriminatedUnion(
    'backend',
    Object.values(BACKENDS).map((b) => b.settings) as unknown as [z.ZodDiscriminatedUnionOption<'backend'>, ...z.ZodDiscriminatedUnionOption<'backend'>[]],
  ),
) as unknown as z.ZodType<ModelEntry, z.ZodTypeDef, unknown>;

const gridBlockSchema = z
  .object({
    k: oneOrMany(z.number().int().min(0).max(1000)).default([5]),
    instruction: oneOrMany(z.string().min(1)).default(['nores']),
    context: oneOrMany(z.enum(GRID_CONTEXT_MODES)).default(['retrieved']),
    shots: oneOrMany(z.number().int().min(0).max(32)).default([0]),
    cot: oneOrMany(z.boolean()).default([false]),
  })
  .strict();

/** Which grid points a sensitivity sweep applies to (every field optional: unset matches all). */
const sweepPointsSchema = z
  .object({
    k: oneOrMany(z.number().int().min(0).max(1000)).optional(),
    instruction: oneOrMany(z.string().min(1)).optional(),
    context: oneOrMany(z.enum(ALL_CONTEXT_MODES)).optional(),
    shots: oneOrMany(z.number().int().min(0).max(32)).optional(),
    cot: oneOrMany(z.boolean()).optional(),
  })
  .strict();

/**
 * Sensitivity sweep: each listed value that differs from the suite's own setting becomes one
 * variant (one factor at a time) at the matching grid points.
 */
const sweepSchema = z
  .object({
    points: sweepPointsSchema.default({}),
    max_new_tokens: z.array(z.number().int().min(1).max(8192)).nonempty().optional(),
    /** `no-res`: the study's NO-RES instruction; `rgb`: RGB's "I can not answer ... insufficient information ..." sentence. */
    refusal: z.array(z.enum(['no-res', 'rgb'])).nonempty().optional(),
    scoring_rule: z.array(z.enum(['first-line', 'whole'])).nonempty().optional(),
  })
  .strict();

const decodingOverrideSchema = z
  .object({
    max_new_tokens: z.number().int().min(1).max(8192).optional(),
    stop: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const suiteSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, `.`, `_` and `-` only'),
    description: z.string().optional(),
    seed: z.number().int().min(0).default(1),
    /**
     * The day `strftime_now` gives chat templates (YYYY-MM-DD). Default: the run's first day,
     * recorded in the manifest and kept on --resume, so prompts and cache keys do not move.
     */
    template_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD').optional(),
    dataset: z
      .object({
        /** Default `ragtax`, or `mapped` when `fields` is given (docs/datasets.md). */
        format: z.enum(FORMAT_NAMES).describe('The dataset format: a preset of the field mapping (ragtax, nq-open, litm), `mapped` (only `fields`), squad2 or beir. Default ragtax, or mapped when `fields` is given').optional(),
        path: z.string().min(1),
        /** `beir` only: which qrels/<split>.tsv to read (default test). */
        split: z.string().regex(/^[\w.-]+$/, 'a plain split name such as test, dev or train').optional(),
        /** Where each field sits in a record (mapped formats): over the format's own mapping. */
        fields: fieldsSchema.describe('Where each field sits in a record: paths such as `question_text`, `answers_objects[].spans[]`, `gold.text` (docs/datasets.md)').optional(),
        /** The file's shape (mapped formats): default the format's (`auto` for mapped: by content). */
        shape: z.enum(SHAPES).describe('jsonl (one record a line), json (an array of records), parquet, or auto (by content). Default: jsonl for ragtax, nq-open and litm; auto for mapped').optional(),
        corpus: z.string().min(1).optional(),
        /** The corpus file's fields, when it is not `{id, title, text}` JSON Lines. */
        corpus_fields: corpusFieldsSchema.describe('Where id, title and text sit in a corpus record (default `{id, title, text}`; any shape)').optional(),
        fewshot: z.string().min(1).optional(),
        fewshot_size: z.number().int().min(0).default(16),
        /** A seeded random subset of N items (kept in file order). */
        sample: z.number().int().min(1).optional(),
        /** The first N items (after `sample`). */
        limit: z.number().int().min(1).optional(),
      })
      .strict(),
    retrieval: z
      .object({
        retriever: z.enum(RETRIEVER_NAMES).default('bm25'),
        /** Embedding model and index for the retrievers that embed (`dense`, `hybrid`). */
        dense: denseBlockSchema.optional(),
        // Each retriever's own fields (src/retrieval/retrievers.ts), e.g. hybrid's `rrf_k`.
        ...RETRIEVER_SETTINGS,
        order: z.enum(['ascending', 'descending']).default('ascending'),
        oracle_position: z.union([z.number().int().min(0), z.enum(['first', 'last', 'random'])]).default('last'),
        recall_at: z.array(z.number().int().min(1)).optional(),
        cache_dir: z.string().optional(),
      })
      .strict()
      .default({}),
    models: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, `.`, `_` and `-` only'), modelSchema)
      .refine((m) => Object.keys(m).length > 0, { message: 'name at least one model' }),
    pairs: z.array(z.object({ base: z.string(), instruct: z.string() }).strict()).default([]),
    /**
     * Alignment lineages (docs/lineages.md): models in training order, e.g. base → SFT → DPO. Every
     * adjacent step and first → last is a paired comparison; the report shows the waterfall.
     * Optional without a default, so suites without it keep their config hash.
     */
    lineages: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, `.`, `_` and `-` only'),
            stages: z.array(z.string().min(1)).min(2, 'name at least two stages (models in training order)'),
          })
          .strict(),
      )
      .describe('Models in training order (e.g. base → SFT → DPO): every adjacent step and first → last is a paired comparison, and the report shows the waterfall (docs/lineages.md)')
      .optional(),
    instructions: z
      .record(
        z.string(),
        z.object({ text: z.string().min(1), rejects: z.boolean().optional(), closed_book: z.boolean().optional() }).strict(),
      )
      .default({}),
    grid: oneOrMany(gridBlockSchema),
    sweep: sweepSchema.optional(),
    /**
     * The comparison `ragtax run`'s terminal summary leads with: the first base-vs-instruct pair
     * result (in summary.json's `pairs` order) that matches every field given here; unset fields
     * match anything, and the suite's own settings (no sweep variant) come before variants.
     * E.g. `headline: { instruct: instruct, format: chat, k: 3 }`. Default: the first pair at the
     * first grid point. Only the terminal summary reads it; nothing is computed differently.
     */
    headline: z
      .object({
        base: z.string().min(1).optional(),
        instruct: z.string().min(1).optional(),
        format: z.enum(['raw', 'chat']).optional(),
        instruction: z.string().min(1).optional(),
        context: z.enum(ALL_CONTEXT_MODES).optional(),
        k: z.number().int().min(0).optional(),
        shots: z.number().int().min(0).optional(),
        cot: z.boolean().optional(),
      })
      .strict()
      .optional(),
    prompt: z
      .object({
        /** Documents shown with each few-shot exemplar (retrieved for the exemplar's own question). */
        fewshot_docs: z.number().int().min(0).max(20).default(1),
      })
      .strict()
      .default({}),
    decoding: z
      .object({
        max_new_tokens: z.number().int().min(1).max(8192).default(15),
        stop: z.array(z.string().min(1)).default([]),
        repetition_penalty: z.number().min(0.5).max(3).default(1),
        cot: decodingOverrideSchema.default({ max_new_tokens: 64 }),
        proof: decodingOverrideSchema.default({ max_new_tokens: 200 }),
      })
      .strict()
      .default({}),
    metrics: z
      .object({
        scoring_rule: z.enum(['first-line', 'whole']).default('first-line'),
        refusal_markers: z.array(z.string().min(1)).nonempty().default(['NO-RES']),
        bootstrap_samples: z.number().int().min(100).max(100000).default(2000),
        /** Significance level of the paired tests (and of the power figures). Default 0.05. */
        alpha: z.number().gt(0).lt(1).optional(),
        /** Adjustment of the pair p-values across the suite's comparisons. Default holm. */
        p_adjust: z.enum(['holm', 'bh', 'none']).optional(),
        /**
         * Items that are not independent: `cluster` (the loader's cluster field: SQuAD's article,
         * a ragtax item's `cluster`) or `id:<regex>` (the regex's first group of the item id, e.g.
         * `id:^(\\w+)-` for the organism's entity). Intervals then resample whole clusters.
         */
        cluster_by: z.string().regex(/^(cluster|id:.+)$/, '`cluster` or `id:<regex with one group>`').optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type SuiteFile = z.infer<typeof suiteSchema>;
export type SweepConfig = z.infer<typeof sweepSchema>;
