// The model seam: what every backend declares beside itself. A backend is one table line in
// backends.ts: its suite settings (a zod object, eager, so a suite is validated without loading any
// engine), how a validated entry becomes the engine's spec, and the engine itself, imported on first
// use (onnxruntime or node-llama-cpp cost a second to load, which a command that fails on its input
// should not pay).
import { z } from 'zod';
import type { LoadedModel, ModelFingerprint, PromptFormat } from '../types.js';

/** What a backend does with a resolved spec. */
export interface ModelEngine<Spec> {
  /** Opens the model; where the backend can, weights load on first use (see LoadedModel.load). */
  open(spec: Spec, known?: { fingerprint?: ModelFingerprint }): Promise<LoadedModel>;
  /** Loads the model now, weights included. */
  load(spec: Spec): Promise<LoadedModel>;
  /** The model's file fingerprint without loading it (files are validated); null when not downloaded yet. */
  fingerprint(spec: Spec): Promise<ModelFingerprint | null>;
}

/** Field path under `models.<name>` (e.g. `['chat_mode']`), for messages that name the suite line. */
export type SettingsPath = (string | number)[];

/** Handed to a backend while it turns its validated suite entry into a spec. */
export interface SettingsContext {
  /** The model's name in the suite. */
  name: string;
  /** A path written in the suite, made absolute (relative to the suite file). */
  resolve(relative: string): string;
  /** Stops with an input error at the suite line of `models.<name>.<field...>`. */
  fail(field: SettingsPath, message: string): never;
}

/** A suite model entry after its backend resolved it. */
export interface ResolvedModel<Spec> {
  spec: Spec;
  /** What the run identity records as the model's source (absolute file or folder, hub id, `openai:<id>`). */
  source: string;
  /** Samples handed to the generator at a time. */
  batchSize: number;
  /** Settings beside the model's files that are part of its generation-cache key (e.g. the device). */
  identity: Record<string, string>;
  /** Settings the manifest records beside the model's files. */
  recorded: Record<string, string>;
  /** `false`: the run sends this model's requests straight to it, past the generation cache (default true). */
  cacheGenerations?: boolean;
}

export interface BackendDefinition<Entry extends { formats: PromptFormat[] }, Spec> {
  /** The suite entry's fields: a strict zod object whose `backend` is a literal. */
  settings: z.ZodObject<z.ZodRawShape, 'strict', z.ZodTypeAny, Entry>;
  /** Checks across fields and resolves paths. */
  resolve(entry: Entry, context: SettingsContext): ResolvedModel<Spec>;
  /**
   * The message for a field that this backend does not take but another one does (default: "is for
   * `backend: X` only").
   */
  foreignField?(field: string): string | undefined;
  /** The engine, imported on first use. */
  load(): Promise<ModelEngine<Spec>>;
}

/** Fields every backend's entry takes. */
export const formatsField = z
  .union([z.enum(['raw', 'chat']), z.array(z.enum(['raw', 'chat'])).nonempty()])
  .transform((v): PromptFormat[] => (Array.isArray(v) ? v : [v]))
  .default(['raw']);
export const batchSizeField = z.number().int().min(1).max(1024).default(16);

/**
 * How a model's chat prompts are made, for every backend: declared once here, spread into each
 * backend's settings, resolved by the suite loader into `SuiteModel.chat` and the spec's `chat`.
 */
export const chatFields = {
  /** `merge`: the instruction opens the first user turn (for templates that reject or drop the system role). */
  system_role: z.enum(['keep', 'merge']).optional(),
  /** Template variables, e.g. `{ enable_thinking: false }`; sent to servers as vLLM's `chat_template_kwargs`. */
  chat_template_kwargs: z.record(z.string(), z.unknown()).optional(),
  /** Which of the model's named chat templates to use (default `default`). */
  chat_template_name: z.string().min(1).optional(),
  /** Reasoning models: score the text after the closing tag of the thinking block. */
  reasoning: z
    .object({
      strip: z.boolean().default(true),
      open: z.string().min(1).default('<think>'),
      close: z.string().min(1).default('</think>'),
    })
    .strict()
    .optional(),
};
