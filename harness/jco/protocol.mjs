// The adapter protocol as jco's runners speak it (README, "Hosts" and
// "Serving mode"): shared by runner.mjs and browser-runner.mjs.
import { renameSync, writeFileSync } from 'node:fs';
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
      // HOST::GUEST, a preopen each: repeated on the command line, a list
      // in a serving request. (No jco build takes --read-only-dir.)
      dir: { type: 'string', multiple: true },
      // The harness owns the deadline: it kills this process group.
      'deadline-ms': { type: 'string' },
      // The run's own loopback address, in a case with [run.sockets].
      loopback: { type: 'string' },
      // The guest's arguments after the scenario, its environment
      // (NAME=VALUE, in order) and what initial-cwd returns: repeated on
      // the command line, lists in a serving request.
      argument: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      'initial-cwd': { type: 'string' },
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

/// The request's preopens, as [host, guest] pairs.
export const preopens = (request) => (request.dir ?? []).map((dir) => dir.split('::'));

/// The guest's arguments: a program name, the scenario, the case's own.
export const argumentsOf = (request) => ['guest', request.scenario, ...(request.argument ?? [])];

/// The guest's environment, as the shim takes it (an object, in which a
/// name is once): the case's variables, and the run's own loopback
/// address where the case gives it sockets (README, "The adapter
/// protocol").
export const environment = (request) => ({
  ...Object.fromEntries((request.env ?? []).map((assignment) => {
    const at = assignment.indexOf('=');
    return [assignment.slice(0, at), assignment.slice(at + 1)];
  })),
  ...(request.loopback ? { WITNESS_LOOPBACK: request.loopback } : {}),
});

/// Everything written to `stream` so far has reached its file descriptor.
export const drained = (stream) => new Promise((done) => stream.write('', done));

/// Writes `token` to stdout and stderr, and waits until it is out: a run's
/// frame (README, "Serving mode").
export async function frame(token) {
  process.stdout.write(token);
  process.stderr.write(token);
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
}

/// Writes a run's reply, whole: to another file first, then renamed, as
/// the harness may read it the moment it kills a process that replied but
/// has yet to exit. In serving mode with the run's token, and `last` once
/// this process serves no further run.
export function writeReply(path, outcome, token, last) {
  const served = last ? { run: token, last: true } : { run: token };
  writeFileSync(`${path}.part`, JSON.stringify(token ? { ...outcome, ...served } : outcome));
  renameSync(`${path}.part`, path);
}
