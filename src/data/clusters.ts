// Which items belong together (`metrics.cluster_by`): several questions about one entity, page or
// paragraph are not independent, so their intervals resample whole clusters.
import { InputError } from '../errors.js';
import type { QaItem } from '../types.js';

/**
 * How a suite's `cluster_by` names an item's cluster: `cluster` is the loader's own field;
 * `id:<regex>` is the regex's first group in the item id. Throws a message (without location) for a
 * regex that does not compile or has no group.
 */
export function clusterRule(spec: string): (item: QaItem) => string | undefined {
  if (spec === 'cluster') return (item) => item.cluster;
  const source = spec.slice('id:'.length);
  let pattern: RegExp;
  try {
    pattern = new RegExp(source);
  } catch (error) {
    throw new Error(`\`${source}\` is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`);
  }
  if (new RegExp(`${source}|`).exec('')!.length < 2) throw new Error(`\`${source}\` has no group: put the cluster part of the id in parentheses`);
  return (item) => pattern.exec(item.id)?.[1];
}

/** The items with their cluster set by the rule; an item without one is an input error naming it. */
export function withClusters(items: readonly QaItem[], spec: string, file: string): QaItem[] {
  const rule = clusterRule(spec);
  return items.map((item) => {
    const cluster = rule(item);
    if (cluster === undefined || cluster === '') {
      const why = spec === 'cluster' ? 'has no `cluster` field' : `has an id that \`${spec}\` does not match`;
      throw new InputError(`${file}: item \`${item.id}\` ${why}; every item needs a cluster when the suite sets \`metrics.cluster_by: ${spec}\``);
    }
    return { ...item, cluster };
  });
}
