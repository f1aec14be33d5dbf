// A model folder's tokenizer without transformers.js: @huggingface/tokenizers is the library
// transformers.js bundles (the same version, 0.2.0) and wraps in PreTrainedTokenizer, so encoding
// and decoding here give the same ids and text. Opening a model (tokenizer, chat template, context
// length) therefore no longer loads transformers.js and onnxruntime: a run whose generations all
// come from the cache never imports them (about 0.2 s of a warm re-run).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError, messageOf } from '../../errors.js';
import { sha256File } from '../../util/hash.js';

/** What ragtax uses of a tokenizer; transformers.js' PreTrainedTokenizer has the same shape. */
export interface TextTokenizer {
  /** tokenizer_config.json as read (the chat template and special tokens come from it). */
  readonly config: Record<string, unknown>;
  readonly eos_token_id?: number | null;
  readonly pad_token_id?: number | null;
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null }): string;
}

/**
 * Tokenizer classes whose transformers.js subclass changes what encode or decode give (Whisper's
 * timestamp decoding, VITS' decoder): loaded through transformers.js itself. Every other class is
 * PreTrainedTokenizer over the same Tokenizer.
 */
const TRANSFORMERS_ONLY = new Set(['WhisperTokenizer', 'VitsTokenizer']);

/** A special token's text in tokenizer_config.json (a string or an AddedToken), as transformers.js reads it. */
export function specialTokenOf(config: Record<string, unknown>, ...keys: string[]): string | null {
  for (const key of keys) {
    if (!Object.hasOwn(config, key)) continue;
    const item = config[key];
    if (!item) continue;
    if (typeof item === 'object') {
      const added = item as { __type?: unknown; content?: unknown };
      if (added.__type === 'AddedToken' && typeof added.content === 'string') return added.content;
      throw new InputError(`tokenizer_config.json: \`${key}\` is an object but not an AddedToken (expected a string or {"__type": "AddedToken", "content": ...})`);
    }
    return String(item);
  }
  return null;
}

class FolderTokenizer implements TextTokenizer {
  readonly eos_token_id: number | null;
  readonly pad_token_id: number | null;
  private readonly tokenizer: Tokenizer;

  constructor(
    tokenizerJson: Record<string, unknown>,
    readonly config: Record<string, unknown>,
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, config);
    const idOf = (token: string | null) => (token === null ? null : (this.tokenizer.token_to_id(token) ?? null));
    this.eos_token_id = idOf(specialTokenOf(config, 'eos_token'));
    this.pad_token_id = idOf(specialTokenOf(config, 'pad_token', 'eos_token'));
  }

  encode(text: string, options: { add_special_tokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.add_special_tokens ?? true }).ids;
  }

  decode(ids: number[], options: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null } = {}): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: options.skip_special_tokens ?? false, clean_up_tokenization_spaces: options.clean_up_tokenization_spaces ?? null });
  }
}

