// The generating half of the transformers backend: the ONNX weights loaded through transformers.js
// (onnxruntime-node), batched greedy generation with left padding, per-row stop strings and EOS.
// engine.ts imports this module only when a model's weights are needed, so that opening a model
// (tokenizer, chat template, context length) and a run served from the generation cache never
// load transformers.js or onnxruntime.

import {
  AutoModelForCausalLM,
  env,
  LogitsProcessor,
  LogitsProcessorList,
  StoppingCriteria,
  StoppingCriteriaList,
  Tensor,
  type PreTrainedModel,
} from '@huggingface/transformers';
import { InputError, messageOf, RuntimeFailure } from '../../errors.js';
import { cutAtStop } from '../stop-strings.js';
import { kvDecoder, kvGreedyDecode, type KvDecoder } from './kv-decode.js';
import type { TransformersModelSpec } from './settings.js';
import { TokenMemo, type TextTokenizer } from './tokenizer.js';
import type { DecodingParams, FinishReason, GenerationRequest, GenerationResult } from '../../types.js';

type GenerateOptions = Parameters<PreTrainedModel['generate']>[0];

/** Where transformers.js loads a model from, and whether it may download it. */
export interface WeightOptions {
  local_files_only: boolean;
  cache_dir?: string;
}

/** transformers.js' settings for this model: local files always, the Hub only with `allow_remote: true`. */
export function allowRemote(spec: TransformersModelSpec): void {
  env.allowLocalModels = true;
  env.allowRemoteModels = spec.allowRemote === true;
}

export async function loadWeights(spec: TransformersModelSpec, target: string, options: WeightOptions, dtype: string, device: string): Promise<PreTrainedModel> {
  allowRemote(spec);
  try {
    return await AutoModelForCausalLM.from_pretrained(target, {
      ...options,
      dtype: dtype as 'fp32',
      device: device as 'cpu',
      // onnxruntime-node's own default ran one intra-op thread on a 2-core machine (1.8× slower prefill).
      ...(device === 'cpu' && spec.threads !== undefined ? { session_options: { intraOpNumThreads: spec.threads, interOpNumThreads: 1 } } : {}),
    });
  } catch (error) {
    if (device !== 'cpu') throw new InputError(deviceUnavailable(device, error));
    throw new InputError(`model '${spec.name}': cannot load ${target} (dtype ${dtype}): ${messageOf(error)}`);
  }
}

function deviceUnavailable(device: string, error: unknown): string {
  const how =
    device === 'cuda'
      ? "it needs onnxruntime-node's CUDA provider files (install them with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`) plus CUDA 12 and cuDNN 9 on the host"
      : 'it needs a GPU adapter that Dawn can open (Vulkan drivers and libvulkan.so.1 on Linux)';
  return `device '${device}' is unavailable: ${how}. Use device 'cpu' to run on the CPU. (onnxruntime: ${messageOf(error).trim()})`;
}

export interface EngineSettings {
  eosIds: Set<number>;
  contextLength: number;
  batchSize: number;
  onBatch?: (done: number) => void;
  decodeLoop: 'kv' | 'generate';
}

interface PreparedRow {
  index: number;
  ids: number[];
  stop: string[];
}

interface RowOutcome {
  reason: 'eos' | 'stop';
  /** New tokens generated when the row finished (the EOS token included). */
  tokens: number;
}

/**
 * Generation knobs a model's generation_config.json may set that would change greedy output;
 * null switches a processor off (transformers.js' typings omit the null its code checks for).
 */
const NEUTRAL_GENERATION: Record<string, unknown> = {
  do_sample: false,
  num_beams: 1,
  num_beam_groups: 1,
  repetition_penalty: 1.0, // applied by PromptRepetitionPenalty instead, which ignores padding
  no_repeat_ngram_size: 0,
  encoder_no_repeat_ngram_size: 0,
  bad_words_ids: null,
  min_length: 0,
  min_new_tokens: null,
  forced_bos_token_id: null,
  forced_eos_token_id: null,
  forced_decoder_ids: null,
  suppress_tokens: null,
  begin_suppress_tokens: null,
  exponential_decay_length_penalty: null,
  guidance_scale: null,
  renormalize_logits: false,
};

