// The compact sample table (src/aggregate/sample-table.ts) that compare, summarize and report fill
// while streaming samples.jsonl: lossless for everything the metrics read, later records replace
// earlier ones and are counted, and results from a streamed file equal those from records.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { SampleTable } from '../../src/aggregate/sample-table.js';
import { summarize } from '../../src/aggregate/summarize.js';
import { compareSamples, DEFAULT_COMPARE_OPTIONS } from '../../src/compare/compare.js';
import { RagtaxError } from '../../src/errors.js';
import { forEachRunSample, readSampleTable } from '../../src/rundir/read.js';
import type { Suite } from '../../src/suite/load.js';
import type { SampleRecord, SampleScores } from '../../src/types.js';
import { mulberry32, sample } from './helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ragtax-table-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function runDir(name: string, samples: readonly SampleRecord[]): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'samples.jsonl'), samples.map((s) => JSON.stringify(s) + '\n').join(''));
  return dir;
}

const optionalBoolean = fc.option(fc.boolean(), { nil: undefined });
const scores: fc.Arbitrary<SampleScores> = fc
  .record({
    correct: fc.boolean(),
    exactMatch: fc.boolean(),
    f1: fc.double({ min: 0, max: 1, noNaN: true }),
    refusal: fc.boolean(),
    answerInContext: fc.boolean(),
    cotAnswerFound: optionalBoolean,
    reasoningClosed: optionalBoolean,
    proof: fc.option(fc.option(fc.string(), { nil: null }), { nil: undefined }),
    proofCoherent: optionalBoolean,
  })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as unknown as SampleScores);

describe('SampleTable', () => {
  it('gives back every score field, the exclusion and the cluster exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ scores, excluded: fc.boolean(), cluster: fc.option(fc.constantFrom('e1', 'e2', 'e3'), { nil: undefined }) }), { minLength: 1, maxLength: 40 }),
        (rows) => {
          const records = rows.map((r, i) => {
            const s: SampleRecord = { ...sample(`q${i}`, r.scores.correct), scores: r.scores };
            if (r.excluded) s.excluded = 'context-overflow';
            if (r.cluster !== undefined) s.cluster = r.cluster;
            return s;
          });
          const table = SampleTable.of(records);
          const [cell] = [...table.cells.values()];
          const back = cell!.samples(table.items, table.clusters);
          assert.deepEqual(
            back,
            records.map((s) => ({ itemId: s.itemId, scores: s.scores, ...(s.excluded ? { excluded: s.excluded } : {}), ...(s.cluster !== undefined ? { cluster: s.cluster } : {}) })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('groups by cell in first-seen order; a repeated (item, cell) keeps the later record and is counted', () => {
    const table = SampleTable.of([sample('a', true, false, 1, 'm1'), sample('a', true, false, 1, 'm2'), sample('b', false, false, 0, 'm1'), sample('a', false, true, 0, 'm1')]);
    assert.deepEqual([...table.cells.values()].map((c) => c.cell.model), ['m1', 'm2']);
    assert.equal(table.duplicates, 1);
    assert.equal(table.size, 3);
    const m1 = [...table.cells.values()][0]!.samples(table.items, table.clusters);
    assert.deepEqual(
      m1.map((s) => [s.itemId, s.scores.correct, s.scores.refusal]),
      [
        ['b', false, false],
        ['a', false, true],
      ],
    );
  });
});

describe('streamed samples.jsonl', () => {
  /** Two runs over three cells, the candidate a perturbation of the baseline, with F1 values that repeat. */
  function runs(): { base: SampleRecord[]; cand: SampleRecord[] } {
    const rand = mulberry32(5);
    const base: SampleRecord[] = [];
    const cand: SampleRecord[] = [];
    for (const model of ['m1', 'm2', 'm3']) {
      for (let i = 0; i < 300; i++) {
        const b = rand() < 0.6;
        const c = rand() < 0.9 ? b : !b;
        const f1 = (v: boolean) => (v ? 1 : [0, 0.5, 0.25][Math.floor(rand() * 3)]!);
        base.push({ ...sample(`q${i}`, b, !b && rand() < 0.3, f1(b), model), cluster: `e${i % 40}` });
        cand.push({ ...sample(`q${i}`, c, !c && rand() < 0.3, f1(c), model), cluster: `e${i % 40}` });
      }
    }
    return { base, cand };
  }

  it('compare of two streamed runs equals compare of their records', async () => {
    const { base, cand } = runs();
    const options = { ...DEFAULT_COMPARE_OPTIONS, bootstrapSamples: 500 };
    const fromRecords = compareSamples(base, cand, options);
    const fromFiles = compareSamples(await readSampleTable(runDir('base', base)), await readSampleTable(runDir('cand', [...cand].reverse())), options);
    assert.deepEqual(fromFiles, fromRecords);
    assert.equal(fromFiles.pairedSamples, 900);
  });

  it('summarize of a streamed run equals summarize of its records, clusters included', async () => {
    const { base, cand } = runs();
    // m1 is the base model, m2 the instruct model; the cell's cluster is its item's entity.
    const records = [...base.filter((s) => s.model === 'm1'), ...cand.filter((s) => s.model === 'm2').map((s) => ({ ...s, format: 'raw' as const }))];
    records[5] = { ...records[5]!, excluded: 'context-overflow' };
    const point = { instruction: 'nores', context: 'retrieved' as const, k: 1, shots: 0, cot: false };
    const suite = {
      pairs: [{ base: 'm1', instruct: 'm2' }],
      models: [
        { name: 'm1', formats: ['raw'] },
        { name: 'm2', formats: ['raw'] },
      ],
      points: [point],
      seed: 3,
      config: { metrics: { bootstrap_samples: 400, cluster_by: 'cluster' } },
    } as unknown as Suite;
    const fromRecords = summarize(suite, records);
    const fromFile = summarize(suite, await readSampleTable(runDir('run', records)));
    assert.deepEqual(fromFile, fromRecords);
    assert.equal(fromFile.pairs[0]!.n, 299, 'the overflowed item is excluded on both sides');
    assert.equal(fromFile.pairs[0]!.clusters, 40);
  });

  it('a line that is not JSON, or not a sample record, is an InputError naming file and line', async () => {
    const good = JSON.stringify(sample('a', true));
    const broken = runDir('broken', []);
    writeFileSync(path.join(broken, 'samples.jsonl'), `${good}\n\n{"itemId": "b",\n`);
    await assert.rejects(readSampleTable(broken), (e: unknown) => e instanceof RagtaxError && /samples\.jsonl:3: invalid JSON/.test((e as Error).message));
    writeFileSync(path.join(broken, 'samples.jsonl'), `${good}\n{"itemId": 3}\n`);
    await assert.rejects(readSampleTable(broken), (e: unknown) => e instanceof RagtaxError && /samples\.jsonl:2: field `itemId` must be a string/.test((e as Error).message));
    await assert.rejects(forEachRunSample(path.join(tmp, 'missing'), () => {}), /samples\.jsonl: not found/);
  });
});
