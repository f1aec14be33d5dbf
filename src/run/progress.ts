// Progress with ETA on stderr. On a terminal a live bar; elsewhere (CI logs) a line every few
// seconds, which cli-progress does itself with `noTTYOutput`.
import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, label: string): void;
  label(label: string): void;
  increment(n: number): void;
  stop(): void;
  log(message: string): void;
}

export function createProgress(quiet: boolean): Progress {
  if (quiet) {
    return { start() {}, label() {}, increment() {}, stop() {}, log() {} };
  }
  const stream = process.stderr;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'ragtax |{bar}| {value}/{total} samples | {percentage}% | ETA {eta_formatted} | {label}',
      etaBuffer: 50,
      hideCursor: stream.isTTY === true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let active = false;
  return {
    start(total, label) {
      bar.start(total, 0, { label });
      active = true;
    },
    label(label) {
      if (active) bar.update({ label });
    },
    increment(n) {
      bar.increment(n);
    },
    stop() {
      if (active) bar.stop();
      active = false;
    },
    log(message) {
      if (active && stream.isTTY) {
        // Keep the bar intact: clear its line, print, and let the next update redraw it.
        stream.write(`\r\x1b[K${message}\n`);
      } else {
        stream.write(`${message}\n`);
      }
    },
  };
}
