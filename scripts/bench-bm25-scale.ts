// BM25 at scale, for scripts/bench-retrieval.ts: a synthetic corpus of n passages (Zipfian text,
// 80–120 tokens each) written as JSON Lines to a temporary folder, indexed and queried in child
// processes (so that each phase's peak memory is its own), by ragtax's postings file and, where
// asked, by SQLite FTS5 (better-sqlite3) with its own bm25() ranking. The folder is removed after.
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Bm25DiskIndex, buildDiskIndex } from '../src/retrieval/bm25-disk.js';
import { LUCENE_STOPWORDS, tokenize } from '../src/retrieval/tokenize.js';
import { uniformSource, wordOf } from './synthetic.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench-retrieval.ts');
const VOCABULARY = 2_000_000;
const ZIPF_S = 1.0;
const K = 10;

export interface EngineRow {
  exitCode: number;
  buildSeconds: number;
  buildPeakMiB: number;
  bytes: number;
  openSeconds: number;
  firstQueryMs: number;
  qps: number;
  /** Queries per second of the process's own CPU time: what an idle core would give on a contended machine. */
  cpuQps: number;
  queries: number;
  queryPeakMiB: number;
  vocabulary?: number;
  runs?: number;
  error?: string;
  /** Where the figures come from when not from this run. */
  note?: string;
}

export interface ScaleRow {
  n: number;
  tokens: number;
  generateSeconds: number;
  corpusBytes: number;
  loadAtStart: number[];
  loadAtEnd: number[];
  ragtax: EngineRow;
  fts5?: EngineRow;
}

const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const peakMiB = () => process.resourceUsage().maxRSS / 1024;

/** Writes `n` passages to `file` (JSON Lines: id, title, text) and `queries` keyword queries (2–5 words of a random passage) to `queriesFile`. */
export function generate(n: number, file: string, queriesFile: string, queries: number, seed: number): { tokens: number } {
  const words = Array.from({ length: VOCABULARY }, (_, r) => wordOf(r));
  // Inverse-CDF sampling with a guide table (Chen's method): about one step per draw.
  const cumulative = new Float64Array(VOCABULARY);
  let total = 0;
  for (let r = 0; r < VOCABULARY; r++) cumulative[r] = total += 1 / Math.pow(r + 1, ZIPF_S);
  const guide = new Int32Array(VOCABULARY);
  for (let j = 0, r = 0; j < VOCABULARY; j++) {
    while (cumulative[r]! < (j / VOCABULARY) * total) r++;
    guide[j] = r;
  }
  const uniform = uniformSource(seed);
  const sample = (): string => {
    const x = uniform() * total;
    let r = guide[Math.floor((x / total) * VOCABULARY)]!;
    while (cumulative[r]! < x) r++;
    return words[r]!;
  };
  const chosen = new Set<number>();
  while (chosen.size < Math.min(queries, n)) chosen.add(Math.floor(uniform() * n));
  const queryList: string[] = [];
  const fd = openSync(file, 'w');
  let tokens = 0;
  let lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const length = 80 + Math.floor(uniform() * 41);
    const body = Array.from({ length }, sample);
    const title = Array.from({ length: 2 + Math.floor(uniform() * 3) }, sample).join(' ');
    tokens += length + title.split(' ').length;
    lines.push(JSON.stringify({ id: `p${i}`, title, text: body.join(' ') }));
    if (chosen.has(i)) queryList.push(Array.from({ length: 2 + Math.floor(uniform() * 4) }, () => body[Math.floor(uniform() * body.length)]!).join(' '));
    if (lines.length === 10_000 || i === n - 1) {
      writeSync(fd, `${lines.join('\n')}\n`);
      lines = [];
    }
  }
  closeSync(fd);
  writeFileSync(queriesFile, JSON.stringify(queryList));
  return { tokens };
}

async function* passages(file: string): AsyncGenerator<{ title: string; text: string }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const { title, text } = JSON.parse(line) as { title: string; text: string };
    yield { title, text };
  }
}

