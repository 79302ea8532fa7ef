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
// browser build's own deliberate refusals (BROWSER_BUILD_TRAPS there).
//
// The deadline counts from the guest's `run` starting, not from the page
// loading the shim and the guest or compiling its core modules, which
// under load alone could eat a 3 s deadline. A run past it is a hang; the
// page may be spinning, so this process replies, says it takes no further
// run, and ends (chromium ends with the pipe playwright drives it through).
import {
  linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import {
  argumentsOf, drained, environment, frame, preopens, runnerOptions, writeReply,
} from './protocol.mjs';
import { transpiled } from './transpile.mjs';

const options = runnerOptions(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

if (options.prepare) {
  await transpiled(resolve(options.component), 'browser');
  process.exit(0);
}

// chromium's profile and playwright's artifacts go under this host's
// directory, one directory per runner process. chromium's profile is
// removed only by Node's exit handlers, which a process the harness kills
// never runs: each runner removes those of runner processes that are gone.
// Best effort: a killed runner's chromium may still be writing its profile
// for a moment (it ends when its pipe to the runner closes), and what is
// left then is a later runner's to remove.
const temporary = join(here, 'tmp');
mkdirSync(temporary, { recursive: true });
for (const name of readdirSync(temporary)) {
  if (alive(Number(name))) continue;
  try {
    rmSync(join(temporary, name), { recursive: true, force: true });
  } catch {}
}
process.env.TMPDIR = join(temporary, String(process.pid));
mkdirSync(process.env.TMPDIR, { recursive: true });

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/// The origin the page loads everything from, answered by this process.
const ORIGIN = 'http://witness.test';
const SHIM = join(here, 'node_modules/@bytecodealliance/preview2-shim/dist/browser');
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/// The runner's modules the page imports too, under /witness/.
const PAGE_MODULES = ['classify.mjs', 'wasi-imports.mjs'];

/// What the page asks for: the shim's browser build under /shim/, the
/// transpiled guests under /transpiled/, PAGE_MODULES under /witness/.
function served(url) {
  const path = decodeURIComponent(new URL(url).pathname);
  const [, root, ...rest] = path.split('/');
  const file = rest.join('/');
  if (file.split('/').includes('..')) return null;
  if (root === 'shim') return join(SHIM, file);
  if (root === 'transpiled') return join(here, 'transpiled', file);
  if (root === 'witness' && PAGE_MODULES.includes(file)) return join(here, file);
  return null;
}

/// The browser's page, opened on first use; a chromium that does not start
/// is an error saying so.
let page = null;
async function openPage() {
  const executablePath = process.env.WITNESS_CHROMIUM || 'chromium';
  const browser = await chromium
    .launch({
      executablePath,
      // As root on CI, chromium refuses its own sandbox. The harness's
      // HTTP responder stands for a server on the internet, but in the
      // private network its address is a loopback one, which Local Network
      // Access would refuse a page of http://witness.test.
      args: ['--no-sandbox', '--disable-features=LocalNetworkAccessChecks'],
    })
    .catch((error) => {
      throw `browser-runner.mjs: cannot start ${executablePath}: ${error.message}`;
    });
  const context = await browser.newContext();
  await context.route(`${ORIGIN}/**`, async (route) => {
    const url = route.request().url();
    if (new URL(url).pathname === '/') {
      return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>witness</title>' });
    }
    const path = served(url);
    let body;
    try {
      body = path && readFileSync(path);
    } catch {
      body = null;
    }
    if (!body) return route.fulfill({ status: 404 });
    return route.fulfill({ contentType: TYPES[extname(path)], body });
  });
  const opened = await context.newPage();
  await opened.exposeFunction('witnessRunStarts', () => runStarts());
  await opened.goto(`${ORIGIN}/`);
  return opened;
}

/// What the page calls as the guest's `run` starts (`witnessRunStarts`):
/// set by each run, to frame it and start its deadline there.
let runStarts = () => {};

/// The directory at `path` as the in-memory filesystem's file data, sent
/// as JSON: a symlink is `{ symlink }`, a file `{ source, inode }`, where
/// files of one inode are one file (hard links) that the page joins up.
function fileData(path) {
  const dir = {};
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    const stat = lstatSync(child);
    if (stat.isSymbolicLink()) dir[name] = { symlink: readlinkSync(child) };
    else if (stat.isDirectory()) dir[name] = fileData(child);
    else dir[name] = { source: readFileSync(child).toString('base64'), inode: stat.ino };
  }
  return { dir };
}

/// Makes the directory at `path` hold what `data` holds, as the page left
/// it (the page's `exported`): the host side the harness then looks at.
/// `linked` maps a file's inode in the page to its first path here.
function mirror(path, data, linked = new Map()) {
  for (const name of readdirSync(path)) {
    if (!(name in data.dir)) rmSync(join(path, name), { recursive: true });
  }
  for (const [name, entry] of Object.entries(data.dir)) {
    const child = join(path, name);
    const stat = lstatOrNull(child);
    if (entry.dir) {
      if (!stat?.isDirectory()) {
        rmSync(child, { recursive: true, force: true });
        mkdirSync(child);
      }
      mirror(child, entry, linked);
    } else if (entry.symlink !== undefined) {
      if (!stat?.isSymbolicLink() || readlinkSync(child) !== entry.symlink) {
        rmSync(child, { recursive: true, force: true });
        symlinkSync(entry.symlink, child);
      }
    } else if (linked.has(entry.inode)) {
      rmSync(child, { recursive: true, force: true });
      linkSync(linked.get(entry.inode), child);
    } else {
      linked.set(entry.inode, child);
      const bytes = Buffer.from(entry.source, 'base64');
      if (!stat?.isFile() || !readFileSync(child).equals(bytes)) {
        rmSync(child, { recursive: true, force: true });
        writeFileSync(child, bytes);
      }
    }
  }
}

function lstatOrNull(path) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/// Runs in the page (playwright sends its text): one run of `request`, how
/// it ended, and what it wrote to stdout and stderr (base64).
async function runInPage(request) {
  const names = ['cli', 'clocks', 'filesystem', 'http', 'io', 'random', 'sockets'];
  const shim = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await import(`/shim/${name}.js`)])));
  const { BROWSER_BUILD_TRAPS, classify } = await import('/witness/classify.mjs');
  const { wasiImports } = await import('/witness/wasi-imports.mjs');
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
    arguments: request.arguments,
    environment: request.environment,
    initialCwd: request.initialCwd,
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
  // A file's first name is its object; each further name of its inode
  // (the adapter's hard links) is left out here and made by the shim's own
  // `linkAt` once the filesystem exists, which counts the file's links as
  // a guest's `link-at` does: a shared object in the seed would count one.
  const inodes = new Map();
  const links = [];
  const seeded = (data, preopen, prefix = '') => {
    for (const [name, entry] of Object.entries(data.dir)) {
      const path = prefix + name;
      if (entry.dir) seeded(entry, preopen, `${path}/`);
      else if (entry.symlink !== undefined) continue;
      else if (inodes.has(entry.inode)) {
        links.push({ from: inodes.get(entry.inode), to: { preopen, path } });
        delete data.dir[name];
      } else {
        inodes.set(entry.inode, { preopen, path });
        entry.source = fromBase64(entry.source);
      }
    }
    return data;
  };
  // The adapter keeps these objects as its tree: after the run they hold
  // what the guest left, for the runner to mirror to the host side.
  const trees = request.preopens.map(({ data }, preopen) => seeded(data, preopen));
  const ids = new Map();
  const exported = (data) => ({
    dir: Object.fromEntries(
      Object.entries(data.dir).map(([name, entry]) => {
        if (entry.dir) return [name, exported(entry)];
        if (entry.symlink !== undefined) return [name, { symlink: entry.symlink }];
        if (!ids.has(entry)) ids.set(entry, ids.size);
        const source = typeof entry.source === 'string' ? new TextEncoder().encode(entry.source) : entry.source ?? new Uint8Array();
        return [name, { source: toBase64([source]), inode: ids.get(entry) }];
      }),
    ),
  });
  const fs = shim.filesystem.createFilesystem({
    adapter: new shim.filesystem.InMemoryFilesystemAdapter(),
    preopens: Object.fromEntries(request.preopens.map(({ guest }, i) => [guest, trees[i]])),
  });
  const directories = fs.preopens.getDirectories().map(([descriptor]) => descriptor);
  for (const { from, to } of links) {
    directories[from.preopen].linkAt({ symlinkFollow: false }, from.path, directories[to.preopen], to.path);
  }

  // A suspending import (JSPI) that throws leaves the run's promise
  // pending for ever in jco's glue: the first Error such an import throws
  // ends the run here instead. Result errors (`{ tag: 'closed' }`) are not
  // Errors; the glue turns them into values. The methods are wrapped once
  // per page, and report to the run under way; only a call the glue made
  // reports, not one the shim makes inside it (`poll` blocks on each
  // pollable, and a pollable dropped later rejects that inner wait).
  const faulted = new Promise((_, reject) => (globalThis.witnessFault = reject));
  globalThis.witnessDepth = 0;
  const guarded = (f) =>
    function (...args) {
      const outermost = globalThis.witnessDepth === 0;
      const caught = (error) => {
        if (outermost && error instanceof Error) globalThis.witnessFault(error);
        throw error;
      };
      let result;
      globalThis.witnessDepth += 1;
      try {
        result = f.apply(this, args);
      } catch (error) {
        return caught(error);
      } finally {
        globalThis.witnessDepth -= 1;
      }
      return result instanceof Promise ? result.catch(caught) : result;
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

  // The shim's interfaces, the run's own cli and filesystem over them.
  const imports = { ...wasiImports(shim), ...wasiImports({ cli, filesystem: fs }) };
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
  const ended = (outcome) => ({
    ...outcome,
    stdout: toBase64(output.stdout),
    stderr: toBase64(output.stderr),
    trees: trees.map(exported),
  });
  let guest;
  try {
    const { instantiate } = await import(request.module);
    guest = await instantiate(getCoreModule, imports);
  } catch (error) {
    return ended({ outcome: 'link-error', message: `${error && error.message ? error.message : error}` });
  }
  // The guest's time starts here: loading the shim and the guest, and
  // compiling its core modules, are the page's, as a server's start is.
  await globalThis.witnessRunStarts();
  try {
    await Promise.race([guest.run.run(), faulted]);
    return ended({ outcome: 'completed', exit: 0 });
  } catch (error) {
    return ended(classify(error, BROWSER_BUILD_TRAPS));
  }
}

