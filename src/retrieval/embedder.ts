// Text embeddings with a transformers.js encoder (AutoTokenizer + AutoModel → last_hidden_state),
// pooled (`mean` over real tokens or the `cls` token) and optionally L2-normalised, in batches.
// The recipe (pooling, normalisation, query/passage prefixes) comes from the suite, else from the
// model folder (ragtax's own `ragtax_embedding` key in config.json, or sentence-transformers'
// 1_Pooling/config.json and config_sentence_transformers.json prompts), else mean + normalise.
// Loading is offline unless `allowRemote`; weights load on the first embed() call, so checking a
// persisted index needs only the model files' fingerprint.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, messageOf, RuntimeFailure } from '../errors.js';
import { sha256File } from '../util/hash.js';

export type Pooling = 'mean' | 'cls';
export type EmbedRole = 'query' | 'passage';

export interface EmbedderSpec {
  /** Local model folder (absolute) or a Hugging Face id. */
  source: string;
  pooling?: Pooling;
  normalize?: boolean;
  queryPrefix?: string;
  passagePrefix?: string;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** Tokens per text, longer texts are truncated (default: the model's maximum, at most 512). */
  maxLength?: number;
  dtype?: string;
  allowRemote?: boolean;
  cacheDir?: string;
}

export interface EmbeddingRecipe {
  pooling: Pooling;
  normalize: boolean;
  queryPrefix: string;
  passagePrefix: string;
  maxLength: number;
  dtype: string;
}

export interface Embedder {
  readonly source: string;
  readonly dim: number;
  readonly recipe: EmbeddingRecipe;
  /** sha256 over the model's files and the recipe: an index made with another value is not reused. */
  readonly fingerprint: string;
  /** Row-major texts.length × dim vectors. `onProgress` is called after each batch. */
  embed(texts: readonly string[], role: EmbedRole, onProgress?: (done: number, total: number) => void): Promise<Float32Array>;
  dispose(): Promise<void>;
}

type Json = Record<string, unknown>;
const DTYPE_SUFFIX: Readonly<Record<string, string>> = { fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4' };

async function readJson(file: string): Promise<Json | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch (err) {
    throw new InputError(`${file}: not valid JSON: ${messageOf(err)}`);
  }
}

function transformersCacheDir(spec: EmbedderSpec, envCacheDir: string | null | undefined): string {
  return spec.cacheDir ?? envCacheDir ?? '';
}

/** The local folder holding the model, or undefined for an id that must be downloaded first. */
function resolveFolder(spec: EmbedderSpec, envCacheDir: string | null | undefined): string | undefined {
  const { source } = spec;
  if (path.isAbsolute(source) || source.startsWith('.') || existsSync(source)) {
    const folder = path.resolve(source);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new InputError(`embedding model folder ${folder} does not exist (expected config.json, tokenizer.json and onnx/model.onnx)`);
    }
    return folder;
  }
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(source)) throw new InputError(`embedding model '${source}' is neither an existing folder nor a Hugging Face id (owner/name)`);
  const cached = path.resolve(transformersCacheDir(spec, envCacheDir), source);
  if (existsSync(path.join(cached, 'config.json'))) return cached;
  if (spec.allowRemote) return undefined;
  throw new InputError(
    `embedding model '${source}' is not a local folder and is not in the model cache (${cached}); remote loading is off: ` +
      'set `allow_remote: true` in the suite\'s `retrieval.dense` block to download it, or give a local folder as `model`',
  );
}

function onnxFile(dtype: string): string {
  return `onnx/model${DTYPE_SUFFIX[dtype] ?? ''}.onnx`;
}

async function checkFolder(folder: string, dtype: string): Promise<Json> {
  const config = await readJson(path.join(folder, 'config.json'));
  if (!config) throw new InputError(`${folder}: missing config.json (an embedding model folder needs config.json, tokenizer.json and ${onnxFile(dtype)})`);
  if (!existsSync(path.join(folder, 'tokenizer.json'))) throw new InputError(`${folder}: missing tokenizer.json`);
  if (!existsSync(path.join(folder, onnxFile(dtype)))) throw new InputError(`${folder}: missing ${onnxFile(dtype)}, the ONNX weights for dtype ${dtype}`);
  if (typeof config.hidden_size !== 'number' && typeof config.dim !== 'number' && typeof config.d_model !== 'number') {
    throw new InputError(`${path.join(folder, 'config.json')}: no hidden_size: cannot tell the embedding dimension`);
  }
  return config;
}

