// `backend: gguf`: a .gguf file through node-llama-cpp (an optional dependency, imported on first use).
import { z } from 'zod';
import type { ChatOptions } from '../../prompts/chat-template.js';
import { batchSizeField, chatFields, formatsField, type BackendDefinition } from '../backend.js';
import { cpuCores, defaultThreads, type CpuCores } from '../../runtime/cpu-cores.js';

export { cpuCores, type CpuCores };

export const GGUF_DEVICES = ['cpu', 'cuda', 'vulkan'] as const;
export type GgufDevice = (typeof GGUF_DEVICES)[number];

export const ggufSettings = z
  .object({
    backend: z.literal('gguf'),
    /** The .gguf file (relative to the suite file). */
    path: z.string().min(1).optional(),
    formats: formatsField,
    device: z.enum(GGUF_DEVICES).default('cpu'),
    /** Sequences generated in parallel. */
    batch_size: batchSizeField,
    /** Layers offloaded to the GPU (default all on cuda/vulkan). */
    gpu_layers: z.number().int().min(0).optional(),
    /** Tokens per sequence (default the model's trained context, at most 8192). */
    context_size: z.number().int().min(16).optional(),
    /** CPU threads (default: the physical cores this process may use; 1 is fastest for small models on 2 cores). */
    threads: z.number().int().min(1).max(1024).optional(),
    /** KV cache precision: f16 (llama.cpp's default) or f32 (matches an fp32 reference; twice the memory). */
    kv_cache: z.enum(['f16', 'f32']).optional(),
    ...chatFields,
  })
  .strict();

export type GgufEntry = z.infer<typeof ggufSettings>;

export interface GgufModelSpec {
  name: string;
  /** Absolute path of the .gguf file. */
  source: string;
  /** cpu (default), cuda or vulkan: a GPU that node-llama-cpp cannot use is an error, never a CPU fallback. */
  device?: GgufDevice;
  /** Layers offloaded to the GPU (default: all of them on cuda/vulkan; must be 0 on the CPU). */
  gpuLayers?: number;
  /** Tokens per sequence (prompt + new tokens); default the model's trained context, at most 8192. */
  contextSize?: number;
  /** Sequences of one context generated in parallel (default 8). */
  batchSize?: number;
  /** CPU threads per evaluation (default: the physical cores this process may use, see resolveThreads). */
  threads?: number;
  /**
   * KV cache precision: f16 (default, llama.cpp's) or f32 with flash attention off, which makes the
   * attention arithmetic match an fp32 reference (twice the cache memory).
   */
  kvCache?: 'f16' | 'f32';
  /** Called as requests finish with the number finished so far in this call. */
  onBatch?: (done: number) => void;
  /** How the chat template is applied (system role, template variables and date). */
  chat?: ChatOptions;
}

/**
 * The llama.cpp thread count: the configured one, or the physical cores this process may use
 * (node-llama-cpp's own default is max(4, math cores): 4 threads on a 2-core machine, which made
 * decoding hundreds of times slower). A configured count above the available cores is kept, with
 * a warning: llama.cpp's threads meet at a barrier after every operation, so one thread without a
 * core stalls all of them.
 */
export function resolveThreads(configured: number | undefined, cores: CpuCores): { threads: number; warning?: string } {
  if (configured === undefined) return { threads: defaultThreads(cores) };
  if (configured <= cores.available) return { threads: configured };
  return {
    threads: configured,
    warning: `threads: ${configured} is more than the ${cores.available} CPU core${cores.available === 1 ? '' : 's'} this process may use; llama.cpp's threads wait for each other at every step, so decoding will be many times slower: set threads to ${cores.available} or fewer (or leave it out)`,
  };
}

const NEEDS_PATH = '`backend: gguf` needs `path: <file.gguf>` (a local GGUF file; no `hf_id`)';

export const ggufBackend: Omit<BackendDefinition<GgufEntry, GgufModelSpec>, 'load'> = {
  settings: ggufSettings,
  resolve(m, { name, resolve, fail }) {
    if (m.path === undefined) fail([], NEEDS_PATH);
    if (m.device === 'cpu' && m.gpu_layers !== undefined && m.gpu_layers > 0) fail(['gpu_layers'], 'needs `device: cuda` or `device: vulkan`');
    const source = resolve(m.path!);
    // Resolved here so that the manifest records the count used; the engine warns about one above the cores.
    const { threads } = resolveThreads(m.threads, cpuCores());
    return {
      spec: { name, source, device: m.device, batchSize: m.batch_size, gpuLayers: m.gpu_layers, contextSize: m.context_size, threads, kvCache: m.kv_cache },
      source,
      batchSize: m.batch_size,
      // Not `threads`: it changes the speed, not the tokens (each output row is one thread's sum).
      identity: { device: m.device },
      recorded: { device: m.device, threads: String(threads) },
    };
  },
  foreignField(field) {
    if (field === 'hf_id') return `is not taken: ${NEEDS_PATH}`;
    if (['dtype', 'allow_remote', 'cache_dir'].includes(field)) return 'is not used by `backend: gguf` (the GGUF file fixes the weights\' types and is always local)';
    return undefined;
  },
};
