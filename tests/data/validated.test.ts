// Per-record checks are skipped only for bytes that passed them before with the same reader and
// mapping; a changed file, another mapping or no record means the file is checked again.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseFieldPath, PathMiss, resolvePath } from '../../src/data/field-path.js';
import { loadDataset } from '../../src/data/load.js';
import { checkOnce, readValidated } from '../../src/data/validated.js';
import { InputError } from '../../src/errors.js';
import { jsonl, scratchDir, scratchFile } from './helpers.js';

test('readValidated: checks once per (bytes, reader); a changed byte or another reader checks again', async () => {
  const dir = path.join(scratchDir(), 'validated-unit');
  const file = scratchFile('v.jsonl', jsonl({ a: 1 }));
  const calls: boolean[] = [];
  const read = async (validate: boolean) => (calls.push(validate), 'ok');
  assert.equal((await readValidated(dir, file, { r: 1 }, read)).skipped, false);
  assert.equal((await readValidated(dir, file, { r: 1 }, read)).skipped, true);
  assert.equal((await readValidated(dir, file, { r: 2 }, read)).skipped, false, 'another mapping');
  writeFileSync(file, jsonl({ a: 2 }));
  assert.equal((await readValidated(dir, file, { r: 1 }, read)).skipped, false, 'changed bytes');
  assert.equal((await readValidated(undefined, file, { r: 1 }, read)).skipped, false, 'no folder: always checked');
  assert.deepEqual(calls, [true, false, true, true, true]);
  // A read that fails its checks leaves no record.
  const bad = scratchFile('v-bad.jsonl', 'x');
  await assert.rejects(readValidated(dir, bad, { r: 1 }, async () => { throw new InputError('bad'); }));
  assert.equal((await readValidated(dir, bad, { r: 1 }, read)).skipped, false);
});

test('checkOnce: a check passes once per (bytes, reader) of every input; a failure or a changed input checks again', async () => {
  const dir = path.join(scratchDir(), 'check-once-unit');
  const a = scratchFile('once-a.jsonl', jsonl({ a: 1 }));
  const b = scratchFile('once-b.jsonl', jsonl({ b: 1 }));
  let runs = 0;
  const pass = () => void runs++;
  const inputs = [{ file: a, reader: { r: 1 } }, { file: b, reader: { r: 1 } }];
  assert.equal(await checkOnce(dir, 'pair', inputs, pass), undefined);
  assert.equal(await checkOnce(dir, 'pair', inputs, pass), undefined);
  assert.equal(runs, 1, 'passed before on the same bytes: not run again');
  await checkOnce(dir, 'another check', inputs, pass);
  await checkOnce(dir, 'pair', [inputs[0]!, { file: b, reader: { r: 2 } }], pass);
  writeFileSync(b, jsonl({ b: 2 }));
  await checkOnce(dir, 'pair', inputs, pass);
  await checkOnce(undefined, 'pair', inputs, pass);
  assert.equal(runs, 5, 'another check, another reader, a changed input, no folder: each runs');
  // A check that fails throws every time and records nothing.
  let failures = 0;
  const fail = () => {
    failures += 1;
    throw new InputError('clash');
  };
  const c = scratchFile('once-c.jsonl', jsonl({ c: 1 }));
  await assert.rejects(checkOnce(dir, 'pair', [{ file: c, reader: 1 }], fail), /clash/);
  await assert.rejects(checkOnce(dir, 'pair', [{ file: c, reader: 1 }], fail), /clash/);
  assert.equal(failures, 2);
});

