// The one place that maps a model spec to a backend. Later backends (an OpenAI-compatible HTTP
// server, GGUF through node-llama-cpp) add a variant to ModelSpec and a case here.

import { InputError } from '../errors.js';
import type { LoadedModel, ModelFingerprint } from '../types.js';
import type { TransformersModelSpec } from './transformers.js';

// The backend is imported on first use: loading onnxruntime costs half a second, which a command
// that fails on its input, or never needs a model, should not pay.
const transformers = () => import('./transformers.js');

export type ModelSpec = { backend: 'transformers' } & TransformersModelSpec;

function unknownBackend(spec: ModelSpec): never {
  const backend: string = (spec as { backend: unknown }).backend as string;
  throw new InputError(`model '${(spec as { name?: string }).name ?? '?'}': unknown backend '${backend}'; expected one of: transformers`);
}

/** Loads a model now (weights included). */
export async function loadModel(spec: ModelSpec): Promise<LoadedModel> {
  switch (spec.backend) {
    case 'transformers':
      return (await transformers()).loadTransformersModel(spec);
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
    default:
      return unknownBackend(spec);
  }
}

/** The model's file fingerprint without loading it (the files are validated); null when not downloaded yet. */
export async function modelFingerprint(spec: ModelSpec): Promise<ModelFingerprint | null> {
  switch (spec.backend) {
    case 'transformers':
      return (await transformers()).fingerprintModel(spec);
    default:
      return unknownBackend(spec);
  }
}
