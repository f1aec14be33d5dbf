// The CPU cores this process may use: the default thread count of every in-process backend
// (onnxruntime's intra-op pool, llama.cpp's threads).
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The CPU cores this process may use, and how many of them are physical cores (no SMT siblings). */
export interface CpuCores {
  available: number;
  physical: number;
}

/**
 * Linux: the affinity mask (os.availableParallelism) and the cgroup CPU quota (a container limited
 * to 2 CPUs on a 64-core host sees 64 cores otherwise) bound the available cores; /proc/cpuinfo's
 * distinct (physical id, core id) pairs give the physical ones, as llama.cpp counts its "math
 * cores". Elsewhere every available core counts as physical.
 */
export function cpuCores(): CpuCores {
  let available = os.availableParallelism();
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    const cpus = Number(quota) / Number(period);
    if (Number.isFinite(cpus) && cpus > 0) available = Math.min(available, Math.max(1, Math.ceil(cpus)));
  } catch {
    // no cgroup v2 quota (or not Linux): the affinity mask is the limit
  }
  let physical = available;
  try {
    const cores = new Set<string>();
    for (const block of readFileSync('/proc/cpuinfo', 'utf8').split(/\n\s*\n/)) {
      const socket = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
      const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
      if (socket !== undefined && core !== undefined) cores.add(`${socket}:${core}`);
    }
    if (cores.size > 0) physical = Math.min(cores.size, available);
  } catch {
    // not Linux: no SMT information without native code
  }
  return { available, physical };
}

/** The default thread count of an in-process backend: the physical cores this process may use. */
export function defaultThreads(cores: CpuCores = cpuCores()): number {
  return Math.max(1, Math.min(cores.physical, cores.available));
}
