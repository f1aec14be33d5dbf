// report.md's "Where the tax comes from" (docs/tax-decomposition.md): each pair's tax split over
// the items whose documents lack the answer and those whose documents hold it (and knowledge
// conflicts), the base → instruct transitions behind it, and the knows × context-holds-it tables.
import type { KnowledgeGroup, KnowledgeTable, Outcome, PairRecord, TaxPart, Transitions } from '../types.js';
import type { RunSummary } from '../rundir/types.js';
import { pct, pctInterval, signedPct } from './format.js';
import { settingLabel } from './labels.js';

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const PART_LABELS = { answerAbsent: 'docs lack it', answerInContext: 'docs hold it', conflict: 'conflicts' } as const;
type PartName = keyof typeof PART_LABELS;

const OUTCOME_LABELS: Record<Outcome, string> = { right: 'right', wrong: 'wrong', nores: 'NO-RES' };
/** The transitions that change something: the four that move accuracy, then the two between wrong and NO-RES. */
const MOVES: readonly [Outcome, Outcome][] = [
  ['right', 'nores'],
  ['right', 'wrong'],
  ['wrong', 'right'],
  ['nores', 'right'],
  ['wrong', 'nores'],
  ['nores', 'wrong'],
];

/** `base vs instruct chat · nores · retrieved k=3 · shots=0`; a lineage step between aligned models: `instruct (chat) vs chat chat · …`. */
function pairLabel(p: PairRecord): string {
  return `${p.base}${p.baseFormat !== undefined ? ` (${p.baseFormat})` : ''} vs ${p.instruct} ${p.format} · ${settingLabel(p)}`;
}

/** `+36.0 [27.4, 45.5] (41)`: the part's share of the tax, its interval and its items; `– (0)` for a part without items. */
const part = (p: TaxPart | undefined): string => (p === undefined ? '–' : p.n === 0 ? '– (0)' : `${signedPct(p.tax)} ${pctInterval(p.ci95)} (${p.n})`);
const total = (t: Transitions): number => Object.values(t).reduce((sum, row) => sum + Object.values(row).reduce((a, b) => a + b, 0), 0);

function transitionRows(pairs: readonly PairRecord[]): string[][] {
  return pairs.flatMap((p) =>
    (Object.keys(PART_LABELS) as PartName[]).flatMap((name) => {
      const t = p.transitions?.[name];
      // A part without items (all of a closed-book cell lacks the answer) has no row.
      if (!t || total(t) === 0) return [];
      return [[pairLabel(p), PART_LABELS[name], String(total(t)), ...MOVES.map(([from, to]) => String(t[from][to]))]];
    }),
  );
}

const groupCell = (g: KnowledgeGroup): string => (g.n === 0 ? '– (0)' : `${pct(g.accuracy)} / ${pct(g.refusalRate)} (${g.n})`);

function knowledgeSection(tables: readonly KnowledgeTable[]): string[] {
  const parts: string[] = [
    '### Knows it closed-book × the documents hold it',
    '',
    'Each item is labelled by whether the model answers it right in its closed-book cell ("knows"), then each cell that shows documents is split four ways. ' +
      'Each entry: accuracy / NO-RES rate (items). Knows × lacks is parametric recall; a refusal there is recall given up. Knowledge conflicts are left out.',
    '',
  ];
  for (const t of tables) {
    parts.push(`**${t.model} ${t.format}**, labelled by \`${settingLabel(t.closedBook)}\`:`, '');
    parts.push(
      table(
        ['cell', 'knows · docs hold it', 'knows · docs lack it', 'unknown · docs hold it', 'unknown · docs lack it'],
        t.cells.map(({ cell, groups }) => [settingLabel(cell), groupCell(groups.knowsHolds), groupCell(groups.knowsLacks), groupCell(groups.unknownHolds), groupCell(groups.unknownLacks)]),
      ),
      '',
    );
  }
  return parts;
}

/** The section's lines (none when no pair has a decomposition and the run has no knowledge table). */
export function decompositionSection(summary: Pick<RunSummary, 'pairs' | 'knowledge'>): string[] {
  const pairs = summary.pairs.filter((p) => p.decomposition !== undefined);
  const knowledge = summary.knowledge ?? [];
  if (pairs.length === 0 && knowledge.length === 0) return [];
  const parts: string[] = ['## Where the tax comes from', ''];
  if (pairs.length > 0) {
    const conflicts = pairs.some((p) => p.decomposition!.conflict !== undefined);
    parts.push(
      'The tax split by what the shown documents do for each item: where they lack the answer (parametric recall lost, mostly to refusals) and where they hold it ' +
        `(extraction and over-refusal)${conflicts ? ', and knowledge conflicts' : ''}. Each part is Σ over its items of (base − instruct correct) ÷ n, ` +
        'so the parts add up to the tax. Interval: the tax\'s paired bootstrap, 95%; (items) after it.',
      '',
    );
    parts.push(
      table(
        ['pair', 'n', 'tax [95% CI]', 'docs lack it', 'docs hold it', ...(conflicts ? ['conflicts'] : [])],
        pairs.map((p) => {
          const d = p.decomposition!;
          return [pairLabel(p), String(p.n), `**${signedPct(p.tax)}** ${pctInterval(p.taxCi95)}`, part(d.answerAbsent), part(d.answerInContext), ...(conflicts ? [part(d.conflict)] : [])];
        }),
      ),
      '',
    );
    const moving = pairs.filter((p) => p.transitions !== undefined);
    if (moving.length > 0) {
      parts.push(
        'Items that changed from the earlier model to the later one (counts). The first four move accuracy: the part\'s tax is (right → NO-RES + right → wrong − wrong → right − NO-RES → right) ÷ n.',
        '',
      );
      parts.push(table(['pair', 'part', 'n', ...MOVES.map(([from, to]) => `${OUTCOME_LABELS[from]} → ${OUTCOME_LABELS[to]}`)], transitionRows(moving)), '');
    }
  }
  if (knowledge.length > 0) parts.push(...knowledgeSection(knowledge));
  return parts;
}
