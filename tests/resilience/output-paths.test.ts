// Output paths that cannot be used, leftovers of killed atomic writes and full disks: one line that
// names the path and says what is wrong (exit 2 for a path that cannot be used as given, 3 for a
// write that fails), no stack, no hang, no temporary file left behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RuntimeFailure } from '../../src/errors.js';
import { SamplesFile } from '../../src/rundir/samples-file.js';
import { writeAtomically } from '../../src/util/atomic-write.js';
import { CLI, STACK, TINY_SUITE, type CliResult } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-outpaths-'));
const env = { RAGTAX_CACHE_DIR: path.join(tmp, 'cache') };
const HANG_MS = 20_000;
const TEMP = /\.tmp-\d+$/;

/** The CLI, killed after `ms` (a hang fails the test instead of stalling the suite). */
function ragtax(args: string[], extraEnv: Record<string, string> = {}, ms = HANG_MS): Promise<CliResult & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extraEnv }, cwd: tmp });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** One message line naming `file`, no "internal error", no stack. */
function assertOneLine(r: CliResult & { timedOut: boolean }, code: number, file: string, what: RegExp): void {
  assert.equal(r.timedOut, false, 'the command hung');
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.ok(lines[0]!.includes(file), `names ${file}: ${r.stderr}`);
  assert.match(lines[0]!, what);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.doesNotMatch(r.stderr, STACK);
}

const finished = path.join(tmp, 'finished');
const finishedRun = ragtax(['run', TINY_SUITE, '--out', finished, '--quiet'], {}, 120_000);

test('leftovers of killed atomic writes do not block a new run or a resume, and are removed', async () => {
  // A resume of a run killed during its first write of run.json.
  const resumed = path.join(tmp, 'killed-first-write');
  mkdirSync(resumed);
  writeFileSync(path.join(resumed, 'run.json.tmp-1'), '{"format":');
  mkdirSync(path.join(resumed, 'index.tmp-4242')); // a folder written atomically
  const r = await ragtax(['run', TINY_SUITE, '--out', resumed, '--resume', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(resumed, 'summary.json')));
  assert.deepEqual(readdirSync(resumed).filter((n) => TEMP.test(n)), [], 'leftovers removed');

  // A new run (no --resume) into a folder that holds only such leftovers.
  const fresh = path.join(tmp, 'only-leftovers');
  mkdirSync(fresh);
  writeFileSync(path.join(fresh, 'run.json.tmp-77'), '');
  const n = await ragtax(['run', TINY_SUITE, '--out', fresh, '--quiet']);
  assert.equal(n.code, 0, n.stderr);
  assert.ok(!existsSync(path.join(fresh, 'run.json.tmp-77')));

  // Only our pattern (<name>.tmp-<digits>) counts as a leftover: anything else is the user's.
  const theirs = path.join(tmp, 'theirs');
  mkdirSync(theirs);
  writeFileSync(path.join(theirs, 'notes.tmp'), 'mine');
  writeFileSync(path.join(theirs, 'draft.tmp-final'), 'mine');
  const refused = await ragtax(['run', TINY_SUITE, '--out', theirs, '--quiet']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /output directory is not empty/);
  assert.deepEqual(readdirSync(theirs).sort(), ['draft.tmp-final', 'notes.tmp']);
});

