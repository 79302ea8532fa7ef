//! wit/deps/: the WASI 0.2 packages the guests import, copied from the
//! pinned wasmtime crates (the exact WIT the wasmtime host implements) and
//! checked against wit/deps.lock, so any edit to them is visible; and the
//! spec gate's fixtures, older releases from crates that ship their WIT.

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

const LOCK_HEADER: &str = "# The WIT is copied from these crates by `cargo xtask wit sync` (wit/deps/) or\n# `cargo xtask wit fixture NAME` (target/wit-fixtures/NAME/), which check every file against\n# these hashes. Change a crate's version on purpose, then rerun with `--update-lock`.\n";

pub fn sync(root: &Path, update_lock: bool) -> Result<()> {
    let names: Vec<&str> = SOURCES.iter().map(|(name, _)| *name).collect();
    let versions = pinned_versions(&root.join("Cargo.toml"), &names)?;
    materialise(
        &SOURCES,
        &versions,
        &root.join("wit/deps.lock"),
        &root.join("wit/deps"),
        update_lock,
    )
}

/// An older WASI 0.2 release, taken from crates that ship its WIT: the
/// spec gate's fixture and the time-lapse's WASI release columns (`cargo
/// xtask wit fixture NAME`). Its files are checked against
/// `wit/fixtures/<name>.lock`.
struct Fixture {
    name: &'static str,
    /// Each crate, its version and where it keeps the WIT; a later crate
    /// adds only the files the earlier lack, as for wit/deps.
    sources: &'static [(&'static str, &'static str, &'static str)],
}

/// Every WASI 0.2 release a crate on crates.io ships, but wit/'s own
/// (0.2.12): 0.2.5, 0.2.7, 0.2.8, 0.2.10 and 0.2.11 are in none.
const FIXTURES: [Fixture; 7] = [
    // WASI 0.2.0: its poll.wit predates "the list is empty". Every file is
    // byte-identical to the v0.2.0 tag's preview2/ in WebAssembly/WASI (as
    // is wasmtime-wasi 18.0.4's wit/deps; 17.0.3's is an earlier snapshot,
    // differing in the docs only).
    Fixture {
        name: "wasi-0.2.0",
        sources: &[("wasi", "0.13.0+wasi-0.2.0", "wit/deps")],
    },
    Fixture {
        name: "wasi-0.2.1",
        sources: &[("wasi", "0.13.2+wasi-0.2.1", "wit/deps")],
    },
    Fixture {
        name: "wasi-0.2.2",
        sources: &[("wasi", "0.13.3+wasi-0.2.2", "wit/deps")],
    },
    Fixture {
        name: "wasi-0.2.3",
        sources: &[("wasi", "0.14.1+wasi-0.2.3", "wit/deps")],
    },
    Fixture {
        name: "wasi-0.2.4",
        sources: &[("wasip2", "1.0.1+wasi-0.2.4", "wit/deps")],
    },
    // What wasmtime 35 to 45 implement; no bindings crate ships it.
    Fixture {
        name: "wasi-0.2.6",
        sources: &[
            ("wasmtime-wasi", "45.0.3", "src/p2/wit/deps"),
            ("wasmtime-wasi-http", "45.0.3", "wit/deps"),
        ],
    },
    Fixture {
        name: "wasi-0.2.9",
        sources: &[("wasip2", "1.0.3+wasi-0.2.9", "wit/deps")],
    },
];

/// Every fixture's name, oldest release first.
pub fn fixture_names() -> Vec<&'static str> {
    FIXTURES.iter().map(|fixture| fixture.name).collect()
}

