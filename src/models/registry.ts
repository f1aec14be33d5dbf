// The one place that maps a model spec to a backend. Later backends (an OpenAI-compatible HTTP
// server, GGUF through node-llama-cpp) add a variant to ModelSpec and a case here.

import { InputError } from '../errors.js';
import type { LoadedModel } from '../types.js';
import { loadTransformersModel, type TransformersModelSpec } from './transformers.js';

export type ModelSpec = { backend: 'transformers' } & TransformersModelSpec;

export async function loadModel(spec: ModelSpec): Promise<LoadedModel> {
  switch (spec.backend) {
    case 'transformers':
      return loadTransformersModel(spec);
    default: {
      const backend: string = (spec as { backend: unknown }).backend as string;
      throw new InputError(`model '${(spec as { name?: string }).name ?? '?'}': unknown backend '${backend}'; expected one of: transformers`);
    }
  }
}
