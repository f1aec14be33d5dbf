// all-gold@k: every relevant document of an item in its top k (multi-hop questions need them all).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allGoldAt, metricsFromRankings } from '../../src/retrieval/metrics.js';
import type { QaItem } from '../../src/types.js';

test('allGoldAt: every relevant document (grade > 0) within the top k', () => {
  const grades = new Map([['a', 1], ['b', 2]]);
  assert.equal(allGoldAt(['a', 'x', 'b'], grades, 2), false);
  assert.equal(allGoldAt(['a', 'x', 'b'], grades, 3), true);
  assert.equal(allGoldAt(['b', 'a'], grades, 2), true);
  assert.equal(allGoldAt(['a', 'a', 'b'], grades, 2), false, 'a repeated document is not a second one');
  assert.equal(allGoldAt([], new Map([['a', 1]]), 5), false);
});

test('metricsFromRankings: all-gold@k per k, beside recall@k; equal to it for one relevant document each', () => {
  const items: QaItem[] = [
    // Two supporting documents (HotpotQA style): recall@1 is 1/2, all-gold@1 is 0.
    { id: 'm', question: 'm', answers: ['x'], goldDocIds: ['s1', 's2'] },
    { id: 'o', question: 'o', answers: ['x'], goldDocIds: ['g'] },
    // qrels win over gold ids; grade 0 is not relevant, so only r1 must be found.
    { id: 'q', question: 'q', answers: ['x'], goldDocIds: ['z'], relevance: { r1: 2, r0: 0 } },
    { id: 'none', question: 'none', answers: ['x'] },
  ];
  const rankings = [['s1', 'n', 's2'], ['n', 'g'], ['r1'], ['g']];
  const m = metricsFromRankings(items, rankings, [1, 2, 3])!;
  assert.equal(m.n, 3);
  assert.deepEqual(m.recallAtK, [{ k: 1, recall: (0.5 + 0 + 1) / 3 }, { k: 2, recall: (0.5 + 1 + 1) / 3 }, { k: 3, recall: 1 }]);
  assert.deepEqual(m.allGoldAtK, [{ k: 1, rate: 1 / 3 }, { k: 2, rate: 2 / 3 }, { k: 3, rate: 1 }]);
  const single = metricsFromRankings(items.slice(1, 3), rankings.slice(1, 3), [1, 2])!;
  assert.deepEqual(single.allGoldAtK.map((x) => x.rate), single.recallAtK.map((x) => x.recall));
});
