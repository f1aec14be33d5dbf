// The backend table: adding a backend is one folder (settings.ts beside engine.ts) and one line here.
// Settings are imported eagerly (the suite schema is built from them); engines on first use.
import type { z } from 'zod';
import { InputError } from '../errors.js';
import type { LoadedModel, ModelFingerprint } from '../types.js';
import type { BackendDefinition, ModelEngine } from './backend.js';
import { ggufBackend } from './gguf/settings.js';
import { openaiBackend } from './openai/settings.js';
import { transformersBackend } from './transformers/settings.js';

export const BACKENDS = {
  transformers: { ...transformersBackend, load: async () => (await import('./transformers/engine.js')).engine },
  openai: { ...openaiBackend, load: async () => (await import('./openai/engine.js')).engine },
  // node-llama-cpp is optional: the engine imports it on first use and says how to install it.
  gguf: { ...ggufBackend, load: async () => (await import('./gguf/engine.js')).engine },
} as const;

export type BackendName = keyof typeof BACKENDS;
export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];
/** The backend a suite model entry without `backend:` gets. */
export const DEFAULT_BACKEND: BackendName = 'transformers';

type SpecOf<B extends BackendName> = (typeof BACKENDS)[B] extends BackendDefinition<infer _E, infer S> ? S : never;
/** A model spec of any backend, tagged with its backend. */
export type ModelSpec = { [B in BackendName]: { backend: B } & SpecOf<B> }[BackendName];
/** A validated suite model entry of any backend. */
export type ModelEntry = { [B in BackendName]: z.infer<(typeof BACKENDS)[B]['settings']> }[BackendName];

// Every table entry is checked against the seam's interface (a wrong or missing member is a compile error).
BACKENDS satisfies { [B in BackendName]: BackendDefinition<z.infer<(typeof BACKENDS)[B]['settings']>, SpecOf<B>> };

async function engineOf(spec: ModelSpec): Promise<ModelEngine<ModelSpec>> {
  const backend = Object.hasOwn(BACKENDS, spec.backend) ? BACKENDS[spec.backend] : undefined;
  if (backend === undefined) {
    throw new InputError(`model '${spec.name}': unknown backend '${String(spec.backend)}'; expected one of: ${BACKEND_NAMES.join(', ')}`);
  }
  return (await backend.load()) as ModelEngine<ModelSpec>;
}

/** Loads a model now (weights included). */
export async function loadModel(spec: ModelSpec): Promise<LoadedModel> {
  return (await engineOf(spec)).load(spec);
}

/**
 * Opens a model whose weights load on first use (see LoadedModel.load): tokenizer, chat template,
 * context length and fingerprint are available at once.
 */
export async function openModel(spec: ModelSpec, known?: { fingerprint?: ModelFingerprint }): Promise<LoadedModel> {
  return (await engineOf(spec)).open(spec, known);
}

/** The model's file fingerprint without loading it (the files are validated); null when not downloaded yet. */
export async function modelFingerprint(spec: ModelSpec): Promise<ModelFingerprint | null> {
  return (await engineOf(spec)).fingerprint(spec);
}
