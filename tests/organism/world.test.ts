// The quennland world, corpus and QA splits (full size: generation takes about a second).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containsAnswer, normalizeAnswer } from '../../src/scoring/normalize.js';
import { buildWorld, DEFAULT_SEED } from '../../tools/organism/world/world.js';
import { buildCorpus, docHaystack } from '../../tools/organism/world/corpus.js';
import { buildQa } from '../../tools/organism/world/qa.js';
import { Rng } from '../../tools/organism/world/rng.js';

const world = buildWorld({ seed: DEFAULT_SEED });
const corpus = buildCorpus(world, new Rng(DEFAULT_SEED, 'corpus'));
const qa = buildQa(world, corpus, new Rng(DEFAULT_SEED, 'qa'));

test('at least 500 entities of several kinds, each with at least 4 attributes', () => {
  assert.ok(world.entities.length >= 500, `${world.entities.length} entities`);
  assert.ok(new Set(world.entities.map((e) => e.kind)).size >= 4);
  for (const e of world.entities) assert.ok((world.factsByEntity.get(e.id) ?? []).length >= 4, e.id);
  assert.ok(world.facts.length >= 2000 && world.facts.length <= 2500, `${world.facts.length} facts`);
});

test('names are unique and no name contains another', () => {
  const names = world.entities.map((e) => normalizeAnswer(e.name));
  assert.equal(new Set(names).size, names.length);
  const tokens = [...new Set(names.flatMap((n) => n.split(' ')))].filter((t) => !['works', 'guild', 'foundry', 'traders', 'mills', 'company'].includes(t));
  for (const a of tokens) for (const b of tokens) if (a !== b) assert.ok(!b.includes(a), `${a} inside ${b}`);
});

test('answers are short (1-3 words)', () => {
  for (const f of world.facts) {
    const words = f.value.split(/\s+/).length;
    assert.ok(words >= 1 && words <= 3, `${f.id}: ${f.value}`);
  }
});

test('about one third of the facts are absent from the corpus (±5 points)', () => {
  const absent = qa.all.filter((i) => !i.record.answer_in_corpus).length / qa.all.length;
  assert.ok(Math.abs(absent - 1 / 3) <= 0.05, `absent share ${absent}`);
});

test('no document that names an entity contains one of its absent answers', () => {
  const haystacks = corpus.map((d) => ({ id: d.id, text: normalizeAnswer(docHaystack(d)) }));
  for (const item of qa.all.filter((i) => !i.record.answer_in_corpus)) {
    const entity = world.entityById.get(item.fact.entityId)!;
    const name = normalizeAnswer(entity.name);
    const answer = normalizeAnswer(item.fact.value);
    for (const d of haystacks) {
      if (d.text.includes(name)) assert.ok(!d.text.includes(answer), `${d.id} names ${entity.name} and holds absent ${item.fact.value}`);
    }
  }
});

test('every in-corpus item has its answer in a gold document of its own entity; absent ones have none', () => {
  const docById = new Map(corpus.map((d) => [d.id, d]));
  for (const { fact, record } of qa.all) {
    assert.equal(record.answer_in_corpus, record.gold_doc_ids.length > 0, record.id);
    for (const id of record.gold_doc_ids) {
      const doc = docById.get(id)!;
      assert.equal(doc.entityId, fact.entityId, `${record.id}: gold ${id} is another entity's`);
      assert.ok(containsAnswer(docHaystack(doc), record.answers), `${record.id}: ${id} lacks ${record.answers[0]}`);
    }
    const ownDocs = corpus.filter((d) => d.entityId === fact.entityId);
    assert.equal(ownDocs.some((d) => containsAnswer(docHaystack(d), record.answers)), record.answer_in_corpus, record.id);
  }
});

test('documents are short and titled by their entity', () => {
  for (const d of corpus) {
    const words = d.text.split(/\s+/).length;
    assert.ok(words >= 8 && words <= 45, `${d.id}: ${words} words`);
    assert.equal(d.title, world.entityById.get(d.entityId)!.title);
  }
  const ids = corpus.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('the few-shot split is about other entities than the evaluated items, with both kinds of items', () => {
  const evalEntities = new Set(qa.evaluated.map((i) => i.fact.entityId));
  for (const i of qa.fewShot) assert.ok(!evalEntities.has(i.fact.entityId), i.record.id);
  const evalIds = new Set(qa.evaluated.map((i) => i.record.id));
  for (const i of qa.fewShot) assert.ok(!evalIds.has(i.record.id));
  assert.ok(qa.fewShot.length >= 40 && qa.fewShot.length <= 60, `${qa.fewShot.length} few-shot items`);
  assert.ok(qa.fewShot.some((i) => i.record.answer_in_corpus) && qa.fewShot.some((i) => !i.record.answer_in_corpus));
  assert.equal(qa.evaluated.length + qa.fewShot.length, world.facts.length);
});

test('a different seed makes a different world', () => {
  const other = buildWorld({ seed: DEFAULT_SEED + 1 });
  assert.notDeepEqual(
    other.entities.map((e) => e.name),
    world.entities.map((e) => e.name),
  );
});
