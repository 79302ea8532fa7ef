//! wit/deps/: the WASI 0.2 packages the guests import, copied from the
//! pinned wasmtime crates (the exact WIT the wasmtime host implements) and
//! checked against wit/deps.lock, so any edit to them is visible.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The crates whose WIT the guests are built against, and where each keeps
/// its WASI 0.2 packages. A later crate adds only the files the earlier ones
/// lack (wasmtime-wasi-http ships copies of wasmtime-wasi's packages; they
/// must be byte-identical).
const SOURCES: [(&str, &str); 2] = [
    ("wasmtime-wasi", "src/p2/wit/deps"),
    ("wasmtime-wasi-http", "wit/deps"),
];

/// wit/deps.lock: where the WIT came from and the hash of every file.
#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct Lock {
    source: Vec<Source>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct Source {
    #[serde(rename = "crate")]
    source_crate: String,
    version: String,
    path: String,
    /// File name → `sha256:<hex>`: the files this crate contributes.
    files: BTreeMap<String, String>,
}

const LOCK_HEADER: &str = "# wit/deps/ is copied from these crates by `cargo xtask wit sync`, which checks every file\n# against these hashes. Change a crate's version on purpose, then run\n# `cargo xtask wit sync --update-lock`.\n";

pub fn sync(root: &Path, update_lock: bool) -> Result<()> {
    let versions = pinned_versions(root)?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut lock = Lock { source: Vec::new() };
    for (name, subdir) in SOURCES {
        let (version, dir) = versions
            .get(name)
            .with_context(|| format!("{name} is not a dependency of the workspace"))?;
        let mut contributed = BTreeMap::new();
        for (file, bytes) in wit_files(&dir.join(subdir))? {
            match files.get(&file) {
                Some(earlier) if *earlier == bytes => {}
                Some(_) => bail!(
                    "{name} {version}'s {file} differs from the copy an earlier crate of {SOURCES:?} ships: pin versions that agree"
                ),
                None => {
                    contributed.insert(file.clone(), hash(&bytes));
                    files.insert(file, bytes);
                }
            }
        }
        lock.source.push(Source {
            source_crate: name.into(),
            version: version.clone(),
            path: subdir.into(),
            files: contributed,
        });
    }
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
                "the WIT of the pinned crates does not match {}:\n  locked: {locked:?}\n  found:  {lock:?}\nif a version changed on purpose, run `cargo xtask wit sync --update-lock`",
                lock_path.display()
            );
        }
    }
    let deps = root.join("wit/deps");
    std::fs::create_dir_all(&deps)?;
    // wit-parser reads every package in deps/: one the crates no longer
    // ship must go.
    for entry in std::fs::read_dir(&deps)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .expect("a directory entry")
            .to_string_lossy()
            .into_owned();
        if !files.contains_key(&name) {
            eprintln!("{} is in no pinned crate: removed", path.display());
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
                    "{} was edited: restored the pinned crate's copy",
                    target.display()
                );
            }
            std::fs::write(&target, bytes)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    Ok(())
}

/// The `.wit` files directly in `dir`, by name.
fn wit_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
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
    Ok(files)
}

/// The version of each source crate the harness depends on, and its
/// directory in the cargo registry (cargo fetches it if need be).
fn pinned_versions(root: &Path) -> Result<BTreeMap<String, (String, PathBuf)>> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        .exec()
        .context("cargo metadata failed")?;
    Ok(metadata
        .packages
        .iter()
        .filter(|package| {
            SOURCES
                .iter()
                .any(|(name, _)| package.name.as_str() == *name)
        })
        .map(|package| {
            let dir = package
                .manifest_path
                .parent()
                .expect("a manifest sits in its crate")
                .to_path_buf()
                .into_std_path_buf();
            (package.name.to_string(), (package.version.to_string(), dir))
        })
        .collect())
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
