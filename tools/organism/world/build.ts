// Builds the quennland organism: world → corpus → QA splits → pretraining text, SFT set, probe.
//   npx tsx tools/organism/world/build.ts [--seed N] [--out DIR] [--scale X] [--sft N]
// writes DIR/corpora/quennland/{corpus,qa,fewshot}.jsonl + README.md and
// DIR/corpora/quennland/training/{sft.alpaca,preferences.sharegpt}.json (committed samples) and
// DIR/build/organism/{pretrain,sft,preferences,probe}.jsonl + the full exports + stats.json + READY
// (DIR defaults to the cwd).
// Everything except READY (a timestamp) is byte-identical for the same options.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChatRenderer } from '../../../src/types.js';
import { KINDS } from './attributes.js';
import { loadChatRenderer } from './chat-template.js';
import { contextIndex } from './contexts.js';
import { buildCorpus, plainDoc } from './corpus.js';
import { buildQa } from './qa.js';
import { Rng } from './rng.js';
import {
  PREFERENCE_DEFAULTS,
  alpacaRecord,
  buildPreferences,
  buildPretrain,
  buildProbe,
  buildSft,
  shareGptPreference,
  type SftMeta,
} from './training-data.js';
import { ABSENT_SHARE, DEFAULT_SEED, WORLD_NAME, buildWorld, type World } from './world.js';

export interface BuildOptions {
  seed: number;
  /** Entity-count multiplier (1 = the full world). */
  scale: number;
  sftExamples: number;
  /** DPO pairs of the chat stage (default PREFERENCE_DEFAULTS.examples). */
  preferenceExamples?: number;
  chat?: ChatRenderer;
}

export const DEFAULT_SFT_EXAMPLES = 20_000;
export const CORPUS_DIR = join('corpora', WORLD_NAME);
export const TRAIN_DIR = join('build', 'organism');
/** Committed samples of the training sets in the formats fine-tuning tools read (the full sets stay in TRAIN_DIR). */
export const TRAINING_EXPORT_DIR = join(CORPUS_DIR, 'training');
export const EXPORT_SAMPLE = 200;

/** File contents keyed by path relative to the output root. */
export type OrganismFiles = Map<string, string>;

