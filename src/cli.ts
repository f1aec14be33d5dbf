// The `ragtax` command line. Errors a user can act on print one message and exit 2 (bad input) or
// 3 (runtime failure); a stack trace only with --debug.
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runScoreCommand } from './commands/score.js';
import { RagtaxError } from './errors.js';
import { printHeadline } from './report/headline.js';
import { runSuite } from './run/runner.js';
import { loadSuite } from './suite/load.js';

function defaultOutDir(suiteName: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return path.join('reports', `${suiteName}-${stamp}`);
}

async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('ragtax')
    .usage('$0 <command> [options]')
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
          .check((a) => {
            if (a.limit !== undefined && (!Number.isInteger(a.limit) || a.limit < 1)) throw new Error('--limit must be a whole number ≥ 1');
            return true;
          }),
      async (args) => {
        const suite = await loadSuite(args.suite);
        const outDir = path.resolve(args.out ?? defaultOutDir(suite.name));
        const { summary } = await runSuite({ suite, outDir, limit: args.limit, quiet: args.quiet });
        printHeadline(summary, outDir, process.stdout);
      },
    )
    .command(
      'score <predictions>',
      'Score responses made elsewhere: JSONL lines {id, response, answers, context?}',
      (y) =>
        y
          .positional('predictions', { type: 'string', demandOption: true, describe: 'Predictions JSONL file' })
          .option('samples', { type: 'string', describe: 'Write per-item scores to this JSONL file' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the aggregates as JSON' }),
      async (args) => {
        await runScoreCommand({ file: args.predictions, samplesOut: args.samples, json: args.json }, process.stdout);
      },
    )
    .demandCommand(1, 'Name a command: run or score (see --help)')
    .strict()
    .recommendCommands()
    .fail((message, error, y) => {
      if (error) throw error;
      // Usage errors from yargs: say what is wrong, show help, exit 2.
      process.stderr.write(`${y.help()}\n\n${message}\n`);
      process.exit(2);
    })
    .help()
    .version()
    .parseAsync();
}

const argv = hideBin(process.argv);
const debug = argv.includes('--debug');
main(argv).catch((error: unknown) => {
  if (error instanceof RagtaxError) {
    process.stderr.write(`ragtax: ${error.message}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(error.exitCode);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`ragtax: internal error: ${message}\n${debug && error instanceof Error ? `${error.stack}\n` : '(run with --debug for the stack trace)\n'}`);
  process.exit(3);
});
