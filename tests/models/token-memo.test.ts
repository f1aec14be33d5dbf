// TokenMemo: the runner's context check and generation share one tokenisation per prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { TokenMemo } from '../../src/models/transformers/engine.js';

env.allowRemoteModels = false;
const TINY_BASE = path.resolve(import.meta.dirname, '../fixtures/models/tiny-base');

test('TokenMemo returns the tokenizer ids, reuses them, and evicts the oldest prompt first', async () => {
  const tokenizer = await AutoTokenizer.from_pretrained(TINY_BASE, { local_files_only: true });
  let calls = 0;
  const counting = new Proxy(tokenizer, {
    get(target, prop, receiver) {
      if (prop === 'encode') return (text: string) => (calls++, target.encode(text));
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const memo = new TokenMemo(counting, 2);
  const a = 'Question: who wrote Hamlet?\nAnswer:';
  assert.deepEqual(memo.encode(a), tokenizer.encode(a));
  assert.equal(memo.encode(a), memo.encode(a), 'the same array, not a second tokenisation');
  assert.equal(calls, 1);
  memo.encode('b');
  memo.encode('c'); // capacity 2: evicts `a`
  memo.encode(a);
  assert.equal(calls, 4);
});
