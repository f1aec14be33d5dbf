import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleItems } from '../../src/data/load.js';
import type { QaItem } from '../../src/types.js';

const items: QaItem[] = Array.from({ length: 50 }, (_, i) => ({ id: `q${i}`, question: `question ${i}`, answers: ['a'] }));

test('sampleItems draws a seeded subset in file order', () => {
  const a = sampleItems(items, 10, 1);
  assert.equal(a.length, 10);
  assert.deepEqual(a, [...a].sort((x, y) => Number(x.id.slice(1)) - Number(y.id.slice(1))));
  assert.deepEqual(sampleItems(items, 10, 1), a);
  assert.notDeepEqual(sampleItems(items, 10, 2).map((x) => x.id), a.map((x) => x.id));
  assert.equal(new Set(a.map((x) => x.id)).size, 10);
  assert.equal(sampleItems(items, 80, 1).length, 50);
});
