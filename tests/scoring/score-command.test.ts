import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runScoreCommand } from '../../src/commands/score.js';
import { InputError } from '../../src/errors.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ragtax-score-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(opts: { file: string; samplesOut?: string; json: boolean }): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await runScoreCommand(opts, out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

async function writeLines(name: string, lines: string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`, 'utf8');
  return file;
}

const happyLines = [
  { id: 'q1', response: 'May 18, 2018\nmore', answers: ['May 18 , 2018'], context: ['It opened on May 18, 2018.'] },
  { id: 'q2', response: 'NO-RES', answers: ['Paris'], context: ['Nothing relevant.'] },
  { id: 'q3', response: '\nLondon', answers: ['Paris'], context: ['Paris is in France.'] },
  { id: 'q4', response: 'Lando Calrissian NO-RES', answers: ['Lando Calrissian'] },
].map((line) => JSON.stringify(line));

describe('ragtax score', () => {
  it('happy path: JSON aggregate and --samples', async () => {
    const file = await writeLines('ok.jsonl', [...happyLines.slice(0, 2), '', ...happyLines.slice(2)]);
    const samplesOut = join(dir, 'samples.jsonl');
    const summary = JSON.parse(await run({ file, samplesOut, json: true })) as Record<string, unknown>;
    assert.equal(summary.file, file);
    assert.equal(summary.n, 4);
    assert.equal(summary.nAnswerInContext, 2);
    assert.equal(summary.accuracy, 0.5);
    assert.equal(summary.exactMatch, 0.25);
    assert.equal(summary.refusalRate, 0.5);
    assert.equal(summary.negativeRejectionRate, 1);
    assert.equal(summary.overRefusalRate, 0);
    assert.equal(summary.parametricRecall, 0.5);
    assert.equal(summary.contextAccuracy, 0.5);
    assert.equal(typeof summary.f1, 'number');
    assert.ok(typeof summary.ci95 === 'object' && summary.ci95 !== null && 'accuracy' in summary.ci95);
    assert.equal('model' in summary, false);

    const samples = (await readFile(samplesOut, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    assert.deepEqual(samples[0], { id: 'q1', correct: true, exactMatch: true, f1: 1, refusal: false, answerInContext: true });
    assert.deepEqual(samples[2], { id: 'q3', correct: false, exactMatch: false, f1: 0, refusal: false, answerInContext: true });
    assert.equal(samples.length, 4);
  });

  it('readable table', async () => {
    const file = await writeLines('table.jsonl', happyLines);
    const text = await run({ file, json: false });
    assert.match(text, /4 items \(2 with a gold answer in context, 2 without\)/);
    assert.match(text, /accuracy\s+50\.0%\s+\[\d+\.\d, \d+\.\d\]/);
    assert.match(text, /negative rejection\s+100\.0%/);
  });

  const malformed: [string, string, RegExp][] = [
    ['bad JSON', '{"id": "q9", "response": ', /not valid JSON/],
    ['not an object', '[1, 2]', /got an array/],
    ['missing response', '{"id": "q9", "answers": []}', /field "response" missing; allowed: a string/],
    ['answers of the wrong type', '{"id": "q9", "response": "x", "answers": "Paris"}', /field "answers" got a string; allowed: an array of strings/],
    ['context of the wrong type', '{"id": "q9", "response": "x", "answers": [], "context": [1]}', /field "context" got an array/],
    ['numeric id', '{"id": 9, "response": "x", "answers": []}', /field "id" got a number; allowed: a non-empty string/],
    ['duplicate id', '{"id": "q1", "response": "x", "answers": []}', /field "id": duplicate id "q1" \(first on line 1\)/],
  ];
  for (const [name, badLine, message] of malformed) {
    it(`rejects ${name} with file:line`, async () => {
      const file = await writeLines(`bad-${name.replace(/\W+/g, '-')}.jsonl`, [...happyLines.slice(0, 2), badLine]);
      await assert.rejects(run({ file, json: true }), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.ok(error.message.startsWith(`${file}:3: `), error.message);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('missing file → InputError naming the file', async () => {
    const file = join(dir, 'absent.jsonl');
    await assert.rejects(run({ file, json: true }), (error: unknown) => error instanceof InputError && error.message.includes(file));
  });
});
