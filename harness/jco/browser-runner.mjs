// witness's jco-browser host: runs scenarios of guest components with jco's
// transpiled JavaScript (JSPI) and preview2-shim's browser build, in a page
// of the machine's headless chromium that this Node process drives with
// playwright-core (the adapter protocol, README "Hosts"):
//
//   node browser-runner.mjs --component GUEST.wasm --scenario=NAME --reply FILE --deadline-ms N [--dir HOST::GUEST]
//   node browser-runner.mjs --prepare --component GUEST.wasm
//   node browser-runner.mjs --serve           (many runs in turn, one request per line)
//
// Each run is a fresh instance of the component in the page, with fresh
// WASI state from the shim's own isolation API (`createCli`,
// `createFilesystem`): arguments, an empty environment, stdin holding the
// run's bytes, stdout and stderr kept by the page and written to this
// process's once the run ends, and the preopen as an in-memory directory
// seeded from the harness's (the browser has no other filesystem). What the
// runner does that the shim leaves to its embedder: a new stdout (stderr)
// stream for each `get-stdout` (`get-stderr`) call, as wasmtime and the
// Node build give, since `createCli` hands out one stream that the guest's
// first drop closes for good. Classification: classify.mjs, with the
// browser build's own deliberate refusals (BROWSER_TRAPS below).
//
// The deadline: a run past it is a hang; the page may be spinning, so this
// process replies, says it takes no further run, and ends (chromium ends
// with the pipe playwright drives it through).
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { drained, runnerOptions } from './protocol.mjs';
import { transpiled } from './transpile.mjs';

const options = runnerOptions(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

if (options.prepare) {
  await transpiled(resolve(options.component), 'browser');
  process.exit(0);
}

/// The origin the page loads everything from, answered by this process.
const ORIGIN = 'http://witness.test';
const SHIM = join(here, 'node_modules/@bytecodealliance/preview2-shim/dist/browser');
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/// What the page asks for: the shim's browser build under /shim/, the
/// transpiled guests under /transpiled/, classify.mjs under /witness/.
function served(url) {
  const path = decodeURIComponent(new URL(url).pathname);
  const [, root, ...rest] = path.split('/');
  const file = rest.join('/');
  if (file.split('/').includes('..')) return null;
  if (root === 'shim') return join(SHIM, file);
  if (root === 'transpiled') return join(here, 'transpiled', file);
  if (root === 'witness' && file === 'classify.mjs') return join(here, 'classify.mjs');
  return null;
}

/// The browser's page, opened on first use.
let page = null;
async function openPage() {
  const browser = await chromium.launch({
    executablePath: process.env.WITNESS_CHROMIUM || 'chromium',
    // As root on CI, chromium refuses its own sandbox.
    args: ['--no-sandbox'],
  });
  const context = await browser.newContext();
  await context.route(`${ORIGIN}/**`, async (route) => {
    const url = route.request().url();
    if (new URL(url).pathname === '/') {
      return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>witness</title>' });
    }
    const path = served(url);
    try {
      return await route.fulfill({ contentType: TYPES[extname(path)], body: readFileSync(path) });
    } catch {
      return route.fulfill({ status: 404 });
    }
  });
  const opened = await context.newPage();
  await opened.goto(`${ORIGIN}/`);
  return opened;
}

/// The directory at `path` as the in-memory filesystem's file data.
function fileData(path) {
  const dir = {};
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    dir[name] = statSync(child).isDirectory() ? fileData(child) : { source: readFileSync(child).toString('base64') };
  }
  return { dir };
}

