// What a run was made from: enough to reproduce it and to refuse comparing unlike runs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ModelFingerprint } from '../types.js';
import type { ResumeEntry } from './resume.js';

/** The ragtax package root (src/run or dist/run → two levels up). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const RECORDED_PACKAGES = ['@huggingface/transformers', 'onnxruntime-node', 'onnxruntime-common', 'minisearch', 'zod', 'yaml'];

export interface Manifest {
  ragtax: string;
  suite: { file: string; sha256: string; configSha256: string };
  command: string[];
  node: string;
  packages: Record<string, string | null>;
  git: { revision: string; dirty: boolean } | null;
  host: { platform: string; arch: string; cpus: number; cpuModel: string; memoryGiB: number };
  models: Record<string, ModelFingerprint & { formats: string[]; dtype: string; device: string }>;
  data: Record<string, string>;
  seeds: { suite: number; fewShot: number; bootstrap: number };
  startedAt: string;
  finishedAt?: string;
  /** One entry per `--resume` of this run (absent for a run that was never interrupted). */
  resumed?: ResumeEntry[];
  /** The generation cache file used, or null with --no-cache. */
  generationCache?: string | null;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256Json(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

async function packageVersion(name: string): Promise<string | null> {
  try {
    const json = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return typeof json.version === 'string' ? json.version : null;
  } catch {
    return null;
  }
}

async function gitState(): Promise<Manifest['git']> {
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
    git: await gitState(),
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
