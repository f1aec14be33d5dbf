// Writing files safely, and saying what is wrong when a place cannot be written: the one home of
// ragtax's output-path errors. A path that cannot be used as given (a file where a folder is
// needed, a missing folder, a place where nothing can be created) is an InputError (exit 2); a write
// that fails (a full disk, an I/O error, no permission) is a RuntimeFailure (exit 3). Both name the
// path and say what is wrong.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, RagtaxError, RuntimeFailure } from '../errors.js';

/**
 * The temporary names of ragtax's atomic writes, left behind when a process is killed before its
 * rename: `<name>.tmp-<pid>` (writeAtomically) and `<name>.<pid>.<ms>.tmp` (index files and
 * folders). Nothing else is ever taken for one.
 */
export function isAtomicLeftover(name: string): boolean {
  return /^.+\.tmp-\d+$/.test(name) || /^.+\.\d+\.\d+\.tmp$/.test(name);
}

/** Removes the leftovers of killed atomic writes (files or folders) directly inside `dir`. */
export async function removeAtomicLeftovers(dir: string, only?: (name: string) => boolean): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (isAtomicLeftover(name) && (!only || only(name))) await rm(path.join(dir, name), { recursive: true, force: true }).catch(() => {});
  }
}

const codeOf = (error: unknown): string | undefined => (error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined);

/** The nearest existing ancestor of `file` that is not a folder (what ENOTDIR is about), if any. */
function fileInTheWay(file: string): string | undefined {
  for (let p = path.dirname(file); p !== path.dirname(p); p = path.dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      // missing: look further up
    }
  }
  return undefined;
}

/** What a failed write (or create) means for the user, or null when it is not a file-system problem they can act on. */
function writeProblem(file: string, error: unknown): RagtaxError | null {
  const code = codeOf(error);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new RuntimeFailure(`${file}: cannot write: the disk is full (${code}); free some space and try again`);
    case 'EACCES':
    case 'EPERM':
      return new RuntimeFailure(`${file}: cannot write: permission denied (${code})`);
    case 'EROFS':
      return new RuntimeFailure(`${file}: cannot write: the file system is read-only (EROFS)`);
    case 'EIO':
      return new RuntimeFailure(`${file}: cannot write: input/output error (EIO): the disk or network file system failed`);
    case 'EISDIR':
      return new InputError(`${file}: is a directory; name a file to write`);
    case 'ENOTDIR': {
      const blocker = fileInTheWay(file);
      return new InputError(`${file}: ${blocker ?? 'a part of the path'} is a file, not a directory`);
    }
    case 'ENOENT': {
      const dir = path.dirname(file);
      if (!existsSync(dir)) return new InputError(`${file}: the folder ${dir} does not exist; create it first`);
      return new RuntimeFailure(`${file}: cannot create a file in ${dir} (a read-only or special file system)`);
    }
    default:
      return null;
  }
}

/** `error` as a message naming `file` when it is a file-system failure (full disk, read-only, ...); otherwise `error` itself. */
export function writeFailure(file: string, error: unknown): unknown {
  if (error instanceof RagtaxError) return error;
  return writeProblem(file, error) ?? error;
}

/** Checks, before any work, that `file` can be a file to write: not a folder, in a folder that exists. */
export async function checkFileTarget(file: string): Promise<void> {
  const target = await stat(file).catch(() => null);
  if (target?.isDirectory()) throw new InputError(`${file}: is a directory; name a file to write`);
  const dir = path.dirname(file);
  const parent = await stat(dir).catch((error: unknown) => {
    throw writeProblem(file, error) ?? error;
  });
  if (!parent.isDirectory()) throw new InputError(`${file}: ${dir} is a file, not a directory`);
}

/**
 * Writes `file` through a temporary name and a rename, so that a crash never leaves a file that looks
 * complete but is not; a failed write removes its temporary file and names `file`. An existing file
 * that is not a regular file (a device, a pipe: /dev/stdout) is written in place, never replaced.
 * Leftovers of earlier killed writes of the same file are removed once it is written. `content`:
 * the text, or pieces of it, written one after another (a large page is not joined first).
 */
export async function writeAtomically(file: string, content: string | readonly string[]): Promise<void> {
  await checkFileTarget(file);
  const target = await stat(file).catch(() => null);
  if (target && !target.isFile()) {
    await writeFile(file, content).catch((error: unknown) => {
      throw writeFailure(file, error);
    });
    return;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {});
    throw writeFailure(file, error);
  }
  const base = path.basename(file);
  await removeAtomicLeftovers(path.dirname(file), (name) => name.startsWith(`${base}.tmp-`) && /^\d+$/.test(name.slice(base.length + 5)));
}

/**
 * `mkdir -p dir`, one level at a time. Node's own recursive mkdir spins forever where a file system
 * answers ENOENT for a folder whose parent exists (/proc, some FUSE mounts); here that is an error.
 * Errors keep their code and name the level that failed.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir);
    return;
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') {
      if (statSync(dir).isDirectory()) return;
      throw error;
    }
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir || existsSync(parent)) throw error;
  }
  makeDirs(path.dirname(dir));
  mkdirSync(dir);
}

/** What stopped `dir` from being created, in words, and the exit code it deserves. */
function directoryProblem(dir: string, error: unknown): { reason: string; exitCode: 2 | 3 } | null {
  const code = codeOf(error);
  const failed = (error as NodeJS.ErrnoException).path ?? dir;
  const level = failed === dir ? '' : ` (at ${failed})`;
  switch (code) {
    case 'EEXIST':
      return { reason: failed === dir ? 'is a file, not a directory' : `${failed} is a file, not a directory`, exitCode: 2 };
    case 'ENOTDIR':
      return { reason: `${fileInTheWay(dir) ?? 'a part of the path'} is a file, not a directory`, exitCode: 2 };
    case 'ENOENT':
      return { reason: `cannot create a directory here${level}: a read-only or special file system`, exitCode: 2 };
    case 'EACCES':
    case 'EPERM':
      return { reason: `cannot create a directory here${level}: permission denied (${code})`, exitCode: 2 };
    case 'EROFS':
      return { reason: `cannot create a directory here${level}: the file system is read-only (EROFS)`, exitCode: 2 };
    case 'ENOSPC':
    case 'EDQUOT':
      return { reason: `cannot create a directory here${level}: the disk is full (${code})`, exitCode: 3 };
    case 'EIO':
      return { reason: `cannot create a directory here${level}: input/output error (EIO)`, exitCode: 3 };
    default:
      return null;
  }
}

/**
 * Creates the folder `dir` (and its parents) or throws one message naming it: `label` says how the
 * user gave it (e.g. "--out ", "RAGTAX_CACHE_DIR="), shown before the path; `hint` after the reason.
 */
export function makeDirectory(dir: string, { label = '', hint = '' }: { label?: string; hint?: string } = {}): void {
  try {
    makeDirs(dir);
  } catch (error) {
    const problem = directoryProblem(dir, error);
    if (!problem) throw error;
    const message = `${label}${dir}: ${problem.reason}${hint}`;
    throw problem.exitCode === 2 ? new InputError(message) : new RuntimeFailure(message);
  }
}
