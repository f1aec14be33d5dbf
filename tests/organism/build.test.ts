// Build outputs: determinism, SFT target consistency, pretraining hygiene (small world for speed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containsAnswer } from '../../src/scoring/normalize.js';
import { PRESETS } from '../../src/prompts/presets.js';
import { buildOrganism, writeOrganism, CORPUS_DIR, TRAIN_DIR } from '../../tools/organism/world/build.js';

const options = { seed: 7, scale: 0.25, sftExamples: 1500 };
const first = buildOrganism(options);
const lines = (path: string) => first.files.get(path)!.trimEnd().split('\n').map((l) => JSON.parse(l));

test('the same seed gives byte-identical files; another seed a different world', () => {
  const again = buildOrganism(options);
  assert.deepEqual([...again.files.keys()], [...first.files.keys()]);
  for (const [path, content] of first.files) assert.equal(again.files.get(path), content, path);
  const other = buildOrganism({ ...options, seed: 8 });
  assert.notEqual(other.files.get(join(CORPUS_DIR, 'corpus.jsonl')), first.files.get(join(CORPUS_DIR, 'corpus.jsonl')));
});

test('writeOrganism writes every file plus READY', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quennland-'));
  try {
    writeOrganism(dir, first.files);
    for (const [path, content] of first.files) assert.equal(readFileSync(join(dir, path), 'utf8'), content, path);
    assert.ok(readdirSync(join(dir, TRAIN_DIR)).includes('READY'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SFT: NO-RES exactly when a rejecting instruction meets documents without the answer', () => {
  const sft = lines(join(TRAIN_DIR, 'sft.jsonl')) as { prompt: string; completion: string }[];
  const corpus = new Map((lines(join(CORPUS_DIR, 'corpus.jsonl')) as { id: string; title: string; text: string }[]).map((d) => [d.id, d]));
  const probe = new Map((lines(join(TRAIN_DIR, 'probe.jsonl')) as { id: string; answer: string }[]).map((p) => [p.id, p.answer]));
  assert.equal(sft.length, first.sftMeta.length);
  sft.forEach((ex, i) => {
    const meta = first.sftMeta[i]!;
    const answer = probe.get(meta.factId)!;
    const docs = meta.docIds.map((id) => corpus.get(id)!);
    const inContext = containsAnswer(docs.map((d) => `${d.title}\n${d.text}`).join('\n'), [answer]);
    assert.equal(inContext, meta.answerInContext);
    const rejects = PRESETS[meta.instruction]!.rejects;
    // Never teach a fact: without the answer in context the target must be a refusal.
    if (!inContext) assert.ok(rejects, `example ${i}: answer-less context under ${meta.instruction}`);
    for (const d of docs) assert.ok(ex.prompt.includes(`Document [${d.id}](Title: ${d.title}) ${d.text}`), `example ${i}: doc ${d.id} not shown`);

    // Both formats start the reply with a space, so an answer is the same BPE token as in a document.
    assert.ok(ex.completion.startsWith(' '), `example ${i}: completion starts with a space`);
    let body = ex.completion.slice(1);
    if (meta.format === 'raw') {
      assert.ok(ex.completion.endsWith('\n'), `example ${i}: raw completion shape`);
      body = body.slice(0, -1);
    } else {
      assert.ok(ex.completion.endsWith('<|im_end|>') && ex.prompt.endsWith('<|im_start|>assistant\n'), `example ${i}: chat shape`);
      body = body.replace(/<\|im_end\|>$/, '');
    }
    const answerLine = meta.cot ? /^Answer: (.*)$/m.exec(body)?.[1] : body.split('\n')[0];
    assert.equal(answerLine, inContext ? answer : 'NO-RES', `example ${i}`);
    if (meta.instruction === 'proof' && inContext) assert.match(body, /\nProof: .+/);
  });
  const refusals = first.sftMeta.filter((m) => m.refusal).length / sft.length;
  assert.ok(refusals > 0.3 && refusals < 0.6, `refusal share ${refusals}`);
});

test('the lexicon lists every word of every answer and entity title, once, sorted', () => {
  const words = first.files.get(join(TRAIN_DIR, 'lexicon.txt'))!.trimEnd().split('\n');
  assert.deepEqual(words, [...new Set(words)].sort());
  assert.ok(words.every((w) => w.length > 0 && !/\s/.test(w)));
  const lexicon = new Set(words);
  for (const p of lines(join(TRAIN_DIR, 'probe.jsonl')) as { answer: string }[]) {
    for (const w of p.answer.split(' ')) assert.ok(lexicon.has(w), w);
  }
  for (const d of lines(join(CORPUS_DIR, 'corpus.jsonl')) as { title: string }[]) {
    for (const w of d.title.split(' ')) assert.ok(lexicon.has(w), w);
  }
});

test('absent facts are stated in at least as many pretraining documents as in-corpus ones', () => {
  const pretrain = (lines(join(TRAIN_DIR, 'pretrain.jsonl')) as { text: string }[]).map((p) => p.text);
  const probe = lines(join(TRAIN_DIR, 'probe.jsonl')) as { id: string; answer: string; in_corpus: boolean }[];
  // Entity names by id prefix (p001-birthplace → p001), from the corpus titles.
  const names = new Map((lines(join(CORPUS_DIR, 'corpus.jsonl')) as { id: string; title: string }[])
    .map((d) => [d.id.split('-')[0]!, d.title.replace(/^Mount /, '').replace(/ River$/, '')]));
  const meanDocs = (inCorpus: boolean) => {
    const rows = probe.filter((p) => p.in_corpus === inCorpus && names.has(p.id.split('-')[0]!));
    const docs = rows.map((p) => pretrain.filter((t) => t.includes(p.answer) && t.includes(names.get(p.id.split('-')[0]!)!)).length);
    return docs.reduce((s, n) => s + n, 0) / rows.length;
  };
  // Without the extra mentions this is about 17 against 24 (the corpus and web-QA contexts).
  const absent = meanDocs(false);
  const inCorpus = meanDocs(true);
  assert.ok(absent >= inCorpus, `absent facts: ${absent.toFixed(1)} documents each, in-corpus: ${inCorpus.toFixed(1)}`);
});

test('pretraining text never mentions NO-RES and states absent facts', () => {
  const pretrain = lines(join(TRAIN_DIR, 'pretrain.jsonl')) as { text: string }[];
  assert.ok(pretrain.every((p) => !p.text.includes('NO-RES')));
  const all = pretrain.map((p) => p.text).join('\n');
  const absent = (lines(join(TRAIN_DIR, 'probe.jsonl')) as { answer: string; in_corpus: boolean }[]).filter((p) => !p.in_corpus);
  assert.ok(absent.length > 0);
  for (const p of absent) assert.ok(all.includes(p.answer), p.answer);
});
