// The quennland RAG corpus: a few short documents per entity (title = the entity's title), each of
// 1-3 sentences mixing the entity's present facts (paraphrased) with neutral filler. Absent facts
// are never stated, and a sentence is dropped when it would put an absent answer into a document
// that mentions the entity the absent fact belongs to (e.g. a town's page naming its founder,
// whose absent birthplace is that very town).
import type { Doc } from '../../../src/types.js';
import { containsAnswer } from '../../../src/scoring/normalize.js';
import { fill, kindSpec } from './attributes.js';
import { capitalize, statementFor, type Entity, type Fact, type World } from './world.js';
import type { Rng } from './rng.js';

export interface CorpusDoc extends Doc {
  entityId: string;
  /** Ids of the facts the document states. */
  factIds: string[];
  /** Ids of every entity the document names (its own and the values'). */
  mentions: string[];
}

interface Sentence {
  text: string;
  fact?: Fact;
}

/** Title + text, the string answer checks run on (as ragtax's answer-in-context check does). */
export function docHaystack(doc: Doc): string {
  return `${doc.title}\n${doc.text}`;
}

/** Absent answers per entity id: what must never appear next to that entity. */
export function absentAnswersByEntity(world: World): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const f of world.facts) if (f.absent) map.set(f.entityId, [...(map.get(f.entityId) ?? []), f.value]);
  return map;
}

function fillerSentences(rng: Rng, entity: Entity, n: number): Sentence[] {
  const spec = kindSpec(entity.kind);
  return rng.sample(spec.filler, n).map((t) => ({ text: capitalize(fill(t, entity.name)) }));
}

/** Sentence groups for one entity: every present fact once, some twice in another paraphrase. */
function planDocs(rng: Rng, world: World, entity: Entity): Sentence[][] {
  const present = (world.factsByEntity.get(entity.id) ?? []).filter((f) => !f.absent);
  const docCount = rng.chance(0.3) ? 4 : 3;
  const docs: Sentence[][] = Array.from({ length: docCount }, () => []);
  const order = rng.shuffle(docs.map((_, i) => i));
  present.forEach((fact, i) => {
    const template = rng.int(0, 11);
    docs[order[i % docCount]!]!.push({ text: statementFor(world, fact, template), fact });
    // A second paraphrase elsewhere gives retrieval and SFT more than one gold document.
    if (rng.chance(0.35)) {
      const other = docs.findIndex((d, j) => j !== order[i % docCount] && d.length < 2 && !d.some((s) => s.fact === fact));
      if (other >= 0) docs[other]!.push({ text: statementFor(world, fact, template + rng.int(1, 11)), fact });
    }
  });
  for (const sentences of docs) {
    const target = rng.chance(0.6) ? 3 : 2;
    if (sentences.length < target) sentences.push(...fillerSentences(rng, entity, target - sentences.length));
  }
  return docs.map((d) => rng.shuffle(d));
}

/** Keeps the sentences that do not bring an absent answer next to an entity the document names. */
function admissibleSentences(world: World, entity: Entity, sentences: Sentence[], absent: Map<string, string[]>): Sentence[] {
  const kept: Sentence[] = [];
  const mentions = new Set([entity.id]);
  for (const sentence of sentences) {
    const candidateMentions = new Set(mentions);
    if (sentence.fact?.valueEntityId) candidateMentions.add(sentence.fact.valueEntityId);
    const text = `${entity.title}\n${[...kept, sentence].map((s) => s.text).join(' ')}`;
    const leaks = [...candidateMentions].some((id) => containsAnswer(text, absent.get(id) ?? []));
    if (leaks) continue;
    kept.push(sentence);
    for (const id of candidateMentions) mentions.add(id);
  }
  return kept;
}

export function buildCorpus(world: World, rng: Rng): CorpusDoc[] {
  const absent = absentAnswersByEntity(world);
  const corpus: CorpusDoc[] = [];
  for (const entity of world.entities) {
    const plans = planDocs(rng.fork(entity.id), world, entity);
    plans.forEach((plan, i) => {
      let sentences = admissibleSentences(world, entity, plan, absent);
      if (sentences.length === 0) sentences = fillerSentences(rng.fork(`${entity.id}-${i}`), entity, 2);
      const facts = sentences.flatMap((s) => (s.fact ? [s.fact] : []));
      corpus.push({
        id: `${entity.id}-${i + 1}`,
        title: entity.title,
        text: sentences.map((s) => s.text).join(' '),
        entityId: entity.id,
        factIds: [...new Set(facts.map((f) => f.id))],
        mentions: [...new Set([entity.id, ...facts.flatMap((f) => (f.valueEntityId ? [f.valueEntityId] : []))])],
      });
    });
  }
  return corpus;
}

/** The plain `{id, title, text}` view written to corpus.jsonl. */
export function plainDoc(doc: CorpusDoc): Doc {
  return { id: doc.id, title: doc.title, text: doc.text };
}
