// The byte-level BPE bound that lets the openai backend skip counting prompts that clearly fit
// (src/models/openai/token-bound.ts): the bound is never below the real count (property test over
// real tokenizers, with and without a BOS and an NFKC normaliser), how a tokenizer is recognised
// (tokenizer.json, or a server's /tokenize token strings), and that a run's count skips /tokenize
// for prompts that fit, counts the others, and counts everything when asked for exact counts.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { openModel } from '../../src/models/backends.js';
import {
  BYTE_LEVEL_PROBE,
  byteLevelOfTokenizerJson,
  byteLevelOfTokenStrings,
  byteLevelSpelling,
  tokenUpperBound,
  type ByteBound,
} from '../../src/models/openai/token-bound.js';
import type { DecodingParams, GenerationRequest } from '../../src/types.js';
import { completion, json, modelsList, ROOT, testServer, TINY_CHAT, type TestServer } from './helpers.js';

// The organism's byte-level BPE (a real vocabulary with merges); the fixture's where it is absent.
const ORGANISM = path.join(ROOT, 'models/quennland-instruct');
const tokenizerSource = existsSync(path.join(ORGANISM, 'tokenizer.json')) ? ORGANISM : TINY_CHAT;
const greedy = (maxNewTokens: number): DecodingParams => ({ maxNewTokens, stop: [], temperature: 0, repetitionPenalty: 1, seed: 3 });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bound-'));
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * A tokenizer folder from the fixture's tokenizer, optionally made to add a BOS to raw prompts (as
 * Llama's does) and to normalise with NFKC (which can turn 3 bytes into 12: ㍿ → 株式会社).
 */
function tokenizerFolder(name: string, change: { bos?: boolean; normalizer?: unknown }): string {
  const folder = path.join(tmp, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(tokenizerSource, file), path.join(folder, file));
  const file = path.join(folder, 'tokenizer.json');
  const t = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (change.bos) {
    const bos = { SpecialToken: { id: '<|endoftext|>', type_id: 0 } };
    t.post_processor = {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] } },
    };
  }
  if (change.normalizer !== undefined) t.normalizer = change.normalizer;
  writeFileSync(file, JSON.stringify(t));
  return folder;
}

async function tokenizerOf(folder: string): Promise<PreTrainedTokenizer> {
  env.allowLocalModels = true;
  return AutoTokenizer.from_pretrained(folder, { local_files_only: true });
}

