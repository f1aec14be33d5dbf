// Opening a local model builds no tokenizer once its BOS rule is remembered: a warm run that finds
// every generation in the cache never encodes. Checked in child processes (the rule is read from
// the cache folder, and tokenizers are shared within a process): the first open builds the
// tokenizer and records the rule; the next open builds none and gives the same prompt stack; the
// first count builds it and gives the eager tokenizer's ids. And on every folder the tests know
// (fixtures, organism, the shared real families), the lazily built tokenizer encodes and decodes
// as @huggingface/tokenizers built by the test from the same files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { loadFolderTokenizer, openFolderTokenizer } from '../../src/models/transformers/tokenizer.js';
import { MIXED_PROMPTS, REPO_ROOT, TINY_BASE, TINY_CHAT } from './helpers.js';

const ORGANISM = path.join(REPO_ROOT, 'models/quennland-instruct');
const ENGINE = path.join(REPO_ROOT, 'src/models/transformers/engine.ts');
const TOKENIZER = path.join(REPO_ROOT, 'src/models/transformers/tokenizer.ts');

/** Opens the organism in a fresh process; optionally counts a prompt's tokens after. */
function openInChild(cacheDir: string, count: boolean): { built: number; builtAfterCount: number | null; promptStack: unknown; tokens: number | null } {
  const script = `
    import { openTransformersModel } from ${JSON.stringify(ENGINE)};
    import { folderTokenizersBuilt } from ${JSON.stringify(TOKENIZER)};
    const model = await openTransformersModel({ name: 'm', source: ${JSON.stringify(ORGANISM)} });
    const built = folderTokenizersBuilt();
    const tokens = ${count} ? model.countTokens('Question: who founded Vyvim?\\nAnswer:') : null;
    process.stdout.write(JSON.stringify({ built, builtAfterCount: ${count} ? folderTokenizersBuilt() : null, promptStack: model.promptStack, tokens }));
    await model.dispose();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: cacheDir } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { built: number; builtAfterCount: number | null; promptStack: unknown; tokens: number | null };
}

test('the second open of a model builds no tokenizer; the first count builds it, with the eager ids', async () => {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-lazy-tok-'));
  const first = openInChild(cacheDir, false);
  assert.equal(first.built, 1, 'no rule recorded yet: the tokenizer is built to find it');
  assert.ok(existsSync(path.join(cacheDir, 'tokenizers')) && readdirSync(path.join(cacheDir, 'tokenizers')).length === 1, 'the rule is recorded');
  const second = openInChild(cacheDir, true);
  assert.equal(second.built, 0, 'the rule is remembered: nothing built at open');
  assert.deepEqual(second.promptStack, first.promptStack);
  assert.equal(second.builtAfterCount, 1, 'counting builds it');
  const eager = await loadFolderTokenizer(ORGANISM, 'm');
  assert.equal(second.tokens, eager.encode('Question: who founded Vyvim?\nAnswer:').length);
});

const SHARED = path.resolve(REPO_ROOT, '../shared/fixtures/chat-templates');
const shared = existsSync(SHARED)
  ? readdirSync(SHARED)
      .map((name) => path.join(SHARED, name))
      .filter((folder) => statSync(folder).isDirectory() && existsSync(path.join(folder, 'tokenizer.json')))
  : [];

test('built lazily, every known tokenizer encodes and decodes as @huggingface/tokenizers built from the same files', async () => {
  for (const folder of [TINY_BASE, TINY_CHAT, ORGANISM, ...shared]) {
    const config = JSON.parse(readFileSync(path.join(folder, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    const reference = new Tokenizer(JSON.parse(readFileSync(path.join(folder, 'tokenizer.json'), 'utf8')), config);
    const { tokenizer: lazy } = await openFolderTokenizer(folder, 'm');
    assert.deepEqual(lazy.config, config, folder);
    for (const text of MIXED_PROMPTS.slice(0, 4)) {
      assert.deepEqual(lazy.encode(text), reference.encode(text, { add_special_tokens: true }).ids, `${folder}: ${JSON.stringify(text)}`);
      assert.deepEqual(lazy.encode(text, { add_special_tokens: false }), reference.encode(text, { add_special_tokens: false }).ids, folder);
      const ids = lazy.encode(text);
      // (A fixture whose vocabulary was cut, command-r's, gives no ids for these texts: nothing to decode.)
      if (ids.length > 0 && ids.every(Number.isInteger)) assert.equal(lazy.decode(ids), reference.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: null }), folder);
    }
    const eos = typeof config.eos_token === 'string' ? config.eos_token : (config.eos_token as { content?: string } | undefined)?.content;
    if (eos) assert.equal(lazy.eos_token_id, reference.token_to_id(eos) ?? null, folder);
  }
});

test('a tokenizer.json that is not JSON fails at first use, naming the model and the file', async () => {
  const { copyFileSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-lazy-bad-'));
  copyFileSync(path.join(TINY_CHAT, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  writeFileSync(path.join(dir, 'tokenizer.json'), '{ not json');
  const { tokenizer } = await openFolderTokenizer(dir, 'broken');
  assert.throws(() => tokenizer.encode('x'), /model 'broken': cannot load the tokenizer from .*tokenizer\.json: /);
});
