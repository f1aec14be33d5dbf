// The `ragtax` command line. Errors a user can act on print one message and exit 2 (bad input) or
// 3 (runtime failure); a stack trace only with --debug.
import { closest } from 'fastest-levenshtein';
import { createRequire } from 'node:module';
import type yargsModule from 'yargs';
import { LIST_TABLES, runListCommand } from './commands/list.js';
import { InputError, messageOf, PartialGenerationError, RagtaxError } from './errors.js';
import { useAtomicMarking } from './runtime/gc.js';
import { interrupted } from './run/interrupt.js';

// yargs' CommonJS build: its help wraps at word boundaries (the ESM build cuts words in two).
const yargs = createRequire(import.meta.url)('yargs') as typeof yargsModule;

async function main(argv: string[]): Promise<void> {
  useAtomicMarking();
  const cli = yargs(argv);
  await cli
    .scriptName('ragtax')
    .usage('$0 <command> [options]')
    // Help wrapped to the terminal, at most 100 columns (100 when not a terminal).
    .wrap(Math.min(cli.terminalWidth() ?? 100, 100))
    .option('debug', { type: 'boolean', default: false, describe: 'Print stack traces on errors' })
    .command(
      'run <suite>',
      'Run a suite: every model × format × grid cell, then scores, aggregates, alignment tax and reports',
      (y) =>
        y
          .positional('suite', { type: 'string', demandOption: true, describe: 'Suite YAML file' })
          .option('out', { type: 'string', describe: 'Output directory (default: reports/<suite>-<time>); must be new or empty' })
          .option('limit', { type: 'number', describe: 'Evaluate only the first N items' })
          .option('quiet', { type: 'boolean', default: false, describe: 'No progress output' })
          .option('resume', { type: 'boolean', default: false, describe: 'Complete an interrupted run in --out: keep its finished samples, generate the rest' })
          .option('cache', { type: 'boolean', default: true, describe: 'Use the generation cache (<cache dir>/generations.sqlite); --no-cache bypasses it' })
          .option('check-determinism', { type: 'number', describe: 'At the end, re-generate N seeded-random finished samples per model without the cache and report how many changed (summary.json `determinism`)' })
          .option('set', { type: 'string', array: true, requiresArg: true, describe: 'Override a suite field before validation, KEY.PATH=VALUE (YAML value; list elements as grid[0].k), e.g. --set decoding.max_new_tokens=50 --set grid[0].k=[1,3]; repeatable' })
          .option('seed', { type: 'number', requiresArg: true, describe: 'The suite\'s seed (same as --set seed=N)' })
          .option('models', { type: 'string', requiresArg: true, describe: 'Run only these models, comma-separated (pairs with a dropped model are dropped)' })
          .option('cells', { type: 'string', requiresArg: true, describe: 'Keep only the grid points whose label contains this text, e.g. "k=3" (labels: "nores retrieved k=3 shots=0 cot=false")' })
          .check((a) => {
            // InputError: a usage error (exit 2); a plain Error would be reported as an internal error (exit 3).
            if (a.limit !== undefined && (!Number.isInteger(a.limit) || a.limit < 1)) throw new InputError('--limit must be a whole number ≥ 1');
            if (a.resume && a.out === undefined) throw new InputError('--resume needs --out: the directory of the run to complete');
            const n = a['check-determinism'];
            // The key is there, undefined, for a bare `--check-determinism` (no N).
            if ('check-determinism' in a && (n === undefined || !Number.isInteger(n) || n < 0)) throw new InputError('--check-determinism must be a whole number ≥ 0');
            if (a.seed !== undefined && (!Number.isInteger(a.seed) || a.seed < 0)) throw new InputError('--seed must be a whole number ≥ 0');
            if (a.models !== undefined && a.models.split(',').every((m) => m.trim() === '')) throw new InputError('--models needs model names, e.g. --models base,instruct');
            return true;
          }),
      async (args) => {
        // --seed N is --set seed=N, after the other settings.
        const set = [...(args.set ?? []).map(String), ...(args.seed !== undefined ? [`seed=${args.seed}`] : [])];
        const models = args.models?.split(',').map((m) => m.trim()).filter((m) => m !== '');
        const { runRunCommand } = await import('./commands/run.js');
        await runRunCommand(
          { suite: args.suite, out: args.out, limit: args.limit, quiet: args.quiet, resume: args.resume, cache: args.cache, checkDeterminism: args.checkDeterminism, set, models, cells: args.cells },
          process.stdout,
        );
      },
    )
    .command(
      'score <predictions>',
      'Score responses made elsewhere: JSONL lines {id, response, answers, context?}',
      (y) =>
        y
          .positional('predictions', { type: 'string', demandOption: true, describe: 'Predictions JSONL file' })
          .option('samples', { type: 'string', describe: 'Write per-item scores to this JSONL file (not the predictions file)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the aggregates as JSON' })
          .option('rule', { type: 'string', choices: ['first-line', 'whole'] as const, describe: 'Scored part of a response (default: first-line, the paper\'s rule)' })
          .option('refusal-markers', { type: 'string', describe: 'Comma-separated refusal markers (default: NO-RES), e.g. "NO-RES,insufficient information"' })
          .option('cot', { type: 'boolean', default: false, describe: 'Score the last `Answer:` line of each response (chain of thought)' }),
      async (args) => {
        const { runScoreCommand, parseRefusalMarkers } = await import('./commands/score.js');
        const refusalMarkers = args.refusalMarkers === undefined ? undefined : parseRefusalMarkers(args.refusalMarkers);
        await runScoreCommand({ file: args.predictions, samplesOut: args.samples, json: args.json, rule: args.rule, refusalMarkers, cot: args.cot }, process.stdout);
      },
    )
    .command(
      'compare <baseline> <candidate>',
      'Regression gate: compare two runs of one suite, paired by (item, cell); exit 1 on a significant drop',
      (y) =>
        y
          .positional('baseline', { type: 'string', demandOption: true, describe: 'Baseline run directory' })
          .positional('candidate', { type: 'string', demandOption: true, describe: 'Candidate run directory' })
          .option('max-drop', { type: 'number', default: 2, describe: 'Largest tolerated accuracy drop, percentage points' })
          .option('alpha', { type: 'number', default: 0.05, describe: 'Significance level of the exact McNemar test' })
          .option('gate-refusal', { type: 'boolean', default: false, describe: 'Also fail on a significant rise in over-refusal (refusing when the documents hold the answer)' })
          .option('allow-config-change', { type: 'boolean', default: false, describe: 'Compare runs whose suite configuration differs (same suite name)' })
          .option('seed', { type: 'number', describe: 'Bootstrap seed (default: the baseline run\'s seed)' })
          .option('bootstrap', { type: 'number', default: 2000, describe: 'Bootstrap resamples, a whole number from 100 to 100000' })
          .option('adjust', {
            type: 'string',
            default: 'holm',
            describe: 'Multiple-comparison adjustment of the McNemar p-values across all gated cell × metric comparisons: holm, bh or none',
          })
          .option('junit', { type: 'string', describe: 'Write JUnit XML here (one test case per cell × metric)' })
          .option('md', { type: 'string', describe: 'Write a Markdown summary here (CI logs, pull-request comments)' }),
      async (args) => {
        const { runCompareCommand } = await import('./commands/compare.js');
        const { exitCode } = await runCompareCommand(
          {
            baseline: args.baseline,
            candidate: args.candidate,
            maxDrop: args.maxDrop,
            alpha: args.alpha,
            gateRefusal: args.gateRefusal,
            allowConfigChange: args.allowConfigChange,
            seed: args.seed,
            bootstrapSamples: args.bootstrap,
            adjust: args.adjust,
            junit: args.junit,
            md: args.md,
          },
          process.stdout,
        );
        process.exitCode = exitCode;
      },
    )
    .command(
      'report <run>',
      'Write report.html for a finished run (self-contained: charts, tax intervals, 2×2 tables, sample browser)',
      (y) =>
        y
          .positional('run', { type: 'string', demandOption: true, describe: 'Run directory' })
          .option('html', { type: 'boolean', default: true, describe: 'Write the HTML report (the only format for now)' })
          .option('out', { type: 'string', describe: 'HTML file to write (default: <run>/report.html)' }),
      async (args) => {
        const { runReportCommand } = await import('./commands/report.js');
        await runReportCommand({ dir: args.run, html: args.html, out: args.out }, process.stdout);
      },
    )
    .command(
      'power <run>',
      'How many items a follow-up run needs to detect a given tax, per paired comparison, from a finished run (and the smallest tax it could detect)',
      (y) =>
        y
          .positional('run', { type: 'string', demandOption: true, describe: 'Run directory' })
          .option('effect', { type: 'number', demandOption: true, describe: 'The tax to detect, percentage points (e.g. 2)' })
          .option('power', { type: 'number', default: 0.8, describe: 'Wanted power' })
          .option('alpha', { type: 'number', describe: 'Significance level (default: the run\'s, else 0.05)' })
          .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
      async (args) => {
        const { runPowerCommand } = await import('./commands/power.js');
        await runPowerCommand({ dir: args.run, effect: args.effect, power: args.power, alpha: args.alpha, json: args.json }, process.stdout);
      },
    )
    .command(
      'index <suite>',
      'Build (or --verify) the retrieval indexes a suite needs (BM25, dense), reporting what was built or reused, sizes and times',
      (y) =>
        y
          .positional('suite', { type: 'string', demandOption: true, describe: 'Suite YAML file' })
          .option('verify', { type: 'boolean', default: false, describe: 'Build nothing: exit 2 when an index is missing or does not match the corpus and model' })
          .option('metrics', { type: 'boolean', default: true, describe: 'Print answer recall@k, and recall@k, all-gold@k, nDCG@10 and MRR@10 when the items have gold documents or qrels (--no-metrics skips it)' })
          .option('quiet', { type: 'boolean', default: false, describe: 'No progress lines' }),
      async (args) => {
        const { runIndexCommand } = await import('./commands/build-index.js');
        await runIndexCommand({ suite: args.suite, verify: args.verify, metrics: args.metrics, quiet: args.quiet }, process.stdout);
      },
    )
    .command(
      'prompts <suite>',
      'Dry run: show the exact prompts, token counts and context overflows a run would make, per model and cell (no weights loaded, no run written)',
      (y) =>
        y
          .positional('suite', { type: 'string', demandOption: true, describe: 'Suite YAML file' })
          .option('model', { type: 'string', describe: 'Only this model (its name in the suite)' })
          .option('cell', { type: 'string', describe: 'Only cells whose label contains this text, e.g. "chat nores retrieved k=3"' })
          .option('limit', { type: 'number', default: 1, describe: 'Prompts shown per cell' })
          .option('json', { type: 'boolean', default: false, describe: 'Print one JSON document' })
          .check((a) => {
            if (!Number.isInteger(a.limit) || a.limit < 0) throw new InputError('--limit must be a whole number ≥ 0');
            return true;
          }),
      async (args) => {
        const { runPromptsCommand } = await import('./commands/prompts.js');
        await runPromptsCommand({ suite: args.suite, model: args.model, cell: args.cell, limit: args.limit, json: args.json }, process.stdout);
      },
    )
    .command(
      'serve <model>',
      'Serve a model folder (or cached Hugging Face id) through the in-process backend as an OpenAI-compatible HTTP server',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'Model folder (transformers.js layout) or Hugging Face id' })
          .option('port', { type: 'number', default: 8000, describe: 'Port (0: any free port)' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0: every interface)' })
          .option('batch-size', { type: 'number', default: 16, describe: 'Most requests generated in one batch' })
          .option('device', { type: 'string', default: 'cpu', choices: ['cpu', 'cuda', 'webgpu'], describe: 'onnxruntime device (no silent fallback)' })
          .option('dtype', { type: 'string', describe: 'Weights file to load: fp32 (default), fp16, q8, q4, ...' })
          .option('model-id', { type: 'string', describe: 'Id clients send as `model` (default: the folder name)' })
          .option('api-key-env', { type: 'string', describe: 'Require `Authorization: Bearer <key>`, the key read from this environment variable' })
          .option('allow-remote', { type: 'boolean', default: false, describe: 'Allow downloading a Hugging Face id' })
          .check((a) => {
            const batchSize = a['batch-size'];
            if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1) throw new InputError('--batch-size must be a whole number ≥ 1');
            return true;
          }),
      async (args) => {
        const { runServeCommand } = await import('./commands/serve.js');
        await runServeCommand(
          {
            model: args.model,
            port: args.port,
            host: args.host,
            batchSize: args.batchSize,
            device: args.device,
            dtype: args.dtype,
            modelId: args.modelId,
            apiKeyEnv: args.apiKeyEnv,
            allowRemote: args.allowRemote,
          },
          process.stderr,
        );
      },
    )
    .command(
      'view [runs..]',
      'Write an HTML page to open in a browser: an index of the finished runs under a folder (default reports/), or with two run folders a side-by-side comparison',
      (y) =>
        y
          .positional('runs', { type: 'string', array: true, default: [] as string[], describe: 'A folder to index (default: reports), or two run directories: baseline candidate' })
          .option('out', { type: 'string', describe: 'HTML file to write (default: <folder>/index.html, or compare.html in the working directory)' }),
      async (args) => {
        const { runViewCommand } = await import('./commands/view.js');
        await runViewCommand({ dirs: args.runs ?? [], out: args.out }, process.stdout);
      },
    )
    .command(
      'list <table>',
      `List what a suite can name, with a line on each: ${LIST_TABLES.join(', ')}`,
      (y) => y.positional('table', { type: 'string', demandOption: true, choices: LIST_TABLES, describe: 'Which table' }),
      (args) => {
        runListCommand({ table: args.table }, process.stdout);
      },
    )
    .command(
      'schema',
      'Print the JSON Schema of a suite file (editors: `# yaml-language-server: $schema=suite.schema.json`)',
      (y) => y,
      async () => {
        const { runSchemaCommand } = await import('./commands/schema.js');
        runSchemaCommand(process.stdout);
      },
    )
    .demandCommand(1, 'Name a command: run, prompts, score, compare, report, power, index, serve, view, list or schema (see --help)')
    .strict()
    .recommendCommands()
    .fail((message, error, y) => {
      // yargs' own parse errors (e.g. an option given without its value) are usage errors too.
      if (error && error.name !== 'YError') throw error;
      // Usage errors from yargs: say what is wrong, show help, exit 2.
      process.stderr.write(`${y.help()}\n\n${withOptionHint(message ?? error?.message ?? '', (cli as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions(), argv)}\n`);
      process.exit(2);
    })
    .help()
    .version()
    .parseAsync();
}