test('loadDataset with skipRevalidation: a few-shot pool that clashes with the evaluated items is refused every time', async () => {
  const cache = path.join(scratchDir(), 'cache-root-fewshot');
  const before = process.env.RAGTAX_CACHE_DIR;
  process.env.RAGTAX_CACHE_DIR = cache;
  try {
    const qa = scratchFile('fs-eval.jsonl', jsonl({ id: 'a', question: 'Who?', answers: ['x'] }, { id: 'b', question: 'Where?', answers: ['y'] }));
    const pool = scratchFile('fs-pool.jsonl', jsonl({ id: 'f1', question: 'When?', answers: ['z'] }));
    const spec = { format: 'ragtax', path: qa, fewshot: pool, seed: 1, skipRevalidation: true } as const;
    const first = await loadDataset(spec);
    const records = readdirSync(path.join(cache, 'validated')).length;
    assert.equal(records, 3, 'the two files and their disjointness');
    assert.deepEqual(await loadDataset(spec), first);
    // The pool now repeats an evaluated question (normalised): refused, on both reads.
    writeFileSync(pool, jsonl({ id: 'f1', question: 'where', answers: ['z'] }));
    for (let i = 0; i < 2; i++) await assert.rejects(loadDataset(spec), /repeats the question of evaluated item `b`/);
  } finally {
    if (before === undefined) delete process.env.RAGTAX_CACHE_DIR;
    else process.env.RAGTAX_CACHE_DIR = before;
  }
});

test('loadDataset with skipRevalidation: a changed file is validated again and its error reported', async () => {
  const cache = path.join(scratchDir(), 'cache-root');
  const before = process.env.RAGTAX_CACHE_DIR;
  process.env.RAGTAX_CACHE_DIR = cache;
  try {
    const qa = scratchFile('reval.jsonl', jsonl({ id: 'a', question: 'q?', answers: ['x'] }, { id: 'b', question: 'r?', answers: ['y'] }));
    const spec = { format: 'ragtax', path: qa, seed: 1, skipRevalidation: true } as const;
    const first = await loadDataset(spec);
    assert.equal(readdirSync(path.join(cache, 'validated')).length, 1);
    assert.deepEqual(await loadDataset(spec), first, 'the unchecked read gives the same dataset');
    assert.equal(readdirSync(path.join(cache, 'validated')).length, 1);
    // The same ids, now duplicated: only a new check finds it.
    writeFileSync(qa, jsonl({ id: 'a', question: 'q?', answers: ['x'] }, { id: 'a', question: 'r?', answers: ['y'] }));
    await assert.rejects(loadDataset(spec), /reval\.jsonl:2: duplicate item id `a` \(first at line 1\)/);
  } finally {
    if (before === undefined) delete process.env.RAGTAX_CACHE_DIR;
    else process.env.RAGTAX_CACHE_DIR = before;
  }
});

test('field paths: keys, [], [N], [-1], ["odd key"], $ and ?', () => {
  const record = { a: { 'b.c': [1, 2, 3] }, list: [{ s: ['x', 'y'] }, { s: [] }, { s: ['z'] }], title: 'T', n: null };
  const values = (text: string, start: unknown = record) => {
    const r = resolvePath(parseFieldPath(text, { allowRecord: true }), start, record);
    return r instanceof PathMiss ? r : r.map((v) => [v.value, v.at]);
  };
  assert.deepEqual(values('list[].s[]'), [['x', 'list[0].s[0]'], ['y', 'list[0].s[1]'], ['z', 'list[2].s[0]']]);
  assert.deepEqual(values('a["b.c"][-1]'), [[3, 'a["b.c"][2]']]);
  assert.deepEqual(values('list[1].s'), [[[], 'list[1].s']]);
  assert.deepEqual(values('$.title', { other: 1 }), [['T', 'title']]);
  assert.deepEqual(values('missing?'), []);
  assert.deepEqual(values('n.deeper?'), []);
  const miss = values('list[5]');
  assert.ok(miss instanceof PathMiss && miss.problem === '`list` has 3 elements', String(miss));
  const nullMiss = values('n.deeper');
  assert.ok(nullMiss instanceof PathMiss && nullMiss.at === 'n' && nullMiss.problem === 'is null');
  assert.equal(parseFieldPath('x[]').many, true);
  for (const [bad, why] of [
    ['', /empty path/],
    ['a[', /without its `\]`/],
    ['a[x]', /not `\[\]`, `\[N\]` or `\["key"\]`/],
    ['a..b', /expected a key name/],
    ['$.title', /only for the paths inside a `passages` mapping/],
  ] as const) {
    assert.throws(() => parseFieldPath(bad), why, bad);
  }
});
