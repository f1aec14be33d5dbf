// What a run was made from: enough to reproduce it and to refuse comparing unlike runs.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sha256File, sha256Json } from '../util/hash.js';
import type { Manifest } from './types.js';

/** The ragtax package root (src/rundir or dist/rundir → two levels up). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const RECORDED_PACKAGES = ['@huggingface/transformers', 'onnxruntime-node', 'onnxruntime-common', 'minisearch', 'zod', 'yaml'];

async function packageVersion(name: string): Promise<string | null> {
  try {
    const json = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return typeof json.version === 'string' ? json.version : null;
  } catch {
    return null;
  }
}

/**
 * The checkout's revision and whether it is dirty (tracked files changed), from one `git status`
 * (porcelain v2 gives the commit in its `# branch.oid` header). A run starts this first and hands
 * the promise to `baseManifest`, so that git runs on another core while the run loads its data
 * (two git processes, one after the other, cost 30 ms of a warm re-run). Never rejects.
 */
export function gitState(): Promise<Manifest['git']> {
  return gitStateOf(PACKAGE_ROOT);
}

/** `gitState` of the checkout at `folder`. */
export async function gitStateOf(folder: string): Promise<Manifest['git']> {
  const git = promisify(execFile);
  try {
    const { stdout } = await git('git', ['status', '--porcelain=v2', '--branch', '--untracked-files=no'], { cwd: folder });
    const lines = stdout.split('\n');
    const revision = lines.find((line) => line.startsWith('# branch.oid '))?.slice('# branch.oid '.length).trim();
    // `(initial)`: a repository without a commit has no revision to record.
    if (revision === undefined || !/^[0-9a-f]{40,64}$/.test(revision)) return null;
    return { revision, dirty: lines.some((line) => line !== '' && !line.startsWith('#')) };
  } catch {
    return null; // not a git checkout (an installed package) or git missing
  }
}

// Deliberately no environment variables: secrets live there and a manifest is shared.
export async function baseManifest(args: {
  suiteFile: string;
  suiteSha256: string;
  config: unknown;
  dataFiles: string[];
  seed: number;
  /** `gitState()`, when the caller started it earlier. */
  git?: Promise<Manifest['git']>;
}): Promise<Manifest> {
  const own = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const packages: Record<string, string | null> = {};
  for (const name of RECORDED_PACKAGES) packages[name] = await packageVersion(name);
  const data: Record<string, string> = {};
  for (const file of args.dataFiles) data[file] = await sha256File(file);
  const cpus = os.cpus();
  return {
    ragtax: own.version,
    suite: { file: args.suiteFile, sha256: args.suiteSha256, configSha256: sha256Json(args.config) },
    command: process.argv.slice(2),
    node: process.version,
    packages,
    git: await (args.git ?? gitState()),
    host: {
      platform: process.platform,
      arch: process.arch,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    },
    models: {},
    data,
    seeds: { suite: args.seed, fewShot: args.seed, bootstrap: args.seed },
    startedAt: new Date().toISOString(),
  };
}