/// The harness keeps at most this much of each output stream
/// (subprocess::OUTPUT_LIMIT). The page keeps one byte more, so that the
/// harness sees the limit passed; how much more the guest wrote is lost.
const OUTPUT_LIMIT = 4 << 20;

/// Runs `request` in the page: how it ended, its output written to this
/// process's stdout and stderr. `request.begin` is called as the guest's
/// `run` starts, and the deadline counts from then. Past the deadline: a
/// hang, and this process serves no further run (`spent`): the page may be
/// spinning.
let spent = false;
async function run(request) {
  let module;
  try {
    module = await transpiled(resolve(request.component), 'browser');
  } catch (error) {
    return { outcome: 'link-error', message: `${error && error.message ? error.message : error}` };
  }
  const granted = preopens(request);
  const sent = {
    module: `/transpiled/${module.slice(join(here, 'transpiled').length + 1)}`,
    arguments: argumentsOf(request),
    environment: environment(request),
    initialCwd: request['initial-cwd'],
    stdin: request.readStdin().toString('base64'),
    preopens: granted.map(([host, guest]) => ({ guest, data: fileData(host) })),
    outputLimit: OUTPUT_LIMIT + 1,
  };
  // No page, no run: what chromium said goes in the run's output, and
  // this process ends.
  page ??= await openPage().catch(async (said) => {
    await request.begin();
    process.stderr.write(`${said}\n`);
    await drained(process.stderr);
    process.exit(2);
  });
  const asked = Date.now();
  let loading;
  let timer;
  const deadline = new Promise((done) => {
    runStarts = async () => {
      loading = Date.now() - asked;
      await request.begin();
      timer = setTimeout(() => done(null), request.deadlineMs);
    };
  });
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
  // A run that never got to the guest's `run` (the guest did not link)
  // begins here, before its output.
  await request.begin();
  if (ended === null) {
    spent = true;
    // Where the time went, for whoever reads the hang (the page kept the
    // guest's output, which is lost with it).
    process.stderr.write(`\nbrowser-runner.mjs: the page took ${loading} ms to load the guest; its run had not ended ${request.deadlineMs} ms after it started\n`);
    return { outcome: 'hang' };
  }
  const { stdout, stderr, trees, ...outcome } = ended;
  // One map for all preopens: a hard link may join two of them.
  const linked = new Map();
  (trees ?? []).forEach((tree, i) => mirror(granted[i][0], tree, linked));
  process.stdout.write(Buffer.from(stdout, 'base64'));
  process.stderr.write(Buffer.from(stderr, 'base64'));
  return outcome;
}

