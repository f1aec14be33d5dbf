// Paths and folder helpers shared by the model tests.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecodingParams } from '../../src/types.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TINY_BASE = path.join(REPO_ROOT, 'tests/fixtures/models/tiny-base');
export const TINY_CHAT = path.join(REPO_ROOT, 'tests/fixtures/models/tiny-chat');
export const SMOLLM_TOKENIZER = path.resolve(REPO_ROOT, '../shared/fixtures/tokenizers/smollm-instruct');

export function greedy(maxNewTokens: number, stop: string[] = [], repetitionPenalty = 1): DecodingParams {
  return { maxNewTokens, stop, temperature: 0, repetitionPenalty, seed: 0 };
}

/** Copies a fixture model folder to a fresh temp folder; the caller removes it with `removeFolder`. */
export function copyFixture(source: string): string {
  const target = mkdtempSync(path.join(tmpdir(), 'ragtax-model-'));
  cpSync(source, target, { recursive: true });
  return target;
}

export function removeFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
}

/** Prompts of mixed lengths: enough rows to need left padding in one batch. */
export const MIXED_PROMPTS = [
  'The capital of France is',
  'Question: who wrote it?\nAnswer:',
  'a',
  'Once upon a time there was a little',
  'Paris',
  'Answer the question using the documents below.\n\nDocument [1] The Eiffel tower is in Paris.\nQuestion: where is the tower?\nAnswer:',
  'x y z',
  'hello world',
  'Document [2] The river Seine flows through the city. Question: which river? Answer:',
  'In 1887 the construction began',
];
