// The quennland world: invented entities of several kinds, each with attributes whose values are
// other entities, fresh invented names or numbers. About a third of the facts (chosen by seed) are
// meant to be ABSENT from the RAG corpus; the corpus builder keeps them out and qa.ts tags every
// item by checking the corpus itself.
import { PRESETS } from '../../../src/prompts/presets.js';
import { COMPANY_SUFFIXES, KINDS, fill, kindSpec, schemaProse, type AttributeSpec, type EntityKind } from './attributes.js';
import { NameRegistry } from './names.js';
import { Rng } from './rng.js';

export const WORLD_NAME = 'quennland';
export const DEFAULT_SEED = 20240617;
/** Intended share of facts kept out of the corpus. */
export const ABSENT_SHARE = 1 / 3;

export interface Entity {
  id: string;
  kind: EntityKind;
  /** The name as prose uses it: "Ralo Vesk", "Velmora", "Velmora Works", "Tamberlo" (river), "Orsk" (mountain). */
  name: string;
  /** Document title: "Tamberlo River", "Mount Orsk", otherwise the name. */
  title: string;
}

export interface Fact {
  /** `<entity id>-<attribute>`, also the QA item id. */
  id: string;
  entityId: string;
  attribute: string;
  /** The answer string. */
  value: string;
  /** Set when the value is another entity of the world. */
  valueEntityId?: string;
  /** Chosen (by seed) to be kept out of the corpus. */
  absent: boolean;
}

export interface World {
  seed: number;
  entities: Entity[];
  facts: Fact[];
  entityById: Map<string, Entity>;
  factsByEntity: Map<string, Fact[]>;
}

export interface WorldOptions {
  seed: number;
  /** Multiplies every kind's entity count (tests use a small world). */
  scale?: number;
}

/** Prose the names must stay out of: schema templates plus every prompt instruction. */
function forbiddenProse(extra: readonly string[]): string {
  const presets = Object.values(PRESETS).map((p) => p.text);
  return [schemaProse(), ...presets, 'Documents Question Answer Reasoning Proof Title Document', ...extra].join('\n');
}

/** Cycles through a list in shuffled rounds, so values are spread evenly over the entities. */
function deck<T>(rng: Rng, items: readonly T[]): () => T {
  let pool: T[] = [];
  return () => {
    if (pool.length === 0) pool = rng.shuffle(items);
    return pool.pop()!;
  };
}

function makeEntities(rng: Rng, names: NameRegistry, scale: number): Entity[] {
  const entities: Entity[] = [];
  for (const spec of KINDS) {
    const count = Math.max(4, Math.round(spec.count * scale));
    for (let i = 1; i <= count; i++) {
      const id = `${spec.prefix}${String(i).padStart(3, '0')}`;
      let name: string;
      if (spec.kind === 'person') name = `${names.token(2, 2)} ${names.token(2, 2)}`;
      else if (spec.kind === 'company') name = `${names.token(2, 2)} ${rng.pick(COMPANY_SUFFIXES)}`;
      else name = names.token(2, 3);
      entities.push({ id, kind: spec.kind, name, title: fill(spec.title, name) });
    }
  }
  return entities;
}

function makeFacts(rng: Rng, names: NameRegistry, entities: Entity[]): Fact[] {
  const byKind = new Map<EntityKind, Entity[]>();
  for (const e of entities) byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), e]);
  const decks = new Map<EntityKind, () => Entity>();
  for (const [kind, list] of byKind) decks.set(kind, deck(rng.fork(`deck-${kind}`), list));

  const valueFor = (attr: AttributeSpec): { value: string; valueEntityId?: string } => {
    const v = attr.value;
    if (v.type === 'number') return { value: String(rng.int(v.min, v.max)) };
    if (v.type === 'name') return { value: names.token(v.syllables[0], v.syllables[1]) };
    const target = decks.get(v.kind)!();
    return { value: target.name, valueEntityId: target.id };
  };

  const facts: Fact[] = [];
  for (const entity of entities) {
    for (const attr of kindSpec(entity.kind).attributes) {
      facts.push({ id: `${entity.id}-${attr.name}`, entityId: entity.id, attribute: attr.name, ...valueFor(attr), absent: false });
    }
  }
  return facts;
}

export function buildWorld(options: WorldOptions): World {
  const root = new Rng(options.seed, WORLD_NAME);
  const names = new NameRegistry(root.fork('names'), forbiddenProse([WORLD_NAME]));
  const entities = makeEntities(root.fork('entities'), names, options.scale ?? 1);
  const facts = makeFacts(root.fork('facts'), names, entities);

  const absentCount = Math.round(facts.length * ABSENT_SHARE);
  for (const fact of root.fork('absent').sample(facts, absentCount)) fact.absent = true;

  const entityById = new Map(entities.map((e) => [e.id, e]));
  const factsByEntity = new Map<string, Fact[]>();
  for (const f of facts) factsByEntity.set(f.entityId, [...(factsByEntity.get(f.entityId) ?? []), f]);
  return { seed: options.seed, entities, facts, entityById, factsByEntity };
}

export function attributeSpec(world: World, fact: Fact): AttributeSpec {
  const kind = world.entityById.get(fact.entityId)!.kind;
  const spec = kindSpec(kind).attributes.find((a) => a.name === fact.attribute);
  if (!spec) throw new Error(`no attribute ${fact.attribute} for kind ${kind}`);
  return spec;
}

/** The question about `fact`; variant 0 is the canonical (evaluated) wording. */
export function questionFor(world: World, fact: Fact, variant = 0): string {
  const spec = attributeSpec(world, fact);
  const template = spec.questions[variant % spec.questions.length]!;
  return fill(template, world.entityById.get(fact.entityId)!.name);
}

/** One sentence stating `fact` with statement template `index`. */
export function statementFor(world: World, fact: Fact, index: number): string {
  const spec = attributeSpec(world, fact);
  const template = spec.statements[index % spec.statements.length]!;
  return capitalize(fill(template, world.entityById.get(fact.entityId)!.name, fact.value));
}

export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
