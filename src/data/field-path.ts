// The path syntax of a dataset's `fields:` mapping (docs/datasets.md, "Paths"): where in one record
// a field's value sits. `answers`, `gold.text`, `ctxs[0].title`, `answers_objects[].spans[]`,
// `["odd key"]`, `$.title` (from the record, inside a passage mapping) and a trailing `?` (may be
// absent). A path that matches nothing is reported with the record's actual keys, never as empty.
import { closest, distance } from 'fastest-levenshtein';

type Step = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'each' };

export interface FieldPath {
  /** The path as written. */
  text: string;
  steps: Step[];
  /** `$...`: starts at the record, not at the passage (passage sub-mappings only). */
  fromRecord: boolean;
  /** Trailing `?`: a missing key or a null on the way means "absent", not an error. */
  optional: boolean;
  /** The path has a `[]`, so it may give any number of values. */
  many: boolean;
  /** Every step is a key (no list steps). */
  keysOnly: boolean;
}

/** One value a path reached, and where (`answers_objects[1].spans[0]`). */
export interface PathValue {
  value: unknown;
  at: string;
}

/** Why a path reached nothing: the location it stopped at and what was there instead. */
export class PathMiss {
  constructor(
    /** The location that is missing or of the wrong kind, e.g. `answers_objects[1].spans`. */
    readonly at: string,
    /** What went wrong there: "`answers_objects[1]` has no key `spans`; its keys: ... (did you mean ...)", "is null". */
    readonly problem: string,
    /** `missing`: no such key or element; `null`: a null on the way; `kind`: a value of the wrong kind. */
    readonly reason: 'missing' | 'null' | 'kind',
  ) {}
}

const NAME = /^[^.[\]?$"\s][^.[\]?"]*/;

