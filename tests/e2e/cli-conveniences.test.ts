// The command line's conveniences, through the real CLI: --set / --seed / --models / --cells on
// `ragtax run` (and --resume refusing other filters), the sample estimate and its warning,
// `ragtax list`, `ragtax schema` (= the committed suites/suite.schema.json), help wrapping,
// "did you mean" for misspelt options and --version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { FORMAT_NAMES } from '../../src/data/formats/formats.js';
import { BACKEND_NAMES } from '../../src/models/backends.js';
import { PRESETS } from '../../src/prompts/presets.js';
import { CONTEXT_MODES } from '../../src/retrieval/contexts.js';
import { RETRIEVERS } from '../../src/retrieval/retrievers.js';
import type { RunSummary } from '../../src/rundir/types.js';
import { METRICS } from '../../src/scoring/metrics.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-cli-'));

function ragtax(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, RAGTAX_CACHE_DIR: path.join(tmp, 'cache') };
  delete env.COLUMNS;
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const samplesOf = (dir: string) => readFileSync(path.join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);

test('--version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = ragtax('--version');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('help is wrapped (at most 100 columns off a terminal) and lists the new commands and options', () => {
  const top = ragtax('--help');
  assert.equal(top.code, 0, top.stderr);
  for (const line of top.stdout.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
  assert.match(top.stdout, /ragtax list <table>/);
  assert.match(top.stdout, /ragtax schema/);
  const run = ragtax('run', '--help');
  for (const line of run.stdout.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
  for (const option of ['--set', '--seed', '--models', '--cells']) assert.ok(run.stdout.includes(option), option);
  // Words are not cut in two.
  assert.match(run.stdout, /--no-cache\s+bypasses it/);
});

test('a misspelt option exits 2 and suggests the closest one', () => {
  const r = ragtax('run', SUITE, '--seeed', '3');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown argument: seeed/);
  assert.match(r.stderr, /did you mean --seed\?/);
  const compare = ragtax('compare', 'a', 'b', '--max-dorp', '3');
  assert.equal(compare.code, 2);
  assert.match(compare.stderr, /did you mean --max-drop\?/);
  const missing = ragtax('run', SUITE, '--seed');
  assert.equal(missing.code, 2, missing.stderr);
});

test('ragtax list prints every name of each table with a line about it', () => {
  const tables: [string, string[]][] = [
    ['presets', Object.keys(PRESETS)],
    ['formats', [...FORMAT_NAMES]],
    ['retrievers', Object.keys(RETRIEVERS)],
    ['contexts', Object.keys(CONTEXT_MODES)],
    ['metrics', Object.keys(METRICS)],
    ['backends', [...BACKEND_NAMES]],
  ];
  for (const [table, names] of tables) {
    const r = ragtax('list', table);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), names, table);
    for (const line of lines) assert.match(line, /^\S+\s{2,}\S/, `${table}: ${line}`);
  }
  assert.match(ragtax('list', 'metrics').stdout, /overRefusalRate\s+over-refusal; rate over answer in context; lower is better/);
  const bad = ragtax('list', 'models');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Choices: "presets", "formats"/);
});

test('ragtax schema is the committed suites/suite.schema.json, and the shipped suites point at it and fit it', () => {
  const r = ragtax('schema');
  assert.equal(r.code, 0, r.stderr);
  const committed = readFileSync(path.join(ROOT, 'suites/suite.schema.json'), 'utf8');
  assert.equal(r.stdout, committed, 'suites/suite.schema.json is stale: regenerate it with `node bin/ragtax.js schema > suites/suite.schema.json`');
  const schema = JSON.parse(committed) as { type: string; required: string[]; properties: Record<string, { type?: string }>; additionalProperties: boolean };
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  const suites = [
    ...readdirSync(path.join(ROOT, 'suites')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(ROOT, 'suites', f)),
    ...readdirSync(path.join(ROOT, 'suites/examples')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(ROOT, 'suites/examples', f)),
  ];
  assert.ok(suites.some((f) => f.endsWith('quickstart.yaml')));
  for (const file of suites) {
    const text = readFileSync(file, 'utf8');
    const first = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    assert.ok(first, `${file}: first line must be # yaml-language-server: $schema=...`);
    assert.equal(path.resolve(path.dirname(file), first[1]!), path.join(ROOT, 'suites/suite.schema.json'), file);
    const data = parse(text) as Record<string, unknown>;
    for (const key of schema.required) assert.ok(key in data, `${file}: required \`${key}\` missing`);
    for (const key of Object.keys(data)) assert.ok(key in schema.properties, `${file}: \`${key}\` is not in the schema`);
    assert.equal(typeof data.name, schema.properties.name!.type);
  }
});

