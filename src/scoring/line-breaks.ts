// The one set of line breaks every scorer splits on: CRLF as a unit, then LF, CR, LINE SEPARATOR,
// PARAGRAPH SEPARATOR and NEXT LINE on their own.

/** One line break. Not global, so it is safe to share across `split` calls. */
export const LINE_BREAK = /\r\n|[\n\r\u2028\u2029\u0085]/;
