// The script of report.html, as a string (it runs in the browser, not in Node). It reads the data
// block with textContent + JSON.parse and builds every element with createElement/textContent:
// no model output, prompt or name ever reaches innerHTML. Written without backticks or `${` so it
// can live in this template string.
export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ragtax-data').textContent);
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  var OUTCOMES = { right: 'right', wrong: 'wrong', refused: 'refused', excluded: 'excluded' };
  window.ragtaxCharts = [];

  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      for (var key in props) {
        if (key === 'text') node.textContent = props[key];
        else if (key === 'className') node.className = props[key];
        else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), props[key]);
        else node.setAttribute(key, props[key]);
      }
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }
  function pct(v) { return v === null || v === undefined ? '–' : (100 * v).toFixed(1); }
  function signed(v) { var s = pct(v); return v > 0 ? '+' + s : s; }
  function pval(p) { return p < 0.001 ? '<0.001' : p.toFixed(3); }
  function keyOf(c) { return JSON.stringify([c.model, c.format, c.instruction, c.context, c.k, c.shots, c.cot, c.variant === undefined ? null : c.variant]); }
  function settingOf(c) {
    var parts = [c.instruction];
    if (c.context !== 'retrieved' && c.context !== 'closed-book') parts.push(c.context);
    parts.push('shots=' + c.shots);
    if (c.cot) parts.push('CoT');
    if (c.variant !== undefined) parts.push(c.variant);
    return parts.join(' · ');
  }
  function kLabel(c) { return c.context === 'closed-book' ? 'closed-book' : (c.context === 'retrieved' ? 'k=' + c.k : c.context + ' k=' + c.k); }
  function cellLabel(c) { return c.model + ' ' + c.format + ' · ' + settingOf(c) + ' · ' + kLabel(c); }
  // A lineage step between aligned models names the earlier one's format: instruct (chat) vs chat.
  function pairModels(p) { return p.base + (p.baseFormat ? ' (' + p.baseFormat + ')' : '') + ' vs ' + p.instruct; }
  function pairLabel(p) { return pairModels(p) + ' ' + p.format + ' · ' + settingOf(p) + ' · ' + kLabel(p); }
  function option(value, text) { return el('option', { value: value, text: text }); }
  function chart(canvas, config) {
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    var c = new Chart(canvas, config);
    window.ragtaxCharts.push(c);
    return c;
  }

  // ---- error bars --------------------------------------------------------------------------
  // Every interval is drawn (a whisker with caps), not only shown on hover: a dataset carries
  // errorBars[i] = [lo, hi] in the units of its value axis. Also draws a reference line at 0 when
  // options.plugins.ragtaxErrorBars.zero is set.
  var errorBarPlugin = {
    id: 'ragtaxErrorBars',
    afterDatasetsDraw: function (c, args, opts) {
      var ctx = c.ctx;
      var horizontal = c.options.indexAxis === 'y';
      var valueScale = horizontal ? c.scales.x : c.scales.y;
      if (!valueScale) return;
      ctx.save();
      if (opts && opts.zero && valueScale.min <= 0 && valueScale.max >= 0) {
        var z = valueScale.getPixelForValue(0);
        ctx.strokeStyle = '#555'; ctx.lineWidth = 1; ctx.setLineDash([4, 3]);
        ctx.beginPath();
        if (horizontal) { ctx.moveTo(z, c.chartArea.top); ctx.lineTo(z, c.chartArea.bottom); } else { ctx.moveTo(c.chartArea.left, z); ctx.lineTo(c.chartArea.right, z); }
        ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.beginPath(); ctx.rect(c.chartArea.left - 6, c.chartArea.top - 6, c.chartArea.right - c.chartArea.left + 12, c.chartArea.bottom - c.chartArea.top + 12); ctx.clip();
      c.data.datasets.forEach(function (ds, di) {
        if (!ds.errorBars || !c.isDatasetVisible(di)) return;
        var meta = c.getDatasetMeta(di);
        ctx.strokeStyle = ds.borderColor; ctx.lineWidth = 1.5;
        meta.data.forEach(function (pt, i) {
          var ci = ds.errorBars[i];
          if (!ci || pt.skip || !isFinite(pt.x) || !isFinite(pt.y)) return;
          var a = valueScale.getPixelForValue(ci[0]), b = valueScale.getPixelForValue(ci[1]), cap = 4;
          ctx.beginPath();
          if (horizontal) {
            ctx.moveTo(a, pt.y); ctx.lineTo(b, pt.y);
            ctx.moveTo(a, pt.y - cap); ctx.lineTo(a, pt.y + cap); ctx.moveTo(b, pt.y - cap); ctx.lineTo(b, pt.y + cap);
          } else {
            ctx.moveTo(pt.x, a); ctx.lineTo(pt.x, b);
            ctx.moveTo(pt.x - cap, a); ctx.lineTo(pt.x + cap, a); ctx.moveTo(pt.x - cap, b); ctx.lineTo(pt.x + cap, b);
          }
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
  Chart.register(errorBarPlugin);
  window.ragtaxErrorBarsRegistered = !!(Chart.registry && Chart.registry.plugins.get('ragtaxErrorBars'));

  // Series style: colour by model, and the prompt format by dash and marker too (not colour alone).
  var FORMAT_STYLE = { raw: { dash: [], point: 'circle' }, chat: { dash: [6, 4], point: 'triangle' } };
  function formatStyle(format) { return FORMAT_STYLE[format] || { dash: [2, 3], point: 'rectRot' }; }
  var modelNames = [];
  data.cells.forEach(function (c) { if (modelNames.indexOf(c.model) < 0) modelNames.push(c.model); });
  data.pairs.forEach(function (p) { [p.base, p.instruct].forEach(function (m) { if (modelNames.indexOf(m) < 0) modelNames.push(m); }); });
  function modelColor(m) { var i = modelNames.indexOf(m); return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]; }
  // Side-by-side offsets so intervals of several series at one setting do not hide each other.
  function dodge(i, count) { var w = Math.min(0.12, 0.6 / Math.max(1, count)); return (i - (count - 1) / 2) * w; }
  function shorten(text, max) { return text.length > max ? text.slice(0, max - 1) + '…' : text; }
  /** suggestedMin/Max for a value axis that holds 0 and every drawn interval (plus a margin). */
  function rangeOf(intervals) {
    var lo = 0, hi = 0;
    intervals.forEach(function (ci) { if (ci) { lo = Math.min(lo, ci[0]); hi = Math.max(hi, ci[1]); } });
    var pad = Math.max(1, 0.05 * (hi - lo));
    return { beginAtZero: true, suggestedMin: lo < 0 ? lo - pad : 0, suggestedMax: hi + pad };
  }
  function ci100(ci) { return ci ? [100 * ci[0], 100 * ci[1]] : null; }
  function interval(ci) { return ci ? ' [' + pct(ci[0]) + ', ' + pct(ci[1]) + ']' : ''; }
  function fullLabel(c) {
    return c.model + ' · format ' + c.format + ' · instruction ' + c.instruction + ' · context ' + c.context + ' · k=' + c.k + ' · shots=' + c.shots + ' · CoT ' + (c.cot ? 'yes' : 'no') + (c.variant !== undefined ? ' · variant ' + c.variant : '');
  }
  var manyModelPairs = new Set(data.pairs.map(function (p) { return p.base + '|' + p.instruct; })).size > 1;
  // Lineages pair one later model with several earlier ones (instruct → chat, base → chat): name both then.
  var sharedInstruct = new Set(data.pairs.map(function (p) { return p.instruct; })).size < new Set(data.pairs.map(function (p) { return p.base + '|' + p.baseFormat + '|' + p.instruct; })).size;
  /** For narrow charts: the fields that tell the pairs apart, shortest first. */
  function compactPairLabel(p) {
    return (manyModelPairs ? (sharedInstruct ? p.base + (p.baseFormat ? ' ' + p.baseFormat : '') + '→' : '') + p.instruct + ' ' : '') + p.format + ' ' + p.instruction + (p.shots ? ' ' + p.shots + '-shot' : '') + (p.cot ? ' CoT' : '') + ' ' + kLabel(p) + (p.variant !== undefined ? ' ' + p.variant : '');
  }
  function fullPairLabel(p) { return fullLabel(Object.assign({}, p, { model: pairModels(p) })); }
  /** A table whose rows become labelled cards on a narrow screen (each td carries data-label). */
  function dataTable(className, headRows, labels, rows) {
    var thead = el('thead', null, headRows.map(function (cells) { return el('tr', null, cells); }));
    var tbody = el('tbody', null, rows.map(function (cells) {
      return el('tr', null, cells.map(function (v, i) {
        var td = typeof v === 'string' ? el('td', { text: v, className: /^[-+0-9.,/ %–<]+$/.test(v) ? 'num' : '' }) : v;
        td.setAttribute('data-label', labels[i]);
        return td;
      }));
    }));
    return el('table', { className: 'data ' + className }, [thead, tbody]);
  }
  function th(text, attrs) { return el('th', Object.assign({ text: text }, attrs || {})); }
  function valueCell(v, ci) {
    return el('td', { className: 'num' }, [pct(v), ci ? el('span', { className: 'ci', text: interval(ci) }) : null]);
  }
  var ADJUST_NAMES = { holm: 'Holm', bh: 'Benjamini–Hochberg', none: 'none' };

  // ---- header -----------------------------------------------------------------------------
  var info = document.getElementById('run-info');
  info.appendChild(el('p', { text: data.items + ' items, ' + data.cells.length + ' cells, ' + data.pairs.length + ' paired comparisons. Finished ' + (data.finishedAt || '?') + '. ' + data.manifestLine }));
  if (data.samples.capped) {
    info.appendChild(el('p', { className: 'note', text: 'The sample browser holds the samples of the first ' + data.samples.itemsShown + ' of ' + data.samples.itemsTotal + ' items (' + data.samples.shown + ' of ' + data.samples.total + ' samples; cap ' + data.samples.cap + ' samples, to keep this file small). Charts and tables use every sample. samples.jsonl has them all.' }));
  }

  // ---- headline ---------------------------------------------------------------------------------
  // The suite's headline comparison when summary.json names one (a pair record, or the suite's
  // headline choice: every field given must match, the suite's own settings before sweep
  // variants), else the first pair at the first grid point (as ragtax run prints it).
  var headlineMissed = false;
  function headlinePair() {
    var ordered = data.pairs.filter(function (p) { return p.variant === undefined; }).concat(data.pairs.filter(function (p) { return p.variant !== undefined; }));
    var h = data.headline;
    if (h && typeof h === 'object') {
      if (typeof h.tax === 'number' && h.taxCi95) return h;
      var sel = h.pair && typeof h.pair === 'object' ? h.pair : h;
      var fields = ['base', 'instruct', 'format', 'instruction', 'context', 'k', 'shots', 'cot', 'variant'].filter(function (f) { return sel[f] !== undefined && sel[f] !== null; });
      var found = ordered.find(function (p) { return fields.every(function (f) { return p[f] === sel[f]; }); });
      if (found) return found;
      headlineMissed = true;
    }
    return ordered[0] || null;
  }
  var headSection = document.getElementById('headline');
  var hp = headlinePair();
  if (!hp) {
    headSection.appendChild(el('p', { text: 'This suite defines no base/instruct pairs: see the cells table for every figure.' }));
  } else {
    headSection.appendChild(el('p', { className: 'muted', text: (data.headline && !headlineMissed ? 'The suite\'s headline comparison: ' : 'The first comparison of the run: ') + fullPairLabel(hp) + '.' }));
    if (headlineMissed) headSection.appendChild(el('p', { className: 'note', text: 'The suite\'s headline setting matches no pair of this run; showing the first comparison instead.' }));
    if (hp.n === 0) {
      headSection.appendChild(el('p', { className: 'note', text: 'No item was scored on both sides of this comparison (context overflow); see the exclusions below.' }));
    } else {
      var st = data.statistics;
      var adjLabel = st ? (st.pAdjust === 'none' ? 'not adjusted' : ADJUST_NAMES[st.pAdjust] + ' over ' + st.comparisons) : 'adjusted';
      var figure = function (id, label, value, sub) {
        return el('div', { className: 'figure', 'data-figure': id }, [el('div', { className: 'figure-label', text: label }), el('div', { className: 'figure-value', text: value }), sub ? el('div', { className: 'figure-sub', text: sub }) : null]);
      };
      headSection.appendChild(el('div', { className: 'figures' }, [
        figure('tax', 'alignment tax (points)', signed(hp.tax), '95% CI' + interval(hp.taxCi95)),
        figure('p', 'McNemar p', pval(hp.mcnemarP), 'exact, paired, n=' + hp.n),
        figure('p-adjusted', 'adjusted p', hp.mcnemarPAdjusted !== undefined ? pval(hp.mcnemarPAdjusted) : '–', adjLabel),
        figure('base', hp.base + ' accuracy', pct(hp.baseAccuracy) + '%', 'base, ' + (hp.baseFormat || 'raw') + ' prompt'),
        figure('instruct', hp.instruct + ' accuracy', pct(hp.instructAccuracy) + '%', 'instruct, ' + hp.format + ' prompt'),
      ]));
      headSection.appendChild(el('p', { className: 'muted', text: 'Tax = base − instruct accuracy in percentage points; positive: the instruct model answers fewer questions right. Refusal Δ (instruct − base) ' + signed(hp.refusalDelta) + ' points.' }));
    }
  }

  // ---- exclusions banner ------------------------------------------------------------------------
  var ns = Array.from(new Set(data.cells.map(function (c) { return c.n; })));
  var exclusions = document.getElementById('exclusions');
  if (ns.length > 1) {
    exclusions.hidden = false;
    var lost = data.cells.filter(function (c) { return c.excludedContextOverflow > 0; });
    var perModel = Object.keys(data.contextOverflow || {}).filter(function (m) { return data.contextOverflow[m] > 0; });
    exclusions.appendChild(el('p', null, [el('strong', { text: 'Cells are not all on the same items. ' }),
      'n ranges from ' + Math.min.apply(null, ns) + ' to ' + Math.max.apply(null, ns) + ' across the ' + data.cells.length + ' cells' +
      (lost.length > 0 ? ': ' + lost.length + ' cell(s) lost items because a prompt exceeded a model\'s context length (the item is then excluded for every model at that grid point)' : '') +
      '. Compare charts and rows only where n matches.' +
      (perModel.length > 0 ? ' Prompts over the context length: ' + perModel.map(function (m) { return m + ' ' + data.contextOverflow[m]; }).join(', ') + '.' : '')]));
    if (lost.length > 0) {
      exclusions.appendChild(el('details', null, [el('summary', { text: 'which cells, and how many items each lost' }),
        el('ul', null, lost.map(function (c) { return el('li', { text: fullLabel(c) + ': ' + c.excludedContextOverflow + ' excluded, n=' + c.n }); }))]));
    }
  }

  // ---- accuracy / refusal vs k --------------------------------------------------------------
  var groups = new Map();
  data.cells.forEach(function (c) {
    var g = settingOf(c);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(c);
  });
  var groupNames = Array.from(groups.keys()).sort(function (a, b) {
    var ka = new Set(groups.get(a).map(function (c) { return c.k; })).size;
    var kb = new Set(groups.get(b).map(function (c) { return c.k; })).size;
    return kb - ka;
  });
  var settingSelect = document.getElementById('k-setting');
  groupNames.forEach(function (g) { settingSelect.appendChild(option(g, g)); });
  var accChart = null, refChart = null;
  function seriesChart(canvas, cells, metric, title) {
    var ks = Array.from(new Set(cells.map(function (c) { return c.k; }))).sort(function (a, b) { return a - b; });
    var series = [];
    cells.forEach(function (c) { if (!series.some(function (s) { return s.model === c.model && s.format === c.format; })) series.push({ model: c.model, format: c.format }); });
    var datasets = series.map(function (s, i) {
      var byK = new Map();
      cells.forEach(function (c) { if (c.model === s.model && c.format === s.format) byK.set(c.k, c); });
      var style = formatStyle(s.format);
      var points = ks.map(function (k, ki) { var c = byK.get(k); return { x: ki + dodge(i, series.length), y: c && c.n > 0 ? 100 * c[metric] : null }; });
      return {
        label: s.model + ' ' + s.format,
        data: points,
        cellsByIndex: ks.map(function (k) { return byK.get(k) || null; }),
        errorBars: ks.map(function (k) { var c = byK.get(k); return c && c.n > 0 && c.ci95 ? ci100(c.ci95[metric]) : null; }),
        borderColor: modelColor(s.model),
        backgroundColor: modelColor(s.model),
        borderDash: style.dash,
        pointStyle: style.point,
        spanGaps: true,
        pointRadius: 5,
        clip: 8,
      };
    });
    return chart(canvas, {
      type: 'line',
      data: { datasets: datasets },
      options: {
        scales: {
          y: { min: 0, max: 100, title: { display: true, text: title + ' (%)' } },
          x: { type: 'linear', min: -0.5, max: ks.length - 0.5, afterBuildTicks: function (axis) { axis.ticks = ks.map(function (k, i) { return { value: i }; }); }, ticks: { autoSkip: false, callback: function (v) { return Number.isInteger(v) && ks[v] !== undefined ? (cells[0].context === 'closed-book' ? 'closed-book' : 'k=' + ks[v]) : ''; } }, grid: { display: false }, title: { display: true, text: 'documents shown (k)' } },
        },
        plugins: {
          title: { display: true, text: title + ' (bars: 95% interval)' },
          legend: { labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
          tooltip: { callbacks: {
            title: function (items) { var c = items.length ? items[0].dataset.cellsByIndex[items[0].dataIndex] : null; return c ? kLabel(c) : ''; },
            label: function (ctx) {
              var c = ctx.dataset.cellsByIndex[ctx.dataIndex];
              var ci = c && c.ci95 && c.ci95[metric];
              return ctx.dataset.label + ': ' + ctx.parsed.y.toFixed(1) + interval(ci) + (c ? ' n=' + c.n : '');
            },
          } },
        },
      },
    });
  }
  function drawK() {
    var cells = groups.get(settingSelect.value) || [];
    if (accChart) accChart.destroy();
    if (refChart) refChart.destroy();
    window.ragtaxCharts = window.ragtaxCharts.filter(function (c) { return c !== accChart && c !== refChart; });
    accChart = seriesChart(document.getElementById('chart-accuracy'), cells, 'accuracy', 'Accuracy');
    refChart = seriesChart(document.getElementById('chart-refusal'), cells, 'refusalRate', 'Refusal rate');
    var kn = Array.from(new Set(cells.map(function (c) { return c.n; })));
    var note = document.getElementById('k-note');
    note.hidden = kn.length <= 1;
    note.textContent = kn.length > 1 ? 'n differs between these points (' + kn.sort(function (a, b) { return a - b; }).join(', ') + '): some items were excluded (context overflow), so the points are not on the same items.' : '';
  }
  settingSelect.addEventListener('change', drawK);
  if (groupNames.length > 0) drawK();

  // ---- alignment tax ---------------------------------------------------------------------------
  var taxSection = document.getElementById('tax');
  var scored = data.pairs.filter(function (p) { return p.n > 0; });
  if (data.pairs.length === 0) {
    taxSection.appendChild(el('p', { text: 'This suite defines no base/instruct pairs.' }));
  } else {
    var holder = document.getElementById('chart-tax').parentNode;
    holder.style.height = Math.max(260, 80 + 30 * scored.length) + 'px';
    var taxFormats = Array.from(new Set(scored.map(function (p) { return p.format; })));
    chart(document.getElementById('chart-tax'), {
      type: 'line',
      data: {
        labels: scored.map(pairLabel),
        datasets: taxFormats.map(function (f) {
          var style = formatStyle(f);
          var color = f === 'chat' ? '#d62728' : (f === 'raw' ? '#1f77b4' : '#2ca02c');
          return {
            label: 'instruct model, ' + f + ' prompt',
            data: scored.map(function (p) { return p.format === f ? 100 * p.tax : null; }),
            errorBars: scored.map(function (p) { return p.format === f ? ci100(p.taxCi95) : null; }),
            showLine: false, pointRadius: 5, clip: 8, pointStyle: style.point, borderColor: color, backgroundColor: color,
          };
        }),
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: Object.assign(rangeOf(scored.map(function (p) { return ci100(p.taxCi95); })), { title: { display: true, text: 'alignment tax, points (positive: instruct is worse)' } }),
          y: { ticks: { autoSkip: false, callback: function (v) { return this.chart.width < 600 ? shorten(compactPairLabel(scored[v]), 26) : shorten(pairLabel(scored[v]), 70); } } },
        },
        plugins: {
          ragtaxErrorBars: { zero: true },
          legend: { labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
          tooltip: { callbacks: {
            title: function (items) { return items.length ? fullPairLabel(scored[items[0].dataIndex]) : ''; },
            afterLabel: function (ctx) {
              var p = scored[ctx.dataIndex];
              return interval(p.taxCi95) + ' n=' + p.n + ', McNemar p=' + pval(p.mcnemarP) + ', refusal Δ ' + signed(p.refusalDelta);
            },
          } },
        },
      },
    });
    var skipped = data.pairs.length - scored.length;
    if (skipped > 0) taxSection.appendChild(el('p', { className: 'note', text: skipped + ' pair(s) had no item scored on both sides (context overflow) and are not drawn.' }));
    var pns = Array.from(new Set(scored.map(function (p) { return p.n; })));
    if (pns.length > 1) taxSection.appendChild(el('p', { className: 'note', text: 'The pairs are not all on the same items (n from ' + Math.min.apply(null, pns) + ' to ' + Math.max.apply(null, pns) + '; context overflow): compare their taxes with care.' }));
    var pairHeads = ['pair (every field)', 'n', 'base acc', 'instruct acc', 'tax [95% CI]', 'p', 'p adj.', 'MDE', 'refusal Δ'];
    taxSection.appendChild(dataTable('pairs', [pairHeads.map(function (h) { return th(h); })], pairHeads, data.pairs.map(function (p) {
      var mde = p.minimumDetectableTax === undefined || p.minimumDetectableTax === null ? '–' : pct(p.minimumDetectableTax);
      return [el('td', { className: 'label-cell', text: fullPairLabel(p) }), String(p.n), p.n > 0 ? pct(p.baseAccuracy) : '–', p.n > 0 ? pct(p.instructAccuracy) : '–',
        el('td', { className: 'num' }, [el('strong', { text: p.n > 0 ? signed(p.tax) : '–' }), el('span', { className: 'ci', text: p.n > 0 ? interval(p.taxCi95) : '' })]),
        p.n > 0 ? pval(p.mcnemarP) : '–', p.n > 0 && p.mcnemarPAdjusted !== undefined ? pval(p.mcnemarPAdjusted) : '–', mde, p.n > 0 ? signed(p.refusalDelta) : '–'];
    })));
  }

  // ---- lineages: one waterfall per lineage --------------------------------------------------------
  // Floating bars: each step from the running total to the total after it, the last bar first → last
  // from zero; whiskers are each step's own interval placed at the bar's end. Intervals, p and
  // refusal Δ are in the tooltip and the table below the chart. Default point: the headline's.
  (function () {
    var section = document.getElementById('lineages');
    if (!data.lineages || data.lineages.length === 0) return;
    section.hidden = false;
    var same = function (a, b) { return a.instruction === b.instruction && a.context === b.context && a.k === b.k && a.shots === b.shots && a.cot === b.cot && a.variant === b.variant; };
    data.lineages.forEach(function (lin, li) {
      var box = el('div', { className: 'lineage', 'data-lineage': lin.lineage });
      section.appendChild(box);
      box.appendChild(el('h3', { text: lin.lineage + ': ' + lin.stages.join(' → ') }));
      var select = el('select', { 'aria-label': 'grid point of ' + lin.lineage });
      lin.points.forEach(function (pt, i) { select.appendChild(option(String(i), pt.label)); });
      var preferred = lin.points.findIndex(function (pt) { return hp && same(pt, hp) && pt.format === hp.format; });
      if (preferred < 0) preferred = lin.points.findIndex(function (pt) { return hp && same(pt, hp); });
      if (preferred < 0) preferred = Math.max(0, lin.points.findIndex(function (pt) { return pt.variant === undefined; }));
      select.value = String(preferred);
      box.appendChild(el('p', { className: 'muted' }, ['Point: ', select]));
      var holder = el('div', { className: 'chart' }, [el('canvas', { id: 'chart-lineage-' + li })]);
      box.appendChild(holder);
      var tableHolder = el('div');
      box.appendChild(tableHolder);
      var current = null;
      function draw() {
        var pt = lin.points[Number(select.value)];
        if (current) { window.ragtaxCharts = window.ragtaxCharts.filter(function (c) { return c !== current; }); current.destroy(); }
        var bars = pt.bars;
        var colors = bars.map(function (b) { return b.total ? '#1f5fa8' : (b.tax >= 0 ? '#d62728' : '#2ca02c'); });
        current = chart(holder.querySelector('canvas'), {
          type: 'bar',
          data: {
            labels: bars.map(function (b) { return b.label; }),
            datasets: [{
              label: 'tax (points)',
              data: bars.map(function (b) { return [100 * b.start, 100 * b.end]; }),
              errorBars: bars.map(function (b) { return [100 * (b.start + b.ci95[0]), 100 * (b.start + b.ci95[1])]; }),
              backgroundColor: colors, borderColor: '#333', borderWidth: 1,
            }],
          },
          options: {
            scales: { y: Object.assign(rangeOf(bars.map(function (b) { return [100 * Math.min(b.start, b.start + b.ci95[0]), 100 * Math.max(b.end, b.start + b.ci95[1])]; })), { title: { display: true, text: 'cumulative alignment tax, points' } }) },
            plugins: {
              legend: { display: false },
              ragtaxErrorBars: { zero: true },
              title: { display: true, text: pt.label },
              tooltip: { callbacks: {
                label: function (ctx) {
                  var b = bars[ctx.dataIndex];
                  return 'tax ' + signed(b.tax) + interval(b.ci95) + ', p=' + pval(b.p) + (b.share !== null && !b.total ? ', ' + pct(b.share) + '% of the total' : '') + ', refusal Δ ' + signed(b.refusalDelta) + ', n=' + b.n + ' (' + b.formats + ')';
                },
              } },
            },
          },
        });
        while (tableHolder.firstChild) tableHolder.removeChild(tableHolder.firstChild);
        var heads = ['step', 'formats', 'n', 'tax [95% CI]', 'p', 'share of total', 'refusal Δ'];
        tableHolder.appendChild(dataTable('lineage compact', [heads.map(function (h) { return th(h); })], heads, bars.map(function (b) {
          return [el('td', { className: 'label-cell', text: b.label }), b.formats, String(b.n),
            el('td', { className: 'num' }, [el('strong', { text: signed(b.tax) }), el('span', { className: 'ci', text: interval(b.ci95) })]),
            pval(b.p), b.share === null ? '–' : pct(b.share) + '%', signed(b.refusalDelta)];
        })));
      }
      select.addEventListener('change', draw);
      draw();
    });
  })();

  // ---- 2×2 tables --------------------------------------------------------------------------------
  var tables = document.getElementById('tables');
  scored.forEach(function (p, index) {
    var t = p.table;
    function td(count, base, instruct) {
      return el('td', { className: 'count', title: 'show these items in the sample browser', onclick: function () { showPair(index, base, instruct); } }, [String(count)]);
    }
    tables.appendChild(el('div', { className: 'card' }, [
      el('h4', { text: pairLabel(p) }),
      el('table', { className: 'twobytwo' }, [
        el('tr', null, [el('th'), el('th', { text: p.instruct + ' right' }), el('th', { text: p.instruct + ' not right' })]),
        el('tr', null, [el('th', { text: p.base + ' right' }), td(t.bothCorrect, 'right', 'right'), td(t.baseOnly, 'right', 'notright') ]),
        el('tr', null, [el('th', { text: p.base + ' not right' }), td(t.instructOnly, 'notright', 'right'), td(t.neither, 'notright', 'notright')]),
      ]),
      el('p', { text: 'tax ' + signed(p.tax) + ' [' + pct(p.taxCi95[0]) + ', ' + pct(p.taxCi95[1]) + '], McNemar p=' + pval(p.mcnemarP) + (p.mcnemarPAdjusted !== undefined ? ' (adj. ' + pval(p.mcnemarPAdjusted) + ')' : '') + ', n=' + p.n + '; refusal Δ ' + signed(p.refusalDelta) }),
    ]));
  });

  // ---- sensitivity (sweep variants) ----------------------------------------------------------
  var variants = Array.from(new Set(data.pairs.map(function (p) { return p.variant; }).filter(function (v) { return v !== undefined; })));
  var sens = document.getElementById('sensitivity');
  if (variants.length > 0) {
    sens.hidden = false;
    var base = new Map();
    scored.forEach(function (p) {
      var key = p.base + '|' + (p.baseFormat || 'raw') + '|' + p.instruct + '|' + p.format + '|' + p.instruction + '|' + p.context + '|' + p.k + '|' + p.shots + '|' + p.cot;
      if (!base.has(key)) base.set(key, []);
      base.get(key).push(p);
    });
    // Only swept grid points, with the suite's own setting as the first column to compare against.
    var keys = Array.from(base.keys()).filter(function (key) { return base.get(key).some(function (p) { return p.variant !== undefined; }); });
    var columns = [undefined].concat(variants);
    var columnLabel = function (v) { return v === undefined ? 'suite setting' : v; };
    var head = el('tr', null, [el('th', { text: 'pair and setting' })].concat(columns.map(function (v) { return el('th', { text: columnLabel(v) }); })));
    var rows = keys.map(function (key) {
      var ps = base.get(key);
      var first = ps[0];
      return el('tr', null, [el('td', { text: pairModels(first) + ' ' + first.format + ' · ' + first.instruction + ' · ' + kLabel(first) + ' · shots=' + first.shots + (first.cot ? ' · CoT' : '') })].concat(columns.map(function (v) {
        var p = ps.find(function (x) { return x.variant === v; });
        return el('td', { text: p ? signed(p.tax) + ' [' + pct(p.taxCi95[0]) + ', ' + pct(p.taxCi95[1]) + ']' : '–' });
      })));
    });
    sens.appendChild(el('table', { className: 'grid' }, [head].concat(rows)));
    var holder2 = el('div', { className: 'chart' }, [el('canvas', { id: 'chart-sensitivity' })]);
    sens.appendChild(holder2);
    var shownKeys = keys.slice(0, 10);
    // On a narrow screen the legend wraps to one entry a line: give it room and shorter labels.
    var narrow = window.innerWidth < 700;
    holder2.style.height = (narrow ? 260 + 24 * shownKeys.length : 360) + 'px';
    if (keys.length > shownKeys.length) sens.appendChild(el('p', { className: 'muted', text: 'The chart shows the first 10 of ' + keys.length + ' swept grid points; the table has them all.' }));
    // Dot-and-interval per variant (categories on x, no lines joining them), on an axis that holds 0.
    chart(document.getElementById('chart-sensitivity'), {
      type: 'line',
      data: {
        datasets: shownKeys.map(function (key, i) {
          var ps = base.get(key);
          var f = ps[0].format;
          var style = formatStyle(f);
          var at = columns.map(function (v) { return ps.find(function (x) { return x.variant === v; }) || null; });
          return {
            label: (narrow ? compactPairLabel : pairLabel)(Object.assign({}, ps[0], { variant: undefined })),
            data: at.map(function (p, ci) { return { x: ci + dodge(i, shownKeys.length), y: p ? 100 * p.tax : null }; }),
            errorBars: at.map(function (p) { return p ? ci100(p.taxCi95) : null; }),
            showLine: false, pointRadius: 5, clip: 8, pointStyle: style.point,
            borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
          };
        }),
      },
      options: {
        scales: {
          y: Object.assign(rangeOf(shownKeys.flatMap(function (key) { return base.get(key).map(function (p) { return ci100(p.taxCi95); }); })), { title: { display: true, text: 'alignment tax (points)' } }),
          x: { type: 'linear', min: -0.5, max: columns.length - 0.5, grid: { display: false }, afterBuildTicks: function (axis) { axis.ticks = columns.map(function (v, i) { return { value: i }; }); }, ticks: { autoSkip: false, callback: function (v) { return Number.isInteger(v) && v >= 0 && v < columns.length ? shorten(columnLabel(columns[v]), 24) : ''; } } },
        },
        plugins: {
          title: { display: true, text: 'Tax per sweep setting (dot: estimate, bar: 95% interval)' },
          legend: { labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8 } },
          ragtaxErrorBars: { zero: true },
          tooltip: { callbacks: {
            title: function (items) { return items.length ? columnLabel(columns[items[0].dataIndex]) : ''; },
            label: function (ctx) { var ci = ctx.dataset.errorBars[ctx.dataIndex]; return ctx.dataset.label + ': ' + ctx.parsed.y.toFixed(1) + (ci ? ' [' + ci[0].toFixed(1) + ', ' + ci[1].toFixed(1) + ']' : ''); },
          } },
        },
      },
    });
  }

  // ---- cells table ---------------------------------------------------------------------------------
  (function () {
    var section = document.getElementById('cells');
    var heads1 = [th('cell (model · format · instruction · context · k · shots · CoT · variant)', { rowspan: '2' }), th('n', { rowspan: '2' }), th('accuracy [95% CI]', { rowspan: '2' }), th('refusal (NO-RES) [95% CI]', { rowspan: '2' }),
      th('documents lack the answer', { colspan: '3', className: 'group' }), th('documents hold the answer', { colspan: '3', className: 'group' }), th('excluded', { rowspan: '2' })];
    var heads2 = [th('n'), th('negative rejection'), th('parametric recall'), th('n'), th('over-refusal'), th('context accuracy')];
    var labels = ['cell', 'n', 'accuracy', 'refusal (NO-RES)', 'lack the answer: n', 'negative rejection (NO-RES where the documents lack the answer)', 'parametric recall (right where the documents lack the answer)', 'hold the answer: n', 'over-refusal (NO-RES where the documents hold the answer)', 'context accuracy (right where the documents hold the answer)', 'excluded (context overflow)'];
    var rows = data.cells.map(function (c) {
      var ci = c.ci95 || {};
      var nCell = el('td', { className: 'num' }, [String(c.n)]);
      if (c.smallSample) { nCell.appendChild(el('span', { className: 'small', title: 'fewer than 30 items: exact (Clopper–Pearson) intervals, and wide', text: '*' })); nCell.setAttribute('data-small-sample', 'true'); }
      var none = c.n === 0;
      return [el('td', { className: 'label-cell', text: fullLabel(c) }), nCell, valueCell(none ? null : c.accuracy, ci.accuracy), valueCell(none ? null : c.refusalRate, ci.refusalRate),
        String(c.nAnswerAbsent), valueCell(c.negativeRejectionRate, ci.negativeRejectionRate), valueCell(c.parametricRecall, ci.parametricRecall),
        String(c.nAnswerInContext), valueCell(c.overRefusalRate, ci.overRefusalRate), valueCell(c.contextAccuracy, ci.contextAccuracy),
        c.excludedContextOverflow > 0 ? String(c.excludedContextOverflow) : '0'];
    });
    section.appendChild(dataTable('metrics', [heads1, heads2], labels, rows));
    if (data.cells.some(function (c) { return c.smallSample; })) section.appendChild(el('p', { className: 'muted', text: '* fewer than 30 items (smallSample): the cell\'s intervals are exact (Clopper–Pearson), and wide.' }));
  })();

  // ---- retrieval ------------------------------------------------------------------------------------
  (function () {
    var section = document.getElementById('retrieval');
    var r = data.retrieval;
    if (!r) { section.appendChild(el('p', { text: 'No retrieval summary in this run.' })); return; }
    section.appendChild(el('p', { text: 'Retriever: ' + r.retriever + ', ' + r.corpusSize + ' documents' + (r.indexLoadedFromCache ? ' (index reused from cache)' : '') + '.' }));
    if (r.answerRecallAtK && r.answerRecallAtK.length > 0) {
      section.appendChild(el('h3', { text: 'Answer recall@k' }));
      section.appendChild(el('p', { className: 'muted', text: 'Share of answerable items whose top-k retrieved documents hold a gold answer.' }));
      section.appendChild(dataTable('recall compact', [[th('k'), th('answer recall@k'), th('hits / answerable items')]], ['k', 'answer recall@k', 'hits / items'], r.answerRecallAtK.map(function (x) { return [String(x.k), pct(x.recall), x.hits + ' / ' + x.n]; })));
    }
    var aic = r.answerInContext ? Object.keys(r.answerInContext) : [];
    if (aic.length > 0) {
      section.appendChild(el('p', { text: 'Documents shown hold a gold answer: ' + aic.map(function (k) { return k + ' ' + pct(r.answerInContext[k]) + '%'; }).join(', ') + '.' }));
    }
    var g = r.goldMetrics;
    if (g) {
      section.appendChild(el('h3', { text: 'Against gold documents (qrels)' }));
      section.appendChild(el('p', { className: 'muted', text: g.n + ' item(s) with relevance judgements; as trec_eval.' }));
      // all-gold@k (every relevant document in the top k, for multi-hop questions), where it differs
      // from recall@k (items with one relevant document each make them equal); absent from older runs.
      var all = (g.allGoldAtK || []).some(function (x, i) { return g.recallAtK[i] && x.rate !== g.recallAtK[i].recall; }) ? g.allGoldAtK : [];
      var gh = g.recallAtK.map(function (x) { return 'recall@' + x.k; }).concat(all.map(function (x) { return 'all-gold@' + x.k; }), ['nDCG@10', 'MRR@10']);
      section.appendChild(dataTable('gold compact', [gh.map(function (h) { return th(h); })], gh, [g.recallAtK.map(function (x) { return pct(x.recall); }).concat(all.map(function (x) { return pct(x.rate); }), [g.ndcgAt10.toFixed(3), g.mrrAt10.toFixed(3)])]));
    }
  })();

  // ---- statistics notes and determinism ------------------------------------------------------------
  (function () {
    var section = document.getElementById('statistics');
    var s = data.statistics;
    section.appendChild(el('p', { text: 'Cell intervals: 95% Wilson (exact Clopper–Pearson for cells under 30 items). Tax intervals: seeded paired bootstrap, 95%. p: exact McNemar on the discordant items.' }));
    if (s) {
      section.appendChild(el('p', { 'data-note': 'p-adjust', text: s.pAdjust === 'none' ? 'p values are not adjusted for multiple comparisons (metrics.p_adjust: none); alpha ' + s.alpha + '.' : 'Adjusted p: ' + ADJUST_NAMES[s.pAdjust] + ' over the run\'s ' + s.comparisons + ' paired comparisons (alpha ' + s.alpha + ').' }));
      section.appendChild(el('p', { text: 'MDE: the smallest tax detectable at 80% power and alpha ' + s.alpha + ', from each comparison\'s own discordance rate.' }));
      var clustered = data.pairs.filter(function (p) { return p.designEffect !== undefined; });
      if (s.clusterBy !== undefined && clustered.length > 0) {
        var effects = clustered.map(function (p) { return p.designEffect; }).sort(function (a, b) { return a - b; });
        section.appendChild(el('p', { 'data-note': 'clustering', text: 'Items are clustered by ' + s.clusterBy + ' (' + clustered[0].clusters + ' clusters): intervals resample whole clusters. Design effect (clustered ÷ naive interval width): median ' + effects[Math.floor(effects.length / 2)].toFixed(2) + ', range ' + effects[0].toFixed(2) + '–' + effects[effects.length - 1].toFixed(2) + '.' }));
      } else {
        section.appendChild(el('p', { 'data-note': 'clustering', text: 'Items are treated as independent (no metrics.cluster_by): no design effect applies.' }));
      }
    } else {
      section.appendChild(el('p', { className: 'muted', text: 'This run predates the statistics record (no p adjustment or clustering information).' }));
    }
    var d = data.determinism;
    var dsec = document.getElementById('determinism');
    if (d) {
      dsec.hidden = false;
      var models = Object.keys(d);
      dsec.appendChild(el('p', { className: 'muted', text: 'Finished samples generated again, greedy, without the generation cache (--check-determinism).' }));
      dsec.appendChild(dataTable('determinism compact', [[th('model'), th('checked'), th('text changed'), th('rate'), th('correctness changed')]], ['model', 'checked', 'text changed', 'rate', 'correctness changed'],
        models.map(function (m) { var x = d[m]; return [m, String(x.checked), String(x.flippedText), pct(x.rate), String(x.flippedCorrect)]; })));
      var flips = [];
      models.forEach(function (m) { (d[m].flips || []).forEach(function (f) { flips.push(f); }); });
      if (flips.length > 0) {
        dsec.appendChild(el('details', null, [el('summary', { text: flips.length + ' changed sample(s)' }), el('ul', null, flips.map(function (f) {
          return el('li', { text: f.cell + ' · item ' + f.itemId + ': ' + JSON.stringify(shorten(f.before, 80)) + ' → ' + JSON.stringify(shorten(f.after, 80)) + (f.correctChanged ? ' (correctness changed)' : '') });
        }))]));
      }
    }
  })();

  // ---- timing -----------------------------------------------------------------------------------------
  (function () {
    var section = document.getElementById('timing');
    var t = data.timing || { models: {}, totalSeconds: 0 };
    var models = Object.keys(t.models);
    section.appendChild(el('p', { text: 'Total ' + t.totalSeconds.toFixed(1) + ' s. Only samples generated in this invocation count towards generation time and tokens/s (not cache hits or resumed samples).' }));
    var heads = ['model', 'samples', 'generated', 'cached', 'load s', 'generation s', 'new tokens/s'];
    section.appendChild(dataTable('timing compact', [heads.map(function (h) { return th(h); })], heads, models.map(function (m) {
      var x = t.models[m];
      return [m, String(x.samples), String(x.generatedSamples), String(x.cachedSamples || 0), x.loadSeconds.toFixed(1), x.generationSeconds.toFixed(1), x.tokensPerSecond.toFixed(0)];
    })));
  })();

  // ---- sample browser ------------------------------------------------------------------------------
  var S = data.samples;
  var cellByIndex = S.cells;
  var itemMap = new Map(S.items.map(function (x) { return [x.id, x]; }));
  var byCellItem = new Map();
  S.rows.forEach(function (r) { byCellItem.set(r.c + '|' + r.i, r); });
  var cellIndexByKey = new Map();
  cellByIndex.forEach(function (c, i) { cellIndexByKey.set(keyOf(c), i); });
  var pairEntries = [];
  data.pairs.forEach(function (p, pi) {
    var baseKey = keyOf(Object.assign({}, p, { model: p.base, format: p.baseFormat || 'raw' }));
    var instKey = keyOf(Object.assign({}, p, { model: p.instruct }));
    var bi = cellIndexByKey.get(baseKey), ii = cellIndexByKey.get(instKey);
    if (bi === undefined || ii === undefined) return;
    S.rows.forEach(function (r) {
      if (r.c !== bi) return;
      var other = byCellItem.get(ii + '|' + r.i);
      if (other) pairEntries.push({ pair: pi, base: r, instruct: other });
    });
  });
  var view = document.getElementById('f-view');
  var fPair = document.getElementById('f-pair'), fBase = document.getElementById('f-base'), fInst = document.getElementById('f-instruct');
  var fCell = document.getElementById('f-cell'), fOutcome = document.getElementById('f-outcome'), fSearch = document.getElementById('f-search');
  if (pairEntries.length === 0) { view.value = 'samples'; view.querySelector('option[value=pairs]').disabled = true; }
  fPair.appendChild(option('all', 'all pairs'));
  data.pairs.forEach(function (p, i) { fPair.appendChild(option(String(i), pairLabel(p))); });
  fCell.appendChild(option('all', 'all cells'));
  cellByIndex.forEach(function (c, i) { fCell.appendChild(option(String(i), cellLabel(c))); });
  var PAGE = 50;
  var limit = PAGE;

  function matchOutcome(filter, outcome) {
    if (filter === 'any') return true;
    if (filter === 'notright') return outcome !== 'right' && outcome !== 'excluded';
    return filter === outcome;
  }
  function matchSearch(r) {
    var q = fSearch.value.trim().toLowerCase();
    if (!q) return true;
    var item = itemMap.get(r.i) || {};
    return r.i.toLowerCase().indexOf(q) >= 0 || (item.q || '').toLowerCase().indexOf(q) >= 0 || r.r.toLowerCase().indexOf(q) >= 0;
  }
  function sideBlock(title, r) {
    var c = cellByIndex[r.c];
    var children = [
      el('div', { className: 'side-head' }, [el('strong', { text: title }), ' ', el('span', { className: 'badge ' + r.o, text: OUTCOMES[r.o] || r.o }), ' ', el('span', { className: 'muted', text: cellLabel(c) + (r.f1 !== undefined ? ' · F1 ' + r.f1.toFixed(2) : '') })]),
      el('div', { className: 'label', text: 'response' }),
      el('pre', { className: 'response', text: r.r }),
    ];
    if (r.s !== undefined) children.push(el('div', { className: 'label', text: 'scored text' }), el('pre', { className: 'response', text: r.s }));
    children.push(el('details', null, [el('summary', { text: 'exact prompt (' + S.prompts[r.p].length + ' characters)' }), el('pre', { className: 'prompt', text: S.prompts[r.p] })]));
    return el('div', { className: 'side' }, children);
  }
  function itemHead(r) {
    var item = itemMap.get(r.i) || { q: '', a: [] };
    return el('div', { className: 'item-head' }, [
      el('span', { className: 'muted', text: r.i }), ' ', el('strong', { text: item.q }), ' ',
      el('span', { className: 'muted', text: 'gold: ' + (item.a.length ? item.a.join(' | ') : '(unanswerable)') + (r.aic ? ' · answer in documents' : ' · answer not in documents') }),
    ]);
  }
  function render() {
    var list = document.getElementById('samples');
    while (list.firstChild) list.removeChild(list.firstChild);
    var pairs = view.value === 'pairs';
    document.getElementById('pair-filters').hidden = !pairs;
    document.getElementById('sample-filters').hidden = pairs;
    var matches;
    if (pairs) {
      matches = pairEntries.filter(function (e) {
        return (fPair.value === 'all' || String(e.pair) === fPair.value) && matchOutcome(fBase.value, e.base.o) && matchOutcome(fInst.value, e.instruct.o) && (matchSearch(e.base) || matchSearch(e.instruct));
      });
    } else {
      matches = S.rows.filter(function (r) { return (fCell.value === 'all' || String(r.c) === fCell.value) && matchOutcome(fOutcome.value, r.o) && matchSearch(r); });
    }
    document.getElementById('match-count').textContent = matches.length + (pairs ? ' paired item(s)' : ' sample(s)') + ' match' + (matches.length > limit ? '; showing the first ' + limit : '');
    matches.slice(0, limit).forEach(function (m) {
      if (pairs) {
        list.appendChild(el('div', { className: 'entry', 'data-base-outcome': m.base.o, 'data-instruct-outcome': m.instruct.o }, [itemHead(m.base), el('div', { className: 'sides' }, [sideBlock('base', m.base), sideBlock('instruct', m.instruct)])]));
      } else {
        list.appendChild(el('div', { className: 'entry', 'data-outcome': m.o }, [itemHead(m), sideBlock(cellByIndex[m.c].model, m)]));
      }
    });
    document.getElementById('more').hidden = matches.length <= limit;
  }
  function reset() { limit = PAGE; render(); }
  [view, fPair, fBase, fInst, fCell, fOutcome].forEach(function (s) { s.addEventListener('change', reset); });
  fSearch.addEventListener('input', reset);
  document.getElementById('more').addEventListener('click', function () { limit += PAGE; render(); });
  function showPair(index, base, instruct) {
    view.value = 'pairs'; fPair.value = String(data.pairs.indexOf(scored[index])); fBase.value = base; fInst.value = instruct;
    reset();
    document.getElementById('browser').scrollIntoView();
  }
  render();
  document.body.setAttribute('data-ready', 'true');
})();
`;
