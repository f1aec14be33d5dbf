// A generation cache shared by every run on this machine: one SQLite file
// (<cacheRoot()>/generations.sqlite). Node 20 has no built-in `node:sqlite` (it arrived in Node 22.5),
// so this uses better-sqlite3. WAL mode lets several runs read while one writes; a busy timeout
// makes concurrent writers wait for each other instead of failing.
//
// A key is the sha256 of everything a greedy generation depends on: the model key (a hash of the
// model's weight, config and tokenizer files plus backend settings, see caching-generator.ts), the
// exact prompt string and every decoding parameter (all fields, sorted, so a parameter added to
// DecodingParams later becomes part of the key by itself). A hit is therefore the text the same
// model would generate again.
//
// A broken cache never fails a run and never gives a wrong result:
// - every row carries a checksum (sha256 of its key and its value, schema 2); a row whose checksum,
//   key or value does not check out (edited, damaged) is a miss: regenerated and rewritten, never
//   served, and reported once;
// - a file that cannot be opened, is not a ragtax cache, has bytes past its last page or fails on
//   any read or write (a damaged page, a lock held past the busy timeout, a read-only file) is
//   closed, the run goes on without it, and a warning names the file and says to delete it.
// Warnings go to the `onWarning` given to `open` (the runner prints them even under --quiet).
//
// Schema 2 (this file) against schema 1 (before checksums): the key's version went from 1 to 2, so
// rows written before are never looked up (they have no checksum to verify) and simply age out; the
// file is migrated in place (a `checksum` column, the application id and user_version set), so an
// older ragtax sharing the file keeps working with its own rows.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { messageOf } from '../errors.js';
import type { FinishReason, GenerationRequest } from '../types.js';
import { makeDirectory } from '../util/atomic-write.js';
import { cacheRoot } from '../util/cache-dir.js';
import { sha256Hex } from '../util/hash.js';

/** What the cache keeps of a generation (latency is not kept: a hit costs no model time). */
export interface CachedGeneration {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

export interface GenerationCacheOptions {
  /**
   * Where the cache reports that it failed (and was closed) or that an entry failed its check.
   * Messages come without a `warning: ` prefix. Default: printed to stderr.
   */
  onWarning?: (message: string) => void;
  /** How long a read or write waits for another process's lock, in ms (default 30 s). */
  busyTimeoutMs?: number;
}

/** Version of the key and of the table (see the top of this file). */
export const SCHEMA_VERSION = 2;
/** SQLite's application id of a ragtax generation cache ('rgtx'). */
const APPLICATION_ID = 0x72677478;
const FINISH_REASONS: ReadonlySet<string> = new Set(['eos', 'stop', 'length']);

/** Default location: $RAGTAX_CACHE_DIR/generations.sqlite (or ~/.cache/ragtax/…). */
export function defaultGenerationCachePath(): string {
  return path.join(cacheRoot(), 'generations.sqlite');
}

/** How to get rid of a broken cache file, for warnings. */
export function deleteAdvice(file: string): string {
  return `delete ${file} (and ${path.basename(file)}-wal, ${path.basename(file)}-shm beside it, if present) to start a new cache`;
}

/** JSON with object keys sorted at every level: the same value always gives the same string. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The cache key of one request for one model: the sha256 of
 * `canonicalJson({ v, model, prompt, decoding })`, written out with its keys already in order
 * (decoding, model, prompt, v) so that only the small decoding object goes through the sorting
 * replacer (the same bytes, at a fraction of the cost; a test pins them).
 */
export function generationKey(modelKey: string, request: GenerationRequest): string {
  let decoding = decodingJson.get(request.decoding);
  if (decoding === undefined) decodingJson.set(request.decoding, (decoding = canonicalJson(request.decoding)));
  const json = `{"decoding":${decoding},"model":${JSON.stringify(modelKey)},"prompt":${JSON.stringify(request.prompt)},"v":${SCHEMA_VERSION}}`;
  return sha256Hex(json);
}

/**
 * The canonical JSON of each decoding object (a grid point's requests share one): made once, not
 * per request. Keyed by identity, so a caller must not change a decoding object after a key was
 * made from it (requests are built once and never modified).
 */
const decodingJson = new WeakMap<object, string>();

/** The checksum of a row: its key and its stored value, byte for byte. */
function rowChecksum(key: string, value: string): string {
  return sha256Hex(`${key}\n${value}`);
}

/** `value` as a cached generation when it is one (exactly the four fields, of the right types). */
export function asCachedGeneration(value: unknown): CachedGeneration | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<CachedGeneration>;
  if (
    typeof v.text === 'string' &&
    typeof v.finishReason === 'string' &&
    FINISH_REASONS.has(v.finishReason) &&
    Number.isInteger(v.promptTokens) &&
    v.promptTokens! >= 0 &&
    Number.isInteger(v.completionTokens) &&
    v.completionTokens! >= 0
  ) {
    return { text: v.text, finishReason: v.finishReason, promptTokens: v.promptTokens!, completionTokens: v.completionTokens! };
  }
  return undefined;
}

