// Out of memory is one ragtax line (exit 3), never V8's fatal-error dump: a corpus larger than the
// heap allows stops with a message naming the file, the line reached and how to give Node more heap.
// The heap is capped at 256 MB (NODE_OPTIONS) so that a ~125 MB corpus is too large.
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ragtax, ROOT } from './helpers.js';

async function writeCorpus(file: string, documents: number): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (let i = 0; i < documents; i++) {
    chunk += `{"id":"d${i}","title":"T${i}","text":"word ${i} alpha beta gamma delta ${i % 977}"}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

test('a corpus too large for the heap: one line naming the file, exit 3, no V8 dump', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-oom-'));
  try {
    await writeCorpus(path.join(dir, 'corpus.jsonl'), 1_500_000);
    writeFileSync(path.join(dir, 'qa.jsonl'), '{"id":"q1","question":"what?","answers":["x"]}\n');
    const suite = path.join(dir, 'suite.yaml');
    writeFileSync(
      suite,
      `name: oom\ndataset:\n  path: qa.jsonl\n  corpus: corpus.jsonl\nmodels:\n  base:\n    path: ${path.join(ROOT, 'tests/fixtures/models/tiny-base')}\ngrid:\n  - k: [1]\n    instruction: nores\n`,
    );
    const r = await ragtax(['index', suite], { NODE_OPTIONS: '--max-old-space-size=256', RAGTAX_CACHE_DIR: path.join(dir, 'cache') });
    assert.equal(r.code, 3, r.stderr.slice(0, 2000));
    const lines = r.stderr.trim().split('\n').filter((line) => !line.startsWith('note:'));
    assert.equal(lines.length, 1, r.stderr.slice(0, 2000));
    assert.match(lines[0]!, /^ragtax: out of memory reading .*corpus\.jsonl at line \d+ \(JavaScript heap \d+ of 256 MB in use\); give Node more heap, e\.g\. NODE_OPTIONS=--max-old-space-size=512/);
    assert.doesNotMatch(r.stderr, /FATAL ERROR|Last few GCs|node::|    at /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
