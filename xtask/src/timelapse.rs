//! `cargo xtask timelapse`: the guests built once for each WASI release
//! that hosts of timelapse.toml name (`wit = "<fixture>"`: wasmtime 17 to
//! 19 implement 0.2.0 alone) and, for the WASI release columns, for every
//! fixture, before witness-timelapse runs every case on every host with
//! the guests of its release.

use crate::{guests, wit};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each release the chosen hosts (all if none) name, or every fixture's
/// (`every_release`, for the WASI release columns), and where its guests
/// were built ([`guests::build_against`]'s work directory).
pub fn guests_per_release(
    root: &Path,
    hosts: &[String],
    every_release: bool,
) -> Result<Vec<(String, PathBuf)>> {
    let path = root.join("timelapse.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    // witness-timelapse reads the file whole, with errors that say where;
    // here only the releases matter.
    let entries: BTreeMap<String, toml::Table> =
        toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
    let mut releases: BTreeSet<&str> = entries
        .iter()
        .filter(|(name, _)| hosts.is_empty() || hosts.contains(name))
        .filter_map(|(_, entry)| entry.get("wit")?.as_str())
        .collect();
    if every_release {
        releases.extend(wit::fixture_names());
    }
    let mut built = Vec::new();
    for release in releases {
        let tree = wit::fixture(root, release, false)?;
        let work = root.join("target/timelapse").join(release);
        eprintln!("building the guests against {release} for the hosts that implement it");
        guests::build_against(root, &tree, &work)?;
        built.push((release.to_string(), work));
    }
    Ok(built)
}
