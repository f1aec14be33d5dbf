// The manifest's git fields come from one `git status --porcelain=v2 --branch`: checked against
// git's own plumbing (rev-parse, and the v1 porcelain for dirtiness) in this checkout, and in
// scratch repositories: clean, dirty, with only an untracked file, and without a commit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gitState, gitStateOf, PACKAGE_ROOT, startGitState } from '../../src/rundir/git-state.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const hasGit = (() => {
  try {
    git(os.tmpdir(), '--version');
    return true;
  } catch {
    return false;
  }
})();

const isCheckout = (() => {
  try {
    git(PACKAGE_ROOT, 'rev-parse', 'HEAD');
    return true;
  } catch {
    return false;
  }
})();

test("this checkout: git's revision and dirtiness", { skip: isCheckout ? false : 'not a git checkout with a commit' }, async () => {
  const state = await gitState();
  assert.deepEqual(state, { revision: git(PACKAGE_ROOT, 'rev-parse', 'HEAD').trim(), dirty: git(PACKAGE_ROOT, 'status', '--porcelain', '--untracked-files=no').trim() !== '' });
});

test('startGitState: the next gitState takes its answer, once; later calls ask git again', { skip: isCheckout ? false : 'not a git checkout with a commit' }, async () => {
  const expected = { revision: git(PACKAGE_ROOT, 'rev-parse', 'HEAD').trim(), dirty: git(PACKAGE_ROOT, 'status', '--porcelain', '--untracked-files=no').trim() !== '' };
  startGitState();
  startGitState(); // a second start while one is pending starts nothing new
  const early = gitState();
  const later = gitState();
  assert.notEqual(early, later, 'the started answer is taken once');
  assert.deepEqual(await early, expected);
  assert.deepEqual(await later, expected);
});

test('scratch repositories: clean, dirty, untracked only, and no commit yet', { skip: hasGit ? false : 'git is not installed' }, async () => {
  // gitState reads the checkout ragtax runs from; the scratch cases call it with that folder swapped in.
  const repo = mkdtempSync(path.join(os.tmpdir(), 'ragtax-git-'));
  git(repo, 'init', '-q');
  assert.equal(await gitStateOf(repo), null, 'no commit: no revision');
  writeFileSync(path.join(repo, 'a.txt'), 'one\n');
  git(repo, 'add', 'a.txt');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'first');
  const head = git(repo, 'rev-parse', 'HEAD').trim();
  assert.deepEqual(await gitStateOf(repo), { revision: head, dirty: false });
  writeFileSync(path.join(repo, 'untracked.txt'), 'x\n');
  assert.deepEqual(await gitStateOf(repo), { revision: head, dirty: false }, 'untracked files do not make it dirty');
  writeFileSync(path.join(repo, 'a.txt'), 'two\n');
  assert.deepEqual(await gitStateOf(repo), { revision: head, dirty: true });
  assert.equal(await gitStateOf(path.join(os.tmpdir())), null, 'not a repository');
});
