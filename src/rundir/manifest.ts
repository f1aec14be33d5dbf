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
 * The checkout's revision and whether it is dirty. A run starts this first and hands the promise to
 * `baseManifest`, so that the two git processes run on another core while it loads its data (30 ms
 * of a warm re-run otherwise). Never rejects.
 */
export async function gitState(): Promise<Manifest['git']> {
  const git = promisify(execFile);
  try {
    const { stdout: revision } = await git('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT });
    const { stdout: status } = await git('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PACKAGE_ROOT });
    return { revision: revision.trim(), dirty: status.trim().length > 0 };
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
