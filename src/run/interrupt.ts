// Ctrl-C, SIGTERM and SIGHUP during a command that writes results: the command's `stop` closes what
// it has open and says what was kept; then the process exits with 128 + the signal's number (130,
// 143, 129), as a shell reports a process the signal ended. A second signal exits at once.
import { messageOf } from '../errors.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof SIGNALS)[number];
export const SIGNAL_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Longest wait for `stop` (a samples file on a hung network disk must not keep the process alive). */
const STOP_TIMEOUT_MS = 10_000;

let stopping = false;

/** Whether a signal is being handled: the process is about to exit, and other errors are not reported. */
export function interrupted(): boolean {
  return stopping;
}

/**
 * Until the returned function is called, SIGINT, SIGTERM or SIGHUP runs `stop` (which returns the
 * message to print) and exits with the signal's code.
 */
export function onInterrupt(stop: (signal: StopSignal) => Promise<string>): () => void {
  const handler = (signal: StopSignal) => {
    const code = SIGNAL_EXIT_CODES[signal];
    if (stopping) process.exit(code);
    stopping = true;
    void (async () => {
      let message: string;
      try {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${STOP_TIMEOUT_MS / 1000} s`)), STOP_TIMEOUT_MS);
        });
        message = await Promise.race([stop(signal), timeout]).finally(() => clearTimeout(timer));
      } catch (error) {
        message = `interrupted (${signal}); could not close the run cleanly: ${messageOf(error)}`;
      }
      // A progress bar on a terminal: leave its line, show the cursor again.
      const prefix = process.stderr.isTTY ? '\r\x1b[K\x1b[?25h' : '';
      process.stderr.write(`${prefix}${message}\n`, () => process.exit(code));
    })();
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of SIGNALS) process.off(signal, handler);
  };
}

/** `word` as a shell would need it typed (quoted when it holds anything but plain path characters). */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