/** Defaults the model folder declares for itself. */
async function folderRecipe(folder: string, config: Json): Promise<Partial<EmbeddingRecipe>> {
  const out: Partial<EmbeddingRecipe> = {};
  const own = config.ragtax_embedding as Json | undefined;
  const st = await readJson(path.join(folder, '1_Pooling', 'config.json'));
  if (st) {
    if (st.pooling_mode_cls_token === true) out.pooling = 'cls';
    else if (st.pooling_mode_mean_tokens === true) out.pooling = 'mean';
  }
  const stConfig = await readJson(path.join(folder, 'config_sentence_transformers.json'));
  const prompts = stConfig?.prompts as Json | undefined;
  if (typeof prompts?.query === 'string') out.queryPrefix = prompts.query;
  if (typeof prompts?.passage === 'string') out.passagePrefix = prompts.passage;
  else if (typeof prompts?.document === 'string') out.passagePrefix = prompts.document;
  if (existsSync(path.join(folder, '2_Normalize'))) out.normalize = true;
  if (own) {
    if (own.pooling === 'mean' || own.pooling === 'cls') out.pooling = own.pooling;
    if (typeof own.normalize === 'boolean') out.normalize = own.normalize;
    if (typeof own.query_prefix === 'string') out.queryPrefix = own.query_prefix;
    if (typeof own.passage_prefix === 'string') out.passagePrefix = own.passage_prefix;
  }
  return out;
}

async function filesFingerprint(folder: string, dtype: string): Promise<{ path: string; sha256: string }[]> {
  const onnx = onnxFile(dtype);
  const onnxDir = path.join(folder, 'onnx');
  const external = existsSync(onnxDir) ? readdirSync(onnxDir).filter((f) => f.startsWith(`${path.basename(onnx)}_data`)).map((f) => `onnx/${f}`) : [];
  const candidates = ['config.json', 'tokenizer.json', 'tokenizer_config.json', onnx, ...external].sort();
  const files: { path: string; sha256: string }[] = [];
  for (const rel of candidates) {
    const full = path.join(folder, rel);
    if (existsSync(full)) files.push({ path: rel, sha256: await sha256File(full) });
  }
  return files;
}

function l2normalize(v: Float32Array, offset: number, dim: number): void {
  let s = 0;
  for (let j = 0; j < dim; j++) s += v[offset + j]! * v[offset + j]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < dim; j++) v[offset + j] = v[offset + j]! * inv;
}

/**
 * Opens an embedding model: validates its folder, settles the recipe and fingerprints the files
 * (weights are loaded on the first embed()). An id that is not downloaded yet is loaded now.
 */