/** yargs' "Unknown argument(s): x" with the closest known option suggested for each mistyped `--x`. */
function withOptionHint(message: string, options: { key: Record<string, unknown> }, given: string[]): string {
  const match = /^Unknown arguments?: (.*)$/.exec(message);
  if (!match) return message;
  const known = Object.keys(options.key).filter((k) => k !== '$0' && !/[A-Z]/.test(k));
  const typed = (name: string) => given.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}` || a === `-${name}`);
  const hints = match[1]!
    .split(', ')
    .filter((name) => typed(name) && known.length > 0)
    .map((name) => `--${name}: did you mean --${closest(name, known)}?`);
  return hints.length > 0 ? `${message}\n${hints.join('\n')}` : message;
}

// The arguments after `node bin/ragtax.js` (what yargs' hideBin gives for Node; importing it
// bundled yargs' whole ES-module build beside the CommonJS one the parser uses).
const argv = process.argv.slice(2);
const debug = argv.includes('--debug');
main(argv).catch((thrown: unknown) => {
  // A signal is being handled (run/interrupt.ts): it prints its own line and exits.
  if (interrupted()) return;
  // A generator that failed part-way reports its cause (what it finished is already cached).
  const error = thrown instanceof PartialGenerationError ? thrown.cause : thrown;
  if (error instanceof RagtaxError) {
    process.stderr.write(`ragtax: ${error.message}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`ragtax: internal error: ${messageOf(error)}\n${debug && error instanceof Error ? `${error.stack}\n` : '(run with --debug for the stack trace)\n'}`);
  process.exit(3);
});
