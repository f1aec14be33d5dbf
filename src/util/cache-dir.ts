import os from 'node:os';
import path from 'node:path';
import { makeDirectory } from './atomic-write.js';

const made = new Set<string>();

/**
 * Where ragtax keeps reusable artefacts (retrieval indexes, the generation cache): $RAGTAX_CACHE_DIR
 * or ~/.cache/ragtax. The folder is created on first use, so that a place where no folder can be
 * made fails here, with one message naming it and the variable it came from, rather than in (or, on
 * /proc, forever inside) the first write under it.
 */
export function cacheRoot(): string {
  const fromEnv = process.env.RAGTAX_CACHE_DIR;
  const root = fromEnv ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ragtax');
  if (root !== '' && !made.has(root)) {
    const label = fromEnv !== undefined ? 'RAGTAX_CACHE_DIR=' : 'the cache folder ';
    makeDirectory(root, { label, hint: '; set RAGTAX_CACHE_DIR to a folder that can be written' });
    made.add(root);
  }
  return root;
}