/// Runs in the page (playwright sends its text): one run of `request`, how
/// it ended, and what it wrote to stdout and stderr (base64).
async function runInPage(request) {
  const names = ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets'];
  const shim = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await import(`/shim/${name}.js`)])));
  const { classify } = await import('/witness/classify.mjs');
  /// The browser build's deliberate refusals, by their exact texts
  /// (io.js, common.js, http.js of preview2-shim 0.26.1): traps by the host.
  const BROWSER_TRAPS = [
    /^write exceeds the permit returned by checkWrite$/,
    /^blocking(WriteAndFlush|WriteZeroesAndFlush) accepts at most 4096 bytes$/,
    /^pollable has been disposed$/,
    /^pollable's parent resource has been disposed$/,
    /^poll list must not be empty$/,
    /^poll list length exceeds u32 index range$/,
    /^\S+ must be a valid u64$/,
    /^\S+ exceeds JavaScript's safe integer range$/,
    /^duration must not be negative$/,
    /^response outparam already set$/,
    /^outgoing response body already requested$/,
    /^incoming body already finished$/,
    /^Body already requested$/,
    /^invalid HTTP status code$/,
  ];
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const toBase64 = (chunks) => {
    let text = '';
    for (const chunk of chunks) for (const byte of chunk) text += String.fromCharCode(byte);
    return btoa(text);
  };

  // Output, kept up to the harness's limit (it keeps no more).
  const output = { stdout: [], stderr: [] };
  const kept = { stdout: 0, stderr: 0 };
  const collector = (name) => ({
    write(bytes) {
      const room = request.outputLimit - kept[name];
      if (room <= 0) return;
      const taken = bytes.slice(0, room);
      output[name].push(taken);
      kept[name] += taken.byteLength;
    },
    flush() {},
    blockingFlush() {},
  });
  let stdinLeft = fromBase64(request.stdin);
  const cli = shim.cli.createCli({
    arguments: ['guest', request.scenario],
    environment: {},
    stdin: {
      blockingRead(len) {
        if (stdinLeft.byteLength === 0) throw { tag: 'closed' };
        const taken = stdinLeft.slice(0, Number(len));
        stdinLeft = stdinLeft.slice(taken.byteLength);
        return taken;
      },
      subscribe: () => shim.io.pollableCreate(),
    },
  });
  const seeded = (data) => {
    for (const entry of Object.values(data.dir)) {
      if (entry.dir) seeded(entry);
      else entry.source = fromBase64(entry.source);
    }
    return data;
  };
  const fs = shim.filesystem.createFilesystem({
    adapter: new shim.filesystem.InMemoryFilesystemAdapter(),
    preopens: request.preopen ? { [request.preopen.guest]: seeded(request.preopen.data) } : {},
  });

  // A suspending import (JSPI) that throws leaves the run's promise
  // pending for ever in jco's glue: the first Error such an import throws
  // ends the run here instead. Result errors (`{ tag: 'closed' }`) are not
  // Errors; the glue turns them into values. The methods are wrapped once
  // per page, and report to the run under way.
  const faulted = new Promise((_, reject) => (globalThis.witnessFault = reject));
  const guarded = (f) =>
    function (...args) {
      const caught = (error) => {
        if (error instanceof Error) globalThis.witnessFault(error);
        throw error;
      };
      try {
        const result = f.apply(this, args);
        return result instanceof Promise ? result.catch(caught) : result;
      } catch (error) {
        return caught(error);
      }
    };
  if (!globalThis.witnessGuarded) {
    globalThis.witnessGuarded = true;
    const { Pollable } = shim.io.poll;
    const { InputStream, OutputStream } = shim.io.streams;
    const suspending = [
      [Pollable.prototype, ['block']],
      [InputStream.prototype, ['blockingRead', 'blockingSkip']],
      [OutputStream.prototype, ['blockingFlush', 'blockingWriteAndFlush', 'blockingWriteZeroesAndFlush', 'blockingSplice']],
    ];
    for (const [prototype, methods] of suspending) {
      for (const method of methods) prototype[method] = guarded(prototype[method]);
    }
    shim.io.poll.poll = shim.io.poll.pollList = guarded(shim.io.poll.poll);
  }

  // The shim's interfaces by the names jco's instantiation asks for
  // (`wasi:cli/terminal-input` is `cli.terminalInput`), the run's own
  // cli and filesystem over them.
  const imports = {};
  const add = (pkg, module) => {
    for (const [name, value] of Object.entries(module)) {
      if (name.startsWith('_') || typeof value !== 'object' || value === null) continue;
      imports[`wasi:${pkg}/${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`] = value;
    }
  };
  for (const [pkg, module] of Object.entries(shim)) add(pkg, module);
  add('cli', cli);
  add('filesystem', fs);
  imports['wasi:cli/stdout'] = { getStdout: () => shim.io.outputStreamCreate(collector('stdout')) };
  imports['wasi:cli/stderr'] = { getStderr: () => shim.io.outputStreamCreate(collector('stderr')) };

  globalThis.witnessCompiled ??= new Map();
  const base = new URL(request.module, location.href);
  const getCoreModule = (name) => {
    const url = new URL(name, base).href;
    if (!globalThis.witnessCompiled.has(url)) {
      globalThis.witnessCompiled.set(url, WebAssembly.compileStreaming(fetch(url)));
    }
    return globalThis.witnessCompiled.get(url);
  };
  const ended = (outcome) => ({ ...outcome, stdout: toBase64(output.stdout), stderr: toBase64(output.stderr) });
  let guest;
  try {
    const { instantiate } = await import(request.module);
    guest = await instantiate(getCoreModule, imports);
  } catch (error) {
    return ended({ outcome: 'link-error', message: `${error && error.message ? error.message : error}` });
  }
  try {
    await Promise.race([guest.run.run(), faulted]);
    return ended({ outcome: 'completed', exit: 0 });
  } catch (error) {
    return ended(classify(error, BROWSER_TRAPS));
  }
}