export class BatchedGenerator {
  readonly contextLength: number;
  private queue: Promise<unknown> = Promise.resolve();
  /** The session for ragtax's own greedy loop, or null where generate() drives the model. */
  private readonly kv: KvDecoder | null;

  constructor(
    private readonly model: PreTrainedModel,
    private readonly tokenizer: TextTokenizer,
    private readonly settings: EngineSettings,
    private readonly tokens = new TokenMemo(tokenizer),
  ) {
    this.contextLength = settings.contextLength;
    this.kv = settings.decodeLoop === 'kv' ? kvDecoder(model) : null;
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }

  /** Token ids of a prompt exactly as generation feeds it (see GenerationRequest.chat for the BOS rule). */
  encode(text: string, chat = false): number[] {
    return this.tokens.encode(text, chat);
  }

  /** Calls run one after another: onnxruntime already uses every core for one batch. */
  generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const run = this.queue.then(() => this.generateNow(requests));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async generateNow(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    const results = new Array<GenerationResult>(requests.length);
    let done = 0;
    for (const { decoding, rows } of this.plan(requests)) {
      for (let start = 0; start < rows.length; start += this.settings.batchSize) {
        const batch = rows.slice(start, start + this.settings.batchSize);
        const outputs = await this.runBatch(batch, decoding);
        batch.forEach((row, i) => (results[row.index] = outputs[i]!));
        done += batch.length;
        this.settings.onBatch?.(done);
      }
    }
    return results;
  }

