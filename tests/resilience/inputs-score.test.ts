// `ragtax score` through the real CLI: an empty file, --samples pointing at the input (by any path),
// the scorer settings on the command line, and the metrics that need `context` left out without it.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ragtaxSync, STACK } from './helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-inputs-score-'));

function write(name: string, lines: unknown[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + (lines.length ? '\n' : ''));
  return file;
}

function refused(r: ReturnType<typeof ragtaxSync>, ...patterns: RegExp[]): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.doesNotMatch(r.stderr, STACK);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one message: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p);
  assert.equal(r.stdout, '', 'no summary printed');
}

const withContext = [
  { id: 'q1', response: 'Paris', answers: ['Paris'], context: ['Paris is the capital of France.'] },
  { id: 'q2', response: 'NO-RES', answers: ['Everest'], context: ['Nothing here.'] },
];

test('an empty or blank predictions file exits 2: no predictions in FILE', () => {
  const empty = write('empty.jsonl', []);
  refused(ragtaxSync(['score', empty]), new RegExp(`^ragtax: no predictions in ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const blank = path.join(dir, 'blank.jsonl');
  writeFileSync(blank, '\n   \n\r\n');
  refused(ragtaxSync(['score', blank, '--json']), /no predictions in .*blank\.jsonl/);
});

test('--samples naming the predictions file (same path, another relative path, a symlink, a hard link) exits 2 and leaves it alone', () => {
  const input = write('p.jsonl', withContext);
  const before = readFileSync(input, 'utf8');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const symlink = path.join(dir, 'sub', 'link.jsonl');
  symlinkSync(input, symlink);
  const hardlink = path.join(dir, 'hard.jsonl');
  linkSync(input, hardlink);
  for (const samples of [input, path.join(dir, 'sub', '..', 'p.jsonl'), path.relative(process.cwd(), input), symlink, hardlink]) {
    refused(ragtaxSync(['score', input, '--samples', samples]), /--samples .* is the predictions file .*p\.jsonl.*choose another file/);
    assert.equal(readFileSync(input, 'utf8'), before, `input untouched (--samples ${samples})`);
  }
  // Also when the input is given through the symlink.
  refused(ragtaxSync(['score', symlink, '--samples', input]), /is the predictions file/);
  const out = path.join(dir, 'scores.jsonl');
  const ok = ragtaxSync(['score', input, '--samples', out]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2);
});

test('--refusal-markers: comma-separated markers replace NO-RES; a marker with no letters or digits exits 2', () => {
  const file = write('markers.jsonl', [
    { id: 'a', response: 'Insufficient information.', answers: ['Paris'], context: ['x'] },
    { id: 'b', response: 'NO-RES', answers: ['Paris'], context: ['x'] },
    { id: 'c', response: 'I do not know', answers: ['Paris'], context: ['x'] },
  ]);
  const json = (args: string[]) => {
    const r = ragtaxSync(['score', file, '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  assert.equal(json([]).refusalRate, 1 / 3);
  const custom = json(['--refusal-markers', 'insufficient information, I do not know']);
  assert.equal(custom.refusalRate, 2 / 3);
  assert.deepEqual((custom.scoring as { refusalMarkers: string[] }).refusalMarkers, ['insufficient information', 'I do not know']);
  refused(ragtaxSync(['score', file, '--refusal-markers', 'NO-RES,,']), /--refusal-markers: marker 2 is empty.*allowed: comma-separated markers/);
  refused(ragtaxSync(['score', file, '--refusal-markers', '?!']), /--refusal-markers: marker 1 `\?!` has no letters or digits/);
});

test('--rule whole scores the whole response; --rule must be first-line or whole', () => {
  const file = write('rule.jsonl', [{ id: 'a', response: 'Let me see.\nParis', answers: ['Paris'], context: ['Paris'] }]);
  const acc = (args: string[]) => {
    const r = ragtaxSync(['score', file, '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { accuracy: number }).accuracy;
  };
  assert.equal(acc([]), 0, 'first line by default');
  assert.equal(acc(['--rule', 'first-line']), 0);
  assert.equal(acc(['--rule', 'whole']), 1);
  const bad = ragtaxSync(['score', file, '--rule', 'last-line']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /rule.*Given: "last-line", Choices: "first-line", "whole"/);
});

test('--cot scores the Answer: line and reports responses without one', () => {
  const file = write('cot.jsonl', [
    { id: 'a', response: 'Let me think.\nAnswer: Paris', answers: ['Paris'], context: ['Paris'] },
    { id: 'b', response: 'I am thinking about it', answers: ['Paris'], context: ['Paris'] },
  ]);
  const plain = ragtaxSync(['score', file, '--json']);
  assert.equal((JSON.parse(plain.stdout) as { accuracy: number }).accuracy, 0, 'the first line holds no answer');
  const cot = ragtaxSync(['score', file, '--cot']);
  assert.equal(cot.code, 0, cot.stderr);
  assert.match(cot.stdout, /accuracy\s+50\.0%/);
  assert.match(cot.stdout, /CoT responses without an Answer: line: 50\.0%/);
  assert.match(cot.stdout, /scoring: the last Answer: line \(--cot\), refusal markers "NO-RES"/);
  // --rule has no effect under --cot: refused rather than ignored.
  refused(ragtaxSync(['score', file, '--cot', '--rule', 'whole']), /--rule does not apply with --cot/);
});

test('without any `context`, the metrics that need it are left out with a note, not printed as copies', () => {
  const file = write('no-context.jsonl', [
    { id: 'a', response: 'Paris', answers: ['Paris'] },
    { id: 'b', response: 'NO-RES', answers: ['Everest'] },
  ]);
  const text = ragtaxSync(['score', file]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /2 items; no line has `context`/);
  for (const row of ['negative rejection', 'over-refusal', 'parametric recall', 'context accuracy']) assert.doesNotMatch(text.stdout, new RegExp(`^${row}\\s`, 'm'), `no ${row} row`);
  assert.match(text.stdout, /accuracy\s+50\.0%/);
  assert.match(text.stdout, /refusal rate\s+50\.0%/);
  assert.match(text.stdout, /note: no line has `context`.*negative rejection, over-refusal, parametric recall and context accuracy/s);
  const json = JSON.parse(ragtaxSync(['score', file, '--json']).stdout) as Record<string, unknown> & { ci95: Record<string, unknown> };
  for (const key of ['negativeRejectionRate', 'overRefusalRate', 'parametricRecall', 'contextAccuracy']) {
    assert.equal(key in json, false, key);
    assert.equal(key in json.ci95, false, `ci95.${key}`);
  }
  assert.equal(json.accuracy, 0.5);
  assert.match(String((json.notes as string[])[0]), /no line has `context`/);

  // One line with `context` (even an empty list: closed book, stated) brings them back.
  const mixed = write('mixed.jsonl', [
    { id: 'a', response: 'Paris', answers: ['Paris'], context: [] },
    { id: 'b', response: 'NO-RES', answers: ['Everest'] },
  ]);
  const m = JSON.parse(ragtaxSync(['score', mixed, '--json']).stdout) as Record<string, unknown>;
  assert.equal(m.negativeRejectionRate, 0.5);
  assert.equal(m.parametricRecall, 0.5);
  assert.equal(m.overRefusalRate, null);
  assert.equal('notes' in m, false);
  const mt = ragtaxSync(['score', mixed]).stdout;
  assert.match(mt, /negative rejection\s+50\.0%/);
});
