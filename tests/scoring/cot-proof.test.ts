import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractCotAnswer } from '../../src/scoring/cot.js';
import { extractProof, isProofCoherent } from '../../src/scoring/proof.js';

describe('extractCotAnswer', () => {
  it('finds the answer line', () =>
    assert.deepEqual(extractCotAnswer('Document 2 says so.\nAnswer: Paris'), { answer: 'Paris', found: true }));
  it('the last Answer: line wins', () =>
    assert.deepEqual(extractCotAnswer('Answer: London\nWait, document 3 disagrees.\n  answer:  Paris \nok'), {
      answer: 'Paris',
      found: true,
    }));
  it('accepts Final answer:, any case', () =>
    assert.deepEqual(extractCotAnswer('Reasoning...\nFINAL ANSWER: NO-RES'), { answer: 'NO-RES', found: true }));
  it('not found → empty answer and found=false', () =>
    assert.deepEqual(extractCotAnswer('I think it is Paris because...'), { answer: '', found: false }));
  it('"Answer:" must start the line', () =>
    assert.deepEqual(extractCotAnswer('The Answer: is Paris'), { answer: '', found: false }));
  it('empty response', () => assert.deepEqual(extractCotAnswer(''), { answer: '', found: false }));
  it('handles CRLF', () => assert.deepEqual(extractCotAnswer('x\r\nAnswer: Paris\r\n'), { answer: 'Paris', found: true }));
});

describe('proof', () => {
  it('extracts the text after the first Proof: to the end of that line', () => {
    assert.equal(extractProof('4th Dynasty\nProof: the potter wheel was used in the 4th Dynasty.\nProof: other'), 'the potter wheel was used in the 4th Dynasty.');
  });
  it('null when absent', () => assert.equal(extractProof('4th Dynasty'), null));
  it('empty proof is the empty string', () => assert.equal(extractProof('x\nProof:\nmore'), ''));
  it('coherent when the normalised answer occurs in the proof', () => {
    assert.equal(isProofCoherent('4th dynasty', 'used since the 4th Dynasty.'), true);
    assert.equal(isProofCoherent('May 18, 2018', 'released on May 18 , 2018'), true);
  });
  it('answer on the same line as Proof: is cut before it', () =>
    assert.equal(isProofCoherent('4th Dynasty Proof: in the 4th Dynasty', 'in the 4th Dynasty'), true));
  it('not coherent: absent proof, empty answer, answer not in proof', () => {
    assert.equal(isProofCoherent('4th dynasty', null), false);
    assert.equal(isProofCoherent('', 'anything'), false);
    assert.equal(isProofCoherent('The', 'the wheel'), false);
    assert.equal(isProofCoherent('5th dynasty', 'used since the 4th Dynasty.'), false);
  });
});
