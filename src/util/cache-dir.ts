import os from 'node:os';
import path from 'node:path';

/** Where ragtax keeps reusable artefacts (retrieval indexes): $RAGTAX_CACHE_DIR or ~/.cache/ragtax. */
export function cacheRoot(): string {
  return process.env.RAGTAX_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ragtax');
}
