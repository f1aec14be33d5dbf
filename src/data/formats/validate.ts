// Shared zod helpers for the format readers: one `file:line: field `x`: message` per issue.
import { z as zod, type z } from 'zod';
import { InputError, at } from '../../errors.js';
import { ExactInteger } from '../jsonl.js';

/** `answers`, `ctxs[2].title`: the path of a zod issue as a reader would write it. */
export function fieldPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** Parses `value` with `schema` or throws an InputError listing every issue (at most 10). */
export function parseOrThrow<S extends z.ZodTypeAny>(
  schema: S,
  value: unknown,
  file: string,
  line: number | undefined,
  where?: string,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.output<S>;
  const messages = result.error.issues.slice(0, 10).map((issue) => {
    const path = fieldPath([...(where ? [where] : []), ...issue.path]);
    return at(file, line, path ? `field \`${path}\`: ${issue.message}` : issue.message);
  });
  const more = result.error.issues.length - 10;
  if (more > 0) messages.push(`(${more} more issues)`);
  throw new InputError(messages.join('\n'));
}

/** Throws when an id appears twice, naming both lines. */
export class IdRegistry {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly file: string,
    private readonly what: string,
  ) {}

  add(id: string, line: number): void {
    const first = this.seen.get(id);
    if (first !== undefined) {
      throw new InputError(at(this.file, line, `duplicate ${this.what} id \`${id}\` (first at line ${first})`));
    }
    this.seen.set(id, line);
  }
}

/** A string field; `nonEmpty` rejects blank strings. Messages say what was expected. */
export function stringField(opts: { nonEmpty?: boolean } = {}): z.ZodType<string> {
  const base = zod.string({ required_error: 'missing (expected a string)', invalid_type_error: 'expected a string' });
  return opts.nonEmpty ? base.refine((s) => s.trim() !== '', { message: 'expected a non-empty string' }) : base;
}

/**
 * An id: a non-empty string, or an integer, which becomes its decimal string exactly as written (an
 * integer beyond ±2^53 arrives as an ExactInteger from the JSON reader, digits intact). A number
 * that is not a safe integer (written with an exponent or a fraction, e.g. `3.29e18`) may already
 * have lost digits: it is refused, with a hint to quote it.
 */
export const idField = zod
  .union([zod.string(), zod.number(), zod.instanceof(ExactInteger)], {
    errorMap: () => ({ message: 'expected a non-empty string or an integer' }),
  })
  .superRefine((v, ctx) => {
    if (typeof v === 'string') {
      if (v.trim() === '') ctx.addIssue({ code: 'custom', message: 'expected a non-empty string or an integer' });
    } else if (typeof v === 'number' && !Number.isInteger(v)) {
      ctx.addIssue({ code: 'custom', message: `expected a non-empty string or an integer, got ${v}` });
    } else if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `the id ${v} is a number more than 2^53 in magnitude, which JSON readers round (it may not be the id as written); quote it as a string`,
      });
    }
  })
  .transform((v) => (v instanceof ExactInteger ? v.text : String(v)));

/** `answers`: at least one answer, each a string that is not blank (a blank answer would match any text). */
export const answersField = zod.custom<string[]>(
  (v) => Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string' && a.trim() !== ''),
  { message: 'expected a non-empty array of strings' },
);

/** A JSON object with the given fields; unknown fields are ignored. */
export function record<S extends z.ZodRawShape>(shape: S) {
  return zod.object(shape, { invalid_type_error: 'expected a JSON object', required_error: 'expected a JSON object' });
}

/**
 * A passage score: a number or a numeric string (retrieval-results files write both). An integer
 * too long for a double is read as its nearest double: a score, unlike an id, needs no exact digits.
 */
export const scoreField = zod
  .union([zod.number(), zod.instanceof(ExactInteger), zod.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/)], {
    errorMap: () => ({ message: 'expected a number' }),
  })
  .transform((v) => Number(v instanceof ExactInteger ? v.text : v));

/** A yes/no field. */
export const booleanField = zod.boolean({ invalid_type_error: 'expected true or false', required_error: 'missing (expected true or false)' });
