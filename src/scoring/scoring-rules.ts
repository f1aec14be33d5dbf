// Which part of a response is scored. The paper scores the first line only; `whole` exists for the
// sensitivity sweep over the scoring rule (protocol.md, "Pitfalls").

import { LINE_BREAK } from './line-breaks.js';

export type ScoringRule = 'first-line' | 'whole';

/** A line break with the whitespace around it. */
const LINE_BREAKS = new RegExp(String.raw`\s*(?:${LINE_BREAK.source})\s*`, 'g');

/**
 * The first line of the response after leading whitespace is trimmed.
 *
 * Improvement on the paper: its scorer took `response.split("\n")[0]` as is, so a model that began
 * its answer with a newline (common right after the prompt's `Answer:`) was scored on an empty
 * line and counted wrong no matter what followed.
 */
export function firstLine(response: string): string {
  const [line = ''] = response.trimStart().split(LINE_BREAK, 1);
  return line.trimEnd();
}

/** The entire response with line breaks turned into single spaces. */
export function wholeResponse(response: string): string {
  return response.replace(LINE_BREAKS, ' ').trim();
}

export function textForRule(response: string, rule: ScoringRule): string {
  return rule === 'whole' ? wholeResponse(response) : firstLine(response);
}