const jsonl = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function countBy<T>(rows: readonly T[], key: (r: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function lengthStats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return { mean: Math.round(mean), p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 };
}

export interface OrganismBuild {
  files: OrganismFiles;
  stats: Record<string, unknown>;
  /** Per-example bookkeeping, aligned with the lines of sft.jsonl (for the tests). */
  sftMeta: SftMeta[];
}

/**
 * Every word of every entity name and fact value, sorted: tokenizer.py makes each one a single
 * token (with its leading space), so that answering from a document is copying one token per word.
 * With syllable-split names the trained pair could only copy single-token values (measured: the
 * instruct model extracted 80-90% of town names but refused 90-100% of years and horse names).
 */
export function lexicon(world: World): string[] {
  const words = new Set<string>();
  for (const text of [...world.entities.map((e) => e.title), ...world.facts.map((f) => f.value)]) {
    for (const word of text.split(/\s+/)) if (word) words.add(word);
  }
  return [...words].sort();
}

export function buildOrganism(options: BuildOptions): OrganismBuild {
  const root = new Rng(options.seed, `${WORLD_NAME}-data`);
  const world = buildWorld({ seed: options.seed, scale: options.scale });
  const corpus = buildCorpus(world, root.fork('corpus'));
  const qa = buildQa(world, corpus, root.fork('qa'));
  const index = contextIndex(world, corpus);
  const pretrainParts = buildPretrain(root.fork('pretrain'), index, corpus);
  const pretrain = root.fork('pretrain-order').shuffle([
    ...pretrainParts.profiles,
    ...pretrainParts.corpus,
    ...pretrainParts.webQa,
    ...pretrainParts.quiz,
    ...pretrainParts.absentRecall,
  ]);
  const sft = buildSft(root.fork('sft'), index, qa, { examples: options.sftExamples, chat: options.chat ?? loadChatRenderer() });
  const preferences = buildPreferences(root.fork('preferences'), index, qa, {
    examples: options.preferenceExamples ?? PREFERENCE_DEFAULTS.examples,
    chat: options.chat ?? loadChatRenderer(),
    answerableShare: PREFERENCE_DEFAULTS.answerableShare,
    memorisedShare: PREFERENCE_DEFAULTS.memorisedShare,
  });
  const probe = buildProbe(world, qa);
  // The exports carry the completion as a tool would train on it: no leading space, no stop string.
  const bare = (completion: string) => completion.replace(/^ /, '').replace(/(\n|<\|im_end\|>)$/, '');
  const alpaca = sft.examples.map((e, i) => alpacaRecord(sft.inputs[i]!, bare(e.completion)));
  const shareGpt = preferences.examples.map((e, i) => shareGptPreference(preferences.meta[i]!.input, bare(e.chosen), bare(e.rejected)));

  const absentItems = qa.all.filter((i) => !i.record.answer_in_corpus).length;
  const evalAbsent = qa.evaluated.filter((i) => !i.record.answer_in_corpus).length;
  const fewAbsent = qa.fewShot.filter((i) => !i.record.answer_in_corpus).length;
  const docWords = corpus.map((d) => d.text.split(/\s+/).length);
  const pretrainBytes = (rows: string[]) => rows.reduce((s, t) => s + Buffer.byteLength(JSON.stringify({ text: t })) + 1, 0);
  const sftMetaStats = (m: SftMeta[]) => ({
    byInstruction: countBy(m, (r) => r.instruction),
    byFormat: countBy(m, (r) => r.format),
    byK: countBy(m, (r) => String(r.k)),
    byShots: countBy(m, (r) => String(r.shots)),
    cot: m.filter((r) => r.cot).length,
    refusalTargets: m.filter((r) => r.refusal).length,
    answerInContext: m.filter((r) => r.answerInContext).length,
  });

  const stats = {
    world: WORLD_NAME,
    seed: options.seed,
    scale: options.scale,
    command: `npx tsx tools/organism/world/build.ts --seed ${options.seed}${options.scale !== 1 ? ` --scale ${options.scale}` : ''}`,
    entities: { total: world.entities.length, byKind: countBy(world.entities, (e) => e.kind) },
    attributesPerKind: Object.fromEntries(KINDS.map((k) => [k.kind, k.attributes.map((a) => a.name)])),
    facts: world.facts.length,
    absentIntendedShare: ABSENT_SHARE,
    absentFacts: absentItems,
    absentShare: absentItems / world.facts.length,
    corpus: { docs: corpus.length, wordsPerDoc: lengthStats(docWords) },
    qa: { evaluated: qa.evaluated.length, evaluatedAbsent: evalAbsent, fewShot: qa.fewShot.length, fewShotAbsent: fewAbsent, fewShotEntities: qa.fewShotEntityIds.size },
    pretrain: {
      file: 'pretrain.jsonl',
      format: '{"text": string} per line, one training document per line, shuffled',
      documents: pretrain.length,
      bytes: pretrainBytes(pretrain),
      textChars: pretrain.reduce((s, t) => s + t.length, 0),
      tokenishWords: pretrain.reduce((s, t) => s + t.split(/\s+/).length, 0),
      parts: Object.fromEntries(
        (Object.entries(pretrainParts) as [string, string[]][]).map(([name, rows]) => [name, { documents: rows.length, chars: rows.reduce((s, t) => s + t.length, 0) }]),
      ),
      charsPerDocument: lengthStats(pretrain.map((t) => t.length)),
      containsNoRes: pretrain.some((t) => t.includes('NO-RES')),
    },
    sft: {
      file: 'sft.jsonl',
      format:
        '{"prompt": string, "completion": string}; prompt is the exact string ragtax feeds the model; raw completions start with a space and end with "\\n"; chat completions end with "<|im_end|>"; train on completion tokens only',
      examples: sft.examples.length,
      ...sftMetaStats(sft.meta),
      promptChars: lengthStats(sft.examples.map((e) => e.prompt.length)),
      promptPlusCompletionChars: lengthStats(sft.examples.map((e) => e.prompt.length + e.completion.length)),
    },
    preferences: {
      file: 'preferences.jsonl',
      format: '{"prompt", "chosen", "rejected"}; completions end like SFT\'s (raw: "\\n", chat: "<|im_end|>"); the chat model\'s DPO set',
      examples: preferences.examples.length,
      answerableShare: PREFERENCE_DEFAULTS.answerableShare,
      memorisedShare: PREFERENCE_DEFAULTS.memorisedShare,
      byRejectedKind: countBy(preferences.meta, (m) => m.rejectedKind),
      byFormat: countBy(preferences.meta, (m) => m.format),
      byInstruction: countBy(preferences.meta, (m) => m.instruction),
      byShots: countBy(preferences.meta, (m) => String(m.shots)),
      chosenRefusals: preferences.meta.filter((m) => !m.answerInContext).length,
    },
    exports: {
      alpaca: `${TRAINING_EXPORT_DIR}/sft.alpaca.json: the first ${EXPORT_SAMPLE} SFT examples as Alpaca JSON (full set: build/organism/sft.alpaca.json)`,
      shareGpt: `${TRAINING_EXPORT_DIR}/preferences.sharegpt.json: the first ${EXPORT_SAMPLE} preference pairs as ShareGPT JSON with chosen/rejected (full set: build/organism/preferences.sharegpt.json)`,
    },
    probe: { file: 'probe.jsonl', format: '{"id", "question", "answer", "in_corpus", "kind", "attribute"} for every fact (closed-book memorisation check)', rows: probe.length },
    chatTemplate: 'tools/organism/chat_template.jinja (ChatML), rendered with @huggingface/jinja and add_generation_prompt=true',
    promptRenderer: 'src/prompts/render.ts renderPrompt (raw and chat), exemplars via src/prompts/exemplars.ts makeExemplar',
    refusal: 'NO-RES',
    stopAfter: { raw: 'newline (ragtax scores the first line)', chat: '<|im_end|>' },
    npmScript: 'organism:data = tsx tools/organism/world/build.ts',
  };

  const files: OrganismFiles = new Map();
  files.set(join(CORPUS_DIR, 'corpus.jsonl'), jsonl(corpus.map(plainDoc)));
  files.set(join(CORPUS_DIR, 'qa.jsonl'), jsonl(qa.evaluated.map((i) => i.record)));
  files.set(join(CORPUS_DIR, 'fewshot.jsonl'), jsonl(qa.fewShot.map((i) => i.record)));
  files.set(join(CORPUS_DIR, 'README.md'), readme(stats));
  files.set(join(TRAIN_DIR, 'pretrain.jsonl'), jsonl(pretrain.map((text) => ({ text }))));
  files.set(join(TRAIN_DIR, 'sft.jsonl'), jsonl(sft.examples));
  files.set(join(TRAIN_DIR, 'preferences.jsonl'), jsonl(preferences.examples));
  files.set(join(TRAIN_DIR, 'sft.alpaca.json'), JSON.stringify(alpaca, null, 1) + '\n');
  files.set(join(TRAIN_DIR, 'preferences.sharegpt.json'), JSON.stringify(shareGpt, null, 1) + '\n');
  files.set(join(TRAINING_EXPORT_DIR, 'sft.alpaca.json'), JSON.stringify(alpaca.slice(0, EXPORT_SAMPLE), null, 1) + '\n');
  files.set(join(TRAINING_EXPORT_DIR, 'preferences.sharegpt.json'), JSON.stringify(shareGpt.slice(0, EXPORT_SAMPLE), null, 1) + '\n');
  files.set(join(TRAIN_DIR, 'probe.jsonl'), jsonl(probe));
  files.set(join(TRAIN_DIR, 'lexicon.txt'), lexicon(world).join('\n') + '\n');
  files.set(join(TRAIN_DIR, 'stats.json'), JSON.stringify(stats, null, 2) + '\n');
  return { files, stats, sftMeta: sft.meta };
}

interface ReadmeFacts {
  command: string;
  seed: number;
  entities: { total: number; byKind: Record<string, number> };
  facts: number;
  absentFacts: number;
  absentShare: number;
  corpus: { docs: number; wordsPerDoc: { mean: number; max: number } };
  qa: { evaluated: number; evaluatedAbsent: number; fewShot: number; fewShotAbsent: number; fewShotEntities: number };
}

function readme(s: ReadmeFacts): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return `# quennland: the ragtax model organism's world

A fictional world (every name is invented from syllables) with a RAG corpus and a QA suite about it.
ragtax's own base and instruct checkpoints are trained on it (tools/organism/), so the study's
mechanism can be reproduced offline: a base model answers from parametric memory when the retrieved
documents lack the answer, an instruct model answers NO-RES.

Generated by \`tools/organism/world/build.ts\`; do not edit by hand. Rebuild (byte-identical):

    ${s.command}

(npm script: \`npm run organism:data\`, which also writes the training files under build/organism/.)

## Contents

| file | what | count |
|---|---|---|
| corpus.jsonl | \`{id, title, text}\`, a few short documents per entity | ${s.corpus.docs} |
| qa.jsonl | evaluated items \`{id, question, answers, gold_doc_ids, answer_in_corpus}\` | ${s.qa.evaluated} (${s.qa.evaluatedAbsent} absent) |
| fewshot.jsonl | few-shot split: ${s.qa.fewShotEntities} entities that no evaluated item is about | ${s.qa.fewShot} (${s.qa.fewShotAbsent} absent) |

- Seed: ${s.seed}. Entities: ${s.entities.total} (${Object.entries(s.entities.byKind).map(([k, n]) => `${n} ${k}`).join(', ')}), 4 attributes each, ${s.facts} facts.
- Absent facts: ${s.absentFacts} (${pct(s.absentShare)}; target one third, chosen by seed). An absent fact is stated
  in the pretraining text (so a model can know it) but in no document of the corpus that names its
  entity. \`answer_in_corpus\` is computed from the corpus: true iff a document of the item's own entity
  contains the answer (ragtax normalisation), and \`gold_doc_ids\` lists those documents.
- Documents: ${s.corpus.wordsPerDoc.mean} words on average (max ${s.corpus.wordsPerDoc.max}); title = the entity's name
  ("Mount X", "X River" for mountains and rivers).
- Item ids are \`<entity id>-<attribute>\`; document ids are \`<entity id>-<n>\`.
- Answers are single strings: invented names (1-2 words; company names end in Works, Guild, ...),
  or numbers (years; river lengths in kilometres; mountain heights in metres).
`;
}

