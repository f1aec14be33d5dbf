// `ragtax view` through the real CLI: an index of two tiny finished runs, their side-by-side
// comparison, and the errors (exit 2, naming the path).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-view-'));

function ragtax(args: string[], cwd = tmp) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const reports = path.join(tmp, 'reports');
mkdirSync(reports);
const runA = path.join(reports, 'tiny-a');
const runB = path.join(reports, 'group', 'tiny-b');
mkdirSync(path.dirname(runB));
const made = [ragtax(['run', SUITE, '--out', runA, '--limit', '2', '--quiet']), ragtax(['run', SUITE, '--out', runB, '--limit', '2', '--quiet'])];
// An unfinished run (no summary.json) is not listed.
mkdirSync(path.join(reports, 'unfinished'));
writeFileSync(path.join(reports, 'unfinished', 'samples.jsonl'), '');

test('the two tiny runs finish', () => {
  for (const r of made) assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(runA, 'report.html')));
});

test('ragtax view <folder> writes a self-contained index of the finished runs under it', () => {
  const r = ragtax(['view', reports]);
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(reports, 'index.html');
  assert.match(r.stdout, /wrote .*index\.html \(2 runs\)/);
  const html = readFileSync(file, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /tiny-e2e/);
  assert.match(html, /href="tiny-a\/report\.html"/);
  assert.match(html, /href="group\/tiny-b\/report\.html"/);
  assert.doesNotMatch(html, /unfinished/);
  // The headline tax of each run: its first pair, with interval and p.
  const summary = JSON.parse(readFileSync(path.join(runA, 'summary.json'), 'utf8')) as { pairs: { tax: number }[]; manifest: { finishedAt: string } };
  const tax = (100 * summary.pairs[0]!.tax).toFixed(1);
  assert.ok(html.includes(tax), `tax ${tax} shown`);
  assert.ok(html.includes(summary.manifest.finishedAt.slice(0, 10)));
  // Nothing is fetched: no script, no external resource.
  assert.doesNotMatch(html, /<script|src=|https?:\/\//);
  assert.equal(readdirSync(reports).filter((n) => n.includes('.tmp-')).length, 0);
});

test('ragtax view <runA> <runB> writes the comparison page (compare.html in the working directory)', () => {
  const cwd = path.join(tmp, 'cwd');
  mkdirSync(cwd);
  const r = ragtax(['view', runA, runB], cwd);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(path.join(cwd, 'compare.html'), 'utf8');
  assert.match(html, /ragtax compare: tiny-e2e/);
  assert.match(html, /baseline/);
  assert.match(html, /candidate/);
  assert.match(html, /p \(adj\.\)/);
  assert.match(html, /Holm/);
  assert.match(html, /instruct chat · nores · (retrieved )?k=1 · shots=0/);
  // A cell with no paired item shows no numbers.
  assert.doesNotMatch(html, /\[-100\.0, 100\.0\]/);
  // Same suite, same models, same cache: nothing changed, so no regression.
  assert.match(html, /No regression/);
  assert.doesNotMatch(html, /<script|https?:\/\//);
  const out = path.join(tmp, 'side.html');
  const r2 = ragtax(['view', runA, runB, '--out', out]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.ok(existsSync(out));
});

test('errors exit 2 and name the path', () => {
  const missing = path.join(tmp, 'nowhere');
  const r = ragtax(['view', missing]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(missing), r.stderr);

  const empty = path.join(tmp, 'empty');
  mkdirSync(empty);
  const e = ragtax(['view', empty]);
  assert.equal(e.code, 2);
  assert.ok(e.stderr.includes(empty), e.stderr);
  assert.ok(!existsSync(path.join(empty, 'index.html')));

  const badOut = path.join(tmp, 'no-such-folder', 'index.html');
  const o = ragtax(['view', reports, '--out', badOut]);
  assert.equal(o.code, 2);
  assert.ok(o.stderr.includes(badOut), o.stderr);

  const notRun = ragtax(['view', runA, path.join(reports, 'unfinished')]);
  assert.equal(notRun.code, 2);
  assert.match(notRun.stderr, /unfinished/);

  const three = ragtax(['view', runA, runB, runA]);
  assert.equal(three.code, 2);
});
