// The adapter protocol as jco's runners speak it (README, "Hosts" and
// "Serving mode"): shared by runner.mjs and browser-runner.mjs.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

/// The command line: one run, `--prepare` (transpile, before any run is
/// timed) or `--serve` (runs in turn, one request per line on stdin). A
/// missing option ends the process with status 2.
export function runnerOptions(runner) {
  const { values: options } = parseArgs({
    options: {
      component: { type: 'string' },
      scenario: { type: 'string' },
      reply: { type: 'string' },
      dir: { type: 'string' },
      // The harness owns the deadline: it kills this process group.
      'deadline-ms': { type: 'string' },
      prepare: { type: 'boolean' },
      serve: { type: 'boolean' },
    },
  });
  const needed = options.serve ? [] : options.prepare ? ['component'] : ['component', 'scenario', 'reply', 'deadline-ms'];
  for (const required of needed) {
    if (!options[required]) {
      console.error(`${basename(runner)}: --${required} is required`);
      process.exit(2);
    }
  }
  return options;
}

/// Everything written to `stream` so far has reached its file descriptor.
export const drained = (stream) => new Promise((done) => stream.write('', done));

/// Writes `token` to stdout and stderr, and waits until it is out: a run's
/// frame (README, "Serving mode").
export async function frame(token) {
  process.stdout.write(token);
  process.stderr.write(token);
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
}
