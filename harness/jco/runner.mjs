// witness's jco host: runs scenarios of guest components on Node (or Deno,
// or Bun, which run this same file through their Node compatibility) with
// jco's transpiled JavaScript and @bytecodealliance/preview2-shim (the
// adapter protocol, README "Hosts"):
//
//   node runner.mjs --component GUEST.wasm --scenario=NAME --reply FILE --deadline-ms N [--dir HOST::GUEST]
//   node runner.mjs --prepare --component GUEST.wasm     (transpile, before any run is timed)
//   node runner.mjs --serve                               (many runs in turn, one request per line)
//
// One run: the guest's stdin is this process's stdin; its stdout and stderr
// are this process's. Serving: each line on stdin is a run's request
// (README, "Serving mode"); the run's stdin is the file it names, put in
// place as fd 0, and its output is framed on stdout and stderr by the run's
// token, written before and after it. Each run is a fresh instance of the
// component, with fresh arguments, environment, preopens and stdio streams.
// The harness owns the deadline: it kills this process group.
//
// Classification: classify.mjs.
import {
  closeSync, createReadStream, openSync, readFileSync, writeSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Exit, NODE_BUILD_TRAPS, classify } from './classify.mjs';
import {
  argumentsOf, drained, environment, frame, preopens, runnerOptions, writeReply,
} from './protocol.mjs';
import { transpiled } from './transpile.mjs';
import { wasiImports } from './wasi-imports.mjs';

const options = runnerOptions(import.meta.url);

const realExit = process.exit.bind(process);

// Bun writes process.stdout and process.stderr asynchronously, and calls a
// write's callback without waiting for what is queued before it: an end
// token written through the shim's worker could overtake the guest's
// output, and an exit could lose it. There the runner makes them write
// synchronously, as Node does to a pipe.
if (process.versions.bun) {
  for (const [stream, fd] of [[process.stdout, 1], [process.stderr, 2]]) {
    stream.write = (chunk, encoding, callback) => {
      const done = typeof encoding === 'function' ? encoding : callback;
      let bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
      while (bytes.length > 0) {
        try {
          bytes = bytes.subarray(writeSync(fd, bytes));
        } catch (error) {
          // A pipe the harness has not drained yet.
          if (error.code !== 'EAGAIN') throw error;
        }
      }
      done?.();
      return true;
    };
  }
}

if (options.prepare) {
  await transpiled(resolve(options.component), 'instantiable');
  process.exit(0);
}

const classified = (error) => classify(error, NODE_BUILD_TRAPS);

const shim = {
  cli: await import('@bytecodealliance/preview2-shim/cli'),
  clocks: await import('@bytecodealliance/preview2-shim/clocks'),
  filesystem: await import('@bytecodealliance/preview2-shim/filesystem'),
  http: await import('@bytecodealliance/preview2-shim/http'),
  io: await import('@bytecodealliance/preview2-shim/io'),
  random: await import('@bytecodealliance/preview2-shim/random'),
  sockets: await import('@bytecodealliance/preview2-shim/sockets'),
};
// The shim's own stream constructors, from the module its cli uses (the
// same file, so the same module instance): fresh stdio streams per run.
const streamsModule = await import(new URL('../io/worker-io.js', import.meta.resolve('@bytecodealliance/preview2-shim/cli')).href);
const callsModule = await import(new URL('../io/calls.js', import.meta.resolve('@bytecodealliance/preview2-shim/cli')).href);

/// The methods of a stdio stream that leave nothing behind in the shim's
/// worker: it runs `write` and `blocking-write-and-flush` on this thread,
/// `blocking-flush` is a no-op there, and `check-write` and `subscribe`
/// change the worker's one stdout or stderr only once it holds unwritten
/// bytes, which only the others put there. The others (`flush`, the
/// zeroes and splices) leave state the worker keeps for the process's
/// life: a flush promise, once set, is never cleared, and the next
/// blocking write of zeroes to that stream never returns.
const LEAVE_NOTHING = new Set(['write', 'blockingWriteAndFlush', 'blockingFlush', 'checkWrite', 'subscribe', Symbol.dispose, Symbol.for('dispose')]);
/// Whether this run left state in the shim's worker that a later run
/// would meet: then this process serves no further run (serving: the
/// harness starts another).
let spent = false;

/// Node's largest timeout, in nanoseconds: the shim's worker re-arms a
/// timer past it every millisecond until its instant, in a process that
/// lives on.
const LARGEST_TIMEOUT_NS = 2_147_483_647n * 1_000_000n;

/// `pollable`, a timer `nanoseconds` from now.
function timer(pollable, nanoseconds) {
  if (BigInt(nanoseconds) > LARGEST_TIMEOUT_NS) spent = true;
  return pollable;
}