  /** Groups requests by decoding params and sorts each group by prompt length to reduce padding. */
  private plan(requests: GenerationRequest[]): { decoding: DecodingParams; rows: PreparedRow[] }[] {
    const groups = new Map<string, { decoding: DecodingParams; rows: PreparedRow[] }>();
    requests.forEach((request, index) => {
      const { decoding } = request;
      this.checkDecoding(decoding);
      const ids = this.encode(request.prompt, request.chat === true);
      if (ids.length === 0) throw new InputError(`request ${index}: the prompt is empty (no tokens to condition on)`);
      if (ids.length + decoding.maxNewTokens > this.contextLength) {
        throw new InputError(
          `request ${index}: ${ids.length} prompt tokens + ${decoding.maxNewTokens} new tokens exceed the model's context of ${this.contextLength} tokens`,
        );
      }
      const key = JSON.stringify([decoding.maxNewTokens, decoding.stop, decoding.temperature, decoding.repetitionPenalty, decoding.seed, decoding.minNewTokens ?? 0]);
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { decoding, rows: [] }));
      group.rows.push({ index, ids, stop: decoding.stop.filter((s) => s.length > 0) });
    });
    const plan = [...groups.values()];
    for (const group of plan) group.rows.sort((a, b) => a.ids.length - b.ids.length || a.index - b.index);
    return plan;
  }

  private checkDecoding(decoding: DecodingParams): void {
    if (decoding.temperature !== 0) {
      // transformers.js samples from one RNG shared by the whole batch, so a sampled row would
      // depend on its batch neighbours: only greedy decoding is reproducible here.
      throw new InputError(`temperature ${decoding.temperature} is not supported by the transformers backend: only greedy decoding (temperature 0) is reproducible`);
    }
    if (!Number.isInteger(decoding.maxNewTokens) || decoding.maxNewTokens < 0) {
      throw new InputError(`maxNewTokens must be a non-negative integer, got ${decoding.maxNewTokens}`);
    }
    if (!(decoding.repetitionPenalty > 0)) {
      throw new InputError(`repetitionPenalty must be positive (1.0 = off), got ${decoding.repetitionPenalty}`);
    }
  }

  private async runBatch(rows: PreparedRow[], decoding: DecodingParams): Promise<GenerationResult[]> {
    const started = performance.now();
    if (decoding.maxNewTokens === 0) {
      return rows.map((row) => ({ text: '', finishReason: 'length', promptTokens: row.ids.length, completionTokens: 0, latencyMs: 0 }));
    }
    const width = Math.max(...rows.map((row) => row.ids.length));
    const padCounts = rows.map((row) => width - row.ids.length);
    const padId = this.padTokenId();
    // Left padding: each prompt ends at the right edge.
    const padded = rows.map((row, r) => [...new Array<number>(padCounts[r]!).fill(padId), ...row.ids]);
    const attention = new Uint8Array(rows.length * width);
    rows.forEach((_, r) => attention.fill(1, r * width + padCounts[r]!, (r + 1) * width));

    const stops = new RowStopCriteria(this.tokenizer, width, this.settings.eosIds, rows.map((row) => row.stop));
    const processors: RowLogitsProcessor[] = [];
    if (decoding.repetitionPenalty !== 1) processors.push(new PromptRepetitionPenalty(decoding.repetitionPenalty, padCounts));
    if ((decoding.minNewTokens ?? 0) > 0) processors.push(new SuppressEosUntil(decoding.minNewTokens!, width, this.settings.eosIds));

    let generated: number[][];
    try {
      generated = this.kv
        ? await kvGreedyDecode(this.kv, padded, attention, {
            maxNewTokens: decoding.maxNewTokens,
            processLogits: (ids, logits) => processors.forEach((p) => p._call(ids, logits)),
            finished: (ids) => stops._call(ids),
          })
        : await this.viaGenerate(padded, attention, decoding, stops, processors);
    } catch (error) {
      throw error instanceof RuntimeFailure ? error : new RuntimeFailure(`generation failed: ${messageOf(error)}`);
    }
    const latencyMs = (performance.now() - started) / rows.length;
    return rows.map((row, r) => ({
      ...this.finish(generated[r]!, stops.outcomes[r], row.stop),
      promptTokens: row.ids.length,
      latencyMs,
    }));
  }

  /** transformers.js' generate() on the same left-padded batch; returns each row's new ids. */
  private async viaGenerate(padded: number[][], attention: Uint8Array, decoding: DecodingParams, stops: RowStopCriteria, processors: RowLogitsProcessor[]): Promise<number[][]> {
    const [batch, width] = [padded.length, padded[0]!.length];
    const stoppingCriteria = new StoppingCriteriaList();
    stoppingCriteria.push(stops);
    const logitsProcessor = new LogitsProcessorList();
    for (const processor of processors) logitsProcessor.push(processor);
    const options: Record<string, unknown> = {
      ...NEUTRAL_GENERATION,
      inputs: new Tensor('int64', BigInt64Array.from(padded.flat(), (id) => BigInt(id)), [batch, width]),
      attention_mask: new Tensor('int64', BigInt64Array.from(attention, (v) => BigInt(v)), [batch, width]),
      max_new_tokens: decoding.maxNewTokens,
      pad_token_id: this.padTokenId(),
      stopping_criteria: stoppingCriteria,
      logits_processor: logitsProcessor,
    };
    const output = await this.model.generate(options as GenerateOptions);
    if (!(output instanceof Tensor)) throw new RuntimeFailure('generation returned no token tensor');
    return (output.tolist() as bigint[][]).map((row) => row.slice(width).map(Number));
  }

  /** Cuts a row at its first EOS or stop string, as if it had been generated alone. */
  private finish(generated: number[], outcome: RowOutcome | undefined, stop: string[]): Omit<GenerationResult, 'promptTokens' | 'latencyMs'> {
    if (!outcome) return { text: this.decode(generated), finishReason: 'length', completionTokens: generated.length };
    const kept = generated.slice(0, outcome.tokens);
    if (outcome.reason === 'eos') {
      return { text: this.decode(kept.slice(0, -1)), finishReason: 'eos', completionTokens: kept.length };
    }
    const finishReason: FinishReason = 'stop';
    return { ...cutAtStop(this.decode(kept), stop), finishReason, completionTokens: kept.length };
  }

  private decode(ids: number[]): string {
    // Special-token text (`<|endoftext|>`, `<|im_end|>`) is never part of a response, as in vLLM.
    return ids.length === 0 ? '' : this.tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** Padding is masked out, so any valid id works; prefer the tokenizer's own. */
  private padTokenId(): number {
    const pad = this.tokenizer.pad_token_id;
    if (typeof pad === 'number' && pad >= 0) return pad;
    return this.settings.eosIds.values().next().value ?? 0;
  }
}


