// `ragtax prompts`: the dry run shows the prompts a run sends, byte for byte, with the run's token
// counts and context-overflow decisions, through the CLI on the tiny fixture models.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { PromptsReport } from '../../src/commands/prompts.js';
import type { SampleRecord } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin/ragtax.js');
const SUITE = path.join(ROOT, 'tests/fixtures/suites/tiny.yaml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-prompts-'));
const workDir = path.join(tmp, 'cwd');
mkdirSync(workDir);

function ragtax(args: string[], cache = path.join(tmp, 'cache')) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: workDir, encoding: 'utf8', env: { ...process.env, RAGTAX_CACHE_DIR: cache } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The reference: what a real run records (3 items × 3 model-formats × 11 grid points).
const runDir = path.join(tmp, 'run');
const run = ragtax(['run', SUITE, '--out', runDir, '--no-cache', '--quiet']);
const samples: SampleRecord[] =
  run.code === 0 ? readFileSync(path.join(runDir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord) : [];
const cellKey = (c: { model: string; format: string; instruction: string; context: string; k: number; shots: number; cot: boolean; variant?: string }) =>
  `${c.model}|${c.format}|${c.instruction}|${c.context}|${c.k}|${c.shots}|${c.cot}|${c.variant ?? ''}`;

// The dry run, with its own cache folder: it must leave no generation cache (and no files in its cwd).
const dryCache = path.join(tmp, 'dry-cache');
const dry = ragtax(['prompts', SUITE, '--json'], dryCache);

test('the reference run finished', () => {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(samples.length, 99);
});

test('--json: every cell, its first prompt byte-identical to the run, the same token count and overflow decisions', () => {
  assert.equal(dry.code, 0, dry.stderr);
  const report = JSON.parse(dry.stdout) as PromptsReport;
  assert.equal(report.items, 3);
  assert.deepEqual(report.models.map((m) => m.model), ['base', 'instruct']);
  // models × formats × points × items: (base raw + instruct raw + instruct chat) × 11 × 3.
  assert.equal(report.totalSamples, 3 * 11 * 3);
  assert.equal(report.totalSamples, samples.length);
  assert.equal(report.selected.samples, report.totalSamples);
  assert.equal(report.selected.cells, 33);
  const byCell = new Map<string, SampleRecord[]>();
  for (const s of samples) byCell.set(cellKey(s), [...(byCell.get(cellKey(s)) ?? []), s]);
  for (const m of report.models) {
    assert.equal(m.contextLength, 512);
    for (const c of m.cells) {
      const recorded = byCell.get(cellKey({ ...c, model: m.model }));
      assert.ok(recorded, `${m.model} ${c.label}: no such cell in the run`);
      assert.equal(c.samples, recorded.length);
      // The run's own overflow decision, cell by cell.
      assert.equal(c.overflow, recorded.filter((s) => s.excluded === 'context-overflow').length, `${m.model} ${c.label} overflow`);
      assert.equal(c.prompts.length, 1);
      const p = c.prompts[0]!;
      const sample = recorded.find((s) => s.itemId === p.itemId);
      assert.ok(sample, `${m.model} ${c.label}: item ${p.itemId} not in the run`);
      assert.equal(p.prompt, sample.prompt, `${m.model} ${c.label}: prompt`);
      assert.equal(p.promptTokens, sample.promptTokens, `${m.model} ${c.label}: token count`);
      assert.equal(p.firstIds!.length, Math.min(8, p.promptTokens!));
      assert.equal(p.lastIds!.length, Math.min(8, p.promptTokens!));
      // The chat template's own first token opens every chat prompt (no BOS added to it).
      if (c.format === 'chat') assert.equal(p.firstIds![0], 1);
    }
  }
  assert.equal(report.selected.overflow, samples.filter((s) => s.excluded === 'context-overflow').length);
});

test('writes nothing: no run folder, no generation cache', () => {
  assert.deepEqual(readdirSync(workDir), []);
  assert.ok(!existsSync(path.join(dryCache, 'generations.sqlite')));
});

test('text output: cell labels, the prompt verbatim, token counts and ids, the total', () => {
  const r = ragtax(['prompts', SUITE, '--model', 'instruct', '--cell', 'chat nores retrieved k=1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^== instruct chat nores retrieved k=1 shots=0 cot=false: 3 samples; /m);
  const itemId = /^-- item (\S+): /m.exec(r.stdout)?.[1];
  const sample = samples.find((s) => s.itemId === itemId && s.model === 'instruct' && s.format === 'chat' && s.instruction === 'nores' && s.k === 1)!;
  assert.ok(sample, r.stdout);
  assert.ok(r.stdout.includes(`-- item ${sample.itemId}: ${sample.promptTokens} tokens; ids first [1, `), r.stdout);
  assert.ok(r.stdout.includes(sample.prompt), 'the prompt, verbatim');
  assert.match(r.stdout, /^shown: 1 cells, 3 samples, /m);
  assert.match(r.stdout, /^total: a run of this suite makes 99 samples/m);
});

test('--model and --cell filter; --limit shows more items', () => {
  const r = ragtax(['prompts', SUITE, '--json', '--model', 'instruct', '--cell', 'chat no-rejection', '--limit', '2']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as PromptsReport;
  assert.deepEqual(report.models.map((m) => m.model), ['instruct']);
  const cells = report.models[0]!.cells;
  assert.equal(cells.length, 4); // shots 0/1 × cot false/true
  for (const c of cells) {
    assert.ok(c.label.includes('chat no-rejection'), c.label);
    assert.equal(c.prompts.length, 2);
    assert.notEqual(c.prompts[0]!.itemId, c.prompts[1]!.itemId);
  }
  assert.equal(report.selected.samples, 4 * 3);
  assert.equal(report.totalSamples, 99);

  const unknown = ragtax(['prompts', SUITE, '--model', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--model nope: no such model .*its models: base, instruct/);
  const noCell = ragtax(['prompts', SUITE, '--cell', 'k=99']);
  assert.equal(noCell.code, 2);
  assert.match(noCell.stderr, /--cell "k=99" matches no cell/);
});

test('a chat template that refuses the system role: exit 2, one line naming the model and the fix', () => {
  const dir = path.join(tmp, 'refusing');
  cpSync(path.join(ROOT, 'tests/fixtures/models/tiny-chat'), path.join(dir, 'model'), { recursive: true });
  const configFile = path.join(dir, 'model/tokenizer_config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  config.chat_template = "{{ raise_exception('System role not supported') }}";
  writeFileSync(configFile, JSON.stringify(config));
  const data = path.join(ROOT, 'tests/fixtures/data');
  const suite = path.join(dir, 'suite.yaml');
  writeFileSync(
    suite,
    [
      'name: refusing-template',
      'seed: 1',
      `dataset: { format: ragtax, path: ${JSON.stringify(path.join(data, 'qa.jsonl'))}, corpus: ${JSON.stringify(path.join(data, 'corpus.jsonl'))} }`,
      'models:',
      '  strict-chat: { path: ./model, formats: [chat] }',
      'grid:',
      '  - { k: 1, instruction: nores }',
      '',
    ].join('\n'),
  );
  const r = ragtax(['prompts', suite]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^ragtax: model `strict-chat`: .*System role not supported.*`system_role: merge`/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
});
