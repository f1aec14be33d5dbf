// Per-sample metrics as small pure functions, registered by name so that reports and sweeps can
// pick them. All of them compare the NORMALISED scored text with the NORMALISED gold answers, and
// all of them treat an item without (non-empty) gold answers as never correct.

import { normalizeAnswer, normalizedAnswers } from './normalize.js';

/** The paper's refusal marker. RGB-style runs pass e.g. `['insufficient information']`. */
export const DEFAULT_REFUSAL_MARKERS: readonly string[] = ['NO-RES'];

/** Paper accuracy: any normalised gold answer is a plain substring of the normalised text. */
export function paperAccuracy(text: string, answers: readonly string[]): boolean {
  const golds = normalizedAnswers(answers);
  if (golds.length === 0) return false;
  const haystack = normalizeAnswer(text);
  return golds.some((gold) => haystack.includes(gold));
}

/** Exact match: the normalised text equals a normalised gold answer. */
export function exactMatch(text: string, answers: readonly string[]): boolean {
  const prediction = normalizeAnswer(text);
  return prediction.length > 0 && normalizedAnswers(answers).includes(prediction);
}

function tokens(normalized: string): string[] {
  return normalized.length === 0 ? [] : normalized.split(' ');
}

function tokenOverlapF1(predicted: readonly string[], gold: readonly string[]): number {
  if (predicted.length === 0 || gold.length === 0) return 0;
  const remaining = new Map<string, number>();
  for (const token of gold) remaining.set(token, (remaining.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predicted) {
    const left = remaining.get(token) ?? 0;
    if (left > 0) {
      common += 1;
      remaining.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predicted.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * SQuAD-style token F1, maximised over gold answers, computed on OUR normalisation (punctuation
 * becomes a space rather than being deleted, so "May 18 , 2018" and "May 18, 2018" agree).
 */
export function tokenF1(text: string, answers: readonly string[]): number {
  const predicted = tokens(normalizeAnswer(text));
  let best = 0;
  for (const gold of normalizedAnswers(answers)) best = Math.max(best, tokenOverlapF1(predicted, tokens(gold)));
  return best;
}

/**
 * Refusal: a normalised marker occurs in the normalised text as a whole-word sequence (both padded
 * with spaces). `NO-RES`, `no res`, `No-Res`, `NO-RES.` all count. This is stricter than the
 * paper's plain substring test, under which `casino restaurant` ("...o res...") would be a refusal.
 * A response that holds both an answer and the marker (`Lando Calrissian NO-RES`) is still counted
 * as correct AND as a refusal, as in the paper; reports should say so rather than hide it.
 */
export function isRefusal(text: string, markers: readonly string[] = DEFAULT_REFUSAL_MARKERS): boolean {
  const padded = ` ${normalizeAnswer(text)} `;
  return markers
    .map(normalizeAnswer)
    .filter((marker) => marker.length > 0)
    .some((marker) => padded.includes(` ${marker} `));
}

export interface MetricInput {
  scoredText: string;
  answers: readonly string[];
  refusalMarkers?: readonly string[];
}

export type Scorer = (input: MetricInput) => number | boolean;

/** Metrics by name. Booleans are per-sample indicators; `f1` is a score in [0, 1]. */
export const SCORERS = {
  accuracy: ({ scoredText, answers }) => paperAccuracy(scoredText, answers),
  exact_match: ({ scoredText, answers }) => exactMatch(scoredText, answers),
  f1: ({ scoredText, answers }) => tokenF1(scoredText, answers),
  refusal: ({ scoredText, refusalMarkers }) => isRefusal(scoredText, refusalMarkers),
} as const satisfies Record<string, Scorer>;

export type ScorerName = keyof typeof SCORERS;
