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
import { LastingRecord } from '../util/lasting-record.js';
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
  private readonly library = jinjaVersion();

  private constructor(private readonly record: LastingRecord<string>) {}

  /** The record in `folder` (none yet or unreadable: empty). */
  static open(folder: string): LastingRenders {
    return new LastingRenders(
      new LastingRecord(path.join(folder, LASTING_RENDERS_FILE), {
        format: FORMAT,
        entriesKey: 'prompts',
        parse: (value) => (typeof value === 'string' ? value : undefined),
        cost: (prompt) => prompt.length,
        budget: MAX_PROMPT_CHARACTERS,
      }),
    );
  }

  get file(): string {
    return this.record.file;
  }

  /** Why the record on disk was not read (it is then rewritten), if it was not. */
  get unreadable(): string | null {
    return this.record.unreadable;
  }

  private digest(renderer: string, messages: string): string {
    return sha256Hex(`${this.library}\n${renderer}\n${messages}`);
  }

  get(renderer: string, messages: string): string | undefined {
    return this.record.get(this.digest(renderer, messages));
  }

  set(renderer: string, messages: string, prompt: string): void {
    this.record.set(this.digest(renderer, messages), prompt);
  }

  /** Prompts this process rendered (not read back). */
  get made(): number {
    return this.record.made;
  }

  /** Writes the record when this process rendered a prompt (or the one on disk was unreadable): the prompts it used first, then older ones. */
  save(): Promise<void> {
    return this.record.save();
  }
}
