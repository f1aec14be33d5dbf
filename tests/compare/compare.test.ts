// `ragtax compare` end to end (real tiny runs and edited copies of them) and its statistics against
// hand-computed cases.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import { runCompareCommand, type CompareCommandOptions } from '../../src/commands/compare.js';
import { COMPARED_METRICS, compareSamples, DEFAULT_COMPARE_OPTIONS, METRIC_LABELS } from '../../src/compare/compare.js';
import { RagtaxError } from '../../src/errors.js';
import { xmlEscape } from '../../src/compare/junit.js';
import { pairedBootstrapInterval } from '../../src/stats/bootstrap.js';
import type { SampleRecord } from '../../src/types.js';
import { amplify, cellTables, copyRun, ragtax, readSamples, sample, tinyRun } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-compare-'));
const run = tinyRun(tmp);
const original = readSamples(run);

/** The cell the planted regression hits: instruct, chat template, nores, k=2. */
const target = (s: SampleRecord) => s.model === 'instruct' && s.format === 'chat' && s.instruction === 'nores' && s.k === 2 && s.shots === 0 && !s.cot;

/** Baseline: every item ×20; the target cell answers all of them right. */
const amplified = amplify(original, 20).map((s) => (target(s) && !s.excluded ? { ...s, scores: { ...s.scores, correct: true } } : s));
const baselineDir = copyRun(run, path.join(tmp, 'baseline'), { samples: amplified });

/** The compare command in-process (same code as the CLI handler, without a Node start per call). */
async function compare(baseline: string, candidate: string, options: Partial<CompareCommandOptions> = {}) {
  let stdout = '';
  const out = { write: (chunk: string) => ((stdout += chunk), true) } as unknown as NodeJS.WritableStream;
  try {
    const { exitCode } = await runCompareCommand({ baseline, candidate, ...options }, out);
    return { code: exitCode, stdout, stderr: '' };
  } catch (err) {
    if (err instanceof RagtaxError) return { code: err.exitCode, stdout, stderr: err.message };
    throw err;
  }
}

