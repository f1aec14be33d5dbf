// The knows × context-holds-it table (docs/tax-decomposition.md): with a closed-book cell in the
// grid, each item is labelled by whether the model answers it right without documents, and every
// cell of the same model and format that shows documents is split four ways by that label and by
// whether its documents hold the answer.
import type { Cell, KnowledgeGroup, KnowledgeTable } from '../types.js';
import { CONTEXT_MODES } from '../retrieval/contexts.js';
import { coordinatesOf } from '../suite/grid.js';
import type { Suite } from '../suite/load.js';
import { SUBSETS } from '../scoring/metrics.js';
import type { ScoredSample } from './cells.js';
import { cellKey } from './cells.js';

type Setting = KnowledgeTable['closedBook'];
type GroupName = keyof KnowledgeTable['cells'][number]['groups'];

function settingOf(cell: Cell): Setting {
  const { instruction, context, k, shots, cot, variant } = cell;
  return variant === undefined ? { instruction, context, k, shots, cot } : { instruction, context, k, shots, cot, variant };
}

/**
 * The closed-book cell that labels a cell's items: closed-book cells use their own (closed-book)
 * instruction, so the instruction is not matched; the same shots and CoT (and sweep variant) are
 * preferred, else the model's only closed-book cell, else (ambiguous) the first in grid order.
 */
function closedBookFor(cell: Cell, closedBooks: readonly Cell[]): Cell {
  const same = closedBooks.filter((c) => c.shots === cell.shots && c.cot === cell.cot);
  return same.find((c) => c.variant === cell.variant) ?? same[0] ?? closedBooks[0]!;
}

function group(samples: readonly ScoredSample[]): KnowledgeGroup {
  const n = samples.length;
  const share = (k: number) => (n > 0 ? k / n : null);
  return { n, accuracy: share(samples.filter((s) => s.scores.correct).length), refusalRate: share(samples.filter((s) => s.scores.refusal).length) };
}

/**
 * One table per model, format and labelling closed-book cell, for every model and format whose
 * grid has a closed-book cell. `cells` is the grid in order; `samplesOf` a cell's samples
 * (undefined when the run has none: a `--cells` run), asked once per cell, one cell at a time.
 * Items excluded (context overflow) or missing in either cell are left out, and so are knowledge
 * conflicts: their documents claim a wrong answer, so neither "holds" nor "lacks" describes them.
 * "Knows" is "answered right closed-book" (a refusal there is `unknown`).
 */
export function knowledgeTables(cells: readonly Cell[], samplesOf: (cell: Cell) => readonly ScoredSample[] | undefined): KnowledgeTable[] {
  const byModel = new Map<string, Cell[]>();
  for (const cell of cells) {
    const key = JSON.stringify([cell.model, cell.format]);
    const list = byModel.get(key);
    if (list) list.push(cell);
    else byModel.set(key, [cell]);
  }
  const tables: KnowledgeTable[] = [];
  for (const modelCells of byModel.values()) {
    // The closed-book cells the run has, each with its items' labels, in grid order.
    const labels = new Map<string, { closedBook: Cell; knows: Map<string, boolean>; cells: KnowledgeTable['cells'] }>();
    for (const cell of modelCells) {
      if (cell.context !== 'closed-book') continue;
      const samples = samplesOf(cell);
      if (samples === undefined) continue;
      const knows = new Map<string, boolean>();
      for (const s of samples) if (s.excluded === undefined) knows.set(s.itemId, s.scores.correct);
      labels.set(cellKey(cell), { closedBook: cell, knows, cells: [] });
    }
    if (labels.size === 0) continue;
    const closedBooks = [...labels.values()].map((l) => l.closedBook);
    for (const cell of modelCells) {
      if (!CONTEXT_MODES[cell.context].showsDocuments) continue;
      const samples = samplesOf(cell);
      if (samples === undefined) continue;
      const label = labels.get(cellKey(closedBookFor(cell, closedBooks)))!;
      const groups: Record<GroupName, ScoredSample[]> = { knowsHolds: [], knowsLacks: [], unknownHolds: [], unknownLacks: [] };
      for (const s of samples) {
        const known = label.knows.get(s.itemId);
        if (s.excluded !== undefined || known === undefined || SUBSETS.conflict.includes(s.scores)) continue;
        groups[`${known ? 'knows' : 'unknown'}${s.scores.answerInContext ? 'Holds' : 'Lacks'}`].push(s);
      }
      label.cells.push({
        cell: settingOf(cell),
        groups: { knowsHolds: group(groups.knowsHolds), knowsLacks: group(groups.knowsLacks), unknownHolds: group(groups.unknownHolds), unknownLacks: group(groups.unknownLacks) },
      });
    }
    for (const { closedBook, cells: shown } of labels.values()) {
      if (shown.length > 0) tables.push({ model: closedBook.model, format: closedBook.format, closedBook: settingOf(closedBook), cells: shown });
    }
  }
  return tables;
}

/** The suite's grid in order (model, format, point): the cells `knowledgeTables` reads. */
export function gridCells(suite: Pick<Suite, 'models' | 'points'>): Cell[] {
  return suite.models.flatMap((m) => m.formats.flatMap((format) => suite.points.map((point) => ({ model: m.name, format, ...coordinatesOf(point) }))));
}
