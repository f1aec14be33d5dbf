import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstLine, textForRule, wholeResponse } from '../../src/scoring/scoring-rules.js';
import { exactMatch, isRefusal, METRIC_DEFS, METRICS, paperAccuracy, SUBSETS, tokenF1 } from '../../src/scoring/metrics.js';
import type { SampleScores } from '../../src/types.js';
import { containsAnswer, normalizeAnswer, normalizedAnswers } from '../../src/scoring/normalize.js';

describe('normalizeAnswer', () => {
  const cases: [string, string][] = [
    ['May 18 , 2018', 'may 18 2018'],
    ['May 18, 2018', 'may 18 2018'],
    ['“Hello”', 'hello'],
    ["‘Rock’n’roll’", 'rock n roll'],
    ['1990–1995', '1990 1995'],
    ['1990—1995', '1990 1995'],
    ['AC⁄DC', 'ac dc'],
    ['The Beatles', 'beatles'],
    ['A Tale of Two Cities', 'tale of two cities'],
    ['an apple a day', 'apple day'],
    ['theatre', 'theatre'],
    ['NO-RES.', 'no res'],
    ['España', 'españa'], // ASCII-only \b once stripped the final "a"
    ['Ša', 'ša'],
    ['  many   spaces\tand\nlines ', 'many spaces and lines'],
    ['The', ''],
    ['', ''],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => assert.equal(normalizeAnswer(input), expected));
  }
  it('drops answers that normalise to empty', () => assert.deepEqual(normalizedAnswers(['The', 'a', '...', 'Paris']), ['paris']));
  it('containsAnswer ignores empty gold answers', () => {
    assert.equal(containsAnswer('anything at all', ['The']), false);
    assert.equal(containsAnswer('Document [1](Title: Paris) Paris is the capital', ['paris']), true);
  });
});

describe('first-line and whole rules', () => {
  it('takes the first line', () => assert.equal(firstLine('Paris\nbecause it is the capital'), 'Paris'));
  it('a leading newline does not zero the answer (improvement on the paper)', () => {
    assert.equal(firstLine('\n  Paris\nmore'), 'Paris');
    assert.equal(firstLine('\r\n\r\nParis\r\nmore'), 'Paris');
  });
  it('empty response → empty text', () => {
    assert.equal(firstLine(''), '');
    assert.equal(firstLine('   \n\n'), '');
  });
  it('whole joins lines with single spaces', () => assert.equal(wholeResponse('\nParis\n\n is  it\r\n'), 'Paris is  it'));
  it('textForRule dispatches', () => {
    assert.equal(textForRule('a\nParis', 'first-line'), 'a');
    assert.equal(textForRule('a\nParis', 'whole'), 'a Paris');
  });
});

describe('paper accuracy', () => {
  it('tokenised NQ answers match untokenised responses', () => assert.equal(paperAccuracy('May 18, 2018', ['May 18 , 2018']), true));
  it('unicode quotes and dashes', () => {
    assert.equal(paperAccuracy('"Hello"', ['“Hello”']), true);
    assert.equal(paperAccuracy('from 1990-1995', ['1990–1995']), true);
  });
  it('articles do not matter', () => assert.equal(paperAccuracy('the Eiffel Tower', ['Eiffel Tower']), true));
  it('plain substring, no word boundaries (paper behaviour)', () => assert.equal(paperAccuracy('Parisian', ['Paris']), true));
  it('wrong answer', () => assert.equal(paperAccuracy('London', ['Paris']), false));
  it('an answer that normalises to empty never matches', () => {
    assert.equal(paperAccuracy('London', ['The']), false);
    assert.equal(paperAccuracy('', ['The', '']), false);
  });
  it('empty response is wrong', () => assert.equal(paperAccuracy('', ['Paris']), false));
  it('unanswerable (no answers) is never correct', () => assert.equal(paperAccuracy('Paris', []), false));
});

