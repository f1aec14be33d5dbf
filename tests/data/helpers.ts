// Paths and throwaway files for the data and retrieval tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function fixture(name: string): string {
  return path.join(repoRoot, 'tests/fixtures/data', name);
}

/** A real dataset from ../shared/datasets (tests skip when it is absent). */
export function sharedDataset(relative: string): string {
  return path.resolve(repoRoot, '../shared/datasets', relative);
}

let scratch: string | undefined;

/** A fresh directory under the OS temp dir, one per test process. */
export function scratchDir(): string {
  scratch ??= mkdtempSync(path.join(tmpdir(), 'ragtax-data-test-'));
  return scratch;
}

/** Writes `content` to a scratch file (gzipped when the name ends in .gz) and returns its path. */
export function scratchFile(name: string, content: string): string {
  const file = path.join(scratchDir(), name);
  writeFileSync(file, name.endsWith('.gz') ? gzipSync(content) : content);
  return file;
}

/** JSONL text from records. */
export function jsonl(...records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
