// sha256File: the hash of the bytes, read in chunks; a file unchanged since it was hashed (same
// device, inode, size, mtime and ctime) is not read again, in this process or (from 1 MiB) in the
// next one, through <cache>/file-sha256.json; a changed file, or one changed too recently to tell
// apart from its next change, is hashed afresh. The cross-run cases run in child processes, since
// a process reads the record once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const HASH_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/util/hash.ts');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ragtax-hash-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const MIB = 1024 * 1024;

/** Bytes of a given length whose content depends on `seed`. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >> 11)) & 0xff;
  return out;
}

/** sha256File(file) in a fresh process with RAGTAX_CACHE_DIR=cacheDir: its answer and stderr. */
function hashInChild(file: string, cacheDir: string): { sha256: string; stderr: string } {
  const script = `import { sha256File } from ${JSON.stringify(HASH_MODULE)}; process.stdout.write(await sha256File(${JSON.stringify(file)}));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, RAGTAX_CACHE_DIR: cacheDir },
  });
  assert.equal(r.status, 0, r.stderr);
  return { sha256: r.stdout, stderr: r.stderr };
}

test('the hash is the sha256 of the bytes: empty, small, and larger than a read chunk', async () => {
  const { sha256File } = await import('../../src/util/hash.js');
  for (const [name, content] of [['empty', Buffer.alloc(0)], ['small', Buffer.from('hello\n')], ['chunks', bytes(9 * MIB + 123, 1)]] as const) {
    const file = path.join(scratch, `plain-${name}`);
    writeFileSync(file, content);
    assert.equal(await sha256File(file), sha256(content), name);
  }
});

test('a file rewritten with other bytes of the same size gets the new hash at once (in one process)', async () => {
  const { sha256File } = await import('../../src/util/hash.js');
  const file = path.join(scratch, 'rewritten');
  writeFileSync(file, 'aaaa');
  assert.equal(await sha256File(file), sha256(Buffer.from('aaaa')));
  writeFileSync(file, 'bbbb');
  assert.equal(await sha256File(file), sha256(Buffer.from('bbbb')));
});

test('across runs: a large file unchanged since it was hashed is answered from the record; a changed one is hashed again', async () => {
  const cacheDir = path.join(scratch, 'cache-across');
  const file = path.join(scratch, 'weights.bin');
  const first = bytes(2 * MIB, 2);
  writeFileSync(file, first);
  // A file changed less than 2 s before it is hashed is never remembered (racy timestamps).
  assert.equal(hashInChild(file, cacheDir).sha256, sha256(first));
  const record = path.join(cacheDir, 'file-sha256.json');
  assert.ok(!existsSync(record) || !(path.resolve(file) in JSON.parse(readFileSync(record, 'utf8')).files), 'a file changed just now is not remembered');
  await sleep(2100);
  assert.equal(hashInChild(file, cacheDir).sha256, sha256(first));
  const remembered = JSON.parse(readFileSync(record, 'utf8')) as { format: string; files: Record<string, { identity: string; sha256: string }> };
  assert.equal(remembered.format, 'ragtax-file-sha256/1');
  const entry = remembered.files[path.resolve(file)]!;
  assert.equal(entry.sha256, sha256(first));
  // The next process trusts the record while the identity matches: shown by planting a hash the
  // bytes do not have, which only a lookup (not a read) can return.
  const planted = 'f'.repeat(64);
  writeFileSync(record, JSON.stringify({ ...remembered, files: { [path.resolve(file)]: { ...entry, sha256: planted } } }));
  assert.equal(hashInChild(file, cacheDir).sha256, planted, 'an unchanged file is not read again');
  // Any rewrite changes ctime (and usually mtime): the record no longer applies, even at the same size.
  const second = bytes(2 * MIB, 3);
  writeFileSync(file, second);
  assert.equal(hashInChild(file, cacheDir).sha256, sha256(second));
});

test('small files are not recorded across runs (they hash faster than the record is read)', async () => {
  const cacheDir = path.join(scratch, 'cache-small');
  const file = path.join(scratch, 'small.json');
  writeFileSync(file, '{"a":1}');
  await sleep(2100);
  assert.equal(hashInChild(file, cacheDir).sha256, sha256(Buffer.from('{"a":1}')));
  const record = path.join(cacheDir, 'file-sha256.json');
  assert.ok(!existsSync(record) || !(path.resolve(file) in JSON.parse(readFileSync(record, 'utf8')).files));
});

test('a record that cannot be written costs one warning line, never the hash', async () => {
  const cacheDir = path.join(scratch, 'cache-blocked');
  // A folder where the record should be: it can be neither read nor replaced (even by root).
  mkdirSync(path.join(cacheDir, 'file-sha256.json'), { recursive: true });
  const file = path.join(scratch, 'weights-blocked.bin');
  const content = bytes(MIB + 5, 4);
  writeFileSync(file, content);
  await sleep(2100);
  const { sha256: hash, stderr } = hashInChild(file, cacheDir);
  assert.equal(hash, sha256(content));
  assert.match(stderr, /^warning: cannot record file hashes in .*file-sha256\.json \(.*\); large files will be hashed again next run\n$/);
});

test('a missing file is an error naming it', async () => {
  const { sha256File } = await import('../../src/util/hash.js');
  await assert.rejects(sha256File(path.join(scratch, 'absent.bin')), /ENOENT.*absent\.bin/);
});

test('sha256Hex is the sha256 of the UTF-8 bytes (ASCII, escapes, non-Latin text, astral and lone surrogates)', async () => {
  const { sha256Hex } = (await import(HASH_MODULE)) as typeof import('../../src/util/hash.js');
  for (const text of ['', 'abc', '{"prompt":"Q\\n\\"A\\""}', 'Ünïcødé — 日本語', '😀 \ud83d lone', 'x'.repeat(100_000)]) {
    assert.equal(sha256Hex(text), sha256(Buffer.from(text, 'utf8')), JSON.stringify(text.slice(0, 20)));
  }
});