export async function openEmbedder(spec: EmbedderSpec): Promise<Embedder> {
  const tf = await import('@huggingface/transformers');
  const dtype = spec.dtype ?? 'fp32';
  if (!Object.hasOwn(DTYPE_SUFFIX, dtype)) throw new InputError(`embedding model: unknown dtype '${dtype}'; expected one of ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  const batchSize = spec.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`embedding batch_size must be a whole number ≥ 1, got ${batchSize}`);
  tf.env.allowLocalModels = true;
  tf.env.allowRemoteModels = spec.allowRemote === true;
  const options = { local_files_only: spec.allowRemote !== true, ...(spec.cacheDir ? { cache_dir: spec.cacheDir } : {}) };

  type Tokenizer = Awaited<ReturnType<typeof tf.AutoTokenizer.from_pretrained>>;
  type Model = Awaited<ReturnType<typeof tf.AutoModel.from_pretrained>>;
  let tokenizer: Tokenizer | undefined;
  let model: Model | undefined;
  const loadAll = async (target: string): Promise<void> => {
    try {
      tokenizer ??= await tf.AutoTokenizer.from_pretrained(target, options);
    } catch (err) {
      throw new InputError(`embedding model ${target}: cannot load the tokenizer: ${messageOf(err)}`);
    }
    try {
      model ??= await tf.AutoModel.from_pretrained(target, { ...options, dtype: dtype as 'fp32', device: 'cpu' });
    } catch (err) {
      throw new InputError(`embedding model ${target}: cannot load the weights (dtype ${dtype}): ${messageOf(err)}`);
    }
  };

  let folder = resolveFolder(spec, tf.env.cacheDir);
  if (!folder) {
    await loadAll(spec.source); // downloads into the cache
    folder = path.resolve(transformersCacheDir(spec, tf.env.cacheDir), spec.source);
  }
  const config = await checkFolder(folder, dtype);
  const dim = Number(config.hidden_size ?? config.dim ?? config.d_model);
  const declared = await folderRecipe(folder, config);
  const modelMax = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 512;
  const maxLength = Math.min(spec.maxLength ?? 512, modelMax);
  const recipe: EmbeddingRecipe = {
    pooling: spec.pooling ?? declared.pooling ?? 'mean',
    normalize: spec.normalize ?? declared.normalize ?? true,
    queryPrefix: spec.queryPrefix ?? declared.queryPrefix ?? '',
    passagePrefix: spec.passagePrefix ?? declared.passagePrefix ?? '',
    maxLength,
    dtype,
  };
  const files = await filesFingerprint(folder, dtype);
  const fingerprint = createHash('sha256').update(JSON.stringify({ files, recipe, dim })).digest('hex');
  const target = folder;

  async function embedBatch(texts: string[]): Promise<Float32Array> {
    await loadAll(target);
    const enc = (tokenizer as unknown as (t: string[], o: object) => Record<string, unknown>)(texts, {
      padding: true,
      truncation: true,
      max_length: maxLength,
    });
    let output: Record<string, { data: Float32Array; dims: number[] }>;
    try {
      output = (await (model as unknown as (inputs: object) => Promise<unknown>)(enc)) as typeof output;
    } catch (err) {
      throw new RuntimeFailure(`embedding model ${target}: forward pass failed: ${messageOf(err)}`);
    }
    const hidden = output.last_hidden_state ?? output.token_embeddings;
    if (!hidden) throw new RuntimeFailure(`embedding model ${target}: the model gives no last_hidden_state`);
    const [batch, seq, width] = hidden.dims as [number, number, number];
    if (width !== dim) throw new RuntimeFailure(`embedding model ${target}: last_hidden_state has width ${width}, config.json says hidden_size ${dim}`);
    const mask = (enc.attention_mask as { data: BigInt64Array | Int32Array }).data;
    const out = new Float32Array(batch * dim);
    const h = hidden.data;
    for (let b = 0; b < batch; b++) {
      const o = b * dim;
      if (recipe.pooling === 'cls') {
        out.set(h.subarray(b * seq * dim, b * seq * dim + dim), o);
      } else {
        let count = 0;
        for (let t = 0; t < seq; t++) {
          if (Number(mask[b * seq + t]) === 0) continue;
          count += 1;
          const base = (b * seq + t) * dim;
          for (let j = 0; j < dim; j++) out[o + j] = out[o + j]! + h[base + j]!;
        }
        const inv = 1 / Math.max(1, count);
        for (let j = 0; j < dim; j++) out[o + j] = out[o + j]! * inv;
      }
      if (recipe.normalize) l2normalize(out, o, dim);
    }
    return out;
  }

  let queue: Promise<unknown> = Promise.resolve();
  return {
    source: spec.source,
    dim,
    recipe,
    fingerprint,
    embed(texts, role, onProgress) {
      const run = queue.then(async () => {
        const prefix = role === 'query' ? recipe.queryPrefix : recipe.passagePrefix;
        const out = new Float32Array(texts.length * dim);
        // Similar lengths share a batch: less padding. Results go back to input order.
        const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length || a - b);
        for (let start = 0; start < order.length; start += batchSize) {
          const rows = order.slice(start, start + batchSize);
          const vectors = await embedBatch(rows.map((i) => prefix + texts[i]!));
          rows.forEach((i, r) => out.set(vectors.subarray(r * dim, (r + 1) * dim), i * dim));
          onProgress?.(Math.min(start + batchSize, order.length), order.length);
        }
        return out;
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async dispose() {
      await model?.dispose();
      model = undefined;
    },
  };
}
