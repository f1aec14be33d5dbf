// What the generation cache does with rows and files it cannot trust: a row that fails its checksum
// is a miss (warned once, rewritten when regenerated, never served); a file that is locked past the
// busy timeout, read-only, of an older schema, of a newer ragtax or of another program is either
// migrated, or refused / closed with a warning that names it. No call ever throws during a run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { CachingGenerator } from '../../src/cache/caching-generator.js';
import { GenerationCache, generationKey, SCHEMA_VERSION, type CachedGeneration } from '../../src/cache/generation-cache.js';
import type { DecodingParams, GenerationRequest, GenerationResult, Generator } from '../../src/types.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-cache-faults-'));
const greedy: DecodingParams = { maxNewTokens: 8, stop: ['\n'], temperature: 0, repetitionPenalty: 1, seed: 1 };
const request = (prompt: string): GenerationRequest => ({ prompt, decoding: greedy });
const entry = (text: string): CachedGeneration => ({ text, finishReason: 'stop', promptTokens: 3, completionTokens: 2 });
let counter = 0;
const newFile = (name: string) => path.join(tmp, `${name}-${++counter}.sqlite`);

class CountingGenerator implements Generator {
  calls: GenerationRequest[][] = [];
  async generate(requests: GenerationRequest[]): Promise<GenerationResult[]> {
    this.calls.push(requests);
    return requests.map((r) => ({ text: `fresh ${r.prompt}`, finishReason: 'stop', promptTokens: 3, completionTokens: 2, latencyMs: 5 }));
  }
}

function withDb<T>(file: string, use: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/** A cache with rows for prompts a, b, c (texts A, B, C) of model m, closed. */
function filledCache(name: string): { file: string; keys: string[] } {
  const file = newFile(name);
  const cache = GenerationCache.open(file, { onWarning: (w) => assert.fail(w) });
  const keys = ['a', 'b', 'c'].map((p) => generationKey('m', request(p)));
  cache.putMany('m', keys.map((k, i) => [k, entry('ABC'[i]!)] as const));
  cache.close();
  return { file, keys };
}

test('a row edited to another valid text, moved to another key, stripped of its checksum or not a result fails its check: a miss, warned once', () => {
  const { file, keys } = filledCache('integrity');
  const [a, b, c] = keys as [string, string, string];
  withDb(file, (db) => {
    const valueOf = (k: string) => (db.prepare('SELECT value FROM generations WHERE key = ?').get(k) as { value: string }).value;
    // a: another valid text under the old checksum.
    db.prepare('UPDATE generations SET value = ? WHERE key = ?').run(valueOf(a).replace('"A"', '"B"'), a);
    // b: c's value and checksum copied onto b's key (a row "moved").
    db.prepare('UPDATE generations SET value = ?, checksum = (SELECT checksum FROM generations WHERE key = ?) WHERE key = ?').run(valueOf(c), c, b);
    // d: a row without a checksum; e: a row whose checksum matches but whose value is not a result.
    const d = generationKey('m', request('d'));
    const e = generationKey('m', request('e'));
    db.prepare('INSERT INTO generations (key, model, value, created_at) VALUES (?, ?, ?, 0)').run(d, 'm', JSON.stringify(entry('D')));
    const bad = '{"text":"E"}';
    db.prepare('INSERT INTO generations (key, model, value, created_at, checksum) VALUES (?, ?, ?, 0, ?)').run(e, 'm', bad, createHash('sha256').update(`${e}\n${bad}`).digest('hex'));
  });
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  const all = [...keys, generationKey('m', request('d')), generationKey('m', request('e'))];
  const found = cache.getMany(all);
  assert.deepEqual([...found.keys()], [c], 'only the untouched row is served');
  assert.equal(found.get(c)!.text, 'C');
  assert.equal(cache.integrityFailures, 4);
  cache.getMany(all); // the same rows again: counted once each
  assert.equal(cache.integrityFailures, 4);
  assert.equal(warnings.length, 1, 'warned once, at the first');
  assert.match(warnings[0]!, new RegExp(`^an entry of the generation cache ${file} failed its integrity check \\(edited or damaged\\); such entries are regenerated, never served; if this recurs, delete ${file}`));
  assert.equal(cache.usable, true, 'a bad row does not close the cache');
  cache.close();
  assert.equal(warnings.length, 2);
  assert.match(warnings[1]!, /^4 entries of the generation cache .* failed their integrity check; they were regenerated, not served$/);
});

test('a regenerated row replaces the one that failed its check', async () => {
  const { file, keys } = filledCache('heal');
  withDb(file, (db) => db.prepare("UPDATE generations SET value = replace(value, '\"A\"', '\"Z\"') WHERE key = ?").run(keys[0]));
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  const inner = new CountingGenerator();
  const caching = new CachingGenerator(inner, cache, 'm');
  const first = await caching.generate(['a', 'b', 'c'].map(request));
  assert.deepEqual(first.map((r) => [r.text, r.cached]), [['fresh a', false], ['B', true], ['C', true]]);
  const second = await caching.generate(['a', 'b', 'c'].map(request));
  assert.deepEqual(second.map((r) => [r.text, r.cached]), [['fresh a', true], ['B', true], ['C', true]]);
  assert.equal(inner.calls.length, 1);
  assert.equal(warnings.length, 1);
  cache.close();
  assert.equal(warnings.length, 1, 'one bad row: no total at close');
});

test('a write lock held past the busy timeout: the cache is closed with a warning and the run goes on', async () => {
  const { file } = filledCache('locked');
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w), busyTimeoutMs: 50 });
  const holder = new Database(file);
  holder.exec('BEGIN EXCLUSIVE');
  try {
    const inner = new CountingGenerator();
    const results = await new CachingGenerator(inner, cache, 'm').generate([request('a'), request('new')]);
    assert.deepEqual(results.map((r) => r.text), ['A', 'fresh new'], 'reads still work under WAL; the write times out');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /failed \(database is locked\); the run goes on without it: delete /);
    assert.equal(cache.usable, false);
    assert.equal(cache.getMany([generationKey('m', request('a'))]).size, 0);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
    cache.close();
  }
});

