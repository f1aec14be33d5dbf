// Scores one response: picks the scored text (first line, whole response or CoT final answer),
// then applies every per-sample metric.

import type { SampleScores } from '../types.js';
import { extractCotAnswer } from './cot.js';
import { textForRule, type ScoringRule } from './scoring-rules.js';
import { DEFAULT_REFUSAL_MARKERS, exactMatch, isRefusal, paperAccuracy, tokenF1 } from './metrics.js';
import { containsAnswer, normalizedAnswers } from './normalize.js';
import { extractProof, isProofCoherent } from './proof.js';
import { stripReasoning, type ReasoningSettings } from './reasoning.js';

export interface ScoreInput {
  response: string;
  answers: string[];
  /** The documents shown to the model, joined; decides `answerInContext`. */
  contextText: string;
  /**
   * What the shown documents claim instead of `answers` (ItemContext.contextAnswers). When one of
   * them is not a true answer the sample is a knowledge conflict and gets `followsContext`.
   */
  contextAnswers?: readonly string[];
  /** Score the last `Answer:` line instead of the first line. */
  cot?: boolean;
  /** Proof task: extract the proof and check it against the answer. */
  proof?: boolean;
  /** Ignored when `cot` is set. Default `first-line` (the paper's rule). */
  rule?: ScoringRule;
  refusalMarkers?: string[];
  /** Reasoning models: score the text after the thinking block (see reasoning.ts). */
  reasoning?: ReasoningSettings & { promptOpensBlock?: boolean };
}

export interface ScoreOutput {
  scoredText: string;
  scores: SampleScores;
}

/** The context answers hold a value that is not a true answer (normalised): a knowledge conflict. */
export function isConflict(answers: readonly string[], contextAnswers: readonly string[] | undefined): boolean {
  if (!contextAnswers) return false;
  const truths = new Set(normalizedAnswers(answers));
  return normalizedAnswers(contextAnswers).some((claim) => !truths.has(claim));
}

export function scoreResponse(input: ScoreInput): ScoreOutput {
  const { answers, contextText } = input;
  const markers = input.refusalMarkers ?? DEFAULT_REFUSAL_MARKERS;
  // The raw response stays in the record; the answer part is what is scored.
  const thinking = input.reasoning ? stripReasoning(input.response, input.reasoning, input.reasoning.promptOpensBlock) : undefined;
  const response = thinking ? thinking.answer : input.response;

  let scoredText: string;
  let cotAnswerFound: boolean | undefined;
  if (input.cot) {
    const extraction = extractCotAnswer(response);
    scoredText = extraction.answer;
    cotAnswerFound = extraction.found;
  } else {
    scoredText = textForRule(response, input.rule ?? 'first-line');
  }

  const scores: SampleScores = {
    correct: paperAccuracy(scoredText, answers),
    exactMatch: exactMatch(scoredText, answers),
    f1: tokenF1(scoredText, answers),
    refusal: isRefusal(scoredText, markers),
    answerInContext: containsAnswer(contextText, answers),
  };
  if (isConflict(answers, input.contextAnswers)) scores.followsContext = paperAccuracy(scoredText, input.contextAnswers!);
  if (cotAnswerFound !== undefined) scores.cotAnswerFound = cotAnswerFound;
  if (thinking) scores.reasoningClosed = thinking.closed;
  if (input.proof) {
    const proof = extractProof(response);
    scores.proof = proof;
    scores.proofCoherent = isProofCoherent(scoredText, proof);
  }
  return { scoredText, scores };
}
