// QA items about quennland, one per fact, tagged by checking the corpus itself: an item is
// in-corpus iff some document of its own entity contains the answer. A few entities are set aside
// as the few-shot split, so exemplars never share an entity with an evaluated item.
import { containsAnswer } from '../../../src/scoring/normalize.js';
import { KINDS } from './attributes.js';
import { docHaystack, type CorpusDoc } from './corpus.js';
import { questionFor, type Fact, type World } from './world.js';
import type { Rng } from './rng.js';

/** One line of qa.jsonl / fewshot.jsonl (ragtax QA JSONL). */
export interface QaRecord {
  id: string;
  question: string;
  answers: string[];
  gold_doc_ids: string[];
  answer_in_corpus: boolean;
}

export interface OrganismItem {
  fact: Fact;
  record: QaRecord;
}

export interface QaSplits {
  /** Every fact, evaluated and few-shot alike. */
  all: OrganismItem[];
  evaluated: OrganismItem[];
  fewShot: OrganismItem[];
  fewShotEntityIds: Set<string>;
}

/** Entities per kind held out for exemplars (about 50 items in all). */
const FEW_SHOT_ENTITIES: Record<string, number> = { person: 5, town: 3, company: 2, river: 2, mountain: 1 };

export function docsByEntity(corpus: readonly CorpusDoc[]): Map<string, CorpusDoc[]> {
  const map = new Map<string, CorpusDoc[]>();
  for (const d of corpus) map.set(d.entityId, [...(map.get(d.entityId) ?? []), d]);
  return map;
}

export function itemFor(world: World, fact: Fact, entityDocs: readonly CorpusDoc[]): QaRecord {
  const gold = entityDocs.filter((d) => containsAnswer(docHaystack(d), [fact.value])).map((d) => d.id);
  return {
    id: fact.id,
    question: questionFor(world, fact, 0),
    answers: [fact.value],
    gold_doc_ids: gold,
    answer_in_corpus: gold.length > 0,
  };
}

export function buildQa(world: World, corpus: readonly CorpusDoc[], rng: Rng): QaSplits {
  const byEntity = docsByEntity(corpus);
  const fewShotEntityIds = new Set<string>();
  for (const spec of KINDS) {
    const ofKind = world.entities.filter((e) => e.kind === spec.kind);
    const n = Math.min(FEW_SHOT_ENTITIES[spec.kind] ?? 0, Math.max(1, Math.floor(ofKind.length / 10)));
    for (const e of rng.fork(spec.kind).sample(ofKind, n)) fewShotEntityIds.add(e.id);
  }
  const all = world.facts.map((fact) => ({ fact, record: itemFor(world, fact, byEntity.get(fact.entityId) ?? []) }));
  return {
    all,
    evaluated: all.filter((i) => !fewShotEntityIds.has(i.fact.entityId)),
    fewShot: all.filter((i) => fewShotEntityIds.has(i.fact.entityId)),
    fewShotEntityIds,
  };
}
