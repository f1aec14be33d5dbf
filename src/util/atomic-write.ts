import { rename, writeFile } from 'node:fs/promises';

/**
 * Writes `file` through a temporary name and a rename, so that a crash never leaves a file that looks
 * complete but is not.
 */
export async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}