/** Parses a path; throws an Error whose message says what is wrong and what is allowed. */
export function parseFieldPath(text: string, opts: { allowRecord?: boolean } = {}): FieldPath {
  let rest = text.trim();
  const optional = rest.endsWith('?');
  if (optional) rest = rest.slice(0, -1);
  let fromRecord = false;
  if (rest.startsWith('$')) {
    if (!opts.allowRecord) throw new Error(`\`${text}\`: \`$\` (the record) is only for the paths inside a \`passages\` mapping`);
    fromRecord = true;
    rest = rest.slice(1);
    if (rest.startsWith('.')) rest = rest.slice(1);
  }
  const steps: Step[] = [];
  let first = true;
  while (rest.length > 0) {
    if (rest.startsWith('[')) {
      const close = rest.startsWith('["') ? closingQuote(rest) : rest.indexOf(']');
      if (close < 0) throw new Error(`\`${text}\`: \`[\` without its \`]\``);
      const inner = rest.slice(1, close);
      if (inner === '') steps.push({ kind: 'each' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (inner.startsWith('"')) steps.push({ kind: 'key', key: JSON.parse(inner) as string });
      else throw new Error(`\`${text}\`: \`[${inner}]\` is not \`[]\`, \`[N]\` or \`["key"]\``);
      rest = rest.slice(close + 1);
    } else {
      if (!first) {
        if (!rest.startsWith('.')) throw new Error(`\`${text}\`: expected \`.\` or \`[\` before \`${rest}\``);
        rest = rest.slice(1);
      }
      const name = NAME.exec(rest)?.[0];
      if (name === undefined) throw new Error(`\`${text}\`: expected a key name at \`${rest || '(end)'}\``);
      steps.push({ kind: 'key', key: name });
      rest = rest.slice(name.length);
    }
    first = false;
  }
  if (steps.length === 0 && !fromRecord) throw new Error(`\`${text}\`: an empty path`);
  return { text: text.trim(), steps, fromRecord, optional, many: steps.some((s) => s.kind === 'each'), keysOnly: steps.every((s) => s.kind === 'key') };
}

/** Index of the `]` closing a `["..."]` that starts `text`, or -1. */
function closingQuote(text: string): number {
  for (let i = 2; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return text[i + 1] === ']' ? i + 1 : -1;
  }
  return -1;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  return `a ${typeof value}`;
}

function join(at: string, step: Step, index?: number): string {
  if (step.kind === 'key') return /^[A-Za-z_][\w-]*$/.test(step.key) ? (at ? `${at}.${step.key}` : step.key) : `${at}[${JSON.stringify(step.key)}]`;
  return `${at}[${index ?? (step.kind === 'index' ? step.index : '')}]`;
}

/** "its keys: a, b (did you mean `x`?)" for a missing key. */
function keysHint(object: object, key: string): string {
  const keys = Object.keys(object);
  if (keys.length === 0) return 'it has no keys';
  const shown = keys.length > 20 ? `${keys.slice(0, 20).join(', ')}, ... (${keys.length} keys)` : keys.join(', ');
  const near = closest(key, keys);
  const hint = distance(key, near) <= Math.max(2, Math.floor(key.length / 2)) ? ` (did you mean \`${near}\`?)` : '';
  return `its keys: ${shown}${hint}`;
}

/**
 * The values `path` reaches from `start` (a record, or a passage: `record` is then what `$` names).
 * `[]` over an empty list reaches nothing, which is not a miss (the list is there); a missing key,
 * an index past the end, a null or a value of the wrong kind on the way is a PathMiss, returned
 * rather than thrown so the caller can name its file, record and field. An optional path gives []
 * for a missing key or null. `base` is the location of `start` (`ctxs[3]`); `track: false` skips
 * building locations (the trusted fast path).
 */
export function resolvePath(path: FieldPath, start: unknown, record: unknown, base = '', track = true): PathValue[] | PathMiss {
  if (!track && path.keysOnly) {
    // The unchecked read of keys only (`question`, `gold.text`): a plain walk, no lists made.
    let value = path.fromRecord ? record : start;
    for (const step of path.steps) {
      const object = value as Record<string, unknown> | null | undefined;
      if (object === null || object === undefined || typeof object !== 'object' || !Object.hasOwn(object, (step as { key: string }).key)) {
        value = undefined;
        break;
      }
      value = object[(step as { key: string }).key];
    }
    if (value !== undefined || !path.optional) return [{ value, at: '' }];
    return [];
  }
  let current: PathValue[] = [{ value: path.fromRecord ? record : start, at: path.fromRecord ? '' : base }];
  const owner = (at: string) => (at === '' ? 'the record' : `\`${at}\``);
  for (const step of path.steps) {
    const next: PathValue[] = [];
    for (const { value, at } of current) {
      if (value === null || value === undefined) {
        if (path.optional) continue;
        return new PathMiss(at, 'is null', 'null');
      }
      if (step.kind === 'key') {
        if (typeof value !== 'object' || Array.isArray(value)) return new PathMiss(at, `is ${describe(value)}, not an object with key \`${step.key}\``, 'kind');
        if (!Object.hasOwn(value, step.key)) {
          if (path.optional) continue;
          return new PathMiss(track ? join(at, step) : '', `${owner(at)} has no key \`${step.key}\`; ${keysHint(value, step.key)}`, 'missing');
        }
        next.push({ value: (value as Record<string, unknown>)[step.key], at: track ? join(at, step) : '' });
      } else if (!Array.isArray(value)) {
        return new PathMiss(at, `is ${describe(value)}, not a list`, 'kind');
      } else if (step.kind === 'each') {
        value.forEach((v, i) => next.push({ value: v, at: track ? join(at, step, i) : '' }));
      } else {
        const i = step.index < 0 ? value.length + step.index : step.index;
        if (i < 0 || i >= value.length) {
          if (path.optional) continue;
          return new PathMiss(track ? join(at, step) : '', `${owner(at)} has ${value.length} element${value.length === 1 ? '' : 's'}`, 'missing');
        }
        next.push({ value: value[i], at: track ? join(at, step, i) : '' });
      }
    }
    current = next;
  }
  return current;
}