/// The harness keeps at most this much of each output stream
/// (subprocess::OUTPUT_LIMIT); the page keeps no more.
const OUTPUT_LIMIT = 4 << 20;

/// Runs `request` in the page: how it ended, its output written to this
/// process's stdout and stderr. Past the deadline: a hang, and this
/// process serves no further run (`spent`): the page may be spinning.
let spent = false;
async function run(request) {
  const module = await transpiled(resolve(request.component), 'browser');
  const [host, guest] = request.dir ? request.dir.split('::') : [];
  const sent = {
    module: `/transpiled/${module.slice(join(here, 'transpiled').length + 1)}`,
    scenario: request.scenario,
    stdin: request.stdin.toString('base64'),
    preopen: host ? { guest, data: fileData(host) } : null,
    outputLimit: OUTPUT_LIMIT + 1,
  };
  page ??= await openPage();
  let timer;
  const deadline = new Promise((done) => (timer = setTimeout(() => done(null), request.deadlineMs)));
  // A page that failed (it crashed, or its run threw outside the call)
  // is in a state nobody knows: this process serves no further run.
  const ended = await Promise.race([page.evaluate(runInPage, sent), deadline]).catch((error) => {
    spent = true;
    return {
      outcome: 'host-panic',
      message: `the page failed: ${error && error.message ? error.message : error}`,
      stdout: '',
      stderr: '',
    };
  });
  clearTimeout(timer);
  if (ended === null) {
    spent = true;
    return { outcome: 'hang' };
  }
  const { stdout, stderr, ...outcome } = ended;
  process.stdout.write(Buffer.from(stdout, 'base64'));
  process.stderr.write(Buffer.from(stderr, 'base64'));
  return outcome;
}

/// Writes the reply: in serving mode with the run's token, and `last` once
/// this process serves no further run.
function reply(path, outcome, token) {
  const served = spent ? { run: token, last: true } : { run: token };
  writeFileSync(path, JSON.stringify(token ? { ...outcome, ...served } : outcome));
}

/// Writes `token` to stdout and stderr, and waits until it is out.
async function frame(token) {
  process.stdout.write(token);
  process.stderr.write(token);
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
}

if (!options.serve) {
  const outcome = await run({
    component: options.component,
    scenario: options.scenario,
    dir: options.dir,
    stdin: readFileSync(0),
    deadlineMs: Number(options['deadline-ms']),
  });
  reply(options.reply, outcome);
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(0);
}

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line);
  await frame(request.token);
  const outcome = await run({ ...request, stdin: readFileSync(request.stdin), deadlineMs: Number(request['deadline-ms']) });
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  reply(request.reply, outcome, request.token);
  await frame(request.token);
  if (spent) break;
}
process.exit(0);
