// The committed tiny fixtures are exactly what tools/build-test-model.py writes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, removeFolder } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const hasOnnx = spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { stdio: 'ignore' }).status === 0;

function filesUnder(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(root, full) : [path.relative(root, full)];
  });
}

describe('tools/build-test-model.py', () => {
  it('rebuilds the committed fixtures byte for byte', { skip: !hasOnnx && `${PYTHON} with onnx and numpy is not available` }, () => {
    const out = mkdtempSync(path.join(tmpdir(), 'ragtax-fixtures-'));
    try {
      const run = spawnSync(PYTHON, [path.join(REPO_ROOT, 'tools/build-test-model.py'), out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      for (const name of ['tiny-base', 'tiny-chat']) {
        const committed = path.join(REPO_ROOT, 'tests/fixtures/models', name);
        const rebuilt = path.join(out, name);
        const files = filesUnder(committed).sort();
        assert.deepEqual(filesUnder(rebuilt).sort(), files);
        for (const file of files) {
          assert.ok(readFileSync(path.join(rebuilt, file)).equals(readFileSync(path.join(committed, file))), `${name}/${file} differs`);
        }
        const bytes = files.reduce((sum, file) => sum + statSync(path.join(committed, file)).size, 0);
        assert.ok(bytes < 1_000_000, `${name} is ${bytes} bytes`);
      }
    } finally {
      removeFolder(out);
    }
  });
});
