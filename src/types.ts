// Shared data types. Data flows one way:
// suite → items → contexts → prompts → generations → scores → aggregates → reports.

/** One passage of a retrieval corpus. */
export interface Doc {
  id: string;
  title: string;
  text: string;
}

/** A document with the retriever's score (higher is better). */
export interface ScoredDoc {
  doc: Doc;
  score: number;
}

/** One QA item. `answers` is empty only for items a loader marks `unanswerable` (SQuAD v2 `is_impossible`). */
export interface QaItem {
  id: string;
  question: string;
  answers: string[];
  unanswerable?: boolean;
  /** Corpus ids of the document(s) that hold the answer, when the dataset knows them. */
  goldDocIds?: string[];
  /**
   * Graded relevance judgements (corpus id → grade, > 0 relevant), when the dataset has them (BEIR
   * qrels). Retrieval metrics use it instead of goldDocIds. BEIR items carry no answers at all
   * (`answers` is empty): they are for retrieval metrics, and QA scoring does not apply to them.
   */
  relevance?: Record<string, number>;
  /** Precomputed contexts (lost-in-the-middle style), best first. Used by the `precomputed` retriever. */
  ctxs?: ScoredDoc[];
  /** Dataset-level tag, e.g. the organism's "fact is in the corpus" or SQuAD's `!is_impossible`. */
  answerInCorpus?: boolean;
  /**
   * The group the item is not independent of (its entity, page or paragraph): a loader's `cluster`
   * field, or what the suite's `metrics.cluster_by` derives. Intervals then resample clusters.
   */
  cluster?: string;
  /**
   * The answers the item's own passages support, when they differ from `answers` (a knowledge-
   * conflict set's context answer): a dataset's `fields.context_answers`.
   */
  contextAnswers?: string[];
  /**
   * Wrong answers planted in the item's passages (RGB's counterfactual `fakeanswer`): a dataset's
   * `fields.counterfactual`. An output that gives one followed the context against the truth.
   */
  counterfactual?: string[];
}

/** What a dataset loader returns. */
export interface Dataset {
  items: QaItem[];
  /** Corpus to retrieve from (may be empty for closed-book or precomputed-context datasets). */
  corpus: Doc[];
  /** Separate split for few-shot exemplars; never contains an evaluated item. */
  fewShot: QaItem[];
  /** What the loader built or could not record, one line each ("corpus: 9,812 passages from 1,000 items ..."). */
  notes?: string[];
}

/** Retrievers sit behind this one interface (src/retrieval/retrievers.ts lists them). */
export interface Retriever {
  readonly name: string;
  /** Top-k documents per query, best first. */
  search(queries: string[], k: number): Promise<ScoredDoc[][]>;
  /** Frees what the retriever holds (an embedding model); the run calls it when retrieval is done. */
  dispose(): Promise<void>;
}

export type ContextMode = 'retrieved' | 'oracle' | 'distractors' | 'counterfactual' | 'closed-book';
export type DocOrder = 'ascending' | 'descending';

/** The documents one item is shown with, in prompt order. Identical for every model. */
export interface ItemContext {
  itemId: string;
  mode: ContextMode;
  k: number;
  docs: Doc[];
  /** Any normalised gold answer occurs in the shown documents. */
  answerInContext: boolean;
  /**
   * What the shown documents claim instead of the true answer (a knowledge conflict): the value a
   * `counterfactual` context substituted, or the item's own context answers where its documents show
   * them. Absent when the documents claim nothing else.
   */
  contextAnswers?: string[];
}

export type PromptFormat = 'raw' | 'chat';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Renders chat messages with a model's own chat template (with the generation prompt). */
export type ChatRenderer = (messages: ChatMessage[]) => string;

/** Decoding parameters; every one of them is part of a generation's identity. */
export interface DecodingParams {
  maxNewTokens: number;
  /** Generation stops when any of these strings appears; the stop string is cut off. */
  stop: string[];
  /** 0 = greedy (the default and the only reproducible setting). */
  temperature: number;
  repetitionPenalty: number;
  seed: number;
  /**
   * End-of-sequence tokens are ignored until this many new tokens (stop strings still apply), as
   * vLLM's `min_tokens`: for throughput benchmarks that need a fixed generation length. In-process
   * backend only; the others refuse it.
   */
  minNewTokens?: number;
}

