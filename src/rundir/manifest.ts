// What a run was made from: enough to reproduce it and to refuse comparing unlike runs.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sha256File, sha256Json } from '../util/hash.js';
import { gitState, PACKAGE_ROOT } from './git-state.js';
import type { Manifest } from './types.js';

const RECORDED_PACKAGES = ['@huggingface/transformers', 'onnxruntime-node', 'onnxruntime-common', 'minisearch', 'zod', 'yaml'];

async function packageVersion(name: string): Promise<string | null> {
  try {
    const json = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return typeof json.version === 'string' ? json.version : null;
  } catch {
    return null;
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
