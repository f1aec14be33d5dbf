// V8 garbage-collector settings for processes that generate with onnxruntime on the CPU.
import v8 from 'node:v8';

/**
 * Switches V8 to atomic (non-incremental) marking. onnxruntime-node hands every decoding step's
 * KV cache and logits to JavaScript as new ArrayBuffers, megabytes per step at batch 16; that
 * external memory makes V8 start incremental marking every few dozen milliseconds, and its helper
 * threads take cores from onnxruntime's intra-op threads, which wait on each other at every
 * operator. Measured on 2 cores (organism, batch 16, 128 new tokens): 3,700-3,900 tokens/s with
 * incremental marking, 7,100-7,800 without; batch 1 gains about 10%. The full pauses this trades
 * for stay a few milliseconds at ragtax's heap sizes. Call once, before generating; it changes
 * the whole process, so only ragtax's own entry points (the CLI, the benchmark) call it.
 */
export function useAtomicMarking(): void {
  v8.setFlagsFromString('--no-incremental-marking');
}
