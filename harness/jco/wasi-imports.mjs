// The shim's interfaces by the names jco's instantiation asks for: shared
// by runner.mjs and browser-runner.mjs, whose page imports this file as it
// is (so nothing here may import a Node module).

/// `modules` (the shim's module of each WASI package, by package name) as
/// the imports of an instance: `wasi:cli/terminal-input` is
/// `cli.terminalInput`. The shim's own setters (`_setArgs`, ...) and
/// functions are not interfaces.
export function wasiImports(modules) {
  const imports = {};
  for (const [pkg, module] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(module)) {
      if (name.startsWith('_') || typeof value !== 'object' || value === null) continue;
      imports[`wasi:${pkg}/${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`] = value;
    }
  }
  return imports;
}