/**
 * Marks a row done once it produced EOS or its new text contains a stop string, and remembers
 * it: transformers.js asks again after every step and keeps extending finished rows until every
 * row is done, so the answer must not depend on the row's latest token alone.
 */
class RowStopCriteria extends StoppingCriteria {
  readonly outcomes: (RowOutcome | undefined)[];
  private readonly tokenizer: TextTokenizer;
  private readonly promptWidth: number;
  private readonly eosIds: Set<number>;
  private readonly stops: string[][];

  constructor(tokenizer: TextTokenizer, promptWidth: number, eosIds: Set<number>, stops: string[][]) {
    super();
    this.tokenizer = tokenizer;
    this.promptWidth = promptWidth;
    this.eosIds = eosIds;
    this.stops = stops;
    this.outcomes = stops.map(() => undefined);
  }

  // transformers.js passes bigint ids although its typings say number; ragtax's own loop passes numbers.
  override _call(inputIds: readonly (readonly (number | bigint)[])[]): boolean[] {
    return inputIds.map((row, r) => {
      if (this.outcomes[r]) return true;
      const tokens = row.length - this.promptWidth;
      if (tokens <= 0) return false;
      if (this.eosIds.has(Number(row[row.length - 1]))) {
        this.outcomes[r] = { reason: 'eos', tokens };
        return true;
      }
      const stop = this.stops[r] ?? [];
      if (stop.length > 0) {
        // Decoded as the response will be (no special-token text), so a stop found here is found there too.
        const text = this.tokenizer.decode(row.slice(this.promptWidth).map(Number), { skip_special_tokens: true, clean_up_tokenization_spaces: false });
        if (stop.some((s) => text.includes(s))) {
          this.outcomes[r] = { reason: 'stop', tokens };
          return true;
        }
      }
      return false;
    });
  }
}

/** A logits processor that both decoding loops call with each row's ids so far (bigint or number). */
type RowLogitsProcessor = PromptRepetitionPenalty | SuppressEosUntil;

/**
 * Repetition penalty (CTRL-style, as in Hugging Face) over each row's own prompt and output.
 * The built-in processor also penalises the left padding, which would make a row's output depend
 * on its batch neighbours.
 */
class PromptRepetitionPenalty extends LogitsProcessor {
  private readonly penalty: number;
  private readonly padCounts: number[];

  constructor(penalty: number, padCounts: number[]) {
    super();
    this.penalty = penalty;
    this.padCounts = padCounts;
  }

  override _call(inputIds: readonly (readonly (number | bigint)[])[], logits: Tensor): Tensor {
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1) ?? 0;
    inputIds.forEach((row, r) => {
      const offset = r * vocab;
      for (const id of new Set(row.slice(this.padCounts[r] ?? 0).map(Number))) {
        const value = data[offset + id]!;
        data[offset + id] = value < 0 ? value * this.penalty : value / this.penalty;
      }
    });
    return logits;
  }
}

/** Masks every EOS id until a row has `minNewTokens` new tokens (all rows share the prompt width). */
class SuppressEosUntil extends LogitsProcessor {
  constructor(
    private readonly minNewTokens: number,
    private readonly promptWidth: number,
    private readonly eosIds: Set<number>,
  ) {
    super();
  }

  override _call(inputIds: readonly (readonly (number | bigint)[])[], logits: Tensor): Tensor {
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1) ?? 0;
    inputIds.forEach((row, r) => {
      if (row.length - this.promptWidth >= this.minNewTokens) return;
      for (const id of this.eosIds) if (id < vocab) data[r * vocab + id] = -Infinity;
    });
    return logits;
  }
}
