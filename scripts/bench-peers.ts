// Side-by-side peers: npx tsx scripts/bench-peers.ts [--rounds N] [--prompts-b1 N] [--prompts-b16 N]
//   [--new-tokens N] [--only ragtax,ort-raw,...] [--out DIR]
//
// ragtax's in-process generation against what else would run the same weights, in ALTERNATING
// passes (this VM's speed drifts by up to 2× within minutes, so only ratios from neighbouring
// passes mean anything): the organism `models/quennland-instruct`, the same RAG prompts (quennland
// questions with 3 documents, sorted by length as a run batches them), greedy, at most
// --new-tokens new tokens, each row stopping at end-of-sequence, at batch 1 and batch 16.
//
//   ragtax      the transformers backend's generate() (src/models/transformers: its own KV loop)
//   ort-raw     a bare onnxruntime-node greedy loop over the same model.onnx (below: no
//               transformers.js, only InferenceSession.run and an argmax): the floor
//   gguf        the gguf backend (node-llama-cpp) on models/gguf/quennland-instruct.gguf, the same
//               weights in F32, threads 1 (the fastest on this 2-core VM, see docs/backends.md)
//   torch       tools/peers_torch.py: Debian's python3-torch, eager, KV cache, the ONNX file's
//               weights loaded into tools/organism/model.py (its own process; loading not timed)
//
// plus the gguf backend's thread count (threads 1 against its default, the physical cores, in
// alternating passes at batch 1) and the HTTP ceiling: ragtax's openai backend against the zero-latency stub of
// scripts/bench-http.ts, the most samples/s ragtax can feed a server.
//
// Each pass is a few seconds; every figure is a median over --rounds rounds, and each ratio the
// median of the per-round ratios (ragtax's pass time / the peer's, > 1: ragtax faster). Agreement
// is the share of samples whose text equals ragtax's (the same work was done). Writes
// <out>/peers.md (default benchmarks/) with the load average before and after.

import { execFile, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Doc, GenerationRequest, LoadedModel } from '../src/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'models/quennland-instruct');
const GGUF = path.join(ROOT, 'models/gguf/quennland-instruct.gguf');
const PYTHON = '/usr/bin/python3';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const rounds = Number(arg('rounds', '3'));
const newTokens = Number(arg('new-tokens', '32'));
const promptsPerBatch: Record<number, number> = { 1: Number(arg('prompts-b1', '24')), 16: Number(arg('prompts-b16', '64')) };
const outDir = path.resolve(arg('out', path.join(ROOT, 'benchmarks')));
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');

interface Pass {
  seconds: number;
  samples: number;
  tokens: number;
  texts: string[];
}
type Peer = (batch: number, prompts: Prompt[]) => Promise<Pass>;
interface Prompt {
  text: string;
  ids: number[];
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
}

