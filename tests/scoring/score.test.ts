import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scoreResponse } from '../../src/scoring/score.js';

const context = 'Document [1](Title: Star Wars) Lando Calrissian is played by Billy Dee Williams.';

describe('scoreResponse', () => {
  it('golden: correct first line', () => {
    assert.deepEqual(scoreResponse({ response: ' Lando Calrissian\nHe is a smuggler.', answers: ['Lando Calrissian'], contextText: context }), {
      scoredText: 'Lando Calrissian',
      scores: { correct: true, exactMatch: true, f1: 1, refusal: false, answerInContext: true },
    });
  });
  it('answer NO-RES counts as both correct and refusal', () => {
    const { scores } = scoreResponse({ response: 'Lando Calrissian NO-RES', answers: ['Lando Calrissian'], contextText: context });
    assert.equal(scores.correct, true);
    assert.equal(scores.refusal, true);
    assert.equal(scores.exactMatch, false);
  });
  it('refusal variants', () => {
    for (const response of ['NO-RES', 'no res', 'No-Res', 'NO-RES.']) {
      const { scores } = scoreResponse({ response, answers: ['Paris'], contextText: '' });
      assert.equal(scores.refusal, true, response);
      assert.equal(scores.correct, false, response);
    }
    assert.equal(scoreResponse({ response: 'casino restaurant', answers: ['x'], contextText: '' }).scores.refusal, false);
  });
  it('refusal on a later line does not count under first-line, does under whole', () => {
    const input = { response: 'I am not sure.\nNO-RES', answers: ['Paris'], contextText: '' };
    assert.equal(scoreResponse(input).scores.refusal, false);
    assert.equal(scoreResponse({ ...input, rule: 'whole' }).scores.refusal, true);
  });
  it('the answer on line 2 is wrong under first-line, right under whole', () => {
    const input = { response: 'Sure! The answer is:\nParis', answers: ['Paris'], contextText: '' };
    assert.equal(scoreResponse(input).scores.correct, false);
    assert.equal(scoreResponse({ ...input, rule: 'whole' }).scores.correct, true);
  });
  it('a response starting with a newline still scores', () => {
    const { scoredText, scores } = scoreResponse({ response: '\nParis\n', answers: ['Paris'], contextText: '' });
    assert.equal(scoredText, 'Paris');
    assert.equal(scores.correct, true);
  });
  it('empty response: nothing true', () => {
    assert.deepEqual(scoreResponse({ response: '', answers: ['Paris'], contextText: 'Paris' }).scores, {
      correct: false,
      exactMatch: false,
      f1: 0,
      refusal: false,
      answerInContext: true,
    });
  });
  it('gold answers that normalise to empty match nothing, also not in context', () => {
    const { scores } = scoreResponse({ response: 'The Beatles', answers: ['The'], contextText: 'The the THE' });
    assert.equal(scores.correct, false);
    assert.equal(scores.answerInContext, false);
  });
  it('unanswerable item: never correct, EM/F1 0, refusal still detected', () => {
    assert.deepEqual(scoreResponse({ response: 'NO-RES', answers: [], contextText: context }).scores, {
      correct: false,
      exactMatch: false,
      f1: 0,
      refusal: true,
      answerInContext: false,
    });
  });
  it('custom refusal markers', () => {
    const { scores } = scoreResponse({
      response: 'I can not answer the question because of the insufficient information in documents.',
      answers: ['Paris'],
      contextText: '',
      refusalMarkers: ['insufficient information'],
    });
    assert.equal(scores.refusal, true);
  });
  it('CoT: scores the last Answer: line and reports it was found', () => {
    const out = scoreResponse({ response: 'Answer: London\nDoc 1 says Paris.\nAnswer: Paris', answers: ['Paris'], contextText: '', cot: true });
    assert.equal(out.scoredText, 'Paris');
    assert.equal(out.scores.correct, true);
    assert.equal(out.scores.cotAnswerFound, true);
  });
  it('CoT without a final answer: not correct, not refusal, found=false', () => {
    const out = scoreResponse({ response: 'Paris is mentioned, NO-RES otherwise', answers: ['Paris'], contextText: '', cot: true });
    assert.equal(out.scoredText, '');
    assert.deepEqual(
      [out.scores.correct, out.scores.refusal, out.scores.cotAnswerFound],
      [false, false, false],
    );
  });
  it('no CoT field outside CoT, no proof fields outside the proof task', () => {
    const { scores } = scoreResponse({ response: 'Paris', answers: ['Paris'], contextText: '' });
    assert.equal('cotAnswerFound' in scores, false);
    assert.equal('proof' in scores, false);
  });
  it('proof task: proof and coherence', () => {
    const response = ' 4th Dynasty\nProof: The potter wheel was first used in Egypt in the 4th Dynasty.';
    const out = scoreResponse({ response, answers: ['4th Dynasty'], contextText: '', proof: true });
    assert.equal(out.scores.proof, 'The potter wheel was first used in Egypt in the 4th Dynasty.');
    assert.equal(out.scores.proofCoherent, true);
    const missing = scoreResponse({ response: '4th Dynasty', answers: ['4th Dynasty'], contextText: '', proof: true });
    assert.equal(missing.scores.proof, null);
    assert.equal(missing.scores.proofCoherent, false);
  });
});
