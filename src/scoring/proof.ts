// Task II (Proof): the model reports the passage that supports its answer.

import { LINE_BREAK } from './line-breaks.js';
import { normalizeAnswer } from './normalize.js';

const PROOF_MARKER = /\bproof\s*:/i;

/** Text after the first `Proof:` (any letter case) up to the end of that line, trimmed; null when absent. */
export function extractProof(response: string): string | null {
  const match = PROOF_MARKER.exec(response);
  if (!match) return null;
  const rest = response.slice(match.index + match[0].length);
  const [line = ''] = rest.split(LINE_BREAK, 1);
  return line.trim();
}

/**
 * The model's own answer for the coherence check: the scored text cut before a `Proof:` on the same
 * line, so `4th Dynasty Proof: ...` yields `4th Dynasty` rather than a string that includes the proof.
 */
export function answerBeforeProof(scoredText: string): string {
  const match = PROOF_MARKER.exec(scoredText);
  return match ? scoredText.slice(0, match.index) : scoredText;
}

/** Coherent: the normalised answer is non-empty and a substring of the normalised proof. */
export function isProofCoherent(answer: string, proof: string | null): boolean {
  if (proof === null) return false;
  const normalizedAnswer = normalizeAnswer(answerBeforeProof(answer));
  return normalizedAnswer.length > 0 && normalizeAnswer(proof).includes(normalizedAnswer);
}