export interface GenerationRequest {
  /**
   * The exact string given to the model (chat template already applied for `chat`). For a request
   * that carries `messages`, the compact JSON of those messages (what samples.jsonl records).
   */
  prompt: string;
  /**
   * Chat messages for a backend that applies the chat template itself (an OpenAI-compatible server
   * with `chat_mode: server`); set by the runner for `chat` prompts when the model asks for them
   * (LoadedModel.acceptsMessages). Backends that render locally ignore it.
   */
  messages?: ChatMessage[];
  decoding: DecodingParams;
  /**
   * `prompt` is a rendered chat template: it is encoded WITHOUT adding special tokens (the template
   * writes its own BOS), as transformers' `apply_chat_template(tokenize=True)` and vLLM's chat
   * endpoint do. Otherwise (raw prompts) the tokenizer's own rule applies (`tokenizer(text)`).
   */
  chat?: boolean;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** Wall time of the batch this request ran in, divided evenly over its rows (0 for a cache hit). */
  latencyMs: number;
  /** Served from the generation cache (src/cache): no model call was made. */
  cached?: boolean;
  /** For `finishReason: 'stop'`: the stop string that ended the text (the earliest one in it). */
  stopString?: string;
}

/** Every backend implements this and nothing more. */
export interface Generator {
  generate(requests: GenerationRequest[]): Promise<GenerationResult[]>;
}

/** Identity of a model's weights, recorded in the manifest. */
export interface ModelFingerprint {
  source: string;
  files: { path: string; sha256: string; bytes: number }[];
  /**
   * Backend facts recorded in the manifest beside the files (an HTTP backend: the server's model
   * ids, owned_by, root, max_model_len, chat mode, how prompt tokens are counted). Never secrets.
   */
  details?: Record<string, unknown>;
}

/** A loaded model: its generator plus what the prompt stage needs to know about it. */
export interface LoadedModel {
  name: string;
  generator: Generator;
  /** Number of tokens the model is fed for `text` (see GenerationRequest.chat for the BOS rule). */
  countTokens(text: string, chat?: boolean): number;
  /** The token ids the model is fed for `text`, where the backend has the tokenizer locally. */
  encode?(text: string, chat?: boolean): number[];
  /** Maximum sequence length (prompt + new tokens). */
  contextLength: number;
  /** The model's own chat template, or undefined when it has none. */
  renderChat?: ChatRenderer;
  fingerprint: ModelFingerprint;
  /**
   * Prompt token counts for the context-overflow check, for backends that count asynchronously (a
   * server's /tokenize) or per request (`messages`); null where the count is unknown (the check is
   * then skipped for that prompt, and `notes` says so), or where a safe bound proves the prompt fits
   * (not counted, unless `exact`). When absent, countTokens(prompt) is used.
   */
  countRequestTokens?(requests: GenerationRequest[], options?: { exact?: boolean }): Promise<(number | null)[]>;
  /** `chat` prompts are sent as messages (GenerationRequest.messages); the server applies the template. */
  acceptsMessages?: boolean;
  /** Things a run should say about this model (e.g. a skipped context check); also in the manifest. */
  notes?: string[];
  /**
   * Facts about the prompt stack the manifest records beside the files: the chat template's sha256
   * and where it was read, the BOS rule applied to raw and chat prompts.
   */
  promptStack?: Record<string, unknown>;
  /**
   * Loads the weights now, for a model opened lazily (generate() loads them on first use anyway);
   * absent when the model is loaded eagerly.
   */
  load?(): Promise<void>;
  dispose(): Promise<void>;
}

/** Grid coordinates of one evaluated configuration (everything except the item). */
export interface Cell {
  model: string;
  format: PromptFormat;
  instruction: string;
  context: ContextMode;
  k: number;
  shots: number;
  cot: boolean;
  /** Sensitivity-sweep setting that differs from the suite's defaults (e.g. `max_new_tokens=50`); absent for the defaults. */
  variant?: string;
}