function parseEntry(json: string): CachedGeneration | undefined {
  try {
    return asCachedGeneration(JSON.parse(json));
  } catch {
    return undefined;
  }
}

interface Row {
  key: string;
  value: string;
  checksum: string | null;
}

type SchemaState = 'ready' | 'new' | 'schema-1';

/** What `db` holds: a schema-2 cache, nothing yet, a schema-1 cache; throws saying why it is none of them. */
function schemaState(db: Database.Database): SchemaState {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  const columns = tables.includes('generations') ? (db.prepare("SELECT name FROM pragma_table_info('generations')").pluck().all() as string[]) : [];
  if (applicationId === APPLICATION_ID) {
    if (version > SCHEMA_VERSION) throw new Error(`it was written by a newer ragtax (cache schema ${version}; this one reads ${SCHEMA_VERSION})`);
    if (!tables.includes('generations')) throw new Error('it is damaged: its `generations` table is missing');
    if (!columns.includes('checksum')) throw new Error('it is damaged: its `generations` table has no checksum column');
    return 'ready';
  }
  if (applicationId !== 0) throw new Error(`it is not a ragtax generation cache (SQLite application id ${applicationId})`);
  if (tables.length === 0) return 'new';
  if (tables.length === 1 && tables[0] === 'generations' && ['key', 'model', 'value', 'created_at'].every((c) => columns.includes(c))) return 'schema-1';
  throw new Error(`it is not a ragtax generation cache (tables: ${tables.join(', ')})`);
}

/**
 * Makes `db` a schema-2 cache, or throws saying why it is not one. A new or schema-1 file is set up
 * in one IMMEDIATE transaction (looked at again there), so that two runs opening it at once do not
 * both create or migrate it; a ready file takes no write lock.
 */