async function main(): Promise<void> {
  const { openTransformersModel } = await import('../src/models/transformers/engine.js');
  const { renderPrompt } = await import('../src/prompts/render.js');
  const { PRESETS } = await import('../src/prompts/presets.js');
  const { useAtomicMarking } = await import('../src/runtime/gc.js');
  useAtomicMarking(); // as the CLI does
  const loadBefore = load();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-peers-'));
  const eos = (JSON.parse(readFileSync(path.join(MODEL, 'generation_config.json'), 'utf8')) as { eos_token_id: number | number[] }).eos_token_id;
  const eosIds = Array.isArray(eos) ? eos : [eos];

  // ---- prompts: quennland questions with 3 documents, tokenised by the model's own tokenizer.
  const world = path.join(ROOT, 'corpora/quennland');
  const docs = readJsonl<Doc>(path.join(world, 'corpus.jsonl'));
  const items = readJsonl<{ question: string }>(path.join(world, 'qa.jsonl'));
  const ragtax16 = await openTransformersModel({ name: 'ragtax', source: MODEL, batchSize: 16 });
  const ragtax1 = await openTransformersModel({ name: 'ragtax', source: MODEL, batchSize: 1 });
  await ragtax16.load!();
  await ragtax1.load!();
  const maxPrompts = Math.max(...Object.values(promptsPerBatch));
  const all: Prompt[] = Array.from({ length: maxPrompts }, (_, i) => {
    const shown = [0, 1, 2].map((j) => docs[(i * 7 + j * 131) % docs.length]!);
    const text = renderPrompt({ instruction: PRESETS.nores!, cot: false, question: items[(i * 11) % items.length]!.question, docs: shown, exemplars: [] }, 'raw');
    return { text, ids: ragtax16.encode!(text) };
  });
  const sets: Record<number, Prompt[]> = Object.fromEntries(
    Object.entries(promptsPerBatch).map(([b, n]) => [b, all.slice(0, n).sort((a, c) => a.ids.length - c.ids.length)]),
  );
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const tokenizer = await AutoTokenizer.from_pretrained(MODEL, { local_files_only: true });
  /** A peer's new ids as text, up to its end-of-sequence (as ragtax's responses). */
  const decode = (ids: number[]) => {
    const cut = ids.findIndex((t) => eosIds.includes(t));
    return tokenizer.decode(cut >= 0 ? ids.slice(0, cut) : ids, { skip_special_tokens: true });
  };
  const greedy = { maxNewTokens: newTokens, stop: [], temperature: 0, repetitionPenalty: 1, seed: 1 };

  // ---- the peers
  const viaModel = (model: (batch: number) => LoadedModel): Peer => async (batch, prompts) => {
    const m = model(batch);
    const requests: GenerationRequest[] = prompts.map((p) => ({ prompt: p.text, decoding: greedy }));
    const started = performance.now();
    const results = [];
    // Calls of `batch` requests, as the runner hands them over.
    for (let i = 0; i < requests.length; i += batch) results.push(...(await m.generator.generate(requests.slice(i, i + batch))));
    return { seconds: (performance.now() - started) / 1000, samples: prompts.length, tokens: results.reduce((a, r) => a + r.completionTokens, 0), texts: results.map((r) => r.text) };
  };
  const ragtax: Peer = viaModel((b) => (b === 1 ? ragtax1 : ragtax16));

  const ort = (await import('onnxruntime-node')) as typeof import('onnxruntime-node');
  // The same thread pool as ragtax's session (the physical cores; onnxruntime-node's own default ran one thread here).
  const { transformersThreads } = await import('../src/models/transformers/settings.js');
  const session = await ort.InferenceSession.create(path.join(MODEL, 'onnx/model.onnx'), { intraOpNumThreads: transformersThreads(undefined), interOpNumThreads: 1 });
  const config = JSON.parse(readFileSync(path.join(MODEL, 'config.json'), 'utf8')) as { num_hidden_layers: number; num_key_value_heads: number; head_dim: number };
  /** The floor: left-padded greedy decoding with the KV cache, nothing but session.run and argmax. */
  const ortRaw: Peer = async (batch, prompts) => {
    const started = performance.now();
    const texts: string[] = [];
    let tokens = 0;
    for (let start = 0; start < prompts.length; start += batch) {
      const rows = prompts.slice(start, start + batch).map((p) => p.ids);
      const out = await ortGreedy(ort, session, config, rows, newTokens, eosIds);
      for (const ids of out) {
        tokens += ids.length;
        texts.push(decode(ids));
      }
    }
    return { seconds: (performance.now() - started) / 1000, samples: prompts.length, tokens, texts };
  };

  const peers: Record<string, Peer> = { ragtax, 'ort-raw': ortRaw };
  const skipped: string[] = [];
  const { ggufBackendAvailable, openGgufModel } = await import('../src/models/gguf/engine.js');
  const gguf: Record<number, LoadedModel> = {};
  if ((await ggufBackendAvailable()) && existsSync(GGUF)) {
    for (const b of [1, 16]) {
      gguf[b] = await openGgufModel({ name: 'gguf', source: GGUF, batchSize: b, threads: 1 });
      await gguf[b]!.load!();
    }
    peers.gguf = viaModel((b) => gguf[b]!);
  } else skipped.push('gguf (node-llama-cpp or the GGUF file is missing)');

  let torchInfo = '';
  const torchOk = await new Promise<boolean>((resolve) => execFile(PYTHON, ['-c', 'import torch, onnx, numpy'], (error) => resolve(!error)));
  if (torchOk) {
    peers.torch = async (batch, prompts) => {
      const file = path.join(tmp, `ids-${batch}.json`);
      writeFileSync(file, JSON.stringify(prompts.map((p) => p.ids)));
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(PYTHON, [path.join(ROOT, 'tools/peers_torch.py'), '--model', MODEL, '--requests', file, '--batch', String(batch), '--max-new', String(newTokens), '--eos', ...eosIds.map(String)], { maxBuffer: 64 * 2 ** 20 }, (error, out, err) =>
          error ? reject(new Error(`peers_torch.py: ${err || error.message}`)) : resolve(out),
        ),
      );
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; samples: number; tokens: number; threads: number; torch: string; outputs: number[][] };
      torchInfo = `torch ${r.torch}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`;
      return { seconds: r.seconds, samples: r.samples, tokens: r.tokens, texts: r.outputs.map(decode) };
    };
  } else skipped.push(`torch (${PYTHON} has no torch, onnx or numpy: apt-get install python3-torch python3-onnx)`);

  // ---- alternating passes
  const only = arg('only', '').split(',').filter(Boolean);
  const names = Object.keys(peers).filter((n) => only.length === 0 || n === 'ragtax' || only.includes(n));
  const passes: Record<number, Record<string, Pass[]>> = {};
  for (const batch of [1, 16]) {
    const prompts = sets[batch]!;
    passes[batch] = Object.fromEntries(names.map((n) => [n, []]));
    for (const n of names) await peers[n]!(batch, prompts.slice(0, batch)); // warm-up
    for (let round = 0; round < rounds; round++) {
      // Rotated order, so that no peer always runs right after the same one.
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const n of order) {
        const p = await peers[n]!(batch, prompts);
        passes[batch]![n]!.push(p);
        console.log(`batch ${batch} round ${round + 1} ${n}: ${(p.samples / p.seconds).toFixed(2)} samples/s, ${(p.tokens / p.seconds).toFixed(0)} tokens/s (load ${load()})`);
      }
    }
  }

  // ---- gguf threads: 1 against the default (the physical cores this process may use), batch 1.
  let threads: { default: number; perThreads: Record<number, number[]> } | undefined;
  if (peers.gguf) {
    const { cpuCores, resolveThreads } = await import('../src/models/gguf/settings.js');
    const byDefault = resolveThreads(undefined, cpuCores()).threads;
    if (byDefault > 1) {
      threads = { default: byDefault, perThreads: { 1: [], [byDefault]: [] } };
      const models: Record<number, LoadedModel> = {};
      for (const t of [1, byDefault]) {
        models[t] = await openGgufModel({ name: 'gguf', source: GGUF, batchSize: 1, threads: t });
        await models[t]!.load!();
      }
      const prompts = sets[1]!.slice(0, 8);
      for (let round = 0; round < 2; round++) {
        for (const t of round === 0 ? [1, byDefault] : [byDefault, 1]) {
          const p = await viaModel(() => models[t]!)(1, prompts);
          threads.perThreads[t]!.push(p.tokens / p.seconds);
          console.log(`gguf threads ${t} round ${round + 1}: ${(p.tokens / p.seconds).toFixed(0)} tokens/s (load ${load()})`);
        }
      }
      for (const m of Object.values(models)) await m.dispose();
    }
  }

  // ---- the HTTP ceiling: the openai backend against bench-http's zero-latency stub.
  const stub = fork(path.join(ROOT, 'scripts/bench-http.ts'), ['--stub'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let http: { samplesPerSecond: number; concurrency: number } | undefined;
  try {
    const port = await new Promise<number>((resolve) => stub.once('message', (m: unknown) => resolve((m as { port: number }).port)));
    const { openOpenAIModel } = await import('../src/models/openai/engine.js');
    const model = await openOpenAIModel({ name: 'stub', endpoints: [`http://127.0.0.1:${port}`], model: 'stub', concurrency: 8 });
    const requests: GenerationRequest[] = Array.from({ length: 6000 }, (_, i) => ({ prompt: all[i % all.length]!.text, decoding: greedy }));
    const drive = async (rs: GenerationRequest[]) => {
      await model.countRequestTokens!(rs);
      for (let i = 0; i < rs.length; i += 16) await model.generator.generate(rs.slice(i, i + 16));
    };
    await drive(requests.slice(0, 200));
    const started = performance.now();
    await drive(requests);
    http = { samplesPerSecond: requests.length / ((performance.now() - started) / 1000), concurrency: 8 };
    await model.dispose();
  } finally {
    stub.kill();
  }
  const loadAfter = load();

  // ---- figures
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const f = (x: number, d = 2) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const rows: string[] = [];
  for (const batch of [1, 16]) {
    const ours = passes[batch]!.ragtax!;
    for (const n of names) {
      const ps = passes[batch]![n]!;
      const ratio = median(ps.map((p, i) => p.seconds / ours[i]!.seconds));
      const agree = ps[0]!.texts.filter((t, i) => t === ours[0]!.texts[i]).length / ps[0]!.texts.length;
      rows.push(
        `| ${batch} | ${n} | ${f(median(ps.map((p) => p.samples / p.seconds)))} | ${f(median(ps.map((p) => p.tokens / p.seconds)), 0)} | ${n === 'ragtax' ? '1.00×' : `**${f(ratio)}×**`} | ${f(agree * 100, 0)}% |`,
      );
    }
  }
  const md = [
    '# Peers: ragtax against the same weights run otherwise',
    '',
    `${new Date().toISOString()}: \`npx tsx scripts/bench-peers.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\`. ${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} cores, Node ${process.version}${torchInfo ? `, ${torchInfo}` : ''}. Model \`models/quennland-instruct\` (the organism, 2.4M parameters); RAG prompts (quennland questions with 3 documents, ${f(all.reduce((a, p) => a + p.ids.length, 0) / all.length, 0)} tokens on average, sorted by length), greedy, at most ${newTokens} new tokens, each row stopping at end-of-sequence; ${promptsPerBatch[1]} prompts a pass at batch 1, ${promptsPerBatch[16]} at batch 16; ${rounds} rounds of alternating passes (order rotated each round).`,
    '',
    `Load average (1 / 5 / 15 min): before ${loadBefore}, after ${loadAfter}.`,
    '',
    '| batch | implementation | samples/s | tokens/s | slower than ragtax by | same text as ragtax |',
    '|---:|---|---:|---:|---:|---:|',
    ...rows,
    '',
    "Figures are medians over the rounds; \"slower than ragtax by\" is the median of the per-round ratios of pass times (the peer's / ragtax's: above 1, ragtax is faster; below 1, slower). `ort-raw` is a bare onnxruntime-node loop over the same `model.onnx` (the floor for this export); `gguf` is ragtax's gguf backend with `threads: 1`; `torch` is `tools/peers_torch.py` (eager PyTorch with a KV cache over the ONNX file's weights; its process start and weight loading are not timed).",
    '',
    `Threads: ragtax and \`ort-raw\` run onnxruntime with the same intra-op threads, the physical cores this process may use (${os.cpus().length} here at most; onnxruntime-node's own default ran one); \`gguf\` 1; \`torch\` its own default${torchInfo ? ` (${torchInfo.replace(/^torch [^,]*, /, '')})` : ''}. Threads that meet at a barrier after every operation lose the most when other processes hold the cores: with the load average above the core count, the multi-threaded paths are pessimistic and the ratios move; compare runs made at low load.`,
    '',
    ...(threads
      ? [
          `gguf threads at batch 1 (8 prompts, 2 alternating rounds, tokens/s): \`threads: 1\` ${threads.perThreads[1]!.map((x) => f(x, 0)).join(', ')}; \`threads: ${threads.default}\` (the default here: the physical cores) ${threads.perThreads[threads.default]!.map((x) => f(x, 0)).join(', ')}: one thread is **${f(median(threads.perThreads[1]!) / median(threads.perThreads[threads.default]!), 1)}×** faster for this model on this machine (see docs/backends.md, "When \`threads: 1\` is best").`,
          '',
        ]
      : []),
    http
      ? `HTTP ceiling: ragtax's openai backend (context check, then generate() in batches of 16, concurrency ${http.concurrency}) against a zero-latency stub in its own process: **${f(http.samplesPerSecond, 0)} samples/s**, far above what any of the in-process paths generate here, so a server's speed, not the harness, bounds an HTTP run (details: [http.md](http.md)).`
      : '',
    ...(skipped.length > 0 ? ['', `Not measured: ${skipped.join('; ')}.`] : []),
    '',
  ];
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'peers.md'), md.join('\n'));
  console.log(md.join('\n'));
  for (const m of [ragtax1, ragtax16, ...Object.values(gguf)]) await m.dispose();
  await session.release();
  rmSync(tmp, { recursive: true, force: true });
}

