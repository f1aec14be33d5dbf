// useAtomicMarking: a process that churns through external memory (as onnxruntime's outputs do)
// marks incrementally by default and atomically once it is called.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const GC_MODULE = pathToFileURL(path.resolve(import.meta.dirname, '../../src/runtime/gc.ts')).href;

/**
 * --trace-gc output of a child that allocates 3,000 ArrayBuffers of 1 MB and keeps the latest 48
 * alive for a while, so they reach the old generation, like a KV cache held across decoding steps.
 */
function traceGc(callFirst: boolean): string {
  const script = `
    ${callFirst ? `const { useAtomicMarking } = await import(${JSON.stringify(GC_MODULE)}); useAtomicMarking();` : ''}
    const ring = [];
    for (let i = 0; i < 3000; i++) { const a = new Float32Array(262144); a[0] = i; ring.push(a); if (ring.length > 48) ring.shift(); }
    console.log(ring.length);`;
  return execFileSync(process.execPath, ['--trace-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe('useAtomicMarking', () => {
  it('stops V8 from marking incrementally under external-memory churn', () => {
    const before = traceGc(false);
    assert.match(before, /incremental marking/, 'the default process marks incrementally');
    const after = traceGc(true);
    assert.match(after, /Mark-Compact/, 'the child still collects its old generation');
    assert.doesNotMatch(after, /incremental marking/);
  });
});
