// Errors a user can act on. The CLI prints `message` alone (no stack unless --debug) and exits
// with `exitCode`: 2 for bad usage or input, 3 for runtime failures.

export class RagtaxError extends Error {
  constructor(
    message: string,
    readonly exitCode: 2 | 3,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: a suite, a data file, a model folder or a command-line argument. */
export class InputError extends RagtaxError {
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * A chat template refused the messages (its own `raise_exception`, e.g. "System role not
 * supported") or dropped one of them. An input error: the model's template and the suite's prompts
 * do not fit; `serve` answers it with 400.
 */
export class TemplateError extends InputError {}

/** Something failed while running (a backend, the file system). */
export class RuntimeFailure extends RagtaxError {
  constructor(message: string) {
    super(message, 3);
  }
}

/** `file:line: message` (line omitted when unknown). */
export function at(file: string, line: number | undefined, message: string): string {
  return line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`;
}

/** The message of anything thrown (an Error's message, or the value as text). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A generator call that failed part-way: `finished[i]` holds the result of request i where it
 * completed before the failure (undefined where not). Thrown by backends that generate requests
 * independently (an HTTP server), so that a caller can keep what was paid for (the generation
 * cache stores it) before the `cause` stops the run.
 */
export class PartialGenerationError<Result = unknown> extends Error {
  constructor(
    readonly finished: (Result | undefined)[],
    override readonly cause: unknown,
  ) {
    super(messageOf(cause));
    this.name = 'PartialGenerationError';
  }
}
