// Integer ids above 2^53 through `ragtax run`: the run's samples carry the id exactly as written in
// the QA file (JSON.parse alone made 9007199254740993 into 9007199254740992, silently).
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { editFile, ragtax, scratchSuite } from './helpers.js';

test('ragtax run keeps an unquoted 19-digit item id exact in samples.jsonl', async () => {
  const s = scratchSuite('exact-ids');
  try {
    const big = '9007199254740993';
    const nq = '-3290814144789249484'; // a real NQ example id
    editFile(path.join(s.data, 'qa.jsonl'), (t) => t.replace('"id": "q2"', `"id": ${big}`).replace('"id": "q3"', `"id": ${nq}`));
    const out = path.join(s.dir, 'out');
    const r = await ragtax(['run', s.suite, '--out', out, '--quiet'], { RAGTAX_CACHE_DIR: path.join(s.dir, 'cache') });
    assert.equal(r.code, 0, r.stderr);
    const ids = new Set(
      readFileSync(path.join(out, 'samples.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { itemId: string }).itemId),
    );
    assert.ok(ids.has(big), [...ids].join(' '));
    assert.ok(ids.has(nq), [...ids].join(' '));
    assert.equal(ids.has('9007199254740992'), false);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
