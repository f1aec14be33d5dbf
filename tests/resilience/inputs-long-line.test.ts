// A JSONL line over MAX_JSONL_LINE_BYTES (64 MiB) through the real CLI: `run` and `score` exit 2 with
// `file:line: line is N bytes, over the limit of M bytes`, no stack trace and no result. Before, such
// a line (600 MB in the fault matrix) ended in V8's string limit or the heap: a stack trace, exit 1.
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MAX_JSONL_LINE_BYTES } from '../../src/data/jsonl.js';
import { ragtax, scratchSuite, STACK } from './helpers.js';

const LINE_BYTES = 70 * 1024 * 1024;
const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Appends one JSON object line of exactly LINE_BYTES bytes (written in 1 MiB pieces) to `file`. */
function appendHugeLine(file: string, head: string, tail: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, head);
    const piece = Buffer.alloc(1 << 20, 'a');
    for (let left = LINE_BYTES - head.length - tail.length; left > 0; left -= piece.length) {
      writeSync(fd, left >= piece.length ? piece : piece.subarray(0, left));
    }
    writeSync(fd, `${tail}\n`);
  } finally {
    closeSync(fd);
  }
}

function refusedLongLine(r: { code: number | null; stderr: string }, file: string, line: number): void {
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, STACK);
  assert.equal(r.stderr, `ragtax: ${file}:${line}: line is ${LINE_BYTES} bytes, over the limit of ${MAX_JSONL_LINE_BYTES} bytes (64 MiB)\n`);
}

test('ragtax run: a 70 MB line in the QA file exits 2 naming file:line, without a run folder', async () => {
  const s = scratchSuite('long-line');
  scratch.push(s.dir);
  const qa = path.join(s.data, 'qa.jsonl');
  appendHugeLine(qa, '{"id": "q6", "question": "', '", "answers": ["x"]}');
  const out = path.join(s.dir, 'out');
  const r = await ragtax(['run', s.suite, '--out', out, '--quiet'], { RAGTAX_CACHE_DIR: path.join(s.dir, 'cache') });
  refusedLongLine(r, qa, 6);
  assert.equal(existsSync(path.join(out, 'summary.json')), false);
  rmSync(qa);
});

test('ragtax score: a 70 MB line exits 2 naming file:line', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-long-score-'));
  scratch.push(dir);
  const file = path.join(dir, 'p.jsonl');
  appendFileSync(file, '{"id": "a", "response": "x", "answers": ["x"]}\n\n');
  appendHugeLine(file, '{"id": "b", "response": "', '", "answers": ["x"]}');
  const r = await ragtax(['score', file, '--json']);
  refusedLongLine(r, file, 3);
  assert.equal(r.stdout, '');
  rmSync(file);
});
