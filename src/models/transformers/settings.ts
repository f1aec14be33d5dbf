// `backend: transformers` (the default): ONNX models in transformers.js layout, in process.
import { z } from 'zod';
import type { ChatOptions } from '../../prompts/chat-template.js';
import { batchSizeField, chatFields, formatsField, type BackendDefinition } from '../backend.js';
import { defaultThreads } from '../../runtime/cpu-cores.js';

// Field order and defaults are part of the suite's configuration hash (run identity): keep them.
export const transformersSettings = z
  .object({
    backend: z.literal('transformers'),
    /** Local folder (relative to the suite file) in transformers.js layout. */
    path: z.string().min(1).optional(),
    /** Hugging Face model id (needs `allow_remote: true` unless already in the cache). */
    hf_id: z.string().min(1).optional(),
    formats: formatsField,
    dtype: z.string().default('fp32'),
    device: z.enum(['cpu', 'cuda', 'webgpu']).default('cpu'),
    batch_size: batchSizeField,
    allow_remote: z.boolean().default(false),
    cache_dir: z.string().optional(),
    ...chatFields,
    /**
     * onnxruntime's intra-op threads on the CPU (default: the physical cores this process may use).
     * Left to itself onnxruntime-node ran one thread here: 1.8× slower on 2 cores.
     */
    threads: z.number().int().min(1).max(1024).optional(),
  })
  .strict();

export type TransformersEntry = z.infer<typeof transformersSettings>;

export interface TransformersModelSpec {
  name: string;
  /** Absolute local folder or a Hugging Face id. */
  source: string;
  /** fp32 (default), fp16, q8, q4 ...: picks onnx/model{suffix}.onnx. */
  dtype?: string;
  device?: 'cpu' | 'cuda' | 'webgpu';
  cacheDir?: string;
  /** Default false: offline, local folders and already cached ids only. */
  allowRemote?: boolean;
  /** Rows per forward pass (default 16). */
  batchSize?: number;
  /** Called after each batch with the number of requests finished so far in this call. */
  onBatch?: (done: number) => void;
  /**
   * `kv` (the default on the CPU): ragtax's greedy loop over the ONNX session where the model
   * follows the plain KV-cache contract (kv-decode.ts; other models use generate()); `generate`
   * (the default on GPUs): always transformers.js' generate(). Both give the same tokens; `kv` is
   * faster in batches.
   */
  decodeLoop?: 'kv' | 'generate';
  /** How the chat template is applied (system role, template variables and date). */
  chat?: ChatOptions;
  /** onnxruntime intra-op threads on the CPU (resolved: the configured count or the physical cores). */
  threads?: number;
}

/** The CPU thread count: the configured one, or the physical cores this process may use. */
export function transformersThreads(configured: number | undefined): number {
  return configured ?? defaultThreads();
}

export const transformersBackend: Omit<BackendDefinition<TransformersEntry, TransformersModelSpec>, 'load'> = {
  settings: transformersSettings,
  resolve(m, { name, resolve, fail }) {
    if ((m.path === undefined) === (m.hf_id === undefined)) fail([], 'give exactly one of `path` (a local model folder) or `hf_id` (a Hugging Face id)');
    const source = m.path !== undefined ? resolve(m.path) : m.hf_id!;
    if (m.threads !== undefined && m.device !== 'cpu') fail(['threads'], 'sets CPU threads: it needs `device: cpu`');
    const threads = m.device === 'cpu' ? transformersThreads(m.threads) : undefined;
    return {
      spec: {
        name,
        source,
        dtype: m.dtype,
        device: m.device,
        cacheDir: m.cache_dir !== undefined ? resolve(m.cache_dir) : undefined,
        allowRemote: m.allow_remote,
        batchSize: m.batch_size,
        ...(threads !== undefined ? { threads } : {}),
      },
      source,
      batchSize: m.batch_size,
      // dtype picks the weight files, which the fingerprint already names. Not `threads`: onnxruntime
      // splits matrix products by rows and columns, never a sum, so the tokens do not change (checked on the quickstart).
      identity: { device: m.device },
      recorded: { dtype: m.dtype, device: m.device, ...(threads !== undefined ? { threads: String(threads) } : {}) },
    };
  },
};