/** Per-sample scores. */
export interface SampleScores {
  /** Paper accuracy: a normalised gold answer is a substring of the normalised first line. */
  correct: boolean;
  exactMatch: boolean;
  f1: number;
  /** NO-RES (or the configured refusal marker) in the normalised first line. */
  refusal: boolean;
  answerInContext: boolean;
  /**
   * Knowledge-conflict samples only (the shown documents claim a context answer that is not a true
   * answer): whether the scored text gives a context answer (paper accuracy against them).
   */
  followsContext?: boolean;
  /** CoT only: whether the response had an `Answer:` line to extract. */
  cotAnswerFound?: boolean;
  /** Reasoning models only (`reasoning.strip`): whether the thinking block was closed before the budget ran out. */
  reasoningClosed?: boolean;
  /** Proof task only: text after `Proof:` to the end of that line, and whether the answer occurs in it. */
  proof?: string | null;
  proofCoherent?: boolean;
}

/** One line of samples.jsonl. */
export interface SampleRecord extends Cell {
  itemId: string;
  question: string;
  answers: string[];
  docIds: string[];
  /** Knowledge conflicts: what the shown documents claim instead (a counterfactual context's substituted value). */
  contextAnswers?: string[];
  prompt: string;
  response: string;
  /** The text that was scored (the extracted `Answer:` line for CoT). */
  scoredText: string;
  scores: SampleScores;
  finishReason: FinishReason | null;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  /** The response came from the generation cache: latencyMs is 0 and the sample is left out of timing figures. */
  cached?: boolean;
  /** Set when the sample was not generated; such samples are excluded from every aggregate. */
  excluded?: 'context-overflow';
  /** The item's cluster, when the suite clusters items (`metrics.cluster_by`). */
  cluster?: string;
}

export type Interval = [number, number];

/** Aggregates of one cell; all rates are fractions in [0, 1] (null when the denominator is 0). */
export interface CellAggregate extends Cell {
  n: number;
  nAnswerInContext: number;
  nAnswerAbsent: number;
  accuracy: number;
  exactMatch: number;
  f1: number;
  refusalRate: number;
  negativeRejectionRate: number | null;
  overRefusalRate: number | null;
  parametricRecall: number | null;
  contextAccuracy: number | null;
  ci95: Record<string, Interval>;
  /** CoT cells: share of responses without a final `Answer:` line. */
  cotMissingAnswer?: number;
  /** Proof cells: share of proofs that contain the model's own answer. */
  proofCoherence?: number | null;
  /** Cells of reasoning models: share of responses whose thinking never closed (raise max_new_tokens). */
  reasoningUnclosed?: number;
  /** Cells with knowledge conflicts (docs/conflicts.md), over their conflict samples: gives what the documents claim. */
  followsContext?: number | null;
  /** ... gives the true answer despite the documents. */
  followsMemory?: number | null;
  /** ... refuses (not over-refusal: the documents are wrong). */
  conflictRefusal?: number | null;
  /** ... none of the three. */
  conflictNeither?: number | null;
  /** Items left out because some prompt of this grid point exceeded a model's context. */
  excludedContextOverflow: number;
  /** Fewer than 30 scored items: rate intervals are exact (Clopper–Pearson), and the report marks the cell. */
  smallSample?: true;
  /** Clusters among the scored items, when intervals resample clusters. */
  clusters?: number;
}

/** 2×2 table of per-item correctness: [base right & instruct right, base right & instruct wrong, base wrong & instruct right, both wrong]. */
export interface PairTable {
  bothCorrect: number;
  baseOnly: number;
  instructOnly: number;
  neither: number;
}