/** `--child <mode> ...`: one measured phase in its own process; prints one JSON line. */
export async function scaleChild(args: string[]): Promise<void> {
  const [mode, ...rest] = args;
  const out: Record<string, unknown> = {};
  if (mode === 'build') {
    const [corpus, index] = rest as [string, string];
    const t = performance.now();
    const stats = await buildDiskIndex(passages(corpus), index, { stopwords: LUCENE_STOPWORDS });
    Object.assign(out, { seconds: (performance.now() - t) / 1000, vocabulary: stats.vocabulary, runs: stats.runs, bytes: stats.bytes });
  } else if (mode === 'query') {
    const [index, queriesFile, n] = rest as [string, string, string];
    const queries = JSON.parse(readFileSync(queriesFile, 'utf8')) as string[];
    let t = performance.now();
    const opened = Bm25DiskIndex.open(index, Number(n), { k1: 1.2, b: 0.75, lengths: 'lucene' });
    out.openSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    opened.search(tokenize(queries[0]!, LUCENE_STOPWORDS), K);
    out.firstQueryMs = performance.now() - t;
    for (const q of queries.slice(0, 50)) opened.search(tokenize(q, LUCENE_STOPWORDS), K); // warm up
    t = performance.now();
    const cpu = process.cpuUsage();
    for (const q of queries) opened.search(tokenize(q, LUCENE_STOPWORDS), K);
    out.qps = queries.length / ((performance.now() - t) / 1000);
    const used = process.cpuUsage(cpu);
    out.cpuQps = queries.length / ((used.user + used.system) / 1e6);
    out.queries = queries.length;
    opened.close();
  } else if (mode === 'fts5-build') {
    const [corpus, db] = rest as [string, string];
    const Database = (await import('better-sqlite3')).default;
    const t = performance.now();
    const sqlite = new Database(db);
    sqlite.pragma('journal_mode = OFF');
    sqlite.pragma('synchronous = OFF');
    sqlite.exec(`CREATE VIRTUAL TABLE fts USING fts5(title, text, tokenize = 'unicode61')`);
    const insert = sqlite.prepare('INSERT INTO fts (rowid, title, text) VALUES (?, ?, ?)');
    let batch: { title: string; text: string }[] = [];
    let rowid = 0;
    const flush = sqlite.transaction((docs: { title: string; text: string }[]) => {
      for (const d of docs) insert.run(++rowid, d.title, d.text);
    });
    for await (const p of passages(corpus)) {
      batch.push(p);
      if (batch.length === 20_000) {
        flush(batch);
        batch = [];
      }
    }
    flush(batch);
    sqlite.exec(`INSERT INTO fts (fts) VALUES ('optimize')`); // one segment, as a finished index would be
    sqlite.close();
    Object.assign(out, { seconds: (performance.now() - t) / 1000, bytes: statSync(db).size });
  } else if (mode === 'fts5-query') {
    const [db, queriesFile, limit] = rest as [string, string, string];
    const Database = (await import('better-sqlite3')).default;
    const queries = (JSON.parse(readFileSync(queriesFile, 'utf8')) as string[]).slice(0, Number(limit));
    let t = performance.now();
    const sqlite = new Database(db, { readonly: true });
    const select = sqlite.prepare('SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT 10');
    const match = (q: string) => tokenize(q, LUCENE_STOPWORDS).map((w) => `"${w}"`).join(' OR ');
    out.openSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    select.all(match(queries[0]!));
    out.firstQueryMs = performance.now() - t;
    for (const q of queries.slice(0, 10)) select.all(match(q));
    t = performance.now();
    const cpu = process.cpuUsage();
    for (const q of queries) select.all(match(q));
    out.qps = queries.length / ((performance.now() - t) / 1000);
    const used = process.cpuUsage(cpu);
    out.cpuQps = queries.length / ((used.user + used.system) / 1e6);
    out.queries = queries.length;
    sqlite.close();
  } else throw new Error(`unknown child mode ${mode}`);
  out.peakMiB = peakMiB();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function child(args: string[], log: (m: string) => void): { code: number; result: Record<string, number> | null; error?: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  const code = run.status ?? 128;
  if (code !== 0) {
    const error = run.stderr.trim().split('\n').slice(-3).join(' | ');
    log(`  child ${args[0]} exited ${code}: ${error}`);
    return { code, result: null, error };
  }
  return { code, result: JSON.parse(line) as Record<string, number> };
}

function engineRow(build: ReturnType<typeof child>, query: ReturnType<typeof child> | null): EngineRow {
  const b = build.result;
  const q = query?.result;
  return {
    exitCode: build.code !== 0 ? build.code : (query?.code ?? 0),
    buildSeconds: b?.seconds ?? NaN,
    buildPeakMiB: b?.peakMiB ?? NaN,
    bytes: b?.bytes ?? NaN,
    openSeconds: q?.openSeconds ?? NaN,
    firstQueryMs: q?.firstQueryMs ?? NaN,
    qps: q?.qps ?? NaN,
    cpuQps: q?.cpuQps ?? NaN,
    queries: q?.queries ?? 0,
    queryPeakMiB: q?.peakMiB ?? NaN,
    ...(b?.vocabulary !== undefined ? { vocabulary: b.vocabulary, runs: b.runs } : {}),
    ...(build.error || query?.error ? { error: build.error ?? query?.error } : {}),
  };
}

/** One scale row: generate, build and query with ragtax (and FTS5 when asked), then clean up. */
export async function bm25Scale(n: number, opts: { seed: number; queries: number; fts5: boolean; log: (m: string) => void }): Promise<ScaleRow> {
  const { log } = opts;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ragtax-bm25-scale-'));
  const loadAtStart = load();
  try {
    const corpus = path.join(dir, 'corpus.jsonl');
    const queries = path.join(dir, 'queries.json');
    log(`bm25 scale ${n}: generating (load ${loadAtStart.join(' / ')})`);
    let t = performance.now();
    const { tokens } = generate(n, corpus, queries, opts.queries, opts.seed + n);
    const generateSeconds = (performance.now() - t) / 1000;
    const corpusBytes = statSync(corpus).size;
    log(`  ${(corpusBytes / 2 ** 20).toFixed(0)} MiB in ${generateSeconds.toFixed(1)} s; building (load ${load().join(' / ')})`);
    const index = path.join(dir, 'index.idx');
    const build = child(['build', corpus, index], log);
    const query = build.code === 0 ? child(['query', index, queries, String(n)], log) : null;
    const ragtax = engineRow(build, query);
    log(`  ragtax: build ${ragtax.buildSeconds.toFixed(1)} s, peak ${ragtax.buildPeakMiB.toFixed(0)} MiB, ${(ragtax.bytes / 2 ** 20).toFixed(0)} MiB; open ${ragtax.openSeconds.toFixed(2)} s; ${ragtax.qps.toFixed(0)} q/s (load ${load().join(' / ')})`);
    rmSync(index, { force: true });
    let fts5: EngineRow | undefined;
    if (opts.fts5) {
      t = performance.now();
      const db = path.join(dir, 'fts5.sqlite');
      const fb = child(['fts5-build', corpus, db], log);
      const fq = fb.code === 0 ? child(['fts5-query', db, queries, String(Math.min(opts.queries, 100))], log) : null;
      fts5 = engineRow(fb, fq);
      log(`  fts5: build ${fts5.buildSeconds.toFixed(1)} s, peak ${fts5.buildPeakMiB.toFixed(0)} MiB, ${(fts5.bytes / 2 ** 20).toFixed(0)} MiB; ${fts5.qps.toFixed(0)} q/s (load ${load().join(' / ')})`);
    }
    return { n, tokens, generateSeconds, corpusBytes, loadAtStart, loadAtEnd: load(), ragtax, ...(fts5 ? { fts5 } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function scaleMarkdown(rows: ScaleRow[], f: (x: number, d?: number) => string): string {
  const mib = (x: number) => `${f(x / 2 ** 20, 0)} MiB`;
  const line = (r: ScaleRow, name: string, e: EngineRow) =>
    `| ${f(r.n, 0)} | ${name}${e.note ? ` (${e.note})` : ''} | ${e.exitCode === 0 ? 'ok' : `exit ${e.exitCode}: ${e.error ?? ''}`} | ${f(e.buildSeconds)} s | ${f(e.buildPeakMiB, 0)} MiB | ${mib(e.bytes)} | ${f(e.openSeconds, 2)} s | ${f(e.firstQueryMs, 1)} ms | ${f(e.qps, 0)} (${f(e.cpuQps, 0)}) | ${f(e.queryPeakMiB, 0)} MiB | ${e.note ? '(see note)' : `${r.loadAtStart.join(' / ')} → ${r.loadAtEnd.join(' / ')}`} |`;
  return `Synthetic passages: ${f(VOCABULARY, 0)}-word Zipfian vocabulary (s = ${ZIPF_S}), 80–120 words of text and a 2–4 word title each, written as JSON Lines to a temporary folder and streamed into the index builder in a child process; queries (${rows[0]?.ragtax.queries ?? 0} of 2–5 words of a random passage, top ${K}; FTS5: the first ${rows.find((r) => r.fts5)?.fts5?.queries ?? 0}) in another child process; queries/s are wall-clock, and in brackets per second of the query process's own CPU time (what an uncontended core would give). Peak memory is the child's maximum resident set. FTS5: \`fts5(title, text, tokenize = 'unicode61')\`, inserted in transactions of 20,000, then \`optimize\`; queries are the same terms joined by OR, \`ORDER BY bm25(fts) LIMIT 10\` (FTS5's own BM25, not Lucene's).

| passages | engine | result | build | build peak memory | index size | open | first query | queries/s (per CPU second) | query peak memory | load average (start → end) |
|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|
${rows.flatMap((r) => [line(r, 'ragtax postings file', r.ragtax), ...(r.fts5 ? [line(r, 'SQLite FTS5', r.fts5)] : [])]).join('\n')}

Corpus generation (not in the build time): ${rows.map((r) => `${f(r.n, 0)}: ${f(r.tokens / r.n, 0)} tokens per passage, ${mib(r.corpusBytes)}, ${f(r.generateSeconds)} s`).join('; ')}.`;
}
