// Loading: folder validation, devices, offline ids, fingerprints and the registry switch.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { loadModel, type ModelSpec } from '../../src/models/backends.js';
import { loadTransformersModel } from '../../src/models/transformers/engine.js';
import { copyFixture, greedy, REPO_ROOT, removeFolder, TINY_BASE, TINY_CHAT } from './helpers.js';

/** Asserts an InputError whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

async function withCopy(source: string, edit: (folder: string) => void, check: (folder: string) => Promise<void>): Promise<void> {
  const folder = copyFixture(source);
  try {
    edit(folder);
    await check(folder);
  } finally {
    removeFolder(folder);
  }
}

describe('transformers backend: folder validation', () => {
  it('names the folder and the missing onnx/model.onnx', async () => {
    await withCopy(TINY_BASE, (f) => rmSync(path.join(f, 'onnx/model.onnx')), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), new RegExp(escape(f)), /missing onnx\/model\.onnx/, /dtype fp32/);
    });
  });

  it('says which dtypes a folder has when the requested one is missing', async () => {
    await rejectsWith(loadTransformersModel({ name: 'm', source: TINY_BASE, dtype: 'q8' }), /missing onnx\/model_quantized\.onnx/, /this folder has dtype fp32/);
    await rejectsWith(loadTransformersModel({ name: 'm', source: TINY_BASE, dtype: 'q3' }), /unknown dtype 'q3'/);
  });

  it('rejects a missing config, tokenizer or folder', async () => {
    await withCopy(TINY_BASE, (f) => rmSync(path.join(f, 'config.json')), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /missing config\.json/);
    });
    await withCopy(TINY_BASE, (f) => rmSync(path.join(f, 'tokenizer.json')), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /missing tokenizer\.json/);
    });
    await rejectsWith(loadTransformersModel({ name: 'm', source: path.join(TINY_BASE, 'nope') }), /does not exist/);
  });

  it('rejects an unparsable config, one without model_type and a non-decoder', async () => {
    const configPath = (f: string) => path.join(f, 'config.json');
    const config = JSON.parse(readFileSync(configPath(TINY_BASE), 'utf8')) as Record<string, unknown>;
    await withCopy(TINY_BASE, (f) => writeFileSync(configPath(f), '{"model_type": "llama",'), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /config\.json: not valid JSON/);
    });
    await withCopy(TINY_BASE, (f) => writeFileSync(configPath(f), JSON.stringify({ ...config, model_type: undefined })), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /no "model_type"/);
    });
    await withCopy(TINY_BASE, (f) => writeFileSync(configPath(f), JSON.stringify({ ...config, model_type: 'bert', architectures: ['BertModel'] })), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /no causal LM/);
    });
    await withCopy(TINY_BASE, (f) => writeFileSync(configPath(f), JSON.stringify({ ...config, model_type: 't5', is_encoder_decoder: true })), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /encoder-decoder/);
    });
    await withCopy(TINY_BASE, (f) => writeFileSync(configPath(f), JSON.stringify({ ...config, model_type: 'no-such-architecture' })), async (f) => {
      await rejectsWith(loadTransformersModel({ name: 'm', source: f }), /cannot load/, /no-such-architecture/);
    });
  });

  it('refuses a Hugging Face id that is not cached while remote loading is off', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'ragtax-cache-'));
    try {
      await rejectsWith(
        loadTransformersModel({ name: 'smol', source: 'HuggingFaceTB/SmolLM-135M', cacheDir }),
        /not a local folder and is not in the model cache/,
        /`allow_remote: true`/,
      );
    } finally {
      removeFolder(cacheDir);
    }
  });
});

describe('transformers backend: devices', () => {
  const cudaProvider = path.join(REPO_ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
  it('reports an unavailable cuda device with how to get it, never falling back to cpu', { skip: existsSync(cudaProvider) && 'the CUDA provider is installed here' }, async () => {
    await rejectsWith(
      loadTransformersModel({ name: 'm', source: TINY_BASE, device: 'cuda' }),
      /device 'cuda' is unavailable/,
      /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/,
      /CUDA 12 and cuDNN 9/,
    );
  });

  it('refuses devices other than cpu, cuda and webgpu (no auto)', async () => {
    await rejectsWith(loadTransformersModel({ name: 'm', source: TINY_BASE, device: 'auto' as 'cpu' }), /unknown device 'auto'/);
  });
});

describe('transformers backend: fingerprint', () => {
  it('hashes every file the model loads, stably', async () => {
    const first = await loadTransformersModel({ name: 'a', source: TINY_BASE });
    const second = await loadTransformersModel({ name: 'b', source: TINY_BASE });
    const chat = await loadTransformersModel({ name: 'c', source: TINY_CHAT });
    try {
      assert.deepEqual(second.fingerprint, first.fingerprint);
      assert.equal(first.fingerprint.source, TINY_BASE);
      assert.deepEqual(
        first.fingerprint.files.map((f) => f.path),
        ['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json'],
      );
      for (const file of first.fingerprint.files) {
        const bytes = readFileSync(path.join(TINY_BASE, file.path));
        assert.equal(file.bytes, bytes.length);
        assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'));
      }
      const byPath = (files: typeof first.fingerprint.files, p: string) => files.find((f) => f.path === p)?.sha256;
      assert.equal(byPath(chat.fingerprint.files, 'onnx/model.onnx'), byPath(first.fingerprint.files, 'onnx/model.onnx'));
      assert.notEqual(byPath(chat.fingerprint.files, 'tokenizer_config.json'), byPath(first.fingerprint.files, 'tokenizer_config.json'));
    } finally {
      await Promise.all([first.dispose(), second.dispose(), chat.dispose()]);
    }
  });
});

describe('model registry', () => {
  it('loads the transformers backend and refuses unknown backends', async () => {
    const model = await loadModel({ backend: 'transformers', name: 'tiny', source: TINY_BASE });
    try {
      assert.equal(model.name, 'tiny');
      const [result] = await model.generator.generate([{ prompt: 'hello', decoding: greedy(3) }]);
      assert.equal(result!.completionTokens, 3);
    } finally {
      await model.dispose();
    }
    await rejectsWith(loadModel({ backend: 'tensorrt', name: 'x', source: TINY_BASE } as unknown as ModelSpec), /unknown backend 'tensorrt'/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