/// `stream`, noting a call of any method that reaches the shim's worker.
function watched(stream) {
  return new Proxy(stream, {
    get(target, name) {
      const value = target[name];
      if (typeof value !== 'function') return value;
      return (...args) => {
        if (!LEAVE_NOTHING.has(name)) spent = true;
        return value.apply(target, args);
      };
    },
  });
}

/// The interface `face` (functions and resource classes), whose every
/// function spends this process when called.
function spending(face) {
  return Object.fromEntries(Object.entries(face).map(([name, value]) => [
    name,
    typeof value === 'function' && !/^[A-Z]/.test(name)
      ? (...args) => {
        spent = true;
        return value(...args);
      }
      : value,
  ]));
}

/// What the shim's initial-cwd says unasked (this process's directory),
/// for a run whose case sets none after one that did.
const unaskedCwd = shim.cli.environment.initialCwd();

/// The compiled core modules of each component, per transpiled file.
const compiled = new Map();

/// A fresh instance of the component, with the shim set up for the run:
/// a failure here is a `link-error` (the component cannot be instantiated
/// on this host).
async function instantiate(request) {
  const module = await transpiled(resolve(request.component), 'instantiable');
  const { cli, filesystem } = shim;
  cli._setArgs(argumentsOf(request));
  cli._setEnv(environment(request));
  cli._setCwd(request['initial-cwd'] ?? unaskedCwd);
  filesystem._setPreopens(Object.fromEntries(preopens(request).map(([host, guest]) => [guest, host])));
  // Fresh stdio: the shim makes stdin from fd 0 when first asked for it.
  const { outputStreamCreate } = streamsModule;
  const { STDOUT, STDERR } = callsModule;
  cli._setStdin(undefined);
  cli._setStdout(watched(outputStreamCreate(STDOUT, 1)));
  cli._setStderr(watched(outputStreamCreate(STDERR, 2)));
  const imports = wasiImports(shim);
  // A timer the shim's worker re-arms every millisecond spends this process.
  const clock = shim.clocks.monotonicClock;
  imports['wasi:clocks/monotonic-clock'] = {
    ...clock,
    subscribeInstant: (instant) => timer(clock.subscribeInstant(instant), BigInt(instant) - clock.now()),
    subscribeDuration: (duration) => timer(clock.subscribeDuration(duration), duration),
  };
  // The shim's worker reads fd 0 ahead of the guest, in the background:
  // a read begun in this run may take bytes of the next run's stdin, put
  // at fd 0 before it. A run that took its stdin spends this process.
  imports['wasi:cli/stdin'] = {
    getStdin() {
      spent = true;
      return cli.stdin.getStdin();
    },
  };
  // The shim's sockets live in its worker for the process's life, bound
  // and listening whatever instance made them: a run that makes one
  // spends this process.
  for (const [name, face] of Object.entries(imports)) {
    if (name.startsWith('wasi:sockets/')) imports[name] = spending(face);
  }
  const { instantiate } = await import(pathToFileURL(module).href);
  const getCoreModule = (name) => {
    const path = join(dirname(module), name);
    if (!compiled.has(path)) compiled.set(path, WebAssembly.compile(readFileSync(path)));
    return compiled.get(path);
  };
  return instantiate(getCoreModule, imports);
}

/// Runs the request's scenario on a fresh instance: how it ended.
async function run(request) {
  let guest;
  try {
    guest = await instantiate(request);
  } catch (error) {
    return { outcome: 'link-error', message: `${error && error.message ? error.message : error}` };
  }
  // The shim's wasi:cli/exit calls process.exit: turn it into a value, so
  // that the reply is written and the guest's output drains first.
  process.exit = (code) => {
    throw new Exit(code ?? 0);
  };
  const started = performance.now();
  let ended;
  try {
    guest.run.run();
    ended = { outcome: 'completed', exit: 0 };
  } catch (error) {
    ended = classified(error);
  } finally {
    process.exit = realExit;
  }
  // Whatever it ended as, a run that took longer than its deadline did
  // not finish before it: a hang, as on every host.
  return performance.now() - started > request.deadlineMs ? { outcome: 'hang' } : ended;
}

// The shim traps on some stream errors by printing the error with
// console.trace and calling the `exit` it imported from node:process, which
// no override reaches: keep the error, and reply from the 'exit' event.
let traced = null;
const trace = console.trace.bind(console);
console.trace = (...args) => {
  traced = args[0];
  trace(...args);
};
/// Whether the last reply said `last`: spent after its reply (an error
/// outside the run, a worker that refused the end token), a process has
/// told the harness it serves on.
let repliedLast = false;
/// The run under way: where its reply goes, and its token (serving).
let current = null;
function reply(outcome) {
  const { reply: path, token } = current;
  current = null;
  // A serving process that takes no further run says so: `last`.
  repliedLast = spent;
  writeReply(path, outcome, token, spent);
}
process.on('exit', (code) => {
  if (current) reply(traced ? classified(traced) : { outcome: 'completed', exit: code });
});

