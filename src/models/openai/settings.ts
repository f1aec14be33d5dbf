// `backend: openai`: an OpenAI-compatible server (vLLM, TGI, llama.cpp's server, `ragtax serve`);
// see docs/scale-out.md.
import { z } from 'zod';
import type { ChatOptions } from '../../prompts/chat-template.js';
import { batchSizeField, chatFields, formatsField, type BackendDefinition } from '../backend.js';

export const openaiSettings = z
  .object({
    backend: z.literal('openai'),
    formats: formatsField,
    batch_size: batchSizeField,
    /** Base URLs of the server's replicas (`http://host:8000` or `http://host:8000/v1`). */
    endpoints: z.union([z.string().url(), z.array(z.string().url()).nonempty()]).transform((v) => (Array.isArray(v) ? v : [v])).optional(),
    /** The server's model id (as listed by GET /v1/models). */
    model: z.string().min(1).optional(),
    /** NAME of the environment variable holding the API key (the key itself never goes in a suite). */
    api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    /** server: messages to /v1/chat/completions (server-side template); rendered: ragtax renders the template (needs `tokenizer`). */
    chat_mode: z.enum(['server', 'rendered']).optional(),
    /** Local tokenizer folder (tokenizer.json, tokenizer_config.json): token counts and the `rendered` chat template. */
    tokenizer: z.string().min(1).optional(),
    /** Requests in flight per endpoint (default 8). */
    concurrency: z.number().int().min(1).max(1024).optional(),
    timeout_s: z.number().positive().max(86400).optional(),
    max_retries: z.number().int().min(0).max(100).optional(),
    /** Stop strings sent to the server (OpenAI accepts 4); the rest are applied by ragtax. */
    max_stops: z.number().int().min(0).max(64).optional(),
    /** Context length when the server does not report max_model_len. */
    context_length: z.number().int().min(1).optional(),
    /**
     * The served weights' version, in your words (a checkpoint hash, a date): part of the
     * generation-cache key and of the run identity, since /v1/models does not change when a server
     * reloads other weights under the same id. Change it whenever the weights change.
     */
    revision: z.string().min(1).optional(),
    /** `false`: this model's generations neither come from nor go to the generation cache. */
    cache: z.boolean().optional(),
    ...chatFields,
  })
  .strict();

export type OpenAIEntry = z.infer<typeof openaiSettings>;

export interface OpenAIModelSpec {
  name: string;
  /** Base URLs of the replicas (`http://host:8000` or `http://host:8000/v1`). */
  endpoints: string[];
  /** The server's model id. */
  model: string;
  /** Name of the environment variable that holds the API key. */
  apiKeyEnv?: string;
  /** Default `server`. */
  chatMode?: 'server' | 'rendered';
  /** Absolute local tokenizer folder (token counts; the template for `rendered`). */
  tokenizer?: string;
  /** Requests in flight per endpoint (default 8). */
  concurrency?: number;
  /** Per attempt (default 600). */
  timeoutS?: number;
  /** Default 5. */
  maxRetries?: number;
  /** Stop strings sent to the server (default 4); the others are applied by ragtax. */
  maxStops?: number;
  /** Overrides the server's max_model_len. */
  contextLength?: number;
  /** First backoff step in ms (default 500; tests make it small). */
  retryBaseMs?: number;
  /** Longest backoff step in ms (default 30,000). */
  retryMaxMs?: number;
  /** How the chat template is applied (system role, template variables and date). */
  chat?: ChatOptions;
}

const DEFAULT_CONCURRENCY = 8;
const NEEDS = '`backend: openai` needs `endpoints` (one or more server URLs) and `model` (the server\'s model id), and takes no `path` or `hf_id`';

export const openaiBackend: Omit<BackendDefinition<OpenAIEntry, OpenAIModelSpec>, 'load'> = {
  settings: openaiSettings,
  resolve(m, { name, resolve, fail }) {
    if (m.endpoints === undefined || m.model === undefined) fail([], NEEDS);
    const chatMode = m.chat_mode ?? 'server';
    if (chatMode === 'rendered' && m.tokenizer === undefined) {
      fail(['chat_mode'], '`rendered` needs `tokenizer: <folder>` (a local tokenizer with a chat_template) to render the template');
    }
    const concurrency = m.concurrency ?? DEFAULT_CONCURRENCY;
    const endpoints = [...new Set(m.endpoints!)];
    return {
      spec: {
        name,
        endpoints,
        model: m.model!,
        apiKeyEnv: m.api_key_env,
        chatMode,
        tokenizer: m.tokenizer !== undefined ? resolve(m.tokenizer) : undefined,
        concurrency,
        timeoutS: m.timeout_s,
        maxRetries: m.max_retries,
        maxStops: m.max_stops,
        contextLength: m.context_length,
      },
      source: `openai:${m.model}`,
      // At least two samples per request slot, so that every replica stays busy.
      batchSize: Math.max(m.batch_size, 2 * concurrency * m.endpoints!.length),
      // `cpu` keeps the cache keys of runs made before backends declared their own identity; the
      // revision, when given, tells apart weights that the server's /v1/models entry does not.
      identity: { device: 'cpu', ...(m.revision !== undefined ? { revision: m.revision } : {}) },
      // The server decides dtype and device; its /v1/models facts are in the fingerprint.
      recorded: { ...(m.revision !== undefined ? { revision: m.revision } : {}), ...(m.cache === false ? { generationCache: 'off' } : {}) },
      ...(m.cache === false ? { cacheGenerations: false } : {}),
    };
  },
  foreignField(field) {
    if (field === 'path' || field === 'hf_id') return `is not taken: ${NEEDS}`;
    if (['dtype', 'device', 'allow_remote', 'cache_dir'].includes(field)) return 'is for in-process backends; with `backend: openai` the server decides it';
    return undefined;
  },
};