/// Writes the reply; `last` once this process serves no further run.
function reply(path, outcome, token) {
  writeReply(path, outcome, token, spent);
}

/// `run`, or how the runner itself failed (a host panic: a bug of this
/// host as witness runs it), after which this process serves no more.
async function runOrFail(request) {
  try {
    return await run(request);
  } catch (error) {
    spent = true;
    return { outcome: 'host-panic', message: `the runner failed: ${error && error.stack ? error.stack : error}` };
  }
}

if (!options.serve) {
  const outcome = await runOrFail({
    component: options.component,
    scenario: options.scenario,
    dir: options.dir,
    loopback: options.loopback,
    argument: options.argument,
    env: options.env,
    'initial-cwd': options['initial-cwd'],
    readStdin: () => readFileSync(0),
    begin: async () => {},
    deadlineMs: Number(options['deadline-ms']),
  });
  reply(options.reply, outcome);
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(0);
}

for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line);
  // The first token comes as the guest's `run` starts (the harness's own
  // deadline counts from it), or, for a run that never got there, now.
  let begun = false;
  const begin = async () => {
    if (!begun) {
      begun = true;
      await frame(request.token);
    }
  };
  const outcome = await runOrFail({
    ...request,
    readStdin: () => readFileSync(request.stdin),
    begin,
    deadlineMs: Number(request['deadline-ms']),
  });
  await begin();
  reply(request.reply, outcome, request.token);
  await frame(request.token);
  if (spent) break;
}
process.exit(0);
