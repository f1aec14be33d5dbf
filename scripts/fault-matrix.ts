// The reliability matrix: ragtax under faults a hostile user (or a bad day) brings, through the real
// CLI (build first: `npm run build`). Prints one table per part and a summary line each; writes
// benchmarks/fault-matrix.md. Not a test: the kill moments are random (seeded), and the figures
// are what the closing note of the reliability work quotes.
//
//   npx tsx scripts/fault-matrix.ts [--kills 30] [--seed 1]
//
// Parts:
// 1. kill -9 at random moments of a run (and at the run-file and report writes), then --resume:
//    resumable, no sample lost or duplicated, aggregates equal to an uninterrupted run.
// 2. bad inputs across the commands: exit 2, the message names the file / line / field, no stack.
// (The cache corruptions and the HTTP fault set have their own tests:
// tests/resilience/cache-corruption.test.ts and tests/backends/http-*.test.ts; this script runs
// them and counts.)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const TINY = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');
const STACK = /\n\s+at [^\n]+\(|\n\s+at file:/;

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const KILLS = option('kills', 30);
const rng = xoroshiro128plus(option('seed', 1));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-faults-'));
const env = { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') };

interface Cli {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(argv: string[], extraEnv: Record<string, string> = {}): Cli {
  // A hang is a failure too: at most a minute per command.
  const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 60_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.signal === 'SIGTERM' ? `timed out after 60 s\n${r.stderr}` : r.stderr };
}

function samplesOf(dir: string): { key: string; response: string }[] {
  const file = path.join(dir, 'samples.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const s = JSON.parse(l) as Record<string, unknown>;
      return { key: JSON.stringify([s.itemId, s.model, s.format, s.instruction, s.context, s.k, s.shots, s.cot, s.variant ?? null]), response: String(s.response) };
    });
}

/** The aggregates without timing: what must be equal between a resumed and an uninterrupted run. */
function aggregates(dir: string): string {
  const s = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { cells: unknown; pairs: unknown };
  return JSON.stringify({ cells: s.cells, pairs: s.pairs });
}

// ---------------------------------------------------------------- 1. kill -9 and resume

interface KillTrial {
  trial: number;
  moment: string;
  keptBefore: number;
  resumed: boolean;
  lost: number;
  duplicated: number;
  aggregatesEqual: boolean;
  leftovers: number;
  note: string;
}

async function killAt(out: string, when: { afterMs?: number; file?: RegExp }): Promise<{ killed: boolean; moment: string }> {
  const child = spawn(process.execPath, [CLI, 'run', TINY, '--out', out, '--quiet', '--no-cache'], { env, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
  const started = performance.now();
  let moment = '';
  while (child.exitCode === null && child.signalCode === null) {
    if (when.afterMs !== undefined && performance.now() - started >= when.afterMs) {
      moment = `${Math.round(performance.now() - started)} ms`;
      break;
    }
    if (when.file && existsSync(out) && readdirSync(out).some((f) => when.file!.test(f))) {
      moment = `at ${when.file.source.replace(/\\/g, '')}`;
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  const signal = await exited;
  return { killed: signal === 'SIGKILL', moment: moment || 'finished first' };
}

let missedKills = 0;

async function killMatrix(reference: { keys: Set<string>; aggregates: string; durationMs: number }): Promise<KillTrial[]> {
  const trials: KillTrial[] = [];
  const targeted: { file: RegExp; name: string }[] = [
    { file: /^run\.json\.tmp-\d+$/, name: 'run-file write' },
    { file: /^run\.json$/, name: 'run file written' },
    { file: /^summary\.csv(\.tmp-\d+)?$/, name: 'report write (csv)' },
    { file: /^report\.md(\.tmp-\d+)?$/, name: 'report write (md)' },
    { file: /^report\.html\.tmp-\d+$/, name: 'report write (html)' },
  ];
  // Until KILLS runs were really killed (a run that finished before its moment is not a trial).
  let missed = 0;
  for (let attempt = 0; trials.length < KILLS && attempt < KILLS * 3; attempt++) {
    const t = trials.length;
    const out = path.join(tmp, `kill-${attempt}`);
    const target = attempt < targeted.length * 2 ? targeted[attempt % targeted.length] : undefined;
    const { killed, moment } = target
      ? await killAt(out, { file: target.file })
      : await killAt(out, { afterMs: uniformInt(rng, 0, Math.round(reference.durationMs * 1.1)) });
    if (!killed) {
      missed += 1;
      continue;
    }
    const before = samplesOf(out).length;
    const resumed = cli(['run', TINY, '--out', out, '--resume', '--quiet', '--no-cache']);
    const after = samplesOf(out);
    const keys = after.map((s) => s.key);
    const unique = new Set(keys);
    const lost = [...reference.keys].filter((k) => !unique.has(k)).length;
    const leftovers = existsSync(out) ? readdirSync(out).filter((f) => /\.tmp-\d+$/.test(f)).length : 0;
    const ok = resumed.code === 0;
    trials.push({
      trial: t + 1,
      moment: `${target ? target.name + ' ' : ''}${moment}`,
      keptBefore: before,
      resumed: ok,
      lost: ok ? lost : reference.keys.size,
      duplicated: keys.length - unique.size,
      aggregatesEqual: ok && existsSync(path.join(out, 'summary.json')) && aggregates(out) === reference.aggregates,
      leftovers,
      note: ok ? '' : resumed.stderr.trim().split('\n')[0]!.slice(0, 120),
    });
    process.stderr.write(`kill ${t + 1}/${KILLS}: ${trials.at(-1)!.moment}, resumed ${ok}\n`);
  }
  if (missed > 0) process.stderr.write(`${missed} run(s) finished before their kill moment and were not counted\n`);
  missedKills = missed;
  return trials;
}

// ---------------------------------------------------------------- 2. bad inputs

interface BadInput {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  /** What the message must name (a file, a line, a field). */
  names: RegExp;
}

function scratch(name: string): { dir: string; suite: string; data: string } {
  const dir = path.join(tmp, `bad-${name.replace(/\W+/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  const data = path.join(dir, 'data');
  cpSync(path.join(ROOT, 'tests/fixtures/data'), data, { recursive: true });
  const suite = path.join(dir, 'suite.yaml');
  writeFileSync(
    suite,
    readFileSync(TINY, 'utf8')
      .replace(/\.\.\/data\//g, 'data/')
      .replace(/\.\.\/models\//g, `${path.join(ROOT, 'tests/fixtures/models')}/`),
  );
  return { dir, suite, data };
}

function badInputs(): BadInput[] {
  const cases: BadInput[] = [];
  const suiteEdit = (name: string, from: string | RegExp, to: string, names: RegExp) => {
    const s = scratch(name);
    writeFileSync(s.suite, readFileSync(s.suite, 'utf8').replace(from, to));
    cases.push({ name: `suite: ${name}`, argv: ['run', s.suite, '--out', path.join(s.dir, 'out'), '--quiet', '--no-cache'], names });
  };
  // Suite fields: a wrong type or value for each one the tiny suite has, and misspellings.
  const fields: [string, string | RegExp, string, RegExp][] = [
    ['seed not a number', 'seed: 7', 'seed: seven', /suite\.yaml:\d+: field `seed`/],
    ['seed negative', 'seed: 7', 'seed: -1', /suite\.yaml:\d+: field `seed`/],
    ['name with spaces', 'name: tiny-e2e', 'name: tiny e2e', /suite\.yaml:\d+: field `name`/],
    ['format unknown', 'format: ragtax', 'format: csv', /field `dataset\.format`/],
    ['fewshot_size negative', 'fewshot_size: 2', 'fewshot_size: -2', /field `dataset\.fewshot_size`/],
    ['path missing', /  path: data\/qa\.jsonl\n/, '', /field `dataset\.path`/],
    ['k zero for documents', 'k: [1, 2]', 'k: [0]', /field `grid\[0\]\.k`/],
    ['k a string', 'k: [1, 2]', 'k: [one]', /field `grid\[0\]\.k/],
    ['k too large', 'k: [1, 2]', 'k: [5000]', /field `grid\[0\]\.k/],
    ['instruction unknown', 'instruction: nores', 'instruction: noress', /field `grid\[0\]\.instruction\[0\]`.*did you mean `nores`/],
    ['context unknown', '  - k: [1, 2]\n', '  - k: [1, 2]\n    context: orcale\n', /field `grid\[0\]\.context/],
    ['shots too many', 'shots: [0, 1]', 'shots: [99]', /field `grid\[1\]\.shots/],
    ['cot not boolean', 'cot: [false, true]', 'cot: [maybe]', /field `grid\[1\]\.cot/],
    ['max_new_tokens zero', 'max_new_tokens: 6', 'max_new_tokens: 0', /field `decoding\.max_new_tokens`/],
    ['max_new_tokens misspelt', 'max_new_tokens: 6', 'max_new_token: 6', /unknown field `max_new_token`.*did you mean `max_new_tokens`/],
    ['stop not a list', 'stop: ["\\n"]', 'stop: 3', /field `decoding\.stop`/],
    ['bootstrap too few', 'bootstrap_samples: 200', 'bootstrap_samples: 5', /field `metrics\.bootstrap_samples`/],
    ['metrics misspelt', 'bootstrap_samples: 200', 'bootstrap_sample: 200', /unknown field `bootstrap_sample`/],
    ['unknown top-level field', 'seed: 7', 'seed: 7\nseeds: 8', /unknown field `seeds`/],
    ['pair names unknown model', 'base: base\n    instruct: instruct', 'base: base\n    instruct: chatty', /field `pairs\[0\]\.instruct` names unknown model `chatty`/],
    ['pair with itself', 'base: base\n    instruct: instruct', 'base: base\n    instruct: base', /pairs a model with itself/],
    ['model path and hf_id', '  base:\n', '  base:\n    hf_id: org/x\n', /exactly one of `path`/],
    ['model unknown backend', '  base:\n', '  base:\n    backend: tensorrt\n', /field `models\.base\.backend` got "tensorrt"/],
    ['model formats unknown', 'formats: [raw, chat]', 'formats: [raw, chatml]', /field `models\.instruct\.formats/],
    ['model device unknown', '  base:\n', '  base:\n    device: tpu\n', /field `models\.base\.device`/],
    ['model batch_size zero', '  base:\n', '  base:\n    batch_size: 0\n', /field `models\.base\.batch_size`/],
    ['openai field on transformers', '  base:\n', '  base:\n    endpoints: [http://x:1]\n', /models\.base\.endpoints` is for `backend: openai` only/],
    ['gguf field on transformers', '  base:\n', '  base:\n    gpu_layers: 3\n', /gpu_layers` is for `backend: gguf` only/],
    ['system_role unknown', 'formats: [raw, chat]', 'formats: [raw, chat]\n    system_role: drop', /field `models\.instruct\.system_role`/],
    ['cluster_by bad', 'bootstrap_samples: 200', 'bootstrap_samples: 200\n  cluster_by: entity', /field `metrics\.cluster_by`/],
    ['cluster_by regex without group', 'bootstrap_samples: 200', 'bootstrap_samples: 200\n  cluster_by: "id:q\\\\d"', /field `metrics\.cluster_by`.*no group/],
    ['p_adjust unknown', 'bootstrap_samples: 200', 'bootstrap_samples: 200\n  p_adjust: bonferroni', /field `metrics\.p_adjust`/],
    ['template_date not a day', 'seed: 7', 'seed: 7\ntemplate_date: tomorrow', /field `template_date`/],
    ['retriever unknown', 'seed: 7', 'seed: 7\nretrieval: { retriever: bm26 }', /field `retrieval\.retriever` got "bm26"/],
    ['dense without block', 'seed: 7', 'seed: 7\nretrieval: { retriever: dense }', /`dense` needs a `retrieval\.dense` block/],
    ['order unknown', 'seed: 7', 'seed: 7\nretrieval: { order: random }', /field `retrieval\.order`/],
    ['split on ragtax', 'format: ragtax', 'format: ragtax\n  split: dev', /field `dataset\.split` is for `format: beir` only/],
    ['sweep matches nothing', 'seed: 7', 'seed: 7\nsweep: { points: { k: 9 }, scoring_rule: [whole] }', /field `sweep\.points` matches no grid point/],
    ['instruction redefines preset', 'seed: 7', 'seed: 7\ninstructions: { nores: { text: hi } }', /redefines the preset `nores`/],
    ['malformed YAML', 'seed: 7', 'seed: [7', /suite\.yaml:\d+: invalid YAML/],
    ['YAML alias without anchor', 'seed: 7', 'seed: *x', /suite\.yaml: invalid YAML/],
    ['duplicate YAML key', 'seed: 7', 'seed: 7\nseed: 8', /suite\.yaml:\d+: invalid YAML/],
  ];
  for (const [name, from, to, names] of fields) suiteEdit(name, from, to, names);

  // Data files: each line-level fault of the QA and corpus files.
  const dataEdit = (name: string, file: string, edit: (text: string) => string, names: RegExp) => {
    const s = scratch(`data-${name}`);
    const target = path.join(s.data, file);
    writeFileSync(target, edit(readFileSync(target, 'utf8')));
    cases.push({ name: `data: ${name}`, argv: ['run', s.suite, '--out', path.join(s.dir, 'out'), '--quiet', '--no-cache'], names });
  };
  const qaFaults: [string, (t: string) => string, RegExp][] = [
    ['invalid JSON line', (t) => t.replace('{"id": "q3"', '{"id": "q3",,'), /qa\.jsonl:3: invalid JSON/],
    ['no answers', (t) => t.replace('"answers": ["Paris"]', '"answers": []'), /qa\.jsonl:2: field `answers`/],
    ['answers not a list', (t) => t.replace('"answers": ["Paris"]', '"answers": "Paris"'), /qa\.jsonl:2: field `answers`/],
    ['answer not a string', (t) => t.replace('"answers": ["Paris"]', '"answers": [7]'), /qa\.jsonl:2: field `answers/],
    ['question missing', (t) => t.replace('"question": "What is the capital of France?", ', ''), /qa\.jsonl:2: field `question`/],
    ['question empty', (t) => t.replace('"question": "What is the capital of France?"', '"question": ""'), /qa\.jsonl:2: field `question`/],
    ['id missing', (t) => t.replace('"id": "q2", ', ''), /qa\.jsonl:2: field `id`/],
    ['id a float', (t) => t.replace('"id": "q2"', '"id": 2.5'), /qa\.jsonl:2: field `id`/],
    ['id an object', (t) => t.replace('"id": "q2"', '"id": {"a": 1}'), /qa\.jsonl:2: field `id`/],
    ['duplicate id', (t) => t.replace('"id": "q2"', '"id": "q1"'), /qa\.jsonl:2: .*q1/],
    ['gold id unknown', (t) => t.replace('"gold_doc_ids": ["d2"]', '"gold_doc_ids": ["d99"]'), /qa\.jsonl: item `q2`: gold document `d99`/],
    ['gold ids not a list', (t) => t.replace('"gold_doc_ids": ["d2"]', '"gold_doc_ids": "d2"'), /qa\.jsonl:2: field `gold_doc_ids`/],
    ['answer_in_corpus not boolean', (t) => t.replace('"answer_in_corpus": true', '"answer_in_corpus": "yes"'), /qa\.jsonl:1: field `answer_in_corpus`/],
    ['a line that is an array', (t) => t.replace(/^\{"id": "q2".*$/m, '[1, 2]'), /qa\.jsonl:2: /],
    ['a line that is a string', (t) => t.replace(/^\{"id": "q2".*$/m, '"q2"'), /qa\.jsonl:2: /],
    ['empty file', () => '', /qa\.jsonl: /],
    ['binary garbage', () => '\u0000\u0001\u0002garbage\n', /qa\.jsonl:1: /],
    ['cluster empty', (t) => t.replace('"id": "q2", ', '"id": "q2", "cluster": "", '), /qa\.jsonl:2: field `cluster`/],
  ];
  for (const [name, edit, names] of qaFaults) dataEdit(`qa ${name}`, 'qa.jsonl', edit, names);
  const corpusFaults: [string, (t: string) => string, RegExp][] = [
    ['invalid JSON line', (t) => t.replace(/^\{/m, '{{'), /corpus\.jsonl:1: invalid JSON/],
    ['text missing', (t) => t.replace(/, "text": "[^"]*"/, ''), /corpus\.jsonl:1: field `text`/],
    ['title not a string', (t) => t.replace(/"title": "[^"]*"/, '"title": 3'), /corpus\.jsonl:1: field `title`/],
    ['duplicate id', (t) => t.replace('"id": "d2"', '"id": "d1"'), /corpus\.jsonl:\d+: .*d1/],
    ['empty corpus', () => '', /corpus\.jsonl: /],
  ];
  for (const [name, edit, names] of corpusFaults) dataEdit(`corpus ${name}`, 'corpus.jsonl', edit, names);
  {
    const s = scratch('data-missing');
    rmSync(path.join(s.data, 'qa.jsonl'));
    cases.push({ name: 'data: qa file missing', argv: ['run', s.suite, '--out', path.join(s.dir, 'out'), '--quiet'], names: /qa\.jsonl: file not found/ });
  }

  // Command lines of every command.
  const s = scratch('cli');
  const missingDir = path.join(s.dir, 'no-such-run');
  const predictions = path.join(s.dir, 'p.jsonl');
  writeFileSync(predictions, '{"id": "a", "response": "x", "answers": ["x"]}\n');
  const cliCases: [string, string[], RegExp][] = [
    ['run: missing suite file', ['run', path.join(s.dir, 'nope.yaml')], /nope\.yaml: suite file not found/],
    ['run: --limit zero', ['run', s.suite, '--limit', '0'], /--limit must be a whole number/],
    ['run: --limit fraction', ['run', s.suite, '--limit', '1.5'], /--limit must be a whole number/],
    ['run: --resume without --out', ['run', s.suite, '--resume'], /--resume needs --out/],
    ['run: --check-determinism negative', ['run', s.suite, '--out', path.join(s.dir, 'o1'), '--check-determinism', '-1'], /--check-determinism/],
    ['run: unknown option', ['run', s.suite, '--limt', '3'], /limt/],
    ['run: --out is a file', ['run', s.suite, '--out', predictions, '--quiet'], /p\.jsonl/],
    ['score: missing file', ['score', path.join(s.dir, 'nope.jsonl')], /nope\.jsonl/],
    ['score: --samples is the input', ['score', predictions, '--samples', predictions], /p\.jsonl/],
    ['score: bad line', ['score', (() => { const f = path.join(s.dir, 'bad.jsonl'); writeFileSync(f, '{"id": 1,, }\n'); return f; })()], /bad\.jsonl:1/],
    ['score: empty file', ['score', (() => { const f = path.join(s.dir, 'empty.jsonl'); writeFileSync(f, ''); return f; })()], /empty\.jsonl/],
    ['score: no response field', ['score', (() => { const f = path.join(s.dir, 'nr.jsonl'); writeFileSync(f, '{"id": "a", "answers": ["x"]}\n'); return f; })()], /nr\.jsonl:1: .*response/],
    ['compare: missing baseline', ['compare', missingDir, missingDir], /no-such-run/],
    ['compare: --bootstrap too large', ['compare', missingDir, missingDir, '--bootstrap', '1e9'], /--bootstrap/],
    ['compare: --adjust unknown', ['compare', missingDir, missingDir, '--adjust', 'sidak'], /--adjust/],
    ['compare: a file, not a run', ['compare', predictions, predictions], /p\.jsonl/],
    ['report: missing run', ['report', missingDir], /no-such-run/],
    ['report: --out in a missing folder', ['report', missingDir, '--out', path.join(s.dir, 'x/y/r.html')], /no-such-run|x\/y/],
    ['power: missing run', ['power', missingDir, '--effect', '2'], /no-such-run/],
    ['power: --effect zero', ['power', missingDir, '--effect', '0'], /--effect/],
    ['prompts: missing suite', ['prompts', path.join(s.dir, 'nope.yaml')], /nope\.yaml/],
    ['prompts: unknown model', ['prompts', s.suite, '--model', 'nobody'], /nobody/],
    ['index: missing suite', ['index', path.join(s.dir, 'nope.yaml')], /nope\.yaml/],
    ['serve: missing model folder', ['serve', path.join(s.dir, 'no-model'), '--port', '0'], /no-model/],
    ['serve: --batch-size zero', ['serve', path.join(ROOT, 'tests/fixtures/models/tiny-chat'), '--batch-size', '0'], /--batch-size/],
    ['unknown command', ['frobnicate'], /frobnicate|Unknown/],
    ['run: --out under /proc', ['run', s.suite, '--out', '/proc/ragtax-x', '--quiet'], /\/proc\/ragtax-x/],
    ['run: cache dir under /proc', ['run', s.suite, '--out', path.join(s.dir, 'o2'), '--quiet', '--limit', '1'], /\/proc\/ragtax-cache/],
    ['report: --out is a folder', ['report', missingDir, '--out', s.dir], /no-such-run|bad-cli/],
    ['index --verify: no index built', ['index', s.suite, '--verify'], /index|missing/],
    ['compare: --max-drop not a number', ['compare', missingDir, missingDir, '--max-drop', 'lots'], /max-drop|no-such-run/],
    ['power: --power above 1', ['power', missingDir, '--effect', '2', '--power', '2'], /--power|no-such-run/],
    ['prompts: --cell matches nothing', ['prompts', s.suite, '--cell', 'zzz'], /zzz/],
    ['run: a suite that is a folder', ['run', s.dir], /bad-cli/],
  ];
  for (const [name, argv, names] of cliCases) {
    const caseEnv =
      name === 'run: cache dir under /proc'
        ? { RAGTAX_CACHE_DIR: '/proc/ragtax-cache' }
        : name === 'index --verify: no index built'
          ? { RAGTAX_CACHE_DIR: path.join(tmp, 'empty-cache') } // the other cases built the tiny corpus's index
          : undefined;
    cases.push({ name: `cli: ${name}`, argv, names, ...(caseEnv ? { env: caseEnv } : {}) });
  }
  return cases;
}

// ---------------------------------------------------------------- main

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const lines: string[] = ['# Fault matrix', '', `Run ${new Date().toISOString()} on ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`, ''];

  // The uninterrupted reference.
  const refDir = path.join(tmp, 'reference');
  const t0 = performance.now();
  const ref = cli(['run', TINY, '--out', refDir, '--quiet', '--no-cache']);
  if (ref.code !== 0) throw new Error(`reference run failed: ${ref.stderr}`);
  const reference = { keys: new Set(samplesOf(refDir).map((s) => s.key)), aggregates: aggregates(refDir), durationMs: performance.now() - t0 };

  const kills = await killMatrix(reference);
  const good = kills.filter((k) => k.resumed && k.lost === 0 && k.duplicated === 0 && k.aggregatesEqual && k.leftovers === 0).length;
  lines.push(`## kill -9, then --resume: ${good}/${kills.length} resumable with 0 lost, 0 duplicated, equal aggregates, no leftovers`, '');
  lines.push(`The uninterrupted tiny-suite run took ${Math.round(reference.durationMs)} ms; the first trials wait for a file of the run-file or report writes to appear, the rest kill at a seeded random moment. ${missedKills} run(s) finished before their moment and are not counted.`, '');
  lines.push(
    table(
      ['trial', 'killed', 'samples kept', 'resumed', 'lost', 'duplicated', 'aggregates equal', 'temp leftovers', 'note'],
      kills.map((k) => [String(k.trial), k.moment, String(k.keptBefore), k.resumed ? 'yes' : 'NO', String(k.lost), String(k.duplicated), k.aggregatesEqual ? 'yes' : 'NO', String(k.leftovers), k.note]),
    ),
    '',
  );

  const cases = badInputs();
  const results = cases.map((c) => {
    const r = cli(c.argv, c.env);
    const message = r.stderr.trim();
    const named = c.names.test(message);
    const stack = STACK.test(r.stderr);
    return { c, code: r.code, named, stack, message: message.split('\n').at(-1)!.slice(0, 140) };
  });
  const bad = results.filter((r) => r.code !== 2 || !r.named || r.stack);
  lines.push(`## Bad inputs: ${results.length - bad.length}/${results.length} exit 2 naming the file, line or field, ${results.filter((r) => r.stack).length} stack traces`, '');
  lines.push(table(['case', 'exit', 'names it', 'stack', 'message'], results.map((r) => [r.c.name, String(r.code), r.named ? 'yes' : 'NO', r.stack ? 'YES' : 'no', r.message.replace(/\|/g, '\\|')])), '');

  for (const [title, files] of [
    ['Cache corruptions', ['tests/resilience/cache-corruption.test.ts']],
    ['HTTP faults', ['tests/backends/http-client.test.ts', 'tests/backends/http-faults.test.ts'].filter((f) => existsSync(path.join(ROOT, f)))],
  ] as const) {
    if (files.length === 0 || !files.every((f) => existsSync(path.join(ROOT, f)))) {
      lines.push(`## ${title}: test file missing`, '');
      continue;
    }
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...files], { cwd: ROOT, encoding: 'utf8', env });
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
    lines.push(`## ${title}: ${count('pass')}/${count('tests')} cases pass (${files.join(', ')})`, '');
  }

  const text = lines.join('\n');
  writeFileSync(path.join(ROOT, 'benchmarks/fault-matrix.md'), text + '\n');
  process.stdout.write(text + '\n');
  rmSync(tmp, { recursive: true, force: true });
}

await main();
