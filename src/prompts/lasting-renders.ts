// Rendered chat prompts remembered across runs, in the cache folder (`chat-renders.json`).
//
// Why: a chat prompt is a pure function of the template, its variables and the messages, and
// rendering is the costliest part of planning a run that the generation cache serves: a warm
// quickstart re-run rendered 700 prompts through @huggingface/jinja's interpreter, ~25 ms of
// ~1 s, before V8 had compiled any of it. Each prompt is kept under the sha256 of the renderer's
// identity (template text, special tokens, variables: prompts/chat-template.ts), the jinja
// library's version and the messages; the whole record under a format version. Only the prompts
// of recent runs are kept (most recently used first, at most MAX_PROMPT_CHARACTERS of text), so
// the record stays small enough to read in a few ms.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { writeAtomically } from '../util/atomic-write.js';
import { readLastingRecord } from '../util/lasting-record.js';
import { sha256Hex } from '../util/hash.js';
import type { LastingRenderMemo } from './chat-template.js';

const FORMAT = 'ragtax-chat-renders/1';
export const LASTING_RENDERS_FILE = 'chat-renders.json';
/** Prompt text kept (~4 MB): a quickstart's 700 prompts are ~1 MB. */
const MAX_PROMPT_CHARACTERS = 4_000_000;

/** The version of @huggingface/jinja, which renders the prompts (its package root is above its entry file). */
function jinjaVersion(): string {
  try {
    const entry = createRequire(import.meta.url).resolve('@huggingface/jinja');
    const json = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof json.version === 'string' ? json.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export class LastingRenders implements LastingRenderMemo {
  private readonly used = new Map<string, string>();
  private added = 0;
  private readonly library = jinjaVersion();

  private constructor(
    readonly file: string,
    private readonly stored: Map<string, string>,
    /** Why the record on disk was not read (it is then rewritten), if it was not. */
    readonly unreadable: string | null,
  ) {}

  /** The record in `folder` (none yet or unreadable: empty). */
  static open(folder: string): LastingRenders {
    const file = path.join(folder, LASTING_RENDERS_FILE);
    const record = readLastingRecord(file, FORMAT, 'prompts');
    const stored = new Map<string, string>();
    for (const [key, prompt] of Object.entries(record.entries)) if (typeof prompt === 'string') stored.set(key, prompt);
    return new LastingRenders(file, stored, record.unreadable);
  }

  private digest(renderer: string, messages: string): string {
    return sha256Hex(`${this.library}\n${renderer}\n${messages}`);
  }

  get(renderer: string, messages: string): string | undefined {
    const key = this.digest(renderer, messages);
    const known = this.used.get(key) ?? this.stored.get(key);
    if (known !== undefined) this.used.set(key, known);
    return known;
  }

  set(renderer: string, messages: string, prompt: string): void {
    this.used.set(this.digest(renderer, messages), prompt);
    this.added += 1;
  }

  /** Prompts this process rendered (not read back). */
  get made(): number {
    return this.added;
  }

  /** Writes the record when this process rendered a prompt (or the one on disk was unreadable): the prompts it used first, then older ones. */
  async save(): Promise<void> {
    if (this.added === 0 && this.unreadable === null) return;
    const prompts: Record<string, string> = {};
    let characters = 0;
    fill: for (const source of [this.used, this.stored]) {
      for (const [key, prompt] of source) {
        if (key in prompts) continue;
        if (characters + prompt.length > MAX_PROMPT_CHARACTERS) break fill;
        prompts[key] = prompt;
        characters += prompt.length;
      }
    }
    await writeAtomically(this.file, `${JSON.stringify({ format: FORMAT, prompts })}\n`);
  }
}
