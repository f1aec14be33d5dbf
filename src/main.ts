// The CLI's entry (bin/ragtax.js runs its bundle): starts what is cheapest to start while the
// process is still small, then loads the command line (src/cli.ts) and everything it imports.
import { startGitState } from './rundir/git-state.js';

// A run records ragtax's git state in its manifest; git is best forked now (see startGitState).
// The command is the first argument that is not an option (`ragtax --debug run …` included).
if (process.argv.slice(2).find((arg) => !arg.startsWith('-')) === 'run') startGitState();

await import('./cli.js');