test('--set: a bad value is reported like a bad file field, naming --set KEY.PATH', () => {
  const out = path.join(tmp, 'never');
  const type = ragtax('run', SUITE, '--out', out, '--set', 'decoding.max_new_tokens=abc');
  assert.equal(type.code, 2);
  assert.equal(type.stderr, 'ragtax: --set decoding.max_new_tokens: field `decoding.max_new_tokens` expected number, got string\n');
  const unknown = ragtax('run', SUITE, '--out', out, '--set', 'decoding.max_new_tokns=5');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^ragtax: --set decoding\.max_new_tokns: unknown field `max_new_tokns` in `decoding` \(did you mean `max_new_tokens`\?\)/);
  const model = ragtax('run', SUITE, '--out', out, '--set', 'pairs[0].base=nope');
  assert.equal(model.code, 2);
  assert.match(model.stderr, /^ragtax: --set pairs\[0\]\.base: field `pairs\[0\]\.base` names unknown model `nope`/);
  const index = ragtax('run', SUITE, '--out', out, '--set', 'grid[7].k=1');
  assert.equal(index.code, 2);
  assert.match(index.stderr, /`grid` has 3 element\(s\)/);
  const malformed = ragtax('run', SUITE, '--out', out, '--set', 'seed');
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /expected key\.path=value/);
  const instruction = ragtax('run', SUITE, '--out', out, '--set', 'grid[0].instruction=nores-x');
  assert.equal(instruction.code, 2);
  assert.match(instruction.stderr, /^ragtax: --set grid\[0\]\.instruction: /);
  // A field not set on the command line keeps its file line.
  const broken = path.join(path.dirname(SUITE), `.broken-${process.pid}.yaml`);
  writeFileSync(broken, readFileSync(SUITE, 'utf8').replace('seed: 7', 'seed: seven'));
  try {
    const file = ragtax('run', broken, '--out', out, '--set', 'decoding.max_new_tokens=5');
    assert.equal(file.code, 2);
    assert.equal(file.stderr, `ragtax: ${broken}:3: field \`seed\` expected number, got string\n`);
  } finally {
    rmSync(broken);
  }
});

const narrowed = path.join(tmp, 'narrowed');
const narrowedRun = ragtax(
  'run', SUITE, '--out', narrowed,
  '--models', 'instruct', '--cells', 'nores retrieved k=', '--set', 'grid[0].k=[1]', '--set', 'decoding.max_new_tokens=4', '--seed', '3',
);

test('--models, --cells, --set and --seed narrow and change the run, and the estimate is printed first', () => {
  assert.equal(narrowedRun.code, 0, narrowedRun.stderr);
  assert.match(narrowedRun.stderr, /note: --models drops the pair base \/ instruct/);
  // 1 model × 2 formats × 1 point (grid[0] is now k=1 only; the filter drops the other blocks) × 3 items
  assert.match(narrowedRun.stderr, /^6 samples to generate \(1 model\(s\), 1 grid point\(s\), 3 item\(s\)\)$/m);
  const samples = samplesOf(narrowed);
  assert.equal(samples.length, 6);
  assert.deepEqual([...new Set(samples.map((s) => s.model))], ['instruct']);
  assert.deepEqual([...new Set(samples.map((s) => `${s.instruction} ${s.k}`))], ['nores 1']);
  const summary = JSON.parse(readFileSync(path.join(narrowed, 'summary.json'), 'utf8')) as RunSummary;
  assert.equal(summary.pairs.length, 0);
});

test('--resume accepts the same filters and refuses other ones', () => {
  const same = ragtax(
    'run', SUITE, '--out', narrowed, '--resume', '--quiet',
    '--models', 'instruct', '--cells', 'nores retrieved k=', '--set', 'grid[0].k=[1]', '--set', 'decoding.max_new_tokens=4', '--seed', '3',
  );
  assert.equal(same.code, 0, same.stderr);
  for (const other of [
    ['--models', 'instruct', '--cells', 'nores retrieved k=1', '--set', 'grid[0].k=[1]', '--set', 'decoding.max_new_tokens=4', '--seed', '3'],
    ['--models', 'base,instruct', '--cells', 'nores retrieved k=', '--set', 'grid[0].k=[1]', '--set', 'decoding.max_new_tokens=4', '--seed', '3'],
    ['--models', 'instruct', '--cells', 'nores retrieved k=', '--set', 'grid[0].k=[1]', '--set', 'decoding.max_new_tokens=4', '--seed', '4'],
  ]) {
    const r = ragtax('run', SUITE, '--out', narrowed, '--resume', '--quiet', ...other);
    assert.equal(r.code, 2, other.join(' '));
    assert.match(r.stderr, /cannot resume: .*the suite configuration differs/);
  }
});

test('a filter that matches nothing exits 2 and lists what exists', () => {
  const cells = ragtax('run', SUITE, '--out', path.join(tmp, 'none1'), '--cells', 'k=9');
  assert.equal(cells.code, 2);
  assert.match(cells.stderr, /--cells "k=9" matches no grid point; grid points:\n {2}nores retrieved k=1 shots=0 cot=false\n/);
  assert.match(cells.stderr, /closed-book closed-book k=0 shots=0 cot=false/);
  const models = ragtax('run', SUITE, '--out', path.join(tmp, 'none2'), '--models', 'base,chat');
  assert.equal(models.code, 2);
  assert.equal(models.stderr, 'ragtax: --models: no model named `chat`; models: base, instruct\n');
});

test('a run above 50,000 samples is announced with a warning (not a question)', () => {
  // 11 points × ~600 max_new_tokens variants × 3 model formats × 3 items; a non-empty --out stops
  // the run right after the estimate.
  const busy = path.join(tmp, 'busy');
  mkdirSync(busy);
  writeFileSync(path.join(busy, 'x'), '');
  const tokens = Array.from({ length: 600 }, (_, i) => i + 1).join(',');
  const r = ragtax('run', SUITE, '--out', busy, '--set', `sweep.max_new_tokens=[${tokens}]`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^warning: this run will generate about [\d,]+ samples \(over 50,000\)/m);
  const n = Number(/about ([\d,]+) samples/.exec(r.stderr)![1]!.replaceAll(',', ''));
  assert.equal(n, 3 * 3 * 11 * 600);
});
