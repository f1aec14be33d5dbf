// linesToBuffer writes ASCII lines as Latin-1 and others as UTF-8: the bytes must be exactly
// Buffer.from(lines.join('\n') + '\n'), whatever the text (ASCII, Latin-1 range, CJK, emoji, lone
// surrogates, empty lines).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { linesToBuffer } from '../../src/util/lines-buffer.js';

const reference = (lines: readonly string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');

const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));
const asciiText = fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 200 }).map((units) => String.fromCharCode(...units));
const latin1Text = fc.array(fc.integer({ min: 0x20, max: 0xff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));

test('the same bytes as joining and encoding as UTF-8', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(asciiText, latin1Text, codeUnits, fc.string()), { maxLength: 20 }), (lines) => {
      assert.deepEqual(linesToBuffer(lines), reference(lines));
    }),
    { numRuns: 3000 },
  );
});

test('named cases: none, an empty line, JSON with escapes, non-ASCII, an astral character, a lone surrogate', () => {
  for (const lines of [[], [''], [JSON.stringify({ prompt: 'Q:\n"x"\t\u0001' })], ['naïve — 日本', 'ascii'], ['😀'], ['a\ud800b', '\udfff']]) {
    assert.deepEqual(linesToBuffer(lines), reference(lines), JSON.stringify(lines));
  }
});

test('into: a large enough buffer is written into (a view of it); a small one is left alone', () => {
  const lines = ['{"a":1}', 'naïve', ''];
  const big = Buffer.alloc(64, 0xff);
  const view = linesToBuffer(lines, big);
  assert.deepEqual(view, reference(lines));
  assert.equal(view.buffer, big.buffer, 'written into the given buffer');
  assert.equal(view.byteOffset, big.byteOffset);
  assert.equal(big[view.length], 0xff, 'nothing written past the lines');
  const small = Buffer.alloc(4, 0xff);
  const fresh = linesToBuffer(lines, small);
  assert.deepEqual(fresh, reference(lines));
  assert.notEqual(fresh.buffer, small.buffer);
  assert.deepEqual(small, Buffer.alloc(4, 0xff), 'a too-small buffer is untouched');
  // Reused for a shorter batch after a longer one: only the new bytes count.
  assert.deepEqual(linesToBuffer(['x'], big), Buffer.from('x\n'));
});
