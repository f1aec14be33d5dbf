// A damaged generation cache, through the real CLI under --quiet: every case either falls back (the
// run goes on without the broken cache, or without the broken entry) with a warning that names the
// file and says to delete it, or exits 3 naming the file; and the samples are always those of a run
// without any cache (never a wrong result, never a stack trace).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { SampleRecord } from '../../src/types.js';
import { ragtax, ROOT, STACK, TINY_SUITE, type CliResult } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-cache-corruption-'));
const CACHE_FILE = 'generations.sqlite';

function readSamples(outDir: string): SampleRecord[] {
  return readFileSync(path.join(outDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
}

/** The samples as a run without a cache would write them: keyed by cell, timing and the cache flag left out. */
function comparable(samples: SampleRecord[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of samples) {
    const { latencyMs: _latency, cached: _cached, ...rest } = s;
    out.set([s.model, s.format, s.instruction, s.context, s.k, s.shots, s.cot, s.itemId].join('|'), JSON.stringify(rest));
  }
  return out;
}

let counter = 0;
/** `ragtax run tiny.yaml --quiet` with the generation cache in `cacheDir`. */
async function run(cacheDir: string, extra: string[] = []): Promise<CliResult & { out: string }> {
  const out = path.join(tmp, `run-${++counter}`);
  const r = await ragtax(['run', TINY_SUITE, '--out', out, '--quiet', ...extra], { RAGTAX_CACHE_DIR: cacheDir });
  return { ...r, out };
}

let reference: Map<string, string>;
/** A cache filled by one run of the tiny suite (closed cleanly: no -wal or -shm beside it). */
let goodCache: string;
let rows: number;

before(async () => {
  const plain = await run(path.join(tmp, 'no-cache'), ['--no-cache']);
  assert.equal(plain.code, 0, plain.stderr);
  reference = comparable(readSamples(plain.out));
  goodCache = path.join(tmp, 'good');
  const filled = await run(goodCache);
  assert.equal(filled.code, 0, filled.stderr);
  assert.deepEqual(comparable(readSamples(filled.out)), reference);
  assert.ok(!existsSync(path.join(goodCache, `${CACHE_FILE}-wal`)), 'the cache was closed cleanly');
  const db = new Database(path.join(goodCache, CACHE_FILE), { readonly: true });
  rows = (db.prepare('SELECT count(*) AS n FROM generations').get() as { n: number }).n;
  db.close();
  assert.ok(rows > 10);
});

/** A copy of the good cache, broken by `damage(file)`. */
function brokenCache(name: string, damage: (file: string) => void): { dir: string; file: string } {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  cpSync(path.join(goodCache, CACHE_FILE), path.join(dir, CACHE_FILE));
  const file = path.join(dir, CACHE_FILE);
  damage(file);
  return { dir, file };
}

function pageSize(file: string): number {
  const header = readFileSync(file).subarray(16, 18);
  const size = header.readUInt16BE(0);
  return size === 1 ? 65536 : size;
}

function overwrite(file: string, position: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.length, position);
  closeSync(fd);
}

function editRows(file: string, edit: (db: Database.Database) => void): void {
  const db = new Database(file);
  edit(db);
  db.close();
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The run fell back: exit 0, a warning (shown under --quiet) naming the file and saying to delete it, the samples of a run without a cache. */
function assertFellBack(r: CliResult & { out: string }, file: string, reason: RegExp): void {
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, STACK);
  assert.match(r.stderr, new RegExp(`^warning: .*${escape(file)}`, 'm'), r.stderr);
  assert.match(r.stderr, reason, r.stderr);
  assert.match(r.stderr, new RegExp(`delete ${escape(file)} \\(and ${CACHE_FILE}-wal, ${CACHE_FILE}-shm`), r.stderr);
  assert.deepEqual(comparable(readSamples(r.out)), reference, 'the same samples as a run without a cache');
}

const uncached = (r: { out: string }) => readSamples(r.out).filter((s) => !s.excluded && s.cached !== true).length;
const generatedCount = () => [...reference.values()].filter((v) => !(JSON.parse(v) as SampleRecord).excluded).length;

describe('a damaged generation cache never fails a run and never gives a wrong result', () => {
  test('1. a truncated file: cannot be opened; the run goes on without it', async () => {
    const { dir, file } = brokenCache('truncated', (f) => truncateSync(f, Math.floor(statSync(f).size / 2) + 100));
    const r = await run(dir);
    assertFellBack(r, file, /cannot open the generation cache .*malformed/);
    assert.equal(uncached(r), generatedCount(), 'every sample generated');
  });

  test('2. a zeroed page in the middle: the read that meets it fails; the cache is closed and the run goes on', async () => {
    const { dir, file } = brokenCache('zeroed-page', (f) => {
      const size = pageSize(f);
      const pages = statSync(f).size / size;
      assert.ok(pages >= 3);
      overwrite(f, Math.floor(pages / 2) * size, Buffer.alloc(size));
    });
    const r = await run(dir);
    assertFellBack(r, file, /the generation cache .* failed \(database disk image is malformed\); the run goes on without it/);
  });

  test('3. a corrupted header: not a database; the run goes on without it', async () => {
    const { dir, file } = brokenCache('header', (f) => overwrite(f, 0, Buffer.from('this is no SQLite header at all!')));
    const r = await run(dir);
    assertFellBack(r, file, /cannot open the generation cache .*not a database/);
  });

  test('4. garbage bytes appended: refused as damaged; the run goes on without it', async () => {
    const { dir, file } = brokenCache('appended', (f) => appendFileSync(f, Buffer.from('garbage after the last page '.repeat(40))));
    const r = await run(dir);
    assertFellBack(r, file, /cannot open the generation cache .*it is damaged: 1120 bytes after its last page/);
  });

  test('5. a row whose text was edited to another valid text: fails its check, regenerated, never served; the next run is whole again', async () => {
    let key = '';
    const { dir, file } = brokenCache('edited-row', (f) =>
      editRows(f, (db) => {
        const row = db.prepare('SELECT key, value FROM generations ORDER BY key LIMIT 1').get() as { key: string; value: string };
        key = row.key;
        const entry = JSON.parse(row.value) as { text: string };
        assert.notEqual(entry.text, 'Paris');
        db.prepare('UPDATE generations SET value = ? WHERE key = ?').run(JSON.stringify({ ...entry, text: 'Paris' }), row.key);
      }),
    );
    const r = await run(dir);
    assertFellBack(r, file, /an entry of the generation cache .* failed its integrity check \(edited or damaged\); such entries are regenerated, never served/);
    assert.equal(r.stderr.match(/integrity check/g)?.length, 1, 'warned once');
    assert.ok(!readSamples(r.out).some((s) => s.response === 'Paris'), 'the edited text is never served');
    assert.ok(uncached(r) >= 1 && uncached(r) < generatedCount(), 'only the edited entry was generated again');
    // The regenerated row replaced the edited one.
    const again = await run(dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
    assert.equal(uncached(again), 0);
    assert.deepEqual(comparable(readSamples(again.out)), reference);
    editRows(file, (db) => assert.ok(!(db.prepare('SELECT value FROM generations WHERE key = ?').get(key) as { value: string }).value.includes('Paris')));
  });

  test('6. a row whose JSON is invalid: fails its check, regenerated, never served', async () => {
    const { dir, file } = brokenCache('invalid-json', (f) =>
      editRows(f, (db) => db.prepare("UPDATE generations SET value = substr(value, 1, 12) WHERE key = (SELECT min(key) FROM generations)").run()),
    );
    const r = await run(dir);
    assertFellBack(r, file, /an entry of the generation cache .* failed its integrity check/);
  });

  test('7. a missing table: refused as damaged (never silently recreated); the run goes on without it', async () => {
    const { dir, file } = brokenCache('missing-table', (f) => editRows(f, (db) => db.exec('DROP TABLE generations')));
    const r = await run(dir);
    assertFellBack(r, file, /cannot open the generation cache .*its `generations` table is missing/);
  });

  test('8. a directory where the file should be: the run goes on without a cache', async () => {
    const dir = path.join(tmp, 'directory');
    const file = path.join(dir, CACHE_FILE);
    mkdirSync(file, { recursive: true });
    const r = await run(dir);
    assertFellBack(r, file, /cannot open the generation cache .*it is a directory or a special file, not a cache file/);
  });

  test('9. WAL/SHM leftovers: a killed writer\'s are recovered by SQLite (every entry served, identical); unusable ones make the run go on without the cache', async () => {
    // A writer killed with committed transactions in its -wal, and a -shm full of garbage.
    const { dir, file } = brokenCache('wal-leftover', () => {});
    const writer = `const db = new (require('better-sqlite3'))(${JSON.stringify(file)});
      db.pragma('wal_autocheckpoint = 0');
      db.prepare('UPDATE generations SET created_at = created_at + 1').run();
      process.kill(process.pid, 'SIGKILL');`;
    const killed = spawnSync(process.execPath, ['-e', writer], { cwd: ROOT });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(statSync(`${file}-wal`).size > 0, 'a -wal with committed frames is left behind');
    writeFileSync(`${file}-shm`, Buffer.alloc(32768, 0xa5));
    const r = await run(dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing is wrong: SQLite recovers its own journal');
    assert.equal(uncached(r), 0, 'every entry served from the recovered cache');
    assert.deepEqual(comparable(readSamples(r.out)), reference);

    // A -wal that cannot be opened (here a directory; elsewhere one owned by another user).
    const locked = brokenCache('wal-unusable', (f) => mkdirSync(`${f}-wal`));
    const r2 = await run(locked.dir);
    assertFellBack(r2, locked.file, /cannot open the generation cache .*unable to open database file/);
  });
});