/** Base vs instruct at one grid point; `format` is the instruct model's (the base is always `raw`). */
export interface PairRecord extends Omit<Cell, 'model'> {
  /** The earlier stage (e.g. the base model); `format` is the later stage's format. */
  base: string;
  /** The later stage (e.g. the instruct or chat model). */
  instruct: string;
  /**
   * The earlier stage's format when it is not `raw`: a lineage step between two aligned models
   * pairs them in the same format (instruct chat → chat chat). Absent for base models (always raw).
   */
  baseFormat?: PromptFormat;
  n: number;
  baseAccuracy: number;
  instructAccuracy: number;
  tax: number;
  taxRelative: number | null;
  taxCi95: Interval;
  mcnemarP: number;
  /** mcnemarP adjusted across the suite's paired comparisons (RunSummary.statistics says how). */
  mcnemarPAdjusted?: number;
  table: PairTable;
  refusalDelta: number;
  /**
   * The smallest tax this comparison could detect at 80% power and the suite's alpha (two-sided),
   * from its own discordance rate; null when no item is discordant.
   */
  minimumDetectableTax?: number | null;
  /** With clustered items: the number of clusters, the unclustered interval and the design effect (clustered ÷ naive width). */
  clusters?: number;
  naiveTaxCi95?: Interval;
  designEffect?: number;
  /**
   * Knowledge conflicts (items whose shown documents claim another value than the true one), only
   * when the pair has any: over the shared conflict items, each conflict metric's rate on both
   * sides and its paired difference instruct − base with a 95% paired-bootstrap interval.
   */
  conflicts?: { n: number; metrics: Record<string, PairedRate> };
  /**
   * Where the tax comes from: the tax split over the items whose shown documents lack the answer
   * (parametric recall lost, mostly to refusals), those whose documents hold it (extraction and
   * over-refusal) and knowledge conflicts. Each part is Σ over its items of (base − instruct) / n,
   * so the parts sum to `tax`; each has its paired-bootstrap interval.
   */
  decomposition?: TaxDecomposition;
  /**
   * Outcome transitions base → instruct over the shared items, per subset: each item is `right`
   * (correct), `nores` (a refusal, not correct) or `wrong` on each side; counts[from][to]. `conflict`
   * only when the pair has knowledge-conflict items.
   */
  transitions?: { answerInContext: Transitions; answerAbsent: Transitions; conflict?: Transitions };
}

/** One part of a decomposed tax: its items and its share of the tax (summing to the tax). */
export interface TaxPart {
  n: number;
  /** Σ over the part's items of (base − instruct), divided by the pair's n. */
  tax: number;
  ci95: Interval;
}

export interface TaxDecomposition {
  answerAbsent: TaxPart;
  answerInContext: TaxPart;
  /** Only when the pair has knowledge-conflict items (they are in neither other part). */
  conflict?: TaxPart;
}

export type Outcome = 'right' | 'wrong' | 'nores';
export type Transitions = Record<Outcome, Record<Outcome, number>>;

/**
 * One lineage of a run (`lineages:` in the suite): its stages in order and, per grid point and
 * format of the last stage, the index into summary.json's `pairs` of every adjacent step and of
 * first → last. A pair in the suite's `pairs:` is a two-stage lineage of its own in the pair table.
 */
export interface LineageRecord {
  name: string;
  stages: string[];
  /** One entry per grid point and final-stage format. */
  points: LineagePoint[];
}

export interface LineagePoint extends Omit<Cell, 'model'> {
  /** Indexes into RunSummary.pairs, in stage order (steps.length = stages.length − 1). */
  steps: number[];
  /** Index into RunSummary.pairs of first stage → last stage. */
  total: number;
}

/**
 * Per model and format, when the grid has a closed-book cell for it: each item labelled by whether
 * the model answers it right closed-book, crossed with whether the shown documents hold the answer,
 * for every cell of the model and format that shows documents.
 */
export interface KnowledgeTable {
  model: string;
  format: PromptFormat;
  /** The closed-book cell the labels come from. */
  closedBook: Omit<Cell, 'model' | 'format'>;
  cells: { cell: Omit<Cell, 'model' | 'format'>; groups: Record<'knowsHolds' | 'knowsLacks' | 'unknownHolds' | 'unknownLacks', KnowledgeGroup> }[];
}

export interface KnowledgeGroup {
  n: number;
  /** Shares of the group's items (null when n = 0). */
  accuracy: number | null;
  refusalRate: number | null;
}

/** One yes/no metric on both sides of a pair: `delta` = instruct − base, paired by item. */
export interface PairedRate {
  base: number;
  instruct: number;
  delta: number;
  ci95: Interval;
}
