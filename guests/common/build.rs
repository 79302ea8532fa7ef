//! Which version of wasi:io the WIT under `../../wit` has, for the raw
//! imports' module names (src/raw.rs): read with wit-parser from
//! `deps/io.wit`, or `deps/io/` in the WASI repository's layout.

use std::path::Path;
use wit_parser::UnresolvedPackageGroup;

fn main() {
    let deps = Path::new("../../wit/deps");
    println!("cargo:rerun-if-changed={}", deps.display());
    let file = deps.join("io.wit");
    let package = if file.is_file() {
        let text = std::fs::read_to_string(&file).expect("deps/io.wit reads");
        UnresolvedPackageGroup::parse(&file, &text).map_err(|(_, e)| format!("{e:?}"))
    } else {
        UnresolvedPackageGroup::parse_dir(deps.join("io")).map_err(|e| format!("{e:?}"))
    }
    .unwrap_or_else(|e| panic!("wasi:io in {} does not parse: {e}", deps.display()));
    let name = package.main.name;
    let at = name.version.map(|v| format!("@{v}")).unwrap_or_default();
    let imports = format!(
        "imports!(\"{ns}:{pkg}/poll{at}\", \"{ns}:{pkg}/streams{at}\");\n",
        ns = name.namespace,
        pkg = name.name
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("wasi_io_imports.rs");
    std::fs::write(out, imports).expect("OUT_DIR is writable");
}