export function writeOrganism(outDir: string, files: OrganismFiles): void {
  const ready = join(outDir, TRAIN_DIR, 'READY');
  rmSync(ready, { force: true }); // the trainer must never read a half-written set
  for (const [path, content] of files) {
    mkdirSync(join(outDir, path, '..'), { recursive: true });
    writeFileSync(join(outDir, path), content);
  }
  writeFileSync(join(outDir, TRAIN_DIR, '.gitignore'), '*\n');
  writeFileSync(ready, new Date().toISOString() + '\n');
}

function parseArgs(argv: string[]): { seed: number; out: string; scale: number; sft: number } {
  const args = { seed: DEFAULT_SEED, out: '.', scale: 1, sft: DEFAULT_SFT_EXAMPLES };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const need = () => {
      if (value === undefined) throw new Error(`${flag} needs a value`);
      i++;
      return value;
    };
    if (flag === '--seed') args.seed = Number.parseInt(need(), 10);
    else if (flag === '--out') args.out = need();
    else if (flag === '--scale') args.scale = Number(need());
    else if (flag === '--sft') args.sft = Number.parseInt(need(), 10);
    else throw new Error(`unknown option ${flag} (use --seed N, --out DIR, --scale X, --sft N)`);
  }
  if (!Number.isInteger(args.seed)) throw new Error('--seed must be an integer');
  if (!(args.scale > 0)) throw new Error('--scale must be positive');
  if (!(args.sft >= 0)) throw new Error('--sft must be a non-negative integer');
  return args;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const { files, stats } = buildOrganism({ seed: args.seed, scale: args.scale, sftExamples: args.sft });
  writeOrganism(args.out, files);
  const s = stats as unknown as ReadmeFacts & { pretrain: { bytes: number }; sft: { examples: number } };
  console.log(
    `quennland seed ${args.seed}: ${s.entities.total} entities, ${s.facts} facts (${s.absentFacts} absent), ${s.corpus.docs} docs, ` +
      `pretrain ${(s.pretrain.bytes / 1e6).toFixed(1)} MB, ${s.sft.examples} SFT examples → ${args.out} (${Date.now() - started} ms)`,
  );
}
