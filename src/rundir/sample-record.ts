// The one check of a samples.jsonl line, shared by `--resume` and by the commands that read a
// finished run (compare, report), and the one key of a sample.
import { cellKey } from '../aggregate/cells.js';
import type { Cell, SampleRecord } from '../types.js';

const RECORD_FIELDS: Record<string, 'string' | 'number' | 'boolean'> = {
  itemId: 'string',
  model: 'string',
  format: 'string',
  instruction: 'string',
  context: 'string',
  k: 'number',
  shots: 'number',
  cot: 'boolean',
  prompt: 'string',
  response: 'string',
};
const SCORE_FIELDS: Record<string, 'number' | 'boolean'> = { correct: 'boolean', exactMatch: 'boolean', f1: 'number', refusal: 'boolean', answerInContext: 'boolean' };
// Listed once: compare and report check a million records.
const RECORD_ENTRIES = Object.entries(RECORD_FIELDS);
const SCORE_ENTRIES = Object.entries(SCORE_FIELDS);

/** What is wrong with a parsed samples.jsonl line as a sample record, or null when nothing is. */
export function sampleRecordProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object (a sample record)';
  const record = value as Record<string, unknown>;
  for (const [field, type] of RECORD_ENTRIES) {
    if (typeof record[field] !== type) return `field \`${field}\` must be a ${type} (is this a ragtax samples.jsonl?)`;
  }
  if (record.format !== 'raw' && record.format !== 'chat') return 'field `format` must be "raw" or "chat"';
  const scores = record.scores as Record<string, unknown> | undefined;
  if (typeof scores !== 'object' || scores === null) return 'field `scores` must be an object';
  for (const [field, type] of SCORE_ENTRIES) {
    if (typeof scores[field] !== type) return `field \`scores.${field}\` must be a ${type}`;
  }
  return null;
}

/** The key of one sample: its item and its cell. */
export function sampleKey(record: Pick<SampleRecord, 'itemId'> & Cell): string {
  return `${JSON.stringify(record.itemId)}|${cellKey(record)}`;
}