async function readJsonObject(file: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${messageOf(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Tokenizers by the content of their two files: models of one lineage often share them (instruct
 * and chat), and building one from a large tokenizer.json costs tens of milliseconds. Encoding and
 * decoding are pure, so one instance serves every model whose files are byte-identical.
 */
const tokenizersByContent = new Map<string, TextTokenizer>();
const TOKENIZERS_KEPT = 8;

/** The tokenizer of a local folder (tokenizer.json and tokenizer_config.json), as transformers.js' AutoTokenizer makes it. */
export async function loadFolderTokenizer(folder: string, modelName: string): Promise<TextTokenizer> {
  let content: string | undefined;
  try {
    // The hashes are the model fingerprint's (made once per content: util/hash.ts).
    content = `${await sha256File(path.join(folder, 'tokenizer.json'))}|${await sha256File(path.join(folder, 'tokenizer_config.json'))}`;
  } catch {
    // A missing or unreadable file: the reads below name it.
  }
  const known = content !== undefined ? tokenizersByContent.get(content) : undefined;
  if (known) return known;
  const tokenizer = await readFolderTokenizer(folder, modelName);
  if (content !== undefined) remember(content, tokenizer);
  return tokenizer;
}

async function readFolderTokenizer(folder: string, modelName: string): Promise<TextTokenizer> {
  try {
    // One after the other, not Promise.all: with both missing, the error must name tokenizer.json every time, not whichever read failed first.
    const tokenizerJson = await readJsonObject(path.join(folder, 'tokenizer.json'));
    const config = await readJsonObject(path.join(folder, 'tokenizer_config.json'));
    const tokenizerClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
    if (TRANSFORMERS_ONLY.has(tokenizerClass)) {
      const { AutoTokenizer, env } = await import('@huggingface/transformers');
      env.allowLocalModels = true;
      return (await AutoTokenizer.from_pretrained(folder, { local_files_only: true })) as unknown as TextTokenizer;
    }
    const tokenizer = new FolderTokenizer(tokenizerJson, config);
    built += 1;
    return tokenizer;
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`model '${modelName}': ${error.message}`);
    throw new InputError(`model '${modelName}': cannot load the tokenizer from ${folder}: ${messageOf(error)}`);
  }
}

let built = 0;
/** How many tokenizers this process built from tokenizer.json (for tests and diagnostics). */
export function folderTokenizersBuilt(): number {
  return built;
}

/**
 * A local folder's tokenizer that is built on first use: opening a model needs only
 * tokenizer_config.json (the chat template and special tokens), and a run whose generations all
 * come from the cache never encodes (the BOS rule of the manifest is remembered: engine.ts). Building
 * one from a real tokenizer.json (1.8–3.5 MB, the shared families) took 240–270 ms per model.
 * `contentKey` is the two files' sha256: models with the same files share the built tokenizer.
 * Classes that need transformers.js (TRANSFORMERS_ONLY) are loaded at once, as before.
 */
export async function openFolderTokenizer(folder: string, modelName: string): Promise<{ tokenizer: TextTokenizer; contentKey: string | undefined }> {
  let contentKey: string;
  let config: Record<string, unknown>;
  try {
    contentKey = `${await sha256File(path.join(folder, 'tokenizer.json'))}|${await sha256File(path.join(folder, 'tokenizer_config.json'))}`;
    config = await readJsonObject(path.join(folder, 'tokenizer_config.json'));
  } catch {
    // A missing or unreadable file: the eager load names it, as it always did.
    return { tokenizer: await loadFolderTokenizer(folder, modelName), contentKey: undefined };
  }
  const tokenizerClass = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  if (TRANSFORMERS_ONLY.has(tokenizerClass)) return { tokenizer: await loadFolderTokenizer(folder, modelName), contentKey };
  const known = tokenizersByContent.get(contentKey);
  return { tokenizer: known ?? new LazyFolderTokenizer(folder, modelName, config, contentKey), contentKey };
}

class LazyFolderTokenizer implements TextTokenizer {
  private tokenizer: TextTokenizer | undefined;

  constructor(
    private readonly folder: string,
    private readonly modelName: string,
    readonly config: Record<string, unknown>,
    private readonly contentKey: string,
  ) {}

  /** Built now (synchronously: encode is), or the one another model with the same files built. */
  private get built(): TextTokenizer {
    if (this.tokenizer) return this.tokenizer;
    let tokenizer = tokenizersByContent.get(this.contentKey);
    if (!tokenizer) {
      const file = path.join(this.folder, 'tokenizer.json');
      try {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(file, 'utf8'));
        } catch (error) {
          throw new Error(`${file}: ${messageOf(error)}`);
        }
        if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object`);
        tokenizer = new FolderTokenizer(json as Record<string, unknown>, this.config);
        built += 1;
      } catch (error) {
        if (error instanceof InputError) throw new InputError(`model '${this.modelName}': ${error.message}`);
        throw new InputError(`model '${this.modelName}': cannot load the tokenizer from ${this.folder}: ${messageOf(error)}`);
      }
      remember(this.contentKey, tokenizer);
    }
    return (this.tokenizer = tokenizer);
  }

  get eos_token_id(): number | null | undefined {
    return this.built.eos_token_id;
  }

  get pad_token_id(): number | null | undefined {
    return this.built.pad_token_id;
  }

  encode(text: string, options?: { add_special_tokens?: boolean }): number[] {
    return this.built.encode(text, options);
  }

  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean | null }): string {
    return this.built.decode(ids, options);
  }
}

function remember(contentKey: string, tokenizer: TextTokenizer): void {
  if (tokenizersByContent.size >= TOKENIZERS_KEPT) tokenizersByContent.delete(tokenizersByContent.keys().next().value!);
  tokenizersByContent.set(contentKey, tokenizer);
}

/**
 * Token ids of recent prompts. The runner counts every prompt's tokens (the context check) just
 * before generating it; tokenising each prompt twice took about 5% of a run's time. Bounded, oldest
 * first out; callers must not modify the returned arrays.
 */
export class TokenMemo {
  private readonly ids = new Map<string, number[]>();
  private readonly chatIds = new Map<string, number[]>();

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly capacity = 4096,
  ) {}

  /** `chat`: a rendered chat template, encoded without adding special tokens (see GenerationRequest.chat). */
  encode(text: string, chat = false): number[] {
    const memo = chat ? this.chatIds : this.ids;
    const hit = memo.get(text);
    if (hit) return hit;
    const ids = chat ? this.tokenizer.encode(text, { add_special_tokens: false }) : this.tokenizer.encode(text);
    if (memo.size >= this.capacity) memo.delete(memo.keys().next().value!);
    memo.set(text, ids);
    return ids;
  }
}
