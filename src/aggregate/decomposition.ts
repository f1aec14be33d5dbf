// Where a pair's tax comes from (docs/tax-decomposition.md): the tax split over the shared items by
// what the shown documents do for them, and the base → instruct outcome transitions per part.
import type { Interval, Outcome, PairRecord, SampleScores, TaxDecomposition, TaxPart, Transitions } from '../types.js';
import { SUBSETS } from '../scoring/metrics.js';
import { clusteredPairedBootstrapInterval, countsBootstrapInterval, type PairedBootstrapOptions } from '../stats/bootstrap.js';

/** The parts, as SUBSETS entries: together they are a partition of the scored samples. */
export const TAX_PARTS = ['answerAbsent', 'answerInContext', 'conflict'] as const;
export type TaxPartName = (typeof TAX_PARTS)[number];

/**
 * The part an item falls in. SUBSETS' three are a partition: `conflict` is the knowledge conflicts,
 * the other two split the rest on `answerInContext`. An unanswerable item (no gold answer) has no
 * answer in its documents, so it is in `answerAbsent`; it is never correct on either side, so it
 * adds to that part's n but not to its tax. An item in no part or in two would make the parts miss
 * the tax: that is a bug in SUBSETS, and throws.
 */
export function taxPartOf(scores: SampleScores): TaxPartName {
  const parts = TAX_PARTS.filter((name) => SUBSETS[name].includes(scores));
  if (parts.length !== 1) throw new Error(`tax decomposition: a sample is in ${parts.length} of the parts ${TAX_PARTS.join(', ')} (expected exactly one)`);
  return parts[0]!;
}

/** right = correct; nores = a refusal that is not correct; wrong = neither. */
export function outcomeOf(scores: SampleScores): Outcome {
  return scores.correct ? 'right' : scores.refusal ? 'nores' : 'wrong';
}

const OUTCOMES: readonly Outcome[] = ['right', 'wrong', 'nores'];

function emptyTransitions(): Transitions {
  const row = () => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  return { right: row(), wrong: row(), nores: row() };
}

/** The shared items of a pair, in the pair's (item id) order; `clusters` when every item has one. */
export interface PairedScores {
  base: readonly SampleScores[];
  instruct: readonly SampleScores[];
  clusters?: readonly string[];
}

/**
 * Each part's tax is Σ over its items of (base correct − instruct correct) ÷ n, n being ALL the
 * pair's items, so the parts add up to the tax (to rounding). Each interval is the tax's own
 * bootstrap on the part's share: whole clusters over the masked per-item vectors (0 outside the
 * part) when clustered, else the three counts +1 / −1 / 0 of all n items. The part of the
 * knowledge conflicts, and its transitions, only when the pair has conflict items.
 */
export function decomposeTax(paired: PairedScores, options: PairedBootstrapOptions): Pick<Required<PairRecord>, 'decomposition' | 'transitions'> {
  const { base, instruct, clusters } = paired;
  const n = base.length;
  if (instruct.length !== n || (clusters !== undefined && clusters.length !== n)) {
    throw new RangeError(`decomposeTax: ${n} base, ${instruct.length} instruct and ${clusters?.length ?? 'no'} cluster values`);
  }
  const partOf = base.map(taxPartOf);
  const transitions: Partial<Record<TaxPartName, Transitions>> = {};
  const counts = Object.fromEntries(TAX_PARTS.map((p) => [p, { n: 0, baseOnly: 0, instructOnly: 0 }])) as Record<TaxPartName, { n: number; baseOnly: number; instructOnly: number }>;
  for (let i = 0; i < n; i++) {
    const part = partOf[i]!;
    const b = base[i]!;
    const s = instruct[i]!;
    const c = counts[part];
    c.n += 1;
    if (b.correct && !s.correct) c.baseOnly += 1;
    else if (s.correct && !b.correct) c.instructOnly += 1;
    (transitions[part] ??= emptyTransitions())[outcomeOf(b)][outcomeOf(s)] += 1;
  }
  const interval = (part: TaxPartName): Interval => {
    const c = counts[part];
    if (clusters === undefined) return countsBootstrapInterval([1, -1, 0], [c.baseOnly, c.instructOnly, n - c.baseOnly - c.instructOnly], options);
    const masked = (side: readonly SampleScores[]) => side.map((x, i) => (partOf[i] === part && x.correct ? 1 : 0));
    return clusteredPairedBootstrapInterval(masked(base), masked(instruct), clusters, options);
  };
  const taxPart = (part: TaxPartName): TaxPart => {
    const c = counts[part];
    return { n: c.n, tax: n > 0 ? (c.baseOnly - c.instructOnly) / n : 0, ci95: interval(part) };
  };
  const hasConflicts = counts.conflict.n > 0;
  return {
    decomposition: {
      answerAbsent: taxPart('answerAbsent'),
      answerInContext: taxPart('answerInContext'),
      ...(hasConflicts ? { conflict: taxPart('conflict') } : {}),
    } satisfies TaxDecomposition,
    transitions: {
      answerInContext: transitions.answerInContext ?? emptyTransitions(),
      answerAbsent: transitions.answerAbsent ?? emptyTransitions(),
      ...(hasConflicts ? { conflict: transitions.conflict! } : {}),
    },
  };
}
