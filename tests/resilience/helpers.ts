// Shared by the resilience tests: the CLI as a child process and a scratch copy of the tiny suite.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'bin/ragtax.js');
export const TINY_SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function ragtaxSync(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ragtax(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A scratch folder with a copy of the tiny suite whose data files are local copies (so a case may
 * break them) and whose models point at the fixtures (or at copies, with `copyModels`).
 */
export function scratchSuite(prefix: string, opts: { copyModels?: boolean } = {}): { dir: string; suite: string; data: string; models: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ragtax-${prefix}-`));
  const data = path.join(dir, 'data');
  mkdirSync(data);
  cpSync(path.join(ROOT, 'tests/fixtures/data'), data, { recursive: true });
  const models = opts.copyModels ? path.join(dir, 'models') : path.join(ROOT, 'tests/fixtures/models');
  if (opts.copyModels) cpSync(path.join(ROOT, 'tests/fixtures/models'), models, { recursive: true });
  const suite = path.join(dir, 'suite.yaml');
  writeFileSync(
    suite,
    readFileSync(TINY_SUITE, 'utf8')
      .replace(/\.\.\/data\//g, 'data/')
      .replace(/\.\.\/models\//g, `${models}/`),
  );
  return { dir, suite, data, models };
}

export function editFile(file: string, edit: (text: string) => string): void {
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
}

/** No stack trace lines in a CLI message. */
export const STACK = /\n\s+at [^\n]+\(|\n\s+at file:/;
