// witness's jco host: runs one scenario of a guest component on Node (or
// Deno, or Bun, which run this same file through their Node compatibility) with
// jco's transpiled JavaScript and @bytecodealliance/preview2-shim, and
// writes how the run ended to the reply file (the adapter protocol, README
// "Hosts"):
//
//   node runner.mjs --component GUEST.wasm --scenario=NAME --reply FILE --deadline-ms N [--dir HOST::GUEST]
//   node runner.mjs --prepare --component GUEST.wasm     (transpile, before any run is timed)
//
// The guest's stdin is this process's stdin; its stdout and stderr are this
// process's. The harness owns the deadline: it kills this process group.
//
// Classification (README "Hosts", jco):
// - the run returned          → completed, exit 0; `run` returned an error
//   (ComponentError)          → completed, exit 1; wasi:cli/exit → that status;
// - WebAssembly.RuntimeError with one of V8's trap texts → trap by the guest,
//   its code named as wasmtime names traps; with another text (jco's glue
//   throws RuntimeErrors too: "unknown handle index 3") → trap by the host;
// - an Error the shim or jco's glue raises on purpose: "wasi-io trap: ...",
//   or a canonical-ABI check of the glue (invalid or wrong-typed handle,
//   list out of bounds)      → trap by the host; the shim's stream traps,
//   which print the error and exit the process, alike;
// - any other exception       → host-panic: a bug of the host itself.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    component: { type: 'string' },
    scenario: { type: 'string' },
    reply: { type: 'string' },
    dir: { type: 'string' },
    // The harness owns the deadline: it kills this process group.
    'deadline-ms': { type: 'string' },
    // Transpile the component and stop: before any run is timed.
    prepare: { type: 'boolean' },
  },
});
const needed = options.prepare ? ['component'] : ['component', 'scenario', 'reply', 'deadline-ms'];
for (const required of needed) {
  if (!options[required]) {
    console.error(`runner.mjs: --${required} is required`);
    process.exit(2);
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const realExit = process.exit.bind(process);

if (options.prepare) {
  await transpiled(resolve(options.component));
  process.exit(0);
}

/// Transpiles the component once per content hash, under transpiled/<hash>/.
async function transpiled(component) {
  const bytes = readFileSync(component);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const dir = join(here, 'transpiled', hash);
  const module = join(dir, 'guest.js');
  if (existsSync(module)) return module;
  const { transpile } = await import('@bytecodealliance/jco');
  const { files } = await transpile(bytes, { name: 'guest', wasiShim: true });
  // Written aside, then renamed: runs in parallel may transpile the same guest.
  const partial = `${dir}.partial-${process.pid}`;
  for (const [name, data] of Object.entries(files)) {
    const path = join(partial, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
  try {
    renameSync(partial, dir);
  } catch {
    rmSync(partial, { recursive: true, force: true });
  }
  return module;
}

/// wasmtime's names for the traps the engines report, so that records
/// compare: V8's texts (Node; Deno's V8 splits "null function" from
/// "function signature mismatch") and JavaScriptCore's (Bun).
const TRAP_CODES = [
  [/unreachable/i, 'unreachable-code-reached'],
  [/memory access out of bounds|out of bounds memory access/i, 'memory-out-of-bounds'],
  [/divide by zero|remainder by zero|division by zero/i, 'integer-division-by-zero'],
  [/integer overflow|divide result unrepresentable/i, 'integer-overflow'],
  [/float unrepresentable|out of bounds trunc/i, 'bad-conversion-to-integer'],
  [/table index is out of bounds|out of bounds call_indirect/i, 'table-out-of-bounds'],
  [/null function|function signature mismatch|call_indirect to a (signature that does not match|null table entry)/, 'bad-signature'],
];

/// The errors jco 1.35.0's glue and preview2-shim 0.26.1 raise on purpose,
/// by their exact texts: a refused call. Any other JavaScript error is a bug.
const HOST_TRAPS = [
  /^wasi-io trap:/,
  /^Resource error: Not a valid "[^"]+" resource\.$/,
  /^list pointer \[\d+\] is not aligned to \d+$/,
  /^unknown handle index \d+$/,
];

class Exit {
  constructor(code) {
    this.code = code;
  }
}

function classify(error) {
  if (error instanceof Exit) return { outcome: 'completed', exit: error.code };
  if (error instanceof WebAssembly.RuntimeError) {
    // V8's own traps have these texts; jco's glue also throws RuntimeErrors
    // of its own ("unknown handle index 3"): refusals of the host.
    const found = TRAP_CODES.find(([pattern]) => pattern.test(error.message));
    if (found) return { outcome: 'trap', by: 'guest', code: found[1], message: error.message };
    return { outcome: 'trap', by: 'host', message: error.message };
  }
  if (error instanceof RangeError && /call stack/.test(error.message)) {
    return { outcome: 'trap', by: 'guest', code: 'stack-overflow', message: error.message };
  }
  if (error && error.constructor && error.constructor.name === 'ComponentError') {
    return { outcome: 'completed', exit: 1 };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && HOST_TRAPS.some((pattern) => pattern.test(message))) {
    return { outcome: 'trap', by: 'host', message };
  }
  const text = error instanceof Error ? `${error.name}: ${message}` : message;
  return { outcome: 'host-panic', message: text };
}

/// Transpiles and imports the guest, with the shim set up: a failure here
/// is a `link-error` (the component cannot be instantiated on this host).
async function instantiate() {
  const module = await transpiled(resolve(options.component));
  const cli = await import('@bytecodealliance/preview2-shim/cli');
  cli._setArgs(['guest', options.scenario]);
  cli._setEnv({});
  const filesystem = await import('@bytecodealliance/preview2-shim/filesystem');
  if (options.dir) {
    const [host, guest] = options.dir.split('::');
    filesystem._setPreopens({ [guest]: host });
  } else {
    filesystem._clearPreopens();
  }
  return import(pathToFileURL(module).href);
}

async function run() {
  let guest;
  try {
    guest = await instantiate();
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
    ended = classify(error);
  } finally {
    process.exit = realExit;
  }
  // Whatever it ended as, a run that took longer than its deadline did
  // not finish before it: a hang, as on every host.
  const deadline = Number(options['deadline-ms']);
  return performance.now() - started > deadline ? { outcome: 'hang' } : ended;
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
let replied = false;
function reply(outcome) {
  replied = true;
  writeFileSync(options.reply, JSON.stringify(outcome));
}
process.on('exit', (code) => {
  if (!replied) reply(traced ? classify(traced) : { outcome: 'completed', exit: code });
});

reply(
  await run().catch((error) => ({
    outcome: 'host-panic',
    message: `the runner failed: ${error && error.stack ? error.stack : error}`,
  })),
);
// Let the guest's output drain, then end even if the shim's worker lives on.
const drained = (stream) => new Promise((done) => stream.write('', done));
await Promise.all([drained(process.stdout), drained(process.stderr)]);
realExit(0);