/// Materialises fixture `name` into target/wit-fixtures/<name>/ (its
/// deps/ and a copy of wit/witness.wit): a tree for `test --wit`.
pub fn fixture(root: &Path, name: &str, update_lock: bool) -> Result<PathBuf> {
    let known: Vec<&str> = FIXTURES.iter().map(|fixture| fixture.name).collect();
    let fixture = (FIXTURES.iter())
        .find(|fixture| fixture.name == name)
        .with_context(|| format!("there is no fixture `{name}`; known: {}", known.join(", ")))?;
    let fixtures = root.join("target/wit-fixtures");
    // A manifest of its own makes cargo fetch the crate, as for any dependency.
    let manifest = fixtures.join(".crates").join(name);
    std::fs::create_dir_all(manifest.join("src"))?;
    std::fs::write(manifest.join("src/lib.rs"), "")?;
    let dependencies: String = (fixture.sources.iter())
        .map(|(krate, version, _)| {
            format!("{krate} = {{ version = \"={version}\", default-features = false }}\n")
        })
        .collect();
    std::fs::write(
        manifest.join("Cargo.toml"),
        format!(
            "[package]\nname = \"witness-fixture\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependencies}\n[workspace]\n"
        ),
    )?;
    let crates: Vec<&str> = fixture.sources.iter().map(|(krate, ..)| *krate).collect();
    let versions = pinned_versions(&manifest.join("Cargo.toml"), &crates)?;
    let tree = fixtures.join(name);
    let sources: Vec<(&str, &str)> = (fixture.sources.iter())
        .map(|(krate, _, path)| (*krate, *path))
        .collect();
    materialise(
        &sources,
        &versions,
        &root.join("wit/fixtures").join(format!("{name}.lock")),
        &tree.join("deps"),
        update_lock,
    )?;
    std::fs::copy(root.join("wit/witness.wit"), tree.join("witness.wit"))?;
    Ok(tree)
}

/// Copies the WIT of `sources` (crate, directory in it) into `deps`,
/// checked against the lock at `lock_path` (or rewriting it).
fn materialise(
    sources: &[(&str, &str)],
    versions: &BTreeMap<String, (String, PathBuf)>,
    lock_path: &Path,
    deps: &Path,
    update_lock: bool,
) -> Result<()> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut lock = Lock { source: Vec::new() };
    for (name, subdir) in sources {
        let (version, dir) = versions
            .get(*name)
            .with_context(|| format!("{name} is not a dependency"))?;
        let mut contributed = BTreeMap::new();
        for (file, bytes) in wit_files(&dir.join(subdir))? {
            match files.get(&file) {
                Some(earlier) if *earlier == bytes => {}
                Some(_) => bail!(
                    "{name} {version}'s {file} differs from the copy an earlier crate of {sources:?} ships: pin versions that agree"
                ),
                None => {
                    contributed.insert(file.clone(), hash(&bytes));
                    files.insert(file, bytes);
                }
            }
        }
        lock.source.push(Source {
            source_crate: name.to_string(),
            version: version.clone(),
            path: subdir.to_string(),
            files: contributed,
        });
    }
    if update_lock {
        if let Some(parent) = lock_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(
            lock_path,
            format!("{LOCK_HEADER}{}", toml::to_string(&lock)?),
        )?;
    } else {
        let text = std::fs::read_to_string(lock_path).with_context(|| {
            format!(
                "cannot read {}: run `cargo xtask wit sync --update-lock`",
                lock_path.display()
            )
        })?;
        let locked: Lock = toml::from_str(&text)
            .with_context(|| format!("{} is malformed", lock_path.display()))?;
        if locked != lock {
            bail!(
                "the WIT of the pinned crates does not match {}:\n  locked: {locked:?}\n  found:  {lock:?}\nif a version changed on purpose, rerun with --update-lock",
                lock_path.display()
            );
        }
    }
    std::fs::create_dir_all(deps)?;
    // wit-parser reads every package in deps/: one the crates no longer
    // ship must go.
    for entry in std::fs::read_dir(deps)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .expect("a directory entry")
            .to_string_lossy()
            .into_owned();
        let shipped = files
            .keys()
            .any(|file| *file == name || file.starts_with(&format!("{name}/")));
        if !shipped {
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
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, bytes)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    Ok(())
}

/// The `.wit` files of `dir`: its own (`io.wit`) and those of its
/// directories, one per package in the WASI repository's layout
/// (`io/poll.wit`), by relative path.
fn wit_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            let name = path
                .file_name()
                .expect("a directory entry")
                .to_string_lossy()
                .into_owned();
            if path.is_dir() && prefix.is_empty() {
                pending.push((path, format!("{name}/")));
            } else if path.extension().is_some_and(|ext| ext == "wit") {
                files.insert(format!("{prefix}{name}"), std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

/// The version of each crate of `names` that `manifest` depends on, and
/// its directory in the cargo registry (cargo fetches it if need be).
fn pinned_versions(manifest: &Path, names: &[&str]) -> Result<BTreeMap<String, (String, PathBuf)>> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .exec()
        .with_context(|| format!("cargo metadata of {} failed", manifest.display()))?;
    Ok(metadata
        .packages
        .iter()
        .filter(|package| names.contains(&package.name.as_str()))
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