function prepareSchema(db: Database.Database, file: string): void {
  if (schemaState(db) !== 'ready') {
    db.transaction(() => {
      const state = schemaState(db);
      if (state === 'ready') return;
      if (state === 'new') {
        db.exec(`CREATE TABLE generations (
          key TEXT PRIMARY KEY,
          model TEXT NOT NULL,
          value TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          checksum TEXT
        ) WITHOUT ROWID`);
      } else {
        // Schema 1: its rows stay (an older ragtax may share the file) but are never looked up.
        db.exec('ALTER TABLE generations ADD COLUMN checksum TEXT');
      }
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
  // Bytes past the last page are never written by SQLite: the file was appended to or damaged.
  // (Inside a read transaction, so that no checkpoint grows the file between the two reads.)
  db.transaction(() => {
    const pages = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    const bytes = statSync(file).size;
    if (bytes > pages) throw new Error(`it is damaged: ${bytes - pages} bytes after its last page`);
  })();
}

export class GenerationCache {
  private readonly select: Database.Statement<[string], Row>;
  private readonly upsert: Database.Statement<[string, string, string, number, string]>;
  private readonly putAll: (entries: readonly (readonly [string, CachedGeneration])[], modelKey: string) => void;
  private readonly selectAll: (keys: readonly string[], onRow: (key: string, row: Row) => void) => void;
  private readonly onWarning: (message: string) => void;
  /** Keys whose row failed its check (each counted once). */
  private readonly badKeys = new Set<string>();
  /** Set once the cache failed and was closed. */
  private failure: string | null = null;

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    onWarning: ((message: string) => void) | undefined,
  ) {
    this.onWarning = onWarning ?? ((m) => process.stderr.write(`warning: ${m}\n`));
    this.select = db.prepare('SELECT key, value, checksum FROM generations WHERE key = ?');
    this.upsert = db.prepare('INSERT OR REPLACE INTO generations (key, model, value, created_at, checksum) VALUES (?, ?, ?, ?, ?)');
    this.selectAll = db.transaction((keys: readonly string[], onRow: (key: string, row: Row) => void) => {
      for (const key of keys) {
        const row = this.select.get(key);
        if (row) onRow(key, row);
      }
    });
    this.putAll = db.transaction((entries: readonly (readonly [string, CachedGeneration])[], modelKey: string) => {
      const now = Date.now();
      for (const [key, entry] of entries) {
        const value = canonicalJson(entry);
        this.upsert.run(key, modelKey, value, now, rowChecksum(key, value));
      }
    });
  }

  /**
   * Opens (creating when needed) the cache file. Throws, with the reason, when the file cannot be
   * opened as a ragtax generation cache; the caller then runs without a cache.
   */
  static open(file = defaultGenerationCachePath(), options: GenerationCacheOptions = {}): GenerationCache {
    if (existsSync(file) && !statSync(file).isFile()) throw new Error('it is a directory or a special file, not a cache file');
    makeDirectory(path.dirname(file));
    const db = new Database(file, { timeout: options.busyTimeoutMs ?? 30_000 }); // busy timeout: wait for another run's write
    try {
      schemaState(db); // first, before anything is written: another program's database is left as it was
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a crash can lose the last writes, never corrupt
      prepareSchema(db, file);
      return new GenerationCache(file, db, options.onWarning);
    } catch (error) {
      try {
        db.close();
      } catch {
        // the error above is the one to report
      }
      throw error;
    }
  }

  /** Whether the cache is still in use (false once closed, or after it failed). */
  get usable(): boolean {
    return this.failure === null && this.db.open;
  }

  /** Rows that failed their check so far (each key once). */
  get integrityFailures(): number {
    return this.badKeys.size;
  }

  /**
   * The cached results among `keys` (a key that is absent, or whose row fails its check, is simply
   * not in the map). Never throws: a cache that fails is closed with a warning and answers nothing.
   */
  getMany(keys: readonly string[]): Map<string, CachedGeneration> {
    const found = new Map<string, CachedGeneration>();
    if (!this.usable) return found;
    try {
      // One read transaction for the lot: outside one, every lookup takes and drops SQLite's WAL
      // read lock (3,600 lookups of a warm quickstart: 37 ms, 9–15 ms inside one).
      this.selectAll(keys, (key, row) => {
        const entry = row.key === key && row.checksum === rowChecksum(key, row.value) ? parseEntry(row.value) : undefined;
        if (entry) found.set(key, entry);
        else this.badEntry(key);
      });
    } catch (error) {
      this.fail(error);
      return new Map();
    }
    return found;
  }

  /**
   * Stores results in one transaction (all or nothing); an entry that is not a valid result is not
   * stored. Never throws: a cache that fails is closed with a warning.
   */
  putMany(modelKey: string, entries: readonly (readonly [string, CachedGeneration])[]): void {
    if (!this.usable) return;
    const valid = entries.flatMap(([key, entry]) => {
      const checked = asCachedGeneration(entry);
      return checked ? [[key, checked] as const] : [];
    });
    if (valid.length === 0) return;
    try {
      this.putAll(valid, modelKey);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Number of stored generations (for tests and diagnostics; 0 once the cache failed). */
  size(): number {
    if (!this.usable) return 0;
    try {
      return (this.db.prepare('SELECT count(*) AS n FROM generations').get() as { n: number }).n;
    } catch (error) {
      this.fail(error);
      return 0;
    }
  }

  /**
   * Closes the cache and the run goes on without it: called on any failure, here or by a caller
   * that met one while using the cache. Warns once.
   */
  fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = messageOf(error);
    this.closeDatabase();
    this.onWarning(`the generation cache ${this.file} failed (${this.failure}); the run goes on without it: ${deleteAdvice(this.file)}`);
  }

  close(): void {
    if (this.badKeys.size > 1) {
      this.onWarning(`${this.badKeys.size} entries of the generation cache ${this.file} failed their integrity check; they were regenerated, not served`);
    }
    this.badKeys.clear();
    this.closeDatabase();
  }

  private badEntry(key: string): void {
    if (this.badKeys.has(key)) return;
    this.badKeys.add(key);
    if (this.badKeys.size === 1) {
      this.onWarning(
        `an entry of the generation cache ${this.file} failed its integrity check (edited or damaged); such entries are regenerated, never served; if this recurs, ${deleteAdvice(this.file)}`,
      );
    }
  }

  private closeDatabase(): void {
    try {
      if (this.db.open) this.db.close();
    } catch {
      // a damaged file may fail its last checkpoint; there is nothing more to save
    }
  }
}
