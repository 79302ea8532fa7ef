//! wit/deps/: the WASI 0.2 packages the guests import, copied from the
//! pinned wasmtime-wasi crate (the exact WIT the wasmtime host implements)
//! and checked against wit/deps.lock, so any edit to them is visible.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The crate whose WIT the guests are built against.
const SOURCE_CRATE: &str = "wasmtime-wasi";
/// Where that crate keeps the WASI 0.2 packages.
const SOURCE_DIR: &str = "src/p2/wit/deps";

/// wit/deps.lock: where the WIT came from and the hash of every file.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct Lock {
    #[serde(rename = "crate")]
    source_crate: String,
    version: String,
    path: String,
    /// File name → `sha256:<hex>`.
    files: BTreeMap<String, String>,
}

const LOCK_HEADER: &str = "# wit/deps/ is copied from this crate by `cargo xtask wit sync`, which checks every file\n# against these hashes. Change the wasmtime-wasi version on purpose, then run\n# `cargo xtask wit sync --update-lock`.\n";

pub fn sync(root: &Path, update_lock: bool) -> Result<()> {
    let (version, source) = pinned_source(root)?;
    let mut files = BTreeMap::new();
    for entry in
        std::fs::read_dir(&source).with_context(|| format!("cannot read {}", source.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "wit") {
            let name = path
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            files.insert(name, std::fs::read(&path)?);
        }
    }
    let lock = Lock {
        source_crate: SOURCE_CRATE.into(),
        version,
        path: SOURCE_DIR.into(),
        files: files
            .iter()
            .map(|(name, bytes)| (name.clone(), hash(bytes)))
            .collect(),
    };
    let lock_path = root.join("wit/deps.lock");
    if update_lock {
        std::fs::write(
            &lock_path,
            format!("{LOCK_HEADER}{}", toml::to_string(&lock)?),
        )?;
    } else {
        let text = std::fs::read_to_string(&lock_path).with_context(|| {
            format!(
                "cannot read {}: run `cargo xtask wit sync --update-lock`",
                lock_path.display()
            )
        })?;
        let locked: Lock = toml::from_str(&text)
            .with_context(|| format!("{} is malformed", lock_path.display()))?;
        if locked != lock {
            bail!(
                "the WIT of {SOURCE_CRATE} {} does not match {}:\n  locked: {locked:?}\n  found:  {lock:?}\nif the version changed on purpose, run `cargo xtask wit sync --update-lock`",
                lock.version,
                lock_path.display()
            );
        }
    }
    let deps = root.join("wit/deps");
    std::fs::create_dir_all(&deps)?;
    // wit-parser reads every package in deps/: one the crate no longer
    // ships must go.
    for entry in std::fs::read_dir(&deps)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .expect("a directory entry")
            .to_string_lossy()
            .into_owned();
        if !files.contains_key(&name) {
            eprintln!(
                "{} is not in {SOURCE_CRATE} {}: removed",
                path.display(),
                lock.version
            );
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
    }
    for (name, bytes) in &files {
        let target = deps.join(name);
        let present = std::fs::read(&target).ok();
        if present.as_deref() != Some(bytes.as_slice()) {
            if present.is_some() {
                eprintln!(
                    "{} was edited: restored {SOURCE_CRATE} {}'s copy",
                    target.display(),
                    lock.version
                );
            }
            std::fs::write(&target, bytes)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    Ok(())
}

/// The version of wasmtime-wasi the harness depends on, and its WIT
/// directory in the cargo registry (cargo fetches it if need be).
fn pinned_source(root: &Path) -> Result<(String, PathBuf)> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .exec()
        .context("cargo metadata failed")?;
    let package = metadata
        .packages
        .iter()
        .find(|package| package.name.as_str() == SOURCE_CRATE)
        .with_context(|| format!("{SOURCE_CRATE} is not a dependency of the workspace"))?;
    let dir = package
        .manifest_path
        .parent()
        .expect("a manifest sits in its crate")
        .join(SOURCE_DIR);
    Ok((package.version.to_string(), dir.into_std_path_buf()))
}

fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "sha256:{}",
        digest
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    )
}
