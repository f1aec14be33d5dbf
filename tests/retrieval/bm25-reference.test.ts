// ragtax's BM25 against an independent implementation (tools/bm25_reference.py: Python, numpy, its
// own tokenizer, exhaustive scoring) on real public data: ≥ 99% top-1 agreement is required (it is
// 100% when this was written). Skips when ../shared/datasets or Python with numpy is absent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreement, nqOracleCorpus, referenceAvailable, squadCorpus } from '../../scripts/bm25-agreement.js';

const python = referenceAvailable();

for (const [name, load] of [
  ['SQuAD v2 paragraphs and questions', squadCorpus],
  ['NQ-open oracle passages and questions', nqOracleCorpus],
] as const) {
  const data = load();
  const skip = !python ? '/usr/bin/python3 with numpy is absent' : !data ? '../shared/datasets absent' : false;
  test(`≥ 99% top-1 agreement with tools/bm25_reference.py: ${name}`, { skip }, async () => {
    for (const settings of [{}, { lengths: 'exact' as const, k1: 0.9, b: 0.4 }]) {
      const a = await agreement(data!, settings);
      assert.ok(a.queries > 1000, `${a.queries} queries`);
      assert.ok(a.top1 >= 0.99, `top-1 agreement ${(100 * a.top1).toFixed(2)}% (${JSON.stringify(settings)})`);
      assert.ok(a.top10 >= 0.95, `top-10 agreement ${(100 * a.top10).toFixed(2)}% (${JSON.stringify(settings)})`);
    }
  });
}
