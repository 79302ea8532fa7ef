// jco's transpilation of a guest component, once per content hash and
// build, kept under transpiled/<build>-<hash>/ beside the runners: shared by
// runner.mjs and browser-runner.mjs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/// The WASI calls that block, which the shim's browser build answers with
/// promises: `jco transpile --async-wasi-imports --async-wasi-exports`
/// (the API's `transpile` of bytes takes the lists themselves).
const ASYNC_WASI_IMPORTS = [
  'wasi:io/poll#poll',
  'wasi:io/poll#[method]pollable.block',
  'wasi:io/streams#[method]input-stream.blocking-read',
  'wasi:io/streams#[method]input-stream.blocking-skip',
  'wasi:io/streams#[method]output-stream.blocking-flush',
  'wasi:io/streams#[method]output-stream.blocking-write-and-flush',
  'wasi:io/streams#[method]output-stream.blocking-write-zeroes-and-flush',
  'wasi:io/streams#[method]output-stream.blocking-splice',
];
const ASYNC_WASI_EXPORTS = ['wasi:cli/run#run', 'wasi:http/incoming-handler#handle'];

/// jco's options per build. Both are jco's instantiation mode, so that each
/// run instantiates the component afresh with the imports it is given; the
/// browser's suspends the blocking WASI calls with JSPI, which makes `run`
/// async.
const BUILDS = {
  instantiable: { name: 'guest', instantiation: { tag: 'async' } },
  browser: {
    name: 'guest',
    instantiation: { tag: 'async' },
    asyncMode: 'jspi',
    asyncImports: ASYNC_WASI_IMPORTS,
    asyncExports: ASYNC_WASI_EXPORTS,
  },
};

/// The transpiled module of `component` (a path) for `build`, transpiled
/// if it is not yet.
export async function transpiled(component, build) {
  const bytes = readFileSync(component);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const dir = join(here, 'transpiled', `${build}-${hash}`);
  const module = join(dir, 'guest.js');
  if (existsSync(module)) return module;
  const { files } = await transpileWith(bytes, BUILDS[build]);
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

/// jco's `transpile` of `bytes` with `options`. jco releases before the
/// object form of `instantiation` (the time-lapse's old jco) take its tag
/// alone, and say so with an error naming `InstantiationMode`.
async function transpileWith(bytes, options) {
  const { transpile } = await import('@bytecodealliance/jco');
  try {
    return await transpile(bytes, { ...options });
  } catch (error) {
    if (!String(error?.message ?? error).includes('InstantiationMode')) throw error;
    return transpile(bytes, { ...options, instantiation: options.instantiation.tag });
  }
}