/// Runs one request and replies.
async function serveOne(request) {
  current = { reply: request.reply, token: request.token };
  traced = null;
  const outcome = await run(request).catch((error) => ({
    outcome: 'host-panic',
    message: `the runner failed: ${error && error.stack ? error.stack : error}`,
  }));
  reply(outcome);
  // Let the guest's output drain.
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
}

if (!options.serve) {
  await serveOne({
    component: options.component,
    scenario: options.scenario,
    reply: options.reply,
    dir: options.dir,
    loopback: options.loopback,
    argument: options.argument,
    env: options.env,
    'initial-cwd': options['initial-cwd'],
    deadlineMs: Number(options['deadline-ms']),
  });
  // End even if the shim's worker lives on.
  realExit(0);
}

// Serving. The requests come on stdin, read through a descriptor of their
// own, so that fd 0 can be each run's stdin file in turn.
const requests = openSync('/proc/self/fd/0', 'r');

/// Puts `path` in place as fd 0: the lowest free descriptor is the one
/// `open` returns. Deno's `node:fs` numbers are its own resources, fd 0 its
/// stdin, which it cannot close: there libc's dup2 puts the file under it.
const useAsStdin = globalThis.Deno ? dupAsStdin() : (path) => {
  closeSync(0);
  const fd = openSync(path, 'r');
  if (fd !== 0) throw new Error(`the run's stdin opened as fd ${fd}, not 0`);
};

function dupAsStdin() {
  const libc = globalThis.Deno.dlopen('libc.so.6', {
    open: { parameters: ['buffer', 'i32'], result: 'i32' },
    dup2: { parameters: ['i32', 'i32'], result: 'i32' },
    close: { parameters: ['i32'], result: 'i32' },
  });
  return (path) => {
    const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), 0);
    if (fd < 0) throw new Error(`cannot open the run's stdin ${path}`);
    const dup = libc.symbols.dup2(fd, 0);
    libc.symbols.close(fd);
    if (dup !== 0) throw new Error(`cannot put the run's stdin ${path} at fd 0`);
  };
}

/// Writes the run's token to stdout and stderr after all the run wrote:
/// the shim writes stdio from this thread and from its worker, so the
/// token goes through the worker once this thread's writes are out,
/// behind what the worker wrote.
async function end(token) {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  const { ioCall } = streamsModule;
  const { OUTPUT_STREAM_WRITE, STDOUT, STDERR } = callsModule;
  const bytes = new TextEncoder().encode(token);
  // A plain write: the shim's blocking write to the worker's stdio never
  // returns a second time (its flush promise is never cleared).
  try {
    ioCall(OUTPUT_STREAM_WRITE | STDOUT, 1, bytes);
    ioCall(OUTPUT_STREAM_WRITE | STDERR, 2, bytes);
  } catch {
    // The worker refuses a write while its stream holds what the run left
    // unflushed: from this thread then, and this process serves no more.
    spent = true;
    await frame(token);
  }
}

// What a run leaves behind (a finalizer of its resources, a late callback)
// may throw later: it is printed, and this process, in a state nobody
// knows, serves no further run.
function unexpected(error) {
  console.error(`runner.mjs: outside a run's call: ${error && error.stack ? error.stack : error}`);
  spent = true;
}
process.on('uncaughtException', unexpected);
process.on('unhandledRejection', unexpected);

// On Node, read as a socket is, by the event loop: a read blocked in the
// thread pool keeps Node from exiting when the shim calls exit. Bun and
// Deno have no socket on a descriptor, and exit all the same.
const requestStream = process.versions.bun || globalThis.Deno
  ? createReadStream(null, { fd: requests })
  : new Socket({ fd: requests, readable: true, writable: false });
for await (const line of createInterface({ input: requestStream })) {
  const request = JSON.parse(line);
  useAsStdin(request.stdin);
  // From this thread, where the guest's first writes will come from.
  await frame(request.token);
  await serveOne({ ...request, deadlineMs: Number(request['deadline-ms']) });
  await end(request.token);
  // A spent process takes no further run, and does not exit either: what
  // the worker has yet to write would be lost. The harness, told by the
  // reply, ends it; until then a timer keeps it alive (the shim's worker
  // does not). One spent after its reply said it serves on exits, so that
  // the harness finds it ended rather than sending it the next run.
  if (spent) {
    if (!repliedLast) realExit(0);
    setInterval(() => {}, 2 ** 30);
    break;
  }
}
if (!spent) realExit(0);
