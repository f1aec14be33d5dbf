// report.html's embedded samples, collected while samples.jsonl streams past (EmbeddableSamples),
// against the way they were chosen from the whole list of samples before (kept here as the
// reference): whole items in first-seen order until the sample cap or the text budget is reached.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cellKey } from '../../src/aggregate/cells.js';
import { EmbeddableSamples, embedSamples } from '../../src/report/html.js';
import type { SampleRecord } from '../../src/types.js';

/** The items that were embedded from the full list: ids and each one's sample count. */
function referenceChoice(samples: readonly SampleRecord[], cap: number, textBudget: number): { items: [string, number][]; total: number; itemsTotal: number } {
  const byItem = new Map<string, SampleRecord[]>();
  for (const s of samples) {
    const list = byItem.get(s.itemId);
    if (list) list.push(s);
    else byItem.set(s.itemId, [s]);
  }
  const prompts = new Set<string>();
  const items: [string, number][] = [];
  let rows = 0;
  let text = 0;
  for (const [id, list] of byItem) {
    const itemText = list.reduce((sum, s) => sum + s.response.length + (prompts.has(s.prompt) ? 0 : s.prompt.length), 0);
    if (rows > 0 && (rows + list.length > cap || text + itemText > textBudget)) break;
    text += itemText;
    rows += list.length;
    for (const s of list) prompts.add(s.prompt);
    items.push([id, list.length]);
  }
  return { items, total: samples.length, itemsTotal: byItem.size };
}

function record(itemId: string, model: string, prompt: string, response: string): SampleRecord {
  return {
    itemId, model, format: 'raw', instruction: 'nores', context: 'retrieved', k: 1, shots: 0, cot: false,
    question: `q ${itemId}`, answers: ['a'], docIds: [], prompt, response, scoredText: response,
    scores: { correct: false, exactMatch: false, f1: 0, refusal: false, answerInContext: true },
    finishReason: 'eos', promptTokens: 1, completionTokens: 1, latencyMs: 0,
  };
}

/** Samples in the runner's order (cell by cell), each item in some cells, prompts sometimes shared. */
const runs = fc
  .record({
    items: fc.integer({ min: 1, max: 25 }),
    cells: fc.integer({ min: 1, max: 5 }),
    keep: fc.array(fc.boolean(), { minLength: 125, maxLength: 125 }),
    textLengths: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 125, maxLength: 125 }),
    sharedPrompt: fc.integer({ min: 0, max: 6 }),
  })
  .map(({ items, cells, keep, textLengths, sharedPrompt }) => {
    const samples: SampleRecord[] = [];
    for (let c = 0; c < cells; c++) {
      for (let i = 0; i < items; i++) {
        const slot = c * 25 + i;
        if (!keep[slot] && samples.length > 0) continue;
        const prompt = i % 7 === sharedPrompt ? 'shared prompt' : `prompt ${i} ${c} ${'x'.repeat(textLengths[slot]!)}`;
        samples.push(record(`q${c % 2 === 0 ? i : items - 1 - i}`, `m${c}`, prompt, 'r'.repeat(textLengths[(slot + 3) % 125]!)));
      }
    }
    return samples;
  });

describe('embedded samples, streamed', () => {
  it('choose the same whole items as the full list did, and count every sample and item (property)', () => {
    fc.assert(
      fc.property(runs, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 600 }), (samples, cap, budget) => {
        const collected = new EmbeddableSamples(cap, budget);
        for (const s of samples) collected.add(s);
        const embedded = collected.embed([]);
        const expected = referenceChoice(samples, cap, budget);
        const shown = embedded.items.map((it) => [it.id, embedded.rows.filter((r) => r.i === it.id).length]);
        assert.deepEqual(shown, expected.items);
        assert.equal(embedded.total, expected.total);
        assert.equal(embedded.itemsTotal, expected.itemsTotal);
        assert.equal(embedded.capped, embedded.shown < expected.total);
        // The array form goes through the same collector.
        assert.deepEqual(embedSamples(samples, [], cap, budget), embedded);
      }),
      { numRuns: 300 },
    );
  });

  it('a repeated (item, cell) shows its later record once and counts once', () => {
    const collected = new EmbeddableSamples(100, 1e9);
    collected.add(record('a', 'm', 'p', 'first'));
    collected.add(record('b', 'm', 'p2', 'other'));
    collected.add(record('a', 'm', 'p', 'second'));
    const embedded = collected.embed([]);
    assert.equal(embedded.total, 2);
    assert.deepEqual(
      embedded.rows.map((r) => [r.i, r.r]),
      [
        ['a', 'second'],
        ['b', 'other'],
      ],
    );
  });

  it('holds at most the cap plus one item in full, however long the run', () => {
    const collected = new EmbeddableSamples(10, 1e9);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 10_000; i++) collected.add(record(`q${i}`, `m${c}`, `p${i}`, 'r'));
    const held = (collected as unknown as { kept: { samples: Map<string, unknown> }[] }).kept.reduce((n, it) => n + it.samples.size, 0);
    assert.ok(held <= 10 + 3, `${held} samples held`);
    const embedded = collected.embed([]);
    assert.deepEqual([embedded.shown, embedded.itemsShown, embedded.total, embedded.itemsTotal], [9, 3, 30_000, 10_000]);
    assert.equal(cellKey(embedded.cells[embedded.rows[0]!.c]!), cellKey(record('q0', 'm0', '', '')));
  });
});