/** Left-padded greedy decoding with the KV cache over one onnxruntime session: new ids per row (through the first end-of-sequence). */
async function ortGreedy(
  ort: typeof import('onnxruntime-node'),
  session: import('onnxruntime-node').InferenceSession,
  config: { num_hidden_layers: number; num_key_value_heads: number; head_dim: number },
  rows: number[][],
  maxNew: number,
  eos: number[],
): Promise<number[][]> {
  const batch = rows.length;
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(batch * width);
  let mask = new BigInt64Array(batch * width);
  const positions = new BigInt64Array(batch * width);
  const lengths = rows.map((row, r) => {
    const offset = r * width + (width - row.length);
    row.forEach((t, i) => {
      ids[offset + i] = BigInt(t);
      mask[offset + i] = 1n;
      positions[offset + i] = BigInt(i);
    });
    return row.length;
  });
  const keep = new ort.Tensor('int64', BigInt64Array.of(1n), []);
  const empty = new Float32Array(0);
  let feeds: Record<string, import('onnxruntime-node').Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch, width]),
    attention_mask: new ort.Tensor('int64', mask, [batch, width]),
    position_ids: new ort.Tensor('int64', positions, [batch, width]),
    num_logits_to_keep: keep,
  };
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', empty, [batch, config.num_key_value_heads, 0, config.head_dim]);
  }
  const out: number[][] = rows.map(() => []);
  const done = rows.map(() => false);
  let total = width;
  for (let step = 0; step < maxNew; step++) {
    const result = await session.run(feeds);
    const logits = result.logits!.data as Float32Array;
    const vocab = result.logits!.dims.at(-1)!;
    const next = new BigInt64Array(batch);
    for (let r = 0; r < batch; r++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[r * vocab + v]! > logits[r * vocab + best]!) best = v;
      next[r] = BigInt(best);
      if (!done[r]) {
        out[r]!.push(best);
        done[r] = eos.includes(best);
      }
    }
    if (done.every(Boolean) || step + 1 === maxNew) break;
    const grown = new BigInt64Array(batch * (total + 1));
    for (let r = 0; r < batch; r++) {
      grown.set(mask.subarray(r * total, (r + 1) * total), r * (total + 1));
      grown[r * (total + 1) + total] = 1n;
    }
    mask = grown;
    total += 1;
    feeds = {
      input_ids: new ort.Tensor('int64', next, [batch, 1]),
      attention_mask: new ort.Tensor('int64', mask, [batch, total]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(lengths, (n) => BigInt(n + step)), [batch, 1]),
      num_logits_to_keep: keep,
    };
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = result[`present.${l}.${kv}`]!;
    }
  }
  return out;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