describe('the byte-level bound', () => {
  it('spells bytes in GPT-2 alphabet', () => {
    assert.equal(byteLevelSpelling('a b\n'), 'aĠbĊ');
    assert.equal(byteLevelSpelling('é'), 'Ã©');
    assert.equal(byteLevelSpelling('\u00ad'), 'ÂŃ', 'a soft hyphen is two bytes, the second unprintable (U+0143)');
  });

  it('recognises a byte-level BPE in tokenizer.json, and only that', () => {
    const bpe = (extra: Record<string, unknown>) => ({ model: { type: 'BPE' }, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false }, normalizer: null, ...extra });
    assert.deepEqual(byteLevelOfTokenizerJson(bpe({})), { normalForm: null });
    assert.deepEqual(byteLevelOfTokenizerJson(bpe({ normalizer: { type: 'NFC' } })), { normalForm: 'NFC' });
    assert.deepEqual(byteLevelOfTokenizerJson(bpe({ normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }] } })), { normalForm: 'NFKC' });
    // Llama 3: a regex Split, then ByteLevel without its own regex.
    assert.deepEqual(byteLevelOfTokenizerJson(bpe({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split' }, { type: 'ByteLevel', use_regex: false }] } })), { normalForm: null });
    assert.match((byteLevelOfTokenizerJson(bpe({ normalizer: { type: 'Lowercase' } })) as { reason: string }).reason, /beyond one Unicode normal form/);
    // SentencePiece-style BPE (Llama 2, Mistral v0.1): a prepended ▁ and byte fallback, no ByteLevel.
    assert.match((byteLevelOfTokenizerJson(bpe({ pre_tokenizer: { type: 'Metaspace' } })) as { reason: string }).reason, /no ByteLevel/);
    assert.match((byteLevelOfTokenizerJson({ model: { type: 'Unigram' } }) as { reason: string }).reason, /Unigram, not BPE/);
    assert.match((byteLevelOfTokenizerJson({ model: { type: 'WordPiece' }, pre_tokenizer: { type: 'ByteLevel' } }) as { reason: string }).reason, /not BPE/);
  });

  const cases: { name: string; change: { bos?: boolean; normalizer?: unknown }; bound: ByteBound }[] = [
    { name: 'plain', change: {}, bound: { normalForm: null, specialTokens: 0, decidedBy: 'tokenizer.json' } },
    { name: 'bos-nfkc', change: { bos: true, normalizer: { type: 'NFKC' } }, bound: { normalForm: 'NFKC', specialTokens: 1, decidedBy: 'tokenizer.json' } },
  ];
  for (const c of cases) {
    it(`is never below the real count (${c.name} tokenizer, raw and chat prompts)`, async () => {
      const tokenizer = await tokenizerOf(tokenizerFolder(`prop-${c.name}`, c.change));
      const pieces = fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.constantFrom('<|im_start|>user\n', '<|im_end|>', '<|endoftext|>', '㍿', '\uFB01', 'e\u0301', '  \n\t', '😀', 'Quennland', ' 1234567'),
      );
      fc.assert(
        fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
          const text = parts.join('');
          for (const chat of [false, true]) {
            const count = chat ? tokenizer.encode(text, { add_special_tokens: false }).length : tokenizer.encode(text).length;
            const bound = tokenUpperBound(c.bound, text, chat);
            if (count > bound) throw new Error(`${JSON.stringify(text)} (chat ${chat}): ${count} tokens > bound ${bound}`);
          }
        }),
        { numRuns: 300, seed: 21 },
      );
    });
  }

  it('without the normal form or the BOS the bound would be wrong: both are needed', async () => {
    const tokenizer = await tokenizerOf(tokenizerFolder('need-nfkc', { bos: true, normalizer: { type: 'NFKC' } }));
    const text = '㍿㍿㍿㍿';
    const count = tokenizer.encode(text).length;
    assert.ok(count > tokenUpperBound({ normalForm: null, specialTokens: 1, decidedBy: 'tokenizer.json' }, text, false), `NFKC grows ${text} to ${count} tokens`);
    assert.ok(count <= tokenUpperBound({ normalForm: 'NFKC', specialTokens: 1, decidedBy: 'tokenizer.json' }, text, false));
    const ascii = 'abc';
    assert.equal(tokenUpperBound({ normalForm: 'NFKC', specialTokens: 1, decidedBy: 'tokenizer.json' }, ascii, false), 3 + 1 + 1);
    assert.equal(tokenUpperBound({ normalForm: 'NFKC', specialTokens: 1, decidedBy: 'tokenizer.json' }, ascii, true), 3 + 1, 'a rendered chat prompt gets no special tokens');
  });

  it("recognises a byte-level BPE and its normal form from a server's token strings", async () => {
    const plain = await tokenizerOf(tokenizerFolder('strings-plain', {}));
    assert.equal(byteLevelOfTokenStrings(plain.tokenize(BYTE_LEVEL_PROBE)), null);
    const nfc = await tokenizerOf(tokenizerFolder('strings-nfc', { normalizer: { type: 'NFC' } }));
    assert.equal(byteLevelOfTokenStrings(nfc.tokenize(BYTE_LEVEL_PROBE)), 'NFC');
    const nfkd = await tokenizerOf(tokenizerFolder('strings-nfkd', { normalizer: { type: 'NFKD' } }));
    assert.equal(byteLevelOfTokenStrings(nfkd.tokenize(BYTE_LEVEL_PROBE)), 'NFKD');
    const lower = await tokenizerOf(tokenizerFolder('strings-lower', { normalizer: { type: 'Lowercase' } }));
    assert.equal(byteLevelOfTokenStrings(lower.tokenize(BYTE_LEVEL_PROBE)), undefined, 'lowercasing is not a normal form');
    // SentencePiece spells words with ▁ and bytes as <0x0A>: not byte-level.
    assert.equal(byteLevelOfTokenStrings(['▁Rag', 'tax', '▁probe', ':', '<0x0A>']), undefined);
    assert.equal(byteLevelOfTokenStrings(undefined), undefined);
    assert.equal(byteLevelOfTokenStrings([1, 2]), undefined);
  });
});

