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
  function pairLabel(p) { return p.base + ' vs ' + p.instruct + ' ' + p.format + ' · ' + settingOf(p) + ' · ' + kLabel(p); }
  function option(value, text) { return el('option', { value: value, text: text }); }
  function chart(canvas, config) {
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    var c = new Chart(canvas, config);
    window.ragtaxCharts.push(c);
    return c;
  }

  // ---- header -----------------------------------------------------------------------------
  var info = document.getElementById('run-info');
  info.appendChild(el('p', { text: data.items + ' items, ' + data.cells.length + ' cells, ' + data.pairs.length + ' paired comparisons. Finished ' + (data.finishedAt || '?') + '. ' + data.manifestLine }));
  if (data.samples.capped) {
    info.appendChild(el('p', { className: 'note', text: 'The sample browser holds the samples of the first ' + data.samples.itemsShown + ' of ' + data.samples.itemsTotal + ' items (' + data.samples.shown + ' of ' + data.samples.total + ' samples; cap ' + data.samples.cap + ' samples, to keep this file small). Charts and tables use every sample. samples.jsonl has them all.' }));
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
    var series = Array.from(new Set(cells.map(function (c) { return c.model + ' ' + c.format; })));
    var datasets = series.map(function (s, i) {
      var byK = new Map();
      cells.forEach(function (c) { if (c.model + ' ' + c.format === s) byK.set(c.k, c); });
      return {
        label: s,
        data: ks.map(function (k) { var c = byK.get(k); return c && c.n > 0 ? 100 * c[metric] : null; }),
        cellsByIndex: ks.map(function (k) { return byK.get(k) || null; }),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        spanGaps: true,
        pointRadius: 4,
      };
    });
    return chart(canvas, {
      type: 'line',
      data: { labels: ks.map(function (k) { return 'k=' + k; }), datasets: datasets },
      options: {
        scales: { y: { min: 0, max: 100, title: { display: true, text: title + ' (%)' } }, x: { title: { display: true, text: 'documents shown (k)' } } },
        plugins: {
          title: { display: true, text: title },
          tooltip: { callbacks: { label: function (ctx) {
            var c = ctx.dataset.cellsByIndex[ctx.dataIndex];
            var ci = c && c.ci95 && c.ci95[metric];
            return ctx.dataset.label + ': ' + ctx.parsed.y.toFixed(1) + (ci ? ' [' + pct(ci[0]) + ', ' + pct(ci[1]) + ']' : '') + (c ? ' n=' + c.n : '');
          } } },
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
    holder.style.height = Math.max(260, 40 + 28 * scored.length) + 'px';
    chart(document.getElementById('chart-tax'), {
      type: 'bar',
      data: {
        labels: scored.map(pairLabel),
        datasets: [
          { type: 'bar', label: '95% paired-bootstrap interval', data: scored.map(function (p) { return [100 * p.taxCi95[0], 100 * p.taxCi95[1]]; }), backgroundColor: 'rgba(31,119,180,0.35)', borderColor: '#1f77b4', borderWidth: 1, barPercentage: 0.5, minBarLength: 2 },
          { type: 'line', label: 'tax (base − instruct accuracy)', data: scored.map(function (p) { return 100 * p.tax; }), showLine: false, pointRadius: 5, pointStyle: 'rectRot', borderColor: '#d62728', backgroundColor: '#d62728' },
        ],
      },
      options: {
        indexAxis: 'y',
        scales: { x: { title: { display: true, text: 'alignment tax, percentage points (positive: instruct is worse)' } } },
        plugins: { tooltip: { callbacks: { afterLabel: function (ctx) {
          var p = scored[ctx.dataIndex];
          return 'n=' + p.n + ', McNemar p=' + pval(p.mcnemarP) + ', refusal Δ ' + signed(p.refusalDelta);
        } } } },
      },
    });
    var skipped = data.pairs.length - scored.length;
    if (skipped > 0) taxSection.appendChild(el('p', { className: 'note', text: skipped + ' pair(s) had no item scored on both sides (context overflow) and are not drawn.' }));
  }

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
      el('p', { text: 'tax ' + signed(p.tax) + ' [' + pct(p.taxCi95[0]) + ', ' + pct(p.taxCi95[1]) + '], McNemar p=' + pval(p.mcnemarP) + ', n=' + p.n + '; refusal Δ ' + signed(p.refusalDelta) }),
    ]));
  });

  // ---- sensitivity (sweep variants) ----------------------------------------------------------
  var variants = Array.from(new Set(data.pairs.map(function (p) { return p.variant; }).filter(function (v) { return v !== undefined; })));
  var sens = document.getElementById('sensitivity');
  if (variants.length > 0) {
    sens.hidden = false;
    var base = new Map();
    scored.forEach(function (p) {
      var key = p.base + '|' + p.instruct + '|' + p.format + '|' + p.instruction + '|' + p.context + '|' + p.k + '|' + p.shots + '|' + p.cot;
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
      return el('tr', null, [el('td', { text: first.base + ' vs ' + first.instruct + ' ' + first.format + ' · ' + first.instruction + ' · ' + kLabel(first) + ' · shots=' + first.shots + (first.cot ? ' · CoT' : '') })].concat(columns.map(function (v) {
        var p = ps.find(function (x) { return x.variant === v; });
        return el('td', { text: p ? signed(p.tax) + ' [' + pct(p.taxCi95[0]) + ', ' + pct(p.taxCi95[1]) + ']' : '–' });
      })));
    });
    sens.appendChild(el('table', { className: 'grid' }, [head].concat(rows)));
    var holder2 = el('div', { className: 'chart', style: 'height:320px' }, [el('canvas', { id: 'chart-sensitivity' })]);
    sens.appendChild(holder2);
    chart(document.getElementById('chart-sensitivity'), {
      type: 'line',
      data: {
        labels: columns.map(columnLabel),
        datasets: keys.slice(0, 10).map(function (key, i) {
          var ps = base.get(key);
          return { label: pairLabel(Object.assign({}, ps[0], { variant: undefined })), data: columns.map(function (v) { var p = ps.find(function (x) { return x.variant === v; }); return p ? 100 * p.tax : null; }), borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true };
        }),
      },
      options: { scales: { y: { title: { display: true, text: 'alignment tax (points)' } } }, plugins: { title: { display: true, text: 'Tax across sweep settings' } } },
    });
  }

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
    var baseKey = keyOf(Object.assign({}, p, { model: p.base, format: 'raw' }));
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