test('a read-only file: hits are served until the first write fails; then the cache is closed with a warning', { skip: process.getuid?.() === 0 ? 'root writes read-only files' : false }, async () => {
  const { file } = filledCache('read-only');
  chmodSync(file, 0o444);
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  const results = await new CachingGenerator(new CountingGenerator(), cache, 'm').generate([request('a'), request('new')]);
  assert.deepEqual(results.map((r) => r.text), ['A', 'fresh new']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /failed \(attempt to write a readonly database\); the run goes on without it: delete /);
  cache.close();
});

/** The key schema 1 gave a request: the same fields with `v: 1`. */
function schema1Key(modelKey: string, r: GenerationRequest): string {
  const decoding = Object.fromEntries(Object.entries(r.decoding).sort(([x], [y]) => (x < y ? -1 : 1)));
  return createHash('sha256').update(JSON.stringify({ decoding, model: modelKey, prompt: r.prompt, v: 1 })).digest('hex');
}

test('a schema-1 file is migrated in place: its rows stay (for an older ragtax) but are never looked up', () => {
  const file = newFile('schema-1');
  withDb(file, (db) => {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE generations (key TEXT PRIMARY KEY, model TEXT NOT NULL, value TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID');
    db.prepare('INSERT INTO generations VALUES (?, ?, ?, ?)').run(schema1Key('m', request('a')), 'm', JSON.stringify(entry('old A')), 0);
  });
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  assert.equal(cache.size(), 1);
  const key = generationKey('m', request('a'));
  assert.notEqual(key, schema1Key('m', request('a')), 'the key version changed with the schema');
  assert.equal(cache.getMany([key]).size, 0, 'the schema-1 row is not looked up: a plain miss');
  cache.putMany('m', [[key, entry('A')]]);
  assert.equal(cache.getMany([key]).get(key)?.text, 'A');
  cache.close();
  withDb(file, (db) => {
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    // An older ragtax sharing the file still writes and reads its own rows.
    db.prepare('INSERT OR REPLACE INTO generations (key, model, value, created_at) VALUES (?, ?, ?, ?)').run(schema1Key('m', request('b')), 'm', '{}', 0);
  });
  const again = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  assert.equal(again.size(), 3);
  assert.equal(again.getMany(['a', 'b'].map((p) => generationKey('m', request(p)))).size, 1);
  again.close();
  assert.deepEqual(warnings, [], 'a migration is no fault');
});

test('a file that is not a ragtax cache, of a newer ragtax or missing its table is refused, and left as it was', () => {
  const foreign = newFile('foreign');
  withDb(foreign, (db) => db.exec('CREATE TABLE notes (body TEXT)'));
  const before = readFileSync(foreign);
  assert.throws(() => GenerationCache.open(foreign), /it is not a ragtax generation cache \(tables: notes\)/);
  assert.deepEqual(readFileSync(foreign), before, 'not written to');

  const { file: newer } = filledCache('newer');
  withDb(newer, (db) => db.pragma('user_version = 99'));
  assert.throws(() => GenerationCache.open(newer), /written by a newer ragtax \(cache schema 99; this one reads 2\)/);

  const { file: dropped } = filledCache('dropped');
  withDb(dropped, (db) => db.exec('DROP TABLE generations'));
  assert.throws(() => GenerationCache.open(dropped), /its `generations` table is missing/);
  withDb(dropped, (db) => assert.deepEqual(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all(), [], 'not recreated'));

  const other = newFile('other-app');
  withDb(other, (db) => db.pragma('application_id = 42'));
  assert.throws(() => GenerationCache.open(other), /SQLite application id 42/);

  assert.throws(() => GenerationCache.open(tmp), /it is a directory or a special file, not a cache file/);
});

test('a cache closed by its owner answers nothing and warns nothing', () => {
  const { file, keys } = filledCache('closed');
  const warnings: string[] = [];
  const cache = GenerationCache.open(file, { onWarning: (w) => warnings.push(w) });
  cache.close();
  assert.equal(cache.getMany(keys).size, 0);
  cache.putMany('m', [[keys[0]!, entry('x')]]);
  assert.equal(cache.size(), 0);
  assert.deepEqual(warnings, []);
  assert.ok(!existsSync(`${file}-wal`), 'closed cleanly');
});
