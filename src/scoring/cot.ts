// Final-answer extraction for chain-of-thought responses.

import { LINE_BREAK } from './line-breaks.js';

export interface CotExtraction {
  /** Text after the colon of the last answer line, trimmed; '' when none was found. */
  answer: string;
  found: boolean;
}

// `Answer:` or `Final answer:` at the start of a line (after whitespace), any letter case.
const ANSWER_LINE = /^\s*(?:final\s+)?answer\s*:(.*)$/i;

/**
 * The LAST line that starts with `Answer:` / `Final answer:` wins: reasoning often restates
 * intermediate answers before the final one. When no such line exists the caller scores '' (not
 * correct, not a refusal) and reports `found = false`, so missing answers are visible, not hidden.
 * An `Answer:` line with nothing after the colon is found with an empty answer.
 */
export function extractCotAnswer(response: string): CotExtraction {
  let answer: string | undefined;
  for (const line of response.split(LINE_BREAK)) {
    const match = ANSWER_LINE.exec(line);
    if (match) answer = (match[1] ?? '').trim();
  }
  return answer === undefined ? { answer: '', found: false } : { answer, found: true };
}
