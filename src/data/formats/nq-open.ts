// NQ-open (google-research-datasets/natural-questions, `nq_open/`): JSONL `{question, answer: [str]}`,
// the `nq-open` preset of the field mapping (mapped.ts). No ids and no corpus of its own; item ids
// are `nq-<line>` (1-based physical line), stable for a file.
import type { QaItem } from '../../types.js';
import { readMapped } from './mapped.js';

/** Reads NQ-open items. Answers are kept verbatim (tokenised text such as `May 18 , 2018`). */
export async function readNqOpen(file: string, idPrefix = 'nq-'): Promise<QaItem[]> {
  return (await readMapped(file, { preset: 'nq-open' }, { idPrefix, validate: true })).items;
}
