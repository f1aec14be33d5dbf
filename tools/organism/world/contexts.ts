// Document contexts for the organism's QA-shaped training text: some of the entity's own documents
// plus distractors, in ascending relevance (the entity's own documents last, next to the question),
// either holding the answer (a gold document is shown) or not (no shown document contains it).
import type { Doc } from '../../../src/types.js';
import { containsAnswer } from '../../../src/scoring/normalize.js';
import { docHaystack, type CorpusDoc } from './corpus.js';
import type { Fact, World } from './world.js';
import type { Rng } from './rng.js';

export interface ContextIndex {
  world: World;
  byEntity: Map<string, CorpusDoc[]>;
  byKind: Map<string, CorpusDoc[]>;
  /** Documents stating a given `<kind>:<attribute>` for some entity: the hardest distractors. */
  byAttribute: Map<string, CorpusDoc[]>;
  all: CorpusDoc[];
}

export function contextIndex(world: World, corpus: CorpusDoc[]): ContextIndex {
  const push = (m: Map<string, CorpusDoc[]>, key: string, d: CorpusDoc) => m.set(key, [...(m.get(key) ?? []), d]);
  const index: ContextIndex = { world, byEntity: new Map(), byKind: new Map(), byAttribute: new Map(), all: corpus };
  const factById = new Map(world.facts.map((f) => [f.id, f]));
  for (const d of corpus) {
    const kind = world.entityById.get(d.entityId)!.kind;
    push(index.byEntity, d.entityId, d);
    push(index.byKind, kind, d);
    for (const id of d.factIds) push(index.byAttribute, `${kind}:${factById.get(id)!.attribute}`, d);
  }
  return index;
}

export function docsHoldAnswer(docs: readonly Doc[], answers: readonly string[]): boolean {
  return containsAnswer(docs.map(docHaystack).join('\n'), answers);
}

/**
 * k documents for `fact`. With `answerable` one gold document is among them; without it none of
 * them contains the answer (null when that is impossible, e.g. no gold document exists).
 */
export function buildContext(rng: Rng, index: ContextIndex, fact: Fact, k: number, answerable: boolean): CorpusDoc[] | null {
  const answers = [fact.value];
  const own = index.byEntity.get(fact.entityId) ?? [];
  const gold = own.filter((d) => containsAnswer(docHaystack(d), answers));
  const ownOther = own.filter((d) => !gold.includes(d));
  if (answerable && gold.length === 0) return null;

  const chosenOwn: CorpusDoc[] = [];
  if (answerable) chosenOwn.push(rng.pick(gold));
  const ownSlots = Math.min(ownOther.length, rng.int(answerable ? 0 : 1, k - chosenOwn.length));
  chosenOwn.push(...rng.sample(ownOther, ownSlots));

  const kind = index.world.entityById.get(fact.entityId)!.kind;
  const distractors: CorpusDoc[] = [];
  const taken = new Set(chosenOwn.map((d) => d.id));
  for (let tries = 0; distractors.length + chosenOwn.length < k && tries < 50; tries++) {
    const roll = rng.float();
    const pool =
      roll < 0.45 ? index.byAttribute.get(`${kind}:${fact.attribute}`) : roll < 0.85 ? index.byKind.get(kind) : index.all;
    if (!pool || pool.length === 0) continue;
    const d = rng.pick(pool);
    if (taken.has(d.id) || d.entityId === fact.entityId || containsAnswer(docHaystack(d), answers)) continue;
    taken.add(d.id);
    distractors.push(d);
  }
  if (chosenOwn.length + distractors.length === 0) return null;

  // Ascending relevance: distractors first, own documents last; the gold one is usually last.
  const ownOrdered = rng.shuffle(chosenOwn);
  if (answerable && rng.chance(0.6)) {
    const g = ownOrdered.findIndex((d) => gold.includes(d));
    ownOrdered.push(...ownOrdered.splice(g, 1));
  }
  const ordered = [...rng.shuffle(distractors), ...ownOrdered];
  // A retriever sometimes ranks another entity's document above the right one: mix some contexts fully.
  return rng.chance(0.15) ? rng.shuffle(ordered) : ordered;
}
