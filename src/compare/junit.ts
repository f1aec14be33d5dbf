// JUnit XML for CI: one test case per shared cell × metric, a <failure> for each regression, a
// <skipped> case for each cell present in only one run. Each case shows the raw McNemar p and, for
// gating metrics, the adjusted one; the suite's <properties> name the adjustment and its family size.
import { pct, pctInterval, pValue, signedPct } from '../report/format.js';
import type { Cell } from '../types.js';
import type { PAdjust } from '../stats/adjust.js';
import { cellLabel } from '../report/labels.js';
import { METRIC_LABELS, P_ADJUST_LABELS, type ComparisonResult, type MetricComparison } from './compare.js';

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * `McNemar p=0.039, Holm p_adj=0.733`: the raw p, and the adjusted one where the metric is in the
 * adjusted gating family (not with `--adjust none`, where both are the same number).
 */
export function pValues(m: MetricComparison, method: PAdjust): string {
  if (m.p === null) return '';
  const adjusted = m.pAdjusted !== null && method !== 'none' ? `, ${P_ADJUST_LABELS[method]} p_adj=${pValue(m.pAdjusted)}` : '';
  return `McNemar p=${pValue(m.p)}${adjusted}`;
}

/** `p adjusted by Holm over 27 gated comparisons`, or that it is not adjusted (`--adjust none`). */
export function adjustmentDescription(result: ComparisonResult): string {
  const { method, comparisons } = result.adjustment;
  const family = `${comparisons} gated comparison${comparisons === 1 ? '' : 's'}`;
  return method === 'none'
    ? `p not adjusted for multiple comparisons (--adjust none) over ${family}`
    : `p adjusted by ${P_ADJUST_LABELS[method]} over ${family}`;
}

export function describeMetric(m: MetricComparison, method: PAdjust): string {
  const p = m.p === null ? '' : `, ${pValues(m, method)}`;
  return `${METRIC_LABELS[m.metric]}: ${pct(m.baseline)} → ${pct(m.candidate)} (${signedPct(m.diff)} points, 95% CI ${pctInterval(m.ci95)}${p}, n=${m.n})`;
}

export function renderJunit(result: ComparisonResult, suiteName: string): string {
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  const method = result.adjustment.method;
  for (const c of result.cells) {
    const classname = xmlEscape(cellLabel(c.cell));
    for (const m of c.metrics) {
      const name = xmlEscape(`${METRIC_LABELS[m.metric]}${m.gating ? '' : ' (reported, not gating)'}`);
      const text = xmlEscape(describeMetric(m, method));
      if (m.regression) {
        failures += 1;
        const direction = m.higherIsBetter ? 'dropped' : 'rose';
        const message = xmlEscape(
          `regression: ${METRIC_LABELS[m.metric]} ${direction} by ${pct(Math.abs(m.diff))} points (> ${result.options.maxDrop}) with ` +
            (method === 'none'
              ? `p=${pValue(m.p ?? 1)} (< ${result.options.alpha}; ${adjustmentDescription(result)})`
              : `adjusted p=${pValue(m.pAdjusted ?? 1)} (< ${result.options.alpha}; raw McNemar p=${pValue(m.p ?? 1)}; ${adjustmentDescription(result)})`),
        );
        cases.push(`    <testcase classname="${classname}" name="${name}" time="0">\n      <failure message="${message}" type="regression">${text}</failure>\n    </testcase>`);
      } else {
        cases.push(`    <testcase classname="${classname}" name="${name}" time="0">\n      <system-out>${text}</system-out>\n    </testcase>`);
      }
    }
  }
  const onlyOne = (cells: Cell[], where: string) => {
    for (const cell of cells) {
      skipped += 1;
      cases.push(
        `    <testcase classname="${xmlEscape(cellLabel(cell))}" name="present in both runs" time="0">\n      <skipped message="${xmlEscape(`cell only in the ${where} run`)}"/>\n    </testcase>`,
      );
    }
  };
  onlyOne(result.onlyBaselineCells, 'baseline');
  onlyOne(result.onlyCandidateCells, 'candidate');
  const suite = xmlEscape(`ragtax compare: ${suiteName}`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${suite}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="${suite}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="0">`,
    '    <properties>',
    `      <property name="p-adjust" value="${method}"/>`,
    `      <property name="gated-comparisons" value="${result.adjustment.comparisons}"/>`,
    `      <property name="alpha" value="${result.options.alpha}"/>`,
    `      <property name="max-drop" value="${result.options.maxDrop}"/>`,
    `      <property name="gate" value="${xmlEscape(adjustmentDescription(result))}"/>`,
    '    </properties>',
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