describe('ragtax compare (CLI)', () => {
  it('two identical runs: exit 0, no regressions, JUnit with no failures', () => {
    const junit = path.join(tmp, 'same.xml');
    const md = path.join(tmp, 'same.md');
    const r = ragtax(tmp, 'compare', run, run, '--junit', junit, '--md', md);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no regressions/);
    // Holm by default, over the accuracy (the one gating metric without --gate-refusal) of every
    // shared cell with paired samples: 18 of the 33 (the other cells' items all overflow the context).
    assert.match(r.stdout, /33 shared cells, \d+ paired samples; p adjusted by Holm over 18 gated comparisons/);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /failures="0"/);
    assert.match(xml, /<property name="p-adjust" value="holm"\/>\n\s*<property name="gated-comparisons" value="18"\/>/);
    // one test case per shared cell × metric: 33 cells × 5 metrics
    assert.equal((xml.match(/<testcase /g) ?? []).length, 33 * 5);
    assert.match(readFileSync(md, 'utf8'), /✅ no regressions/);
  });

  it('a planted regression: exit 1, named in stdout, JUnit and Markdown', async () => {
    // Candidate: the target cell loses 45 of its 60 right answers.
    let lost = 0;
    const candidate = amplified.map((s) => {
      if (target(s) && !s.excluded && s.scores.correct && lost < 45) {
        lost += 1;
        return { ...s, response: 'NO-RES', scores: { ...s.scores, correct: false, refusal: true } };
      }
      return s;
    });
    assert.equal(lost, 45);
    const candidateDir = copyRun(run, path.join(tmp, 'regressed'), { samples: candidate });
    const junit = path.join(tmp, 'regressed.xml');
    const md = path.join(tmp, 'regressed.md');
    const r = ragtax(tmp, 'compare', baselineDir, candidateDir, '--junit', junit, '--md', md);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /REGRESSIONS: 1/);
    assert.match(r.stdout, /instruct chat · nores · retrieved k=2 · shots=0: accuracy: 100\.0 → 25\.0 \(-75\.0 points/);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /failures="1"/);
    const failing = xml.split('<testcase ').filter((c) => c.includes('<failure'));
    assert.equal(failing.length, 1);
    assert.match(failing[0]!, /^classname="instruct chat · nores · retrieved k=2 · shots=0" name="accuracy"/);
    const text = readFileSync(md, 'utf8');
    assert.match(text, /❌ 1 regression/);
    assert.match(text, /\| instruct chat · nores · retrieved k=2 · shots=0 \| accuracy \| 100\.0 \| 25\.0 \|/);
    // Both p-values, raw and adjusted, and the family, in stdout, JUnit and Markdown.
    assert.match(r.stdout, /p adjusted by Holm over 18 gated comparisons/);
    assert.match(r.stdout, /✗ instruct chat · nores · retrieved k=2 · shots=0: accuracy: .*McNemar p=<0\.001, Holm p_adj=<0\.001, n=60\)/);
    assert.match(failing[0]!, /<failure message="regression: accuracy dropped by 75\.0 points \(&gt; 2\) with adjusted p=&lt;0\.001 \(&lt; 0\.05; raw McNemar p=&lt;0\.001; p adjusted by Holm over 18 gated comparisons\)"/);
    assert.match(failing[0]!, /McNemar p=&lt;0\.001, Holm p_adj=&lt;0\.001, n=60\)<\/failure>/);
    assert.match(xml, /name="refusal rate \(reported, not gating\)" time="0">\n\s*<system-out>[^<]*McNemar p=&lt;0\.001, n=\d+\)</, 'non-gating metrics show their raw p only');
    assert.match(text, /paired samples; p adjusted by Holm over 18 gated comparisons\./);
    assert.match(text, /\| p \| p_adj \(Holm, 18\) \| n \|/);
    assert.match(text, /\| -75\.0 \[[^\]]+\] \| <0\.001 \| <0\.001 \| 60 \|/);
    assert.match(text, /\*\*-75\.0 \[[^\]]+\] p=<0\.001 p_adj=<0\.001\*\* ❌/);
    // --adjust none: the raw p alone, and the header says so.
    const none = await compare(baselineDir, candidateDir, { adjust: 'none', junit: path.join(tmp, 'regressed-none.xml'), md: path.join(tmp, 'regressed-none.md') });
    assert.equal(none.code, 1);
    assert.match(none.stdout, /p not adjusted for multiple comparisons \(--adjust none\) over 18 gated comparisons/);
    assert.match(none.stdout, /McNemar p=<0\.001, n=60\)/);
    assert.match(readFileSync(path.join(tmp, 'regressed-none.xml'), 'utf8'), /<property name="p-adjust" value="none"\/>/);
    assert.match(readFileSync(path.join(tmp, 'regressed-none.md'), 'utf8'), /\| p \| p_adj \(none\) \| n \|/);
    // Refusals rose too, but they only gate with --gate-refusal (over-refusal: the documents hold the answer).
    const gated = await compare(baselineDir, candidateDir, { gateRefusal: true });
    assert.equal(gated.code, 1);
    assert.match(gated.stdout, /REGRESSIONS: 2/);
    assert.match(gated.stdout, /over-refusal: 0\.0 → 75\.0/);
    // A looser gate passes it.
    assert.equal((await compare(baselineDir, candidateDir, { maxDrop: 80 })).code, 0);
  });

  it('a small or non-significant drop does not gate', async () => {
    let lost = 0;
    const candidate = amplified.map((s) => {
      if (target(s) && !s.excluded && s.scores.correct && lost < 5) {
        lost += 1;
        return { ...s, scores: { ...s.scores, correct: false } };
      }
      return s;
    });
    // 5 of 60 lost: 8.3 points, but McNemar p = 2/32 = 0.0625 ≥ 0.05.
    const dir = copyRun(run, path.join(tmp, 'small-drop'), { samples: candidate });
    const r = await compare(baselineDir, dir);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /largest other accuracy changes:\n {2}instruct chat · nores · retrieved k=2 · shots=0: accuracy: 100\.0 → 91\.7/);
    // Unadjusted (today's gate), p = 0.0625 < 0.1 gates; Holm over 18 gated comparisons does not.
    assert.equal((await compare(baselineDir, dir, { alpha: 0.1, adjust: 'none' })).code, 1);
    const holm = await compare(baselineDir, dir, { alpha: 0.1 });
    assert.equal(holm.code, 0);
    assert.match(holm.stdout, /accuracy: 100\.0 → 91\.7 \(-8\.3 points, 95% CI \[[^\]]+\], McNemar p=0\.063, Holm p_adj=1\.000, n=60\)/);
  });

  it('items and cells present in only one run are listed, not dropped', async () => {
    const candidate = original.filter((s) => !(s.instruction === 'closed-book' && s.model === 'base') && !(s.itemId === 'q2' && s.k === 1));
    const dir = copyRun(run, path.join(tmp, 'partial'), { samples: candidate });
    const md = path.join(tmp, 'partial.md');
    const junit = path.join(tmp, 'partial.xml');
    const r = await compare(run, dir, { md, junit });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 cell\(s\) only in baseline, 0 only in candidate; 3 sample\(s\) only in baseline/);
    assert.match(r.stdout, /only in baseline: base raw · closed-book · shots=0/);
    const text = readFileSync(md, 'utf8');
    assert.match(text, /cell only in the baseline run: base raw · closed-book/);
    assert.match(text, /base raw · nores · retrieved k=1 · shots=0: 1 item\(s\) only in the baseline run: q2/);
    assert.match(readFileSync(junit, 'utf8'), /<skipped message="cell only in the baseline run"\/>/);
  });

  it('runs of different suites, or a changed configuration, exit 2', async () => {
    const other = copyRun(run, path.join(tmp, 'other-suite'), { summary: (s) => void (s.suite = 'another-suite') });
    let r = ragtax(tmp, 'compare', run, other);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /different suites \(baseline `tiny-e2e`, candidate `another-suite`\)/);
    const changed = copyRun(run, path.join(tmp, 'changed-config'), { summary: (s) => void (s.manifest.suite.configSha256 = '0'.repeat(64)) });
    r = await compare(run, changed);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /suite configuration differs/);
    r = await compare(run, changed, { allowConfigChange: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /note: the suite configuration differs/);
  });

  it('missing, corrupt or disjoint run directories exit 2 with the file named', async () => {
    let r = ragtax(tmp, 'compare', run, path.join(tmp, 'nope'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nope: run directory not found/);
    const noSummary = copyRun(run, path.join(tmp, 'no-summary'));
    rmSync(path.join(noSummary, 'summary.json'));
    r = await compare(run, noSummary);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /summary\.json: not found/);
    const corrupt = copyRun(run, path.join(tmp, 'corrupt'));
    appendFileSync(path.join(corrupt, 'samples.jsonl'), '{"itemId": "q1", "trunc\n');
    r = await compare(run, corrupt);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`samples\\.jsonl:${original.length + 1}: invalid JSON`));
    const badSummary = copyRun(run, path.join(tmp, 'bad-summary'));
    writeFileSync(path.join(badSummary, 'summary.json'), '{');
    assert.equal((await compare(badSummary, run)).code, 2);
    const disjoint = copyRun(run, path.join(tmp, 'disjoint'), { samples: original.map((s) => ({ ...s, itemId: `other-${s.itemId}` })) });
    r = await compare(run, disjoint);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no \(item, cell\) is scored in both runs/);
    r = await compare(run, run, { alpha: 2 });
    assert.equal(r.code, 2);
  });

  it('--bootstrap out of 100..100000 or not whole, and an unknown --adjust, exit 2', async () => {
    let r = ragtax(tmp, 'compare', run, run, '--bootstrap', '1e9');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--bootstrap must be a whole number of resamples from 100 to 100000, got 1000000000/);
    r = ragtax(tmp, 'compare', run, run, '--adjust', 'foo');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--adjust must be one of holm, bh, none, got `foo`/);
    for (const bootstrapSamples of [99, 100_001, 150.5, Number.NaN, 0, -5]) {
      r = await compare(run, run, { bootstrapSamples });
      assert.equal(r.code, 2, `--bootstrap ${bootstrapSamples}`);
      assert.match(r.stderr, /--bootstrap must be a whole number/);
    }
    assert.equal((await compare(run, run, { bootstrapSamples: 100 })).code, 0);
    assert.equal((await compare(run, run, { adjust: 'bh' })).code, 0);
    assert.match((await compare(run, run, { adjust: 'bh' })).stdout, /p adjusted by Benjamini–Hochberg over 18 gated comparisons/);
  });
});

