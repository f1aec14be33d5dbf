// `ragtax list <table>`: the names a suite can use, read from the component tables themselves
// (docs/architecture.md, "The seams"), each with what its table says about it.
import type { Writable } from 'node:stream';
import { FORMATS, FORMAT_NAMES, type DatasetFormat } from '../data/formats/formats.js';
import { InputError } from '../errors.js';
import { BACKENDS, BACKEND_NAMES, DEFAULT_BACKEND } from '../models/backends.js';
import { PRESETS } from '../prompts/presets.js';
import { CONTEXT_MODES } from '../retrieval/contexts.js';
import { RETRIEVERS } from '../retrieval/retrievers.js';
import { METRICS, SUBSETS } from '../scoring/metrics.js';
import type { ContextMode } from '../types.js';

export const LIST_TABLES = ['presets', 'formats', 'retrievers', 'contexts', 'metrics', 'backends'] as const;
export type ListTable = (typeof LIST_TABLES)[number];

const yesNo = (flag: boolean | undefined, yes: string, no?: string) => (flag ? yes : no);
const join = (parts: (string | undefined | false)[]) => parts.filter((p): p is string => typeof p === 'string' && p !== '').join('; ');
const firstSentence = (text: string, max = 90) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** Each name in the table with one line about it. */
export function listTable(table: ListTable): [string, string][] {
  switch (table) {
    case 'presets':
      return Object.values(PRESETS).map((p) => [
        p.name,
        join([p.closedBook ? 'closed-book' : 'with documents', p.rejects ? `asks for ${p.refusal} when the documents lack the answer` : 'no refusal option', p.proof && 'asks for a Proof: line', `"${firstSentence(p.text)}"`]),
      ]);
    case 'formats':
      return FORMAT_NAMES.map((name) => {
        const f: DatasetFormat = FORMATS[name];
        return [name, join([f.ownCorpus ? 'brings its own corpus (no dataset.corpus)' : 'the corpus comes from dataset.corpus', 'mapped' in f && 'a preset of the field mapping: takes dataset.fields (items carrying their passages build the corpus) and dataset.shape', f.takesSplit && 'takes dataset.split'])];
      });
    case 'retrievers':
      return (Object.keys(RETRIEVERS) as (keyof typeof RETRIEVERS)[]).map((name) => {
        const r = RETRIEVERS[name];
        const own = Object.keys(r.settings);
        return [name, join([r.needsCorpus ? 'needs a corpus' : 'needs no corpus', r.needsEmbedder ? 'needs retrieval.dense (an embedding model)' : 'no embedding model', own.length > 0 && `settings: ${own.map((k) => `retrieval.${k}`).join(', ')}`])];
      });
    case 'contexts':
      return (Object.keys(CONTEXT_MODES) as ContextMode[]).map((name) => {
        const c = CONTEXT_MODES[name];
        return [name, join([yesNo(c.inGrid, 'grid `context:` value', 'not named in the grid (comes from closed-book instructions)'), c.showsDocuments ? 'shows documents' : 'shows no documents', c.showsDocuments && (c.needsRetriever(1) ? 'retrieves' : 'needs no retriever at k=1')])];
      });
    case 'metrics':
      return (Object.keys(METRICS) as (keyof typeof METRICS)[]).map((name) => {
        const m = METRICS[name];
        return [name, join([m.label, `${m.kind} over ${SUBSETS[m.over].label}`, m.higherIsBetter ? 'higher is better' : 'lower is better'])];
      });
    case 'backends':
      return BACKEND_NAMES.map((name) => {
        const fields = Object.keys(BACKENDS[name].settings.shape).filter((k) => k !== 'backend');
        return [name, join([name === DEFAULT_BACKEND && 'the default', `model fields: ${fields.join(', ')}`])];
      });
  }
}

export function runListCommand(options: { table: string }, out: Writable): void {
  if (!(LIST_TABLES as readonly string[]).includes(options.table)) throw new InputError(`list: unknown table \`${options.table}\`; tables: ${LIST_TABLES.join(', ')}`);
  const rows = listTable(options.table as ListTable);
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, line] of rows) out.write(`${name.padEnd(width)}  ${line}\n`);
}
