// Every kind of bad input, through the real CLI: one clear message naming the file, line or field
// and what is allowed; exit 2; no stack trace; no summary.json that would look like a result.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { editFile, ragtax, ROOT, scratchSuite, STACK } from './helpers.js';

interface Case {
  name: string;
  copyModels?: boolean;
  /** Breaks the scratch copy; returns extra CLI arguments, if any. */
  setup: (s: ReturnType<typeof scratchSuite>) => string[] | void;
  code?: number;
  message: RegExp[];
}

const cases: Case[] = [
  {
    name: 'malformed YAML',
    setup: (s) => editFile(s.suite, (t) => t.replace('seed: 7', 'seed: [7')),
    message: [/suite\.yaml:\d+: invalid YAML/],
  },
  {
    name: 'a YAML alias without its anchor',
    setup: (s) => editFile(s.suite, (t) => t.replace('seed: 7', 'seed: *seed')),
    message: [/suite\.yaml: invalid YAML: Unresolved alias/],
  },
  {
    name: 'a misspelt suite field',
    setup: (s) => editFile(s.suite, (t) => t.replace('  max_new_tokens: 6', '  max_new_token: 6')),
    message: [/suite\.yaml:\d+: unknown field `max_new_token` in `decoding` \(did you mean `max_new_tokens`\?\); allowed: /],
  },
  {
    name: 'a field with a value that is not allowed',
    setup: (s) => editFile(s.suite, (t) => t.replace('format: ragtax', 'format: ragtx')),
    message: [/suite\.yaml:5: field `dataset\.format` got "ragtx"; allowed: "ragtax", "nq-open", "litm", "mapped", "squad2", "beir"/],
  },
  {
    name: 'a missing suite file',
    setup: (s) => rmSync(s.suite),
    message: [/suite\.yaml: suite file not found/],
  },
  {
    name: 'a missing data file',
    setup: (s) => rmSync(path.join(s.data, 'qa.jsonl')),
    message: [/qa\.jsonl: file not found/],
  },
  {
    name: 'a corrupt JSONL line',
    setup: (s) => editFile(path.join(s.data, 'qa.jsonl'), (t) => t.replace('{"id": "q3"', '{"id": "q3",,')),
    message: [/qa\.jsonl:3: invalid JSON/],
  },
  {
    name: 'an item with no answers',
    setup: (s) => editFile(path.join(s.data, 'qa.jsonl'), (t) => t.replace('"answers": ["Paris"], "gold_doc_ids": ["d2"]', '"answers": [], "gold_doc_ids": ["d2"]')),
    message: [/qa\.jsonl:2: field `answers`: expected a non-empty array of strings/],
  },
  {
    name: 'duplicate item ids',
    setup: (s) => editFile(path.join(s.data, 'qa.jsonl'), (t) => t.replace('"id": "q4"', '"id": "q2"')),
    message: [/qa\.jsonl:4: duplicate item id `q2` \(first at line 2\)/],
  },
  {
    name: 'duplicate document ids',
    setup: (s) => editFile(path.join(s.data, 'corpus.jsonl'), (t) => t.replace('"id": "d3"', '"id": "d1"')),
    message: [/corpus\.jsonl:3: duplicate document id `d1` \(first at line 1\)/],
  },
  {
    name: 'an empty corpus',
    setup: (s) => writeFileSync(path.join(s.data, 'corpus.jsonl'), '\n'),
    message: [/corpus\.jsonl: the corpus is empty/],
  },
  {
    name: 'k larger than the corpus',
    setup: (s) => editFile(s.suite, (t) => t.replace('k: [1, 2]', 'k: [1, 20]')),
    message: [/suite\.yaml: k = 20 is larger than the corpus \(8 documents\)/],
  },
  {
    name: 'a model folder missing a file',
    copyModels: true,
    setup: (s) => rmSync(path.join(s.models, 'tiny-chat/tokenizer.json')),
    message: [/tiny-chat: missing tokenizer\.json \(a model folder needs config\.json, tokenizer\.json, tokenizer_config\.json and onnx\/model/],
  },
  {
    name: 'a model folder with missing weights',
    copyModels: true,
    setup: (s) => rmSync(path.join(s.models, 'tiny-base/onnx/model.onnx')),
    message: [/tiny-base: missing onnx\/model\.onnx, the ONNX weights for dtype fp32/],
  },
  {
    name: 'a model with a wrong config',
    copyModels: true,
    setup: (s) => editFile(path.join(s.models, 'tiny-base/config.json'), (t) => t.replace('LlamaForCausalLM', 'LlamaForSequenceClassification')),
    message: [/tiny-base\/config\.json: architectures \["LlamaForSequenceClassification"\] name no causal LM/],
  },
  {
    name: 'a model folder that does not exist',
    setup: (s) => editFile(s.suite, (t) => t.replace('tiny-chat', 'tiny-chatt')),
    message: [/model 'instruct': model folder .*tiny-chatt does not exist/],
  },
  {
    name: 'chat format on a model without a chat template',
    setup: (s) => editFile(s.suite, (t) => t.replace(/(path: \S+tiny-base)\n/, '$1\n    formats: [raw, chat]\n')),
    message: [/model `base` has no chat_template in its tokenizer_config\.json, so format `chat` is not possible; use format `raw` for it/],
  },
  {
    name: 'a suite name that would escape the output folder',
    setup: (s) => editFile(s.suite, (t) => t.replace('name: tiny-e2e', 'name: ../../escaped')),
    message: [/suite\.yaml:2: field `name` letters, digits, `\.`, `_` and `-` only/],
  },
  {
    name: 'a model name that would escape the output folder',
    setup: (s) => editFile(s.suite, (t) => t.replace('  base:\n', '  ../base:\n').replace('base: base', 'base: ../base')),
    message: [/field `models\.\.\.\/base` letters, digits/],
  },
  {
    name: 'a Hugging Face id without allow_remote',
    setup: (s) => editFile(s.suite, (t) => t.replace(/path: \S+tiny-base/, 'hf_id: some-org/some-model')),
    message: [/model 'base': 'some-org\/some-model' is not a local folder and is not in the model cache .* Remote loading is off: set `allow_remote: true` for this model/],
  },
  {
    name: '--resume without --out',
    setup: () => ['--resume'],
    message: [/--resume needs --out/],
  },
  {
    name: '--limit 0',
    setup: () => ['--limit', '0'],
    message: [/--limit must be a whole number ≥ 1/],
  },
  {
    name: '--resume into a folder that is not a run',
    setup: (s) => {
      const other = path.join(s.dir, 'not-a-run');
      mkdirSync(other);
      writeFileSync(path.join(other, 'notes.txt'), 'mine');
      return ['--resume', '--out', other];
    },
    message: [/not-a-run: cannot resume: no run\.json in this directory/],
  },
];

test('bad input: one message, exit 2, no stack trace, nothing that looks like a result', async () => {
  // Two at a time: each case is a short-lived CLI process.
  const queue = [...cases];
  const failures: string[] = [];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const s = scratchSuite('bad', { copyModels: c.copyModels });
      const out = path.join(s.dir, 'out');
      const extra = c.setup(s) ?? [];
      // A case that names --resume chooses its own --out (or none).
      const args = ['run', s.suite, '--quiet', '--no-cache', ...(extra.includes('--resume') ? extra : ['--out', out, ...extra])];
      const r = await ragtax(args, { RAGTAX_CACHE_DIR: path.join(s.dir, 'cache') });
      try {
        assert.equal(r.code, c.code ?? 2, `exit code\n${r.stderr}`);
        for (const m of c.message) assert.match(r.stderr, m);
        assert.doesNotMatch(r.stderr, STACK, 'no stack trace without --debug');
        assert.doesNotMatch(r.stderr, /internal error/);
        if (existsSync(out)) assert.ok(!readdirSync(out).includes('summary.json'), 'no summary.json after a failure');
      } catch (error) {
        failures.push(`${c.name}: ${(error as Error).message}`);
      } finally {
        rmSync(s.dir, { recursive: true, force: true });
      }
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(failures, []);
});

test('--debug adds the stack trace', async () => {
  const r = await ragtax(['run', path.join(ROOT, 'no-such-suite.yaml'), '--debug']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^ragtax: .*no-such-suite\.yaml: suite file not found\n/);
  assert.match(r.stderr, /\n\s+at /);
});