describe('exact match and F1', () => {
  it('EM after normalisation', () => {
    assert.equal(exactMatch('The Eiffel Tower.', ['Eiffel tower']), true);
    assert.equal(exactMatch('Eiffel Tower in Paris', ['Eiffel tower']), false);
    assert.equal(exactMatch('', ['The']), false);
    assert.equal(exactMatch('x', []), false);
  });
  it('F1 on our normalisation', () => {
    assert.equal(tokenF1('May 18, 2018', ['May 18 , 2018']), 1);
    // prediction "eiffel tower in paris" (4) vs gold "eiffel tower" (2): P=2/4, R=1 → 2/3
    assert.ok(Math.abs(tokenF1('the Eiffel Tower in Paris', ['Eiffel Tower']) - 2 / 3) < 1e-12);
    // max over answers
    assert.equal(tokenF1('Paris', ['London', 'Paris']), 1);
    // repeated tokens count once per gold occurrence: pred "paris paris" vs gold "paris": P=1/2, R=1
    assert.ok(Math.abs(tokenF1('Paris Paris', ['Paris']) - 2 / 3) < 1e-12);
    assert.equal(tokenF1('', ['Paris']), 0);
    assert.equal(tokenF1('Paris', []), 0);
    assert.equal(tokenF1('the', ['The']), 0);
  });
});

describe('refusal detection', () => {
  for (const text of ['NO-RES', 'no res', 'No-Res', 'NO-RES.', 'NO_RES', 'Answer: NO-RES', 'Lando Calrissian NO-RES']) {
    it(`${JSON.stringify(text)} is a refusal`, () => assert.equal(isRefusal(text), true));
  }
  for (const text of ['casino restaurant', 'NORES', 'Paris', '', 'no result']) {
    it(`${JSON.stringify(text)} is not a refusal`, () => assert.equal(isRefusal(text), false));
  }
  it('configurable markers (RGB)', () => {
    const rgb = ['insufficient information'];
    const reply = 'I can not answer the question because of the insufficient information in documents.';
    assert.equal(isRefusal(reply, rgb), true);
    assert.equal(isRefusal(reply), false);
    assert.equal(isRefusal('NO-RES', rgb), false);
    assert.equal(isRefusal('NO-RES', ['The']), false); // a marker normalising to empty matches nothing
  });
});

describe('METRICS table', () => {
  it('derives each metric from the per-sample scores', () => {
    const scores: SampleScores = { correct: true, exactMatch: false, f1: 2 / 3, refusal: true, answerInContext: true, cotAnswerFound: false, proof: 'x', proofCoherent: true };
    assert.deepEqual(Object.fromEntries(METRIC_DEFS.map((m) => [m.name, m.value(scores)])), {
      accuracy: true,
      exactMatch: false,
      f1: 2 / 3,
      refusalRate: true,
      negativeRejectionRate: true,
      overRefusalRate: true,
      parametricRecall: true,
      contextAccuracy: true,
      cotMissingAnswer: true,
      proofCoherence: true,
      reasoningUnclosed: false,
      followsContext: false,
      followsMemory: true,
      conflictRefusal: true,
      conflictNeither: false,
    });
  });
  it('lists the metrics in summary.json order, f1 the only mean', () => {
    assert.deepEqual(METRIC_DEFS.map((m) => m.name), Object.keys(METRICS));
    assert.deepEqual(METRIC_DEFS.filter((m) => m.kind === 'mean').map((m) => m.name), ['f1']);
    assert.deepEqual(METRIC_DEFS.map((m) => m.over), ['all', 'all', 'all', 'all', 'answerAbsent', 'answerInContext', 'answerAbsent', 'answerInContext', 'cot', 'withProof', 'reasoning', 'conflict', 'conflict', 'conflict', 'conflict']);
  });
  it('subsets: proof coherence only among responses that gave a proof', () => {
    const base: SampleScores = { correct: false, exactMatch: false, f1: 0, refusal: false, answerInContext: false };
    assert.equal(SUBSETS.withProof.includes({ ...base, proof: null }), false);
    assert.equal(SUBSETS.withProof.includes({ ...base, proof: 'p' }), true);
    assert.equal(SUBSETS.answerAbsent.includes(base), true);
    assert.equal(SUBSETS.answerInContext.includes(base), false);
  });
});
