// The one place that maps a model spec to a backend. Later backends (an OpenAI-compatible HTTP
// server, GGUF through node-llama-cpp) add a variant to ModelSpec and a case here.

import { InputError } from '../errors.js';
import type { LoadedModel, ModelFingerprint } from '../types.js';
import type { GgufModelSpec } from './gguf.js';
import type { OpenAIModelSpec } from './openai.js';
import type { TransformersModelSpec } from './transformers.js';

// The backend is imported on first use: loading onnxruntime costs half a second, which a command
// that fails on its input, or never needs a model, should not pay.
const transformers = () => import('./transformers.js');
const openai = () => import('./openai.js');
// node-llama-cpp is optional: gguf.ts imports it on first use and says how to install it.
const gguf = () => import('./gguf.js');

export type ModelSpec =
  | ({ backend: 'transformers' } & TransformersModelSpec)
  | ({ backend: 'openai' } & OpenAIModelSpec)
  | ({ backend: 'gguf' } & GgufModelSpec);

function unknownBackend(spec: ModelSpec): never {
  const backend: string = (spec as { backend: unknown }).backend as string;
  throw new InputError(`model '${(spec as { name?: string }).name ?? '?'}': unknown backend '${backend}'; expected one of: transformers, openai, gguf`);
}

/** Loads a model now (weights included). */
export async function loadModel(spec: ModelSpec): Promise<LoadedModel> {
  switch (spec.backend) {
    case 'transformers':
      return (await transformers()).loadTransformersModel(spec);
    case 'openai':
      return (await openai()).openOpenAIModel(spec);
    case 'gguf':
      return (await gguf()).loadGgufModel(spec);
    default:
      return unknownBackend(spec);
  }
}

/**
 * Opens a model whose weights load on first use (see LoadedModel.load): tokenizer, chat template,
 * context length and fingerprint are available at once.
 */
export async function openModel(spec: ModelSpec, known?: { fingerprint?: ModelFingerprint }): Promise<LoadedModel> {
  switch (spec.backend) {
    case 'transformers':
      return (await transformers()).openTransformersModel(spec, known);
    case 'openai':
      // Nothing to load lazily: the server holds the weights.
      return (await openai()).openOpenAIModel(spec);
    case 'gguf':
      return (await gguf()).openGgufModel(spec, known);
    default:
      return unknownBackend(spec);
  }
}

/** The model's file fingerprint without loading it (the files are validated); null when not downloaded yet. */
export async function modelFingerprint(spec: ModelSpec): Promise<ModelFingerprint | null> {
  switch (spec.backend) {
    case 'transformers':
      return (await transformers()).fingerprintModel(spec);
    case 'openai':
      // The server's GET /v1/models entry for the model (and the local tokenizer's files, if any).
      return (await openai()).fingerprintOpenAIModel(spec);
    case 'gguf':
      return (await gguf()).fingerprintGgufModel(spec);
    default:
      return unknownBackend(spec);
  }
}