describe('openai backend: prompts that provably fit are not counted', () => {
  let tokenizer: PreTrainedTokenizer;
  let bosTokenizer: PreTrainedTokenizer;
  before(async () => {
    tokenizer = await tokenizerOf(tokenizerFolder('server-plain', {}));
    bosTokenizer = await tokenizerOf(tokenizerFolder('server-bos', { bos: true, normalizer: { type: 'NFC' } }));
  });

  /** vLLM's /tokenize: count, tokens, max_model_len, token_strs when asked, add_special_tokens honoured. */
  async function vllmLike(t: () => PreTrainedTokenizer, options: { tokenStrings: boolean; maxModelLen: number }): Promise<TestServer> {
    const s = await testServer((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, modelsList('m', { max_model_len: options.maxModelLen }));
      if (req.url === '/tokenize') {
        const prompt = String(req.body?.prompt);
        const tokens = t().encode(prompt, { add_special_tokens: req.body?.add_special_tokens !== false });
        const strings = options.tokenStrings && req.body?.return_token_strs === true ? { token_strs: t().tokenize(prompt) } : {};
        return json(res, 200, { count: tokens.length, tokens, max_model_len: options.maxModelLen, ...strings });
      }
      json(res, 200, completion('ok'));
    });
    servers.push(s);
    return s;
  }
  const spec = (s: TestServer, extra: Record<string, unknown> = {}) => ({ backend: 'openai' as const, name: 'm', endpoints: [s.url], model: 'm', retryBaseMs: 5, retryMaxMs: 20, ...extra });
  const tokenizeCalls = (s: TestServer) => s.requests.filter((r) => r.url === '/tokenize').length;

  it('skips /tokenize for prompts whose bytes + special tokens + max_tokens fit; counts the rest exactly', async () => {
    const s = await vllmLike(() => bosTokenizer, { tokenStrings: true, maxModelLen: 64 });
    const model = await openModel(spec(s));
    const details = model.fingerprint.details!.promptTokenBound as Record<string, unknown>;
    assert.deepEqual(details, { applied: true, rule: 'byte-level BPE: UTF-8 bytes + 1 + special tokens', normalForm: 'NFC', specialTokens: 1, decidedBy: 'server /tokenize token strings' });
    const atOpen = tokenizeCalls(s);
    const short = 'Where is the tower?'; // 19 bytes + 1 + 1 BOS + 16 ≤ 64: fits
    const long = 'The tower of Quennland stands on the hill. '.repeat(2); // 86 bytes: counted
    const requests: GenerationRequest[] = [
      { prompt: short, decoding: greedy(16) },
      { prompt: long, decoding: greedy(16) },
      { prompt: short, decoding: greedy(60) }, // the bound + 60 exceeds 64: counted
      { prompt: '', messages: [{ role: 'user', content: short }], decoding: greedy(4) }, // the server renders messages: counted
    ];
    const counts = await model.countRequestTokens!(requests);
    assert.equal(counts[0], null, 'not counted: it provably fits');
    assert.equal(counts[1], bosTokenizer.encode(long).length);
    assert.equal(counts[2], bosTokenizer.encode(short).length);
    assert.equal(typeof counts[3], 'number');
    assert.equal(tokenizeCalls(s) - atOpen, 3, 'one /tokenize per counted prompt, none for the one that fits');
    // `ragtax prompts` asks for every count.
    const exact = await model.countRequestTokens!(requests.slice(0, 1), { exact: true });
    assert.deepEqual(exact, [bosTokenizer.encode(short).length]);
    await model.dispose();
  });

  it('counts every prompt when the server gives no token strings (the tokenizer is unknown)', async () => {
    const s = await vllmLike(() => tokenizer, { tokenStrings: false, maxModelLen: 4096 });
    const model = await openModel(spec(s));
    assert.equal((model.fingerprint.details!.promptTokenBound as { applied: boolean }).applied, false);
    const atOpen = tokenizeCalls(s);
    const counts = await model.countRequestTokens!([{ prompt: 'a b c', decoding: greedy(4) }]);
    assert.deepEqual(counts, [tokenizer.encode('a b c').length]);
    assert.equal(tokenizeCalls(s) - atOpen, 1);
    await model.dispose();
  });

  it('applies the bound of a local byte-level tokenizer (tokenizer.json) without encoding the prompt', async () => {
    const folder = tokenizerFolder('local-bos', { bos: true });
    const s = await vllmLike(() => tokenizer, { tokenStrings: false, maxModelLen: 48 });
    const model = await openModel(spec(s, { tokenizer: folder }));
    assert.deepEqual(model.fingerprint.details!.promptTokenBound, { applied: true, rule: 'byte-level BPE: UTF-8 bytes + 1 + special tokens', normalForm: null, specialTokens: 1, decidedBy: 'tokenizer.json' });
    const long = 'x y '.repeat(20);
    const counts = await model.countRequestTokens!([
      { prompt: 'short', decoding: greedy(8) },
      { prompt: long, decoding: greedy(8) },
    ]);
    assert.equal(counts[0], null, 'not encoded: it provably fits');
    assert.equal(counts[1], model.countTokens(long), 'too long for the bound: encoded');
    assert.equal(tokenizeCalls(s), 0, 'a local tokenizer never asks the server');
    await model.dispose();
  });
});