/** b items right only in the baseline, c right only in the candidate, `both` right in both, `neither` in none. */
function tables(b: number, c: number, both: number, neither: number): { base: SampleRecord[]; cand: SampleRecord[] } {
  return cellTables('m', b, c, both, neither);
}

describe('compare statistics (hand-computed)', () => {
  const options = { ...DEFAULT_COMPARE_OPTIONS, seed: 11, bootstrapSamples: 500 };

  it('b=6, c=0 of 10: diff −60 points, exact McNemar p = 2/64, a regression', () => {
    const { base, cand } = tables(6, 0, 4, 0);
    const result = compareSamples(base, cand, options);
    const acc = result.cells[0]!.metrics.find((m) => m.metric === 'accuracy')!;
    assert.equal(acc.n, 10);
    assert.equal(acc.baseline, 1);
    assert.ok(Math.abs(acc.candidate - 0.4) < 1e-12);
    assert.ok(Math.abs(acc.diff + 0.6) < 1e-12);
    assert.ok(Math.abs(acc.p! - 0.03125) < 1e-12);
    assert.deepEqual(acc.table, { both: 4, baselineOnly: 6, candidateOnly: 0, neither: 0 });
    assert.equal(acc.regression, true);
    assert.equal(result.regressions.length, 1);
  });

  it('b=5, c=1: McNemar p = 2·7/64 = 0.21875, not a regression', () => {
    const { base, cand } = tables(5, 1, 10, 4);
    const acc = compareSamples(base, cand, options).cells[0]!.metrics.find((m) => m.metric === 'accuracy')!;
    assert.ok(Math.abs(acc.p! - 0.21875) < 1e-12);
    assert.ok(Math.abs(acc.diff + 0.2) < 1e-12);
    assert.equal(acc.regression, false);
  });

  it('b=10, c=2 of 40: p = 2·79/4096; the drop is 20 points', () => {
    const { base, cand } = tables(10, 2, 20, 8);
    const acc = compareSamples(base, cand, options).cells[0]!.metrics.find((m) => m.metric === 'accuracy')!;
    assert.ok(Math.abs(acc.p! - 158 / 4096) < 1e-12);
    assert.equal(acc.regression, true);
    const loose = compareSamples(base, cand, { ...options, maxDrop: 20 }).cells[0]!.metrics.find((m) => m.metric === 'accuracy')!;
    assert.equal(loose.regression, false, 'a drop of exactly max-drop is not beyond it');
  });

  it('an improvement is never a regression', () => {
    const { base, cand } = tables(0, 8, 2, 0);
    const result = compareSamples(base, cand, options);
    assert.equal(result.regressions.length, 0);
    assert.ok(result.cells[0]!.metrics.find((m) => m.metric === 'accuracy')!.diff > 0);
  });

  it('the bootstrap interval is the seeded paired bootstrap of candidate − baseline, reproducible, and independent of file order', () => {
    const { base, cand } = tables(7, 3, 12, 8);
    const first = compareSamples(base, cand, options).cells[0]!.metrics.find((m) => m.metric === 'accuracy')!;
    const again = compareSamples([...base].reverse(), [...cand].reverse(), options).cells[0]!.metrics.find((m) => m.metric === 'accuracy')!;
    assert.deepEqual(first.ci95, again.ci95);
    const x = cand.map((s) => (s.scores.correct ? 1 : 0));
    const y = base.map((s) => (s.scores.correct ? 1 : 0));
    assert.deepEqual(first.ci95, pairedBootstrapInterval(x, y, { seed: 11, samples: 500 }));
    assert.ok(first.ci95[0] <= first.diff && first.diff <= first.ci95[1]);
  });

  it('F1 is compared by its mean, without a McNemar p-value, and never gates', () => {
    const base = [sample('a', true, false, 1), sample('b', false, false, 0.5)];
    const cand = [sample('a', true, false, 0.5), sample('b', false, false, 0)];
    const f1 = compareSamples(base, cand, options).cells[0]!.metrics.find((m) => m.metric === 'f1')!;
    assert.equal(f1.p, null);
    assert.equal(f1.diff, -0.5);
    assert.equal(f1.gating, false);
  });

  it('compares the METRICS entries that have a `compare`, in its order, with their labels and gates', () => {
    const base = [sample('a', true, false, 1)];
    const metrics = compareSamples(base, base, options).cells[0]!.metrics;
    assert.deepEqual(metrics.map((m) => [m.metric, METRIC_LABELS[m.metric], m.gating, m.higherIsBetter]), [
      ['accuracy', 'accuracy', true, true],
      ['refusalRate', 'refusal rate', false, false],
      ['overRefusal', 'over-refusal', false, false],
      ['exactMatch', 'exact match', false, true],
      ['f1', 'F1', false, true],
    ]);
    assert.deepEqual(COMPARED_METRICS.map((m) => m.def.name), ['accuracy', 'refusalRate', 'overRefusalRate', 'exactMatch', 'f1', 'followsContext', 'followsMemory', 'conflictRefusal', 'conflictNeither']);
    // The conflict metrics are compared only in cells with knowledge conflicts.
    const conflict = [{ ...base[0]!, scores: { ...base[0]!.scores, followsContext: false } }];
    assert.deepEqual(compareSamples(conflict, conflict, options).cells[0]!.metrics.map((m) => m.metric).slice(5), ['followsContext', 'followsMemory', 'conflictRefusal', 'conflictNeither']);
  });

  it('over-refusal gates only when asked, and only on a rise', () => {
    const base = Array.from({ length: 12 }, (_, i) => sample(`r${i}`, false, false));
    const cand = Array.from({ length: 12 }, (_, i) => sample(`r${i}`, false, i < 8));
    assert.equal(compareSamples(base, cand, options).regressions.length, 0);
    const gated = compareSamples(base, cand, { ...options, gateRefusal: true });
    assert.deepEqual(gated.regressions.map((r) => r.metric.metric), ['overRefusal']);
    assert.equal(compareSamples(cand, base, { ...options, gateRefusal: true }).regressions.length, 0);
  });
});

test('JUnit text is escaped', () => {
  assert.equal(xmlEscape(`<a b="c" & 'd'>\u0001`), '&lt;a b=&quot;c&quot; &amp; &apos;d&apos;&gt;');
});
