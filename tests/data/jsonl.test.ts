import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readJsonFile, readJsonl } from '../../src/data/jsonl.js';
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
