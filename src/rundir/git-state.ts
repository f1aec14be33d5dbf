// The git state of ragtax's own checkout, for the run manifest. Kept apart from manifest.ts and
// free of ragtax imports, so that the CLI's entry (src/main.ts) can start it before it loads the rest.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The ragtax package root (src/rundir or dist/bundle → two levels up). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type GitState = { revision: string; dirty: boolean } | null;

/**
 * The checkout's revision and whether it is dirty (tracked files changed), from one `git status`
 * (porcelain v2 gives the commit in its `# branch.oid` header). Never rejects: null when `folder`
 * is not a checkout with a commit (an installed package) or git is missing.
 */
export async function gitStateOf(folder: string): Promise<GitState> {
  const git = promisify(execFile);
  try {
    const { stdout } = await git('git', ['status', '--porcelain=v2', '--branch', '--untracked-files=no'], { cwd: folder });
    const lines = stdout.split('\n');
    const revision = lines.find((line) => line.startsWith('# branch.oid '))?.slice('# branch.oid '.length).trim();
    // `(initial)`: a repository without a commit has no revision to record.
    if (revision === undefined || !/^[0-9a-f]{40,64}$/.test(revision)) return null;
    return { revision, dirty: lines.some((line) => line !== '' && !line.startsWith('#')) };
  } catch {
    return null;
  }
}

let started: Promise<GitState> | undefined;

/**
 * Starts `git status` of ragtax's checkout now; the next `gitState()` takes its answer.
 *
 * Why early: Node spawns a child by fork(), which marks every page of the parent copy-on-write, so
 * each page the parent writes afterwards takes a page fault (about 10 µs each on a 2-core VM). A
 * `run` that forked git once it held its suite, data and retriever paid ~2,900 such faults, 40–70 ms
 * of a 1.1 s warm quickstart; forked from the entry, before the CLI loads, ~1,300.
 */
export function startGitState(): void {
  started ??= gitStateOf(PACKAGE_ROOT);
}

/**
 * `gitStateOf` ragtax's own checkout. A run calls this first and hands the promise to
 * `baseManifest`, so that git runs on another core while the run loads its data. Takes the answer
 * `startGitState` started, once; later calls ask git again (a checkout can change between runs of
 * one process).
 */
export function gitState(): Promise<GitState> {
  const state = started ?? gitStateOf(PACKAGE_ROOT);
  started = undefined;
  return state;
}
