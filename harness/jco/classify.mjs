// How a jco run ended, from what its call threw: shared by runner.mjs (Node,
// Deno, Bun) and browser-runner.mjs, whose page imports this file as it is
// (so nothing here may import a Node module). README "Hosts", jco:
// - the run returned          → completed, exit 0; `run` returned an error
//   (ComponentError)          → completed, exit 1; wasi:cli/exit → that status;
// - WebAssembly.RuntimeError with one of the engine's trap texts → trap by
//   the guest, its code named as wasmtime names traps; with another text
//   (jco's glue throws RuntimeErrors too: "unknown handle index 3") → trap
//   by the host;
// - an Error the shim or jco's glue raises on purpose, by its exact text
//   (`hostTraps`)              → trap by the host;
// - any other exception       → host-panic: a bug of the host itself.

/// wasmtime's names for the traps the engines report, so that records
/// compare: V8's texts (Node, Chromium; Deno's V8 splits "null function"
/// from "function signature mismatch") and JavaScriptCore's (Bun).
const TRAP_CODES = [
  [/unreachable/i, 'unreachable-code-reached'],
  [/memory access out of bounds|out of bounds memory access/i, 'memory-out-of-bounds'],
  [/divide by zero|remainder by zero|division by zero/i, 'integer-division-by-zero'],
  [/integer overflow|divide result unrepresentable/i, 'integer-overflow'],
  [/float unrepresentable|out of bounds trunc/i, 'bad-conversion-to-integer'],
  [/table index is out of bounds|out of bounds call_indirect/i, 'table-out-of-bounds'],
  [/null function|function signature mismatch|call_indirect to a (signature that does not match|null table entry)/, 'bad-signature'],
];

/// The errors jco 1.35.0's glue raises on purpose, by their exact texts: a
/// refused call, on every build of the shim.
export const GLUE_TRAPS = [
  /^Resource error: Not a valid "[^"]+" resource\.$/,
  /^list pointer \[\d+\] is not aligned to \d+$/,
  /^unknown handle index \d+$/,
];

/// The texts preview2-shim 0.26.1's Node build raises on purpose: a refused
/// call.
export const NODE_BUILD_TRAPS = [/^wasi-io trap:/];

/// The browser build's deliberate refusals, by their exact texts (io.js,
/// common.js and http.js of preview2-shim 0.26.1). Its check that a value
/// is a u64 at all is not one: no guest can fail it, only jco's glue.
export const BROWSER_BUILD_TRAPS = [
  /^write exceeds the permit returned by checkWrite$/,
  /^blocking(WriteAndFlush|WriteZeroesAndFlush) accepts at most 4096 bytes$/,
  /^pollable has been disposed$/,
  /^pollable's parent resource has been disposed$/,
  /^poll list must not be empty$/,
  /^poll list length exceeds u32 index range$/,
  /^\S+ exceeds JavaScript's safe integer range$/,
  /^duration must not be negative$/,
  /^response outparam already set$/,
  /^outgoing response body already requested$/,
  /^incoming body already finished$/,
  /^Body already requested$/,
  /^invalid HTTP status code$/,
];

/// An exit the runner or the shim raises for wasi:cli/exit: `exitError`
/// set and the status in `code` (the browser shim's ComponentExit).
export class Exit extends Error {
  exitError = true;
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/// How a run whose call threw `error` ended; `hostTraps`, the texts of the
/// shim build's deliberate refusals (`NODE_BUILD_TRAPS`, `BROWSER_BUILD_TRAPS`).
export function classify(error, hostTraps) {
  if (error && error.exitError === true && Number.isInteger(error.code)) {
    return { outcome: 'completed', exit: error.code };
  }
  if (error instanceof WebAssembly.RuntimeError) {
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
  if (error instanceof Error && [...GLUE_TRAPS, ...hostTraps].some((pattern) => pattern.test(message))) {
    return { outcome: 'trap', by: 'host', message };
  }
  const text = error instanceof Error ? `${error.name}: ${message}` : message;
  return { outcome: 'host-panic', message: text };
}
