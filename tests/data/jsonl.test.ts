import assert from 'node:assert/strict';
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MAX_JSONL_LINE_BYTES, readJsonFile, readJsonl, readTextLines } from '../../src/data/jsonl.js';
import { InputError } from '../../src/errors.js';
import { scratchDir, scratchFile } from './helpers.js';

test('reads JSONL, skipping blank lines but keeping physical line numbers', async () => {
  const file = scratchFile('ok.jsonl', '{"a":1}\n\n   \r\n{"b":2}\r\n');
  assert.deepEqual(await readJsonl(file), [
    { line: 1, value: { a: 1 } },
    { line: 4, value: { b: 2 } },
  ]);
});

test('reads gzipped JSONL and tolerates a BOM', async () => {
  const file = scratchFile('ok.jsonl.gz', '\uFEFF{"a":1}\n{"b":2}\n');
  assert.deepEqual(
    (await readJsonl(file)).map((r) => r.value),
    [{ a: 1 }, { b: 2 }],
  );
});

test('a malformed line names file:line and the JSON problem', async () => {
  const file = scratchFile('bad.jsonl', '{"a":1}\n\n{"b":2\n');
  await assert.rejects(readJsonl(file), (err: Error) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: invalid JSON: .*column`));
    return true;
  });
});

test('missing files, directories and corrupt gzip are InputErrors naming the file', async () => {
  await assert.rejects(readJsonl(`${scratchDir()}/missing.jsonl`), /missing\.jsonl: file not found/);
  await assert.rejects(readJsonl(`${scratchDir()}/missing.jsonl.gz`), /missing\.jsonl\.gz: file not found/);
  await assert.rejects(readJsonl(scratchDir()), /is a directory/);
  const fakeGzip = path.join(scratchDir(), 'fake.jsonl.gz');
  writeFileSync(fakeGzip, 'not gzip at all');
  await assert.rejects(readJsonl(fakeGzip), (err: Error) => err instanceof InputError && /fake\.jsonl\.gz.*corrupt gzip/.test(err.message));
});

test('readJsonFile parses and reports bad JSON with the line', async () => {
  assert.deepEqual(await readJsonFile(scratchFile('ok.json', '{"x": [1, 2]}')), { x: [1, 2] });
  // V8 gives a position for some syntax errors only; when it does, the line is reported.
  const bad = scratchFile('bad.json', '{\n  "x": [1,\n  2 3\n]}');
  await assert.rejects(readJsonFile(bad), (err: Error) => err instanceof InputError && /bad\.json:3: invalid JSON/.test(err.message));
  const truncated = scratchFile('truncated.json', '{"x": [1,');
  await assert.rejects(readJsonFile(truncated), (err: Error) => err instanceof InputError && /truncated\.json: invalid JSON/.test(err.message));
  await assert.rejects(readJsonFile(`${scratchDir()}/nope.json`), /nope\.json: file not found/);
});

// ---- Line reading: the byte limit, line breaks, chunk boundaries ----------------------------------

/** A JSONL file whose line 2 is one JSON object of about `bytes` bytes (written in 1 MiB pieces). */
function hugeLineFile(name: string, bytes: number): { file: string; lineBytes: number } {
  const file = path.join(scratchDir(), name);
  const head = '{"id": "big", "question": "';
  const tail = '", "answers": ["x"]}';
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, '{"id": "a", "question": "q?", "answers": ["x"]}\n');
    writeSync(fd, head);
    const piece = Buffer.alloc(1 << 20, 'a');
    const body = bytes - head.length - tail.length;
    for (let left = body; left > 0; left -= piece.length) writeSync(fd, left >= piece.length ? piece : piece.subarray(0, left));
    writeSync(fd, `${tail}\n`);
  } finally {
    closeSync(fd);
  }
  return { file, lineBytes: bytes };
}

test('a line over MAX_JSONL_LINE_BYTES is refused with file:line and both sizes, not read into memory', async () => {
  assert.equal(MAX_JSONL_LINE_BYTES, 64 * 1024 * 1024);
  const { file, lineBytes } = hugeLineFile('huge-line.jsonl', 70 * 1024 * 1024);
  try {
    await assert.rejects(readJsonl(file), (err: Error) => {
      assert.ok(err instanceof InputError, `${err.name}: ${err.message}`);
      assert.equal(err.message, `${file}:2: line is ${lineBytes} bytes, over the limit of ${MAX_JSONL_LINE_BYTES} bytes (64 MiB)`);
      return true;
    });
  } finally {
    rmSync(file, { force: true });
  }
});

test('the limit is exact: a line of maxLineBytes is read, one byte more is refused (CRLF not counted)', async () => {
  const line = '{"a":"' + 'x'.repeat(93) + '"}'; // 101 bytes
  assert.equal(Buffer.byteLength(line), 101);
  const ok = scratchFile('limit-ok.jsonl', `${line}\r\n${line}`);
  assert.equal((await collect(readTextLines(ok, { maxLineBytes: 101 }))).length, 2);
  const over = scratchFile('limit-over.jsonl', `${line}\n{"a":"${'x'.repeat(94)}"}\n`);
  await assert.rejects(collect(readTextLines(over, { maxLineBytes: 101 })), /limit-over\.jsonl:2: line is 102 bytes, over the limit of 101 bytes/);
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('a file read whole and the same lines streamed give the same lines', async () => {
  // Over 8 MiB the file is streamed; the same text plus padding lines must give the same first lines.
  const text = 'a\r\nb\rc\n\nd\r\n\ufeffx\n';
  const small = await collect(readTextLines(scratchFile('whole.txt', `\ufeff${text}`)));
  const padding = `${'p'.repeat(1023)}\n`.repeat(9 * 1024);
  const big = await collect(readTextLines(scratchFile('streamed.txt', `\ufeff${text}${padding}`)));
  assert.deepEqual(big.slice(0, small.length), small);
  assert.equal(big.length, small.length + 9 * 1024);
  assert.deepEqual(small[0], { line: 1, text: 'a' }, 'the BOM of line 1 is removed');
});

test('line breaks as readline counts them: LF, CRLF and a lone CR; an empty last line is not a line', async () => {
  const file = scratchFile('breaks.txt', 'a\r\nb\rc\n\nd\r\n');
  assert.deepEqual(await collect(readTextLines(file)), [
    { line: 1, text: 'a' },
    { line: 2, text: 'b' },
    { line: 3, text: 'c' },
    { line: 4, text: '' },
    { line: 5, text: 'd' },
  ]);
  assert.deepEqual(await collect(readTextLines(scratchFile('no-final-newline.txt', 'x\ny'))), [
    { line: 1, text: 'x' },
    { line: 2, text: 'y' },
  ]);
  assert.deepEqual(await collect(readTextLines(scratchFile('empty.txt', ''))), []);
});

test('multi-byte characters and CRLF split across read chunks decode intact', async () => {
  // 9 MiB of 'é' (2 bytes each): over the size read whole (8 MiB), so the file is streamed in 1 MiB
  // chunks, whose boundaries fall inside characters.
  const long = 'é'.repeat(9 * 1024 * 1024 / 2 + 1);
  const text = `${JSON.stringify({ s: long })}\r\n${JSON.stringify({ s: 'ü€😀' })}\r\n`;
  const records = await readJsonl(scratchFile('utf8.jsonl', text));
  assert.equal((records[0]!.value as { s: string }).s, long);
  assert.deepEqual(records.map((r) => r.line), [1, 2]);
  assert.equal((records[1]!.value as { s: string }).s, 'ü€😀');
  const gz = await readJsonl(scratchFile('utf8.jsonl.gz', text));
  assert.equal((gz[0]!.value as { s: string }).s, long);
});