test('a finished (resumed) run removes leftover temp files of its own outputs', async () => {
  assert.equal((await finishedRun).code, 0);
  const dir = path.join(tmp, 'killed-in-reports');
  mkdirSync(dir);
  for (const f of ['run.json', 'samples.jsonl']) writeFileSync(path.join(dir, f), readFileSync(path.join(finished, f)));
  writeFileSync(path.join(dir, 'summary.csv.tmp-999999'), 'cell,acc\n');
  writeFileSync(path.join(dir, 'report.html.tmp-1234567'), '<html>');
  writeFileSync(path.join(dir, 'keep.tmp'), 'the user\'s');
  const r = await ragtax(['run', TINY_SUITE, '--out', dir, '--resume', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const names = readdirSync(dir);
  assert.deepEqual(names.filter((n) => TEMP.test(n)), []);
  assert.ok(names.includes('keep.tmp'));
  assert.ok(names.includes('summary.json'));

  // `report` clears leftovers of the file it writes.
  writeFileSync(path.join(dir, 'report.html.tmp-31337'), '<html>');
  const rep = await ragtax(['report', dir]);
  assert.equal(rep.code, 0, rep.stderr);
  assert.ok(!existsSync(path.join(dir, 'report.html.tmp-31337')));
});

test('run --out that cannot be a folder: exit 2, one line naming it', async () => {
  const file = path.join(tmp, 'a-file');
  writeFileSync(file, 'x');
  assertOneLine(await ragtax(['run', TINY_SUITE, '--out', file, '--quiet']), 2, file, /is a file, not a directory/);
  assert.equal(readFileSync(file, 'utf8'), 'x');
  const under = path.join(file, 'sub');
  assertOneLine(await ragtax(['run', TINY_SUITE, '--out', under, '--quiet']), 2, under, /is a file, not a directory/);
  // A read-only place (root ignores permission bits, so a kernel file system stands in for one).
  assertOneLine(await ragtax(['run', TINY_SUITE, '--out', '/sys/ragtax-x', '--quiet']), 2, '/sys/ragtax-x', /cannot create/);
});

test('run --out /proc/x and RAGTAX_CACHE_DIR=/proc/x fail fast instead of spinning in mkdir', { timeout: 3 * HANG_MS }, async () => {
  assertOneLine(await ragtax(['run', TINY_SUITE, '--out', '/proc/ragtax-x', '--quiet']), 2, '/proc/ragtax-x', /cannot create/);
  const out = path.join(tmp, 'proc-cache');
  const r = await ragtax(['run', TINY_SUITE, '--out', out, '--quiet'], { RAGTAX_CACHE_DIR: '/proc/ragtax-x' });
  assertOneLine(r, 2, '/proc/ragtax-x', /RAGTAX_CACHE_DIR.*cannot create/);
  assert.ok(!existsSync(out), 'no run folder left behind');
  const nested = await ragtax(['run', TINY_SUITE, '--out', '/proc/ragtax-x/a/b', '--quiet']);
  assertOneLine(nested, 2, '/proc/ragtax-x/a/b', /cannot create/);
});

test('report --out a folder, or into a missing folder: exit 2, one line, no temp file', async () => {
  assert.equal((await finishedRun).code, 0);
  const folder = path.join(tmp, 'a-folder');
  mkdirSync(folder);
  assertOneLine(await ragtax(['report', finished, '--out', folder]), 2, folder, /is a directory/);
  assert.deepEqual(readdirSync(folder), []);
  assert.deepEqual(readdirSync(tmp).filter((n) => TEMP.test(n)), []);

  const missing = path.join(tmp, 'no/such/dir/r.html');
  assertOneLine(await ragtax(['report', finished, '--out', missing]), 2, missing, /folder .*does not exist/);
  assert.ok(!existsSync(path.join(tmp, 'no')));
});

test('a full disk: exit 3 naming the file, nothing that looks complete, no temp file', async () => {
  assert.equal((await finishedRun).code, 0);
  // /dev/full answers every write with ENOSPC. A device is written in place, never replaced; the
  // test goes through a link of its own so that a ragtax that renames over it replaces only the link.
  const device = path.join(tmp, 'full-device');
  symlinkSync('/dev/full', device);
  assertOneLine(await ragtax(['report', finished, '--out', device]), 3, device, /disk is full/);
  assert.deepEqual(readdirSync(tmp).filter((n) => TEMP.test(n)), []);

  // A resume whose report.md lands on a full disk: no summary.json, and a later resume completes.
  const dir = path.join(tmp, 'full-disk');
  mkdirSync(dir);
  for (const f of ['run.json', 'samples.jsonl']) writeFileSync(path.join(dir, f), readFileSync(path.join(finished, f)));
  symlinkSync('/dev/full', path.join(dir, 'report.md'));
  const full = await ragtax(['run', TINY_SUITE, '--out', dir, '--resume', '--quiet']);
  assertOneLine(full, 3, path.join(dir, 'report.md'), /disk is full/);
  assert.ok(!existsSync(path.join(dir, 'summary.json')));
  assert.deepEqual(readdirSync(dir).filter((n) => TEMP.test(n)), []);
  rmSync(path.join(dir, 'report.md'));
  const again = await ragtax(['run', TINY_SUITE, '--out', dir, '--resume', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(existsSync(path.join(dir, 'summary.json')));
});

test('atomic writes and samples.jsonl: ENOSPC is a RuntimeFailure naming the file; the temp is removed', async () => {
  assert.equal((await finishedRun).code, 0);
  const dir = mkdtempSync(path.join(tmp, 'unit-'));
  const file = path.join(dir, 'summary.csv');
  // The temporary name is ours to predict in-process: route it to /dev/full.
  symlinkSync('/dev/full', `${file}.tmp-${process.pid}`);
  await assert.rejects(writeAtomically(file, 'a,b\n'), (e: unknown) => e instanceof RuntimeFailure && e.message.includes(file) && /disk is full/.test(e.message));
  assert.deepEqual(readdirSync(dir), [], 'no temp, no half-written file');
  // Written in pieces (report.html): the same failure, and otherwise exactly their concatenation.
  symlinkSync('/dev/full', `${file}.tmp-${process.pid}`);
  await assert.rejects(writeAtomically(file, ['a,', 'b\n']), (e: unknown) => e instanceof RuntimeFailure && e.message.includes(file) && /disk is full/.test(e.message));
  assert.deepEqual(readdirSync(dir), []);
  const pieces = ['naïve → ', 'x'.repeat(70_000), '', '😀\n'];
  await writeAtomically(file, pieces);
  assert.equal(readFileSync(file, 'utf8'), pieces.join(''));
  rmSync(file);

  const samples = path.join(dir, 'samples.jsonl');
  symlinkSync('/dev/full', samples);
  const handle = await SamplesFile.create(samples);
  const record = JSON.parse(readFileSync(path.join(finished, 'samples.jsonl'), 'utf8').split('\n')[0]!);
  await assert.rejects(handle.append([record]), (e: unknown) => e instanceof RuntimeFailure && e.message.includes(samples) && /disk is full/.test(e.message));
  await handle.close().catch(() => {});
});
