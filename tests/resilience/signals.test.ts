// Ctrl-C, SIGTERM and SIGHUP during `ragtax run`: the samples file is closed cleanly (no torn line),
// one line says how many samples were kept and how to resume, the exit code is 128 + the signal's
// number, and --resume completes the run with no lost or duplicated sample.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sampleKey } from '../../src/rundir/sample-record.js';
import type { SampleRecord } from '../../src/types.js';
import { CLI, ragtax, STACK, TINY_SUITE } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-signals-'));
const env = { RAGTAX_CACHE_DIR: path.join(tmp, 'cache') };
const lineCount = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
const TOTAL = 99; // samples of a full run of the tiny suite

const CASES: [NodeJS.Signals, number][] = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
];

for (const [signal, exitCode] of CASES) {
  test(`${signal} mid-run: "interrupted: N samples kept", exit ${exitCode}, then --resume completes it`, { timeout: 120_000 }, async () => {
    const out = path.join(tmp, signal);
    const samples = path.join(out, 'samples.jsonl');
    // A relative --out: the message repeats what the user typed.
    const child = spawn(process.execPath, [CLI, 'run', TINY_SUITE, '--out', signal, '--quiet', '--no-cache'], { cwd: tmp, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
    while (lineCount(samples) < 5 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    child.kill(signal);
    const result = await exited;
    assert.deepEqual(result, { code: exitCode, signal: null }, stderr);
    const text = readFileSync(samples, 'utf8');
    assert.ok(text.endsWith('\n'), 'no torn last line: the file was closed cleanly');
    const kept = lineCount(samples);
    assert.ok(kept >= 5 && kept < TOTAL, `interrupted mid-way (${kept} samples)`);
    assert.equal(stderr, `interrupted: ${kept} samples kept; resume with ragtax run ${TINY_SUITE} --out ${signal} --resume\n`);
    assert.doesNotMatch(stderr, STACK);
    assert.ok(!existsSync(path.join(out, 'summary.json')));

    const resumed = await ragtax(['run', TINY_SUITE, '--out', out, '--resume', '--quiet', '--no-cache'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const records = readFileSync(samples, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    assert.equal(records.length, TOTAL);
    assert.equal(new Set(records.map(sampleKey)).size, TOTAL, 'no lost or duplicated sample');
    assert.ok(existsSync(path.join(out, 'summary.json')));
  });
}
