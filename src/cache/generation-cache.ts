// A generation cache shared by every run on this machine: one SQLite file
// (<cacheRoot()>/generations.sqlite). Node 20 has no built-in `node:sqlite` (it arrived in Node 22.5),
// so this uses better-sqlite3. WAL mode lets several runs read while one writes; a busy timeout
// makes concurrent writers wait for each other instead of failing.
//
// A key is the sha256 of everything a greedy generation depends on: the model key (a hash of the
// model's weight, config and tokenizer files plus backend settings, see caching-generator.ts), the
// exact prompt string and every decoding parameter (all fields, sorted, so a parameter added to
// DecodingParams later becomes part of the key by itself). A hit is therefore the text the same
// model would generate again; an entry that does not parse as a result is treated as a miss.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FinishReason, GenerationRequest } from '../types.js';
import { cacheRoot } from '../util/cache-dir.js';

/** What the cache keeps of a generation (latency is not kept: a hit costs no model time). */
export interface CachedGeneration {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

const SCHEMA_VERSION = 1;
const FINISH_REASONS: ReadonlySet<string> = new Set(['eos', 'stop', 'length']);

/** Default location: $RAGTAX_CACHE_DIR/generations.sqlite (or ~/.cache/ragtax/…). */
export function defaultGenerationCachePath(): string {
  return path.join(cacheRoot(), 'generations.sqlite');
}

/** JSON with object keys sorted at every level: the same value always gives the same string. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The cache key of one request for one model. */
export function generationKey(modelKey: string, request: GenerationRequest): string {
  return createHash('sha256')
    .update(canonicalJson({ v: SCHEMA_VERSION, model: modelKey, prompt: request.prompt, decoding: request.decoding }))
    .digest('hex');
}

function parseEntry(json: string): CachedGeneration | undefined {
  try {
    const v = JSON.parse(json) as Partial<CachedGeneration>;
    if (
      typeof v.text === 'string' &&
      typeof v.finishReason === 'string' &&
      FINISH_REASONS.has(v.finishReason) &&
      Number.isInteger(v.promptTokens) &&
      Number.isInteger(v.completionTokens)
    ) {
      return { text: v.text, finishReason: v.finishReason, promptTokens: v.promptTokens!, completionTokens: v.completionTokens! };
    }
  } catch {
    // fall through: not a usable entry
  }
  return undefined;
}

export class GenerationCache {
  private readonly select: Database.Statement<[string], { value: string }>;
  private readonly upsert: Database.Statement<[string, string, string, number]>;
  private readonly putAll: (entries: readonly (readonly [string, CachedGeneration])[], modelKey: string) => void;

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
  ) {
    this.select = db.prepare('SELECT value FROM generations WHERE key = ?');
    this.upsert = db.prepare('INSERT OR REPLACE INTO generations (key, model, value, created_at) VALUES (?, ?, ?, ?)');
    this.putAll = db.transaction((entries: readonly (readonly [string, CachedGeneration])[], modelKey: string) => {
      const now = Date.now();
      for (const [key, entry] of entries) this.upsert.run(key, modelKey, JSON.stringify(entry), now);
    });
  }

  /** Opens (creating when needed) the cache file. Throws when the file cannot be opened as a database. */
  static open(file = defaultGenerationCachePath()): GenerationCache {
    mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file, { timeout: 30_000 }); // busy timeout: wait for another run's write
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a crash can lose the last writes, never corrupt
      db.exec(`CREATE TABLE IF NOT EXISTS generations (
        key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID`);
      return new GenerationCache(file, db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** The cached results among `keys` (a key that is absent or unusable is simply not in the map). */
  getMany(keys: readonly string[]): Map<string, CachedGeneration> {
    const found = new Map<string, CachedGeneration>();
    for (const key of keys) {
      const row = this.select.get(key);
      const entry = row ? parseEntry(row.value) : undefined;
      if (entry) found.set(key, entry);
    }
    return found;
  }

  /** Stores results in one transaction (all or nothing). */
  putMany(modelKey: string, entries: readonly (readonly [string, CachedGeneration])[]): void {
    if (entries.length > 0) this.putAll(entries, modelKey);
  }

  /** Number of stored generations (for tests and diagnostics). */
  size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM generations').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
