//! Each guest compiled once, however many processes run it (nextest runs
//! one per trial, the sync configuration one per run): the compiled
//! component is kept in `target/witness/compile-cache/`, named by a hash of
//! the component's bytes and of the engine's settings, and later processes
//! map it in instead of compiling.
//!
//! witness's own, rather than wasmtime's `cache` feature: that one builds
//! zstd's C sources and a dozen crates, a tenth of a fresh build, to
//! compress what witness keeps in its own target directory.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::Path;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The component at `path`, compiled for `engine`: mapped from `cache_dir`
/// when a process compiled it before, else compiled now and kept there.
pub fn component(engine: &Engine, path: &Path, cache_dir: &Path) -> wasmtime::Result<Component> {
    let bytes = std::fs::read(path)
        .map_err(|e| wasmtime::format_err!("cannot read {}: {e}", path.display()))?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let kept = cache_dir.join(format!("{:016x}.cwasm", hasher.finish()));
    // SAFETY: a file in the cache is only ever written whole, by `keep`'s
    // rename, and never changed after; wasmtime checks that it is a
    // component compiled by a compatible engine, and refuses it otherwise.
    if let Ok(compiled) = unsafe { Component::deserialize_file(engine, &kept) } {
        return Ok(compiled);
    }
    let compiled = engine.precompile_component(&bytes)?;
    // A cache that cannot be written costs time, not correctness.
    let _ = keep(&kept, &compiled);
    // SAFETY: these are the bytes this engine just compiled.
    unsafe { Component::deserialize(engine, &compiled) }
}

/// Writes `compiled` to `kept` whole: to a fresh file beside it, then
/// renamed, so that another process or thread sees the whole file or none.
fn keep(kept: &Path, compiled: &[u8]) -> std::io::Result<()> {
    let dir = kept.parent().expect("a cache file is inside the cache");
    std::fs::create_dir_all(dir)?;
    let mut partial = tempfile::NamedTempFile::new_in(dir)?;
    partial.write_all(compiled)?;
    partial.persist(kept).map(drop).map_err(|e| e.error)
}
