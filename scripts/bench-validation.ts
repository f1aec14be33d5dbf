// Validation-skip benchmark: npx tsx scripts/bench-validation.ts [--repeats N] [--corpus-docs N] [--out DIR]
//
// What a warm re-run saves by not checking each record of an unchanged data file again (issue 21):
// for each file, the content hash that decides (sha256 of the bytes), the checked read and the
// unchecked read, alternating, median of --repeats. Files: the real NQ-open dev set and the
// lost-in-the-middle oracle file from ../shared/datasets when present, the HotpotQA fixture's shape
// scaled up (synthetic, --corpus-docs / 10 items), and a synthetic corpus file of --corpus-docs
// documents. Writes <out>/validation.md with the load average before and after.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { readCorpusFile, readMapped, type MappedSpec } from '../src/data/formats/mapped.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const repeats = Number(opt('repeats', '5'));
const corpusDocs = Number(opt('corpus-docs', '200000'));
const outDir = path.resolve(opt('out', path.join(ROOT, 'benchmarks')));

async function sha256(file: string): Promise<void> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  hash.digest('hex');
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Case {
  label: string;
  file: string;
  read: (validate: boolean) => Promise<unknown>;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bench-validation-'));
const words = 'the of and in to a was is for on as by with he that at from his it an were are which this be'.split(' ');
const text = (i: number, n: number) => Array.from({ length: n }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(' ');

const cases: Case[] = [];
const shared = path.resolve(ROOT, '../shared/datasets');
const nq = path.join(shared, 'nq_open/NQ-open.dev.jsonl');
if (existsSync(nq)) cases.push({ label: 'NQ-open dev (real), nq-open preset', file: nq, read: (v) => readMapped(nq, { preset: 'nq-open' }, { validate: v }) });
const litm = path.join(shared, 'nq_open_oracle_litm/nq-open-oracle.jsonl.gz');
if (existsSync(litm)) cases.push({ label: 'NQ-open oracle (real, gzip), litm preset', file: litm, read: (v) => readMapped(litm, { preset: 'litm' }, { validate: v }) });

const hotpotFile = path.join(tmp, 'hotpot.jsonl');
const hotpotItems = Math.max(1, Math.floor(corpusDocs / 10));
writeFileSync(
  hotpotFile,
  Array.from({ length: hotpotItems }, (_, i) =>
    JSON.stringify({
      question_id: `q${i}`,
      question_text: `question ${i} ${text(i, 8)}?`,
      answers_objects: [{ number: '', date: { day: '', month: '', year: '' }, spans: [`answer ${i}`] }],
      contexts: Array.from({ length: 10 }, (_, j) => ({ idx: j, title: `T${(i * 10 + j) % (hotpotItems * 8)}`, paragraph_text: text(i * 10 + j, 60), is_supporting: j < 2 })),
    }),
  ).join('\n') + '\n',
);
const hotpotSpec: MappedSpec = {
  preset: 'mapped',
  fields: { id: 'question_id', question: 'question_text', answers: 'answers_objects[].spans[]', passages: { path: 'contexts[]', title: 'title', text: 'paragraph_text', supporting: 'is_supporting' } },
};
cases.push({ label: `HotpotQA shape (synthetic), ${hotpotItems.toLocaleString('en-US')} items × 10 passages`, file: hotpotFile, read: (v) => readMapped(hotpotFile, hotpotSpec, { validate: v }) });

const corpusFile = path.join(tmp, 'corpus.jsonl');
writeFileSync(corpusFile, Array.from({ length: corpusDocs }, (_, i) => JSON.stringify({ id: `d${i}`, title: `Title ${i}`, text: text(i, 100) })).join('\n') + '\n');
cases.push({ label: `corpus file (synthetic), ${corpusDocs.toLocaleString('en-US')} documents`, file: corpusFile, read: (v) => readCorpusFile(corpusFile, { validate: v }) });

const loadBefore = os.loadavg();
const rows: string[] = [];
for (const c of cases) {
  await c.read(true); // warm the page cache and the JIT
  const hash: number[] = [];
  const checked: number[] = [];
  const unchecked: number[] = [];
  for (let r = 0; r < repeats; r++) {
    hash.push(await time(() => sha256(c.file)));
    checked.push(await time(() => c.read(true)));
    unchecked.push(await time(() => c.read(false)));
  }
  const [h, a, b] = [median(hash), median(checked), median(unchecked)];
  const mb = statSync(c.file).size / 1e6;
  const row = `| ${c.label} | ${mb.toFixed(1)} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${h.toFixed(1)} | ${(b + h).toFixed(0)} | ${((1 - (b + h) / a) * 100).toFixed(0)}% | ${((a - b) / h).toFixed(0)}× |`;
  rows.push(row);
  console.log(row);
}
const loadAfter = os.loadavg();
const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
const md = `# Validation skip (issue 21)

\`npx tsx scripts/bench-validation.ts --repeats ${repeats} --corpus-docs ${corpusDocs}\` on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'},
Node ${process.version}; load average (1, 5, 15 min) ${fmt(loadBefore)} before, ${fmt(loadAfter)} after (other work
on the machine makes every figure pessimistic). Median of ${repeats} alternating runs, milliseconds, page cache warm.

A data file whose bytes passed the per-record checks before (same format, mapping and rules) is
read without them; deciding that costs one sha256 of the file. "Warm read" = unchecked read + hash.

| file | MB | checked read | unchecked read | sha256 | warm read | saved | checks ÷ hash |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'validation.md'), md);
console.log(`wrote ${path.join(outDir, 'validation.md')}`);
