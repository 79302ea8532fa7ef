//! Building the guest components. Each guest is a `wasm32-unknown-unknown`
//! library, so the standard library brings no WASI imports of its own: a
//! guest imports only the WIT it was built against, and wit-component makes
//! it a component from that WIT (carried in the module's custom sections).

use crate::{cargo, succeed};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-unknown-unknown";

/// Where the components of a build into `target_dir` land:
/// `<target_dir>/components/<guest>.wasm`.
pub fn components_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("components")
}

/// `cargo build` of the guests in `guests_dir` into `target_dir` (core
/// modules, for [`componentize`]); only `package` if given.
pub fn build(root: &Path, guests_dir: &Path, target_dir: &Path, package: Option<&str>) -> Command {
    let mut build = cargo(root);
    build
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(guests_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if let Some(package) = package {
        build.args(["--package", package]);
    }
    build
}

/// Makes the core module of `guest`, built into `target_dir`, a component
/// in [`components_dir`].
pub fn componentize(target_dir: &Path, guest: &str) -> Result<()> {
    let module = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", guest.replace('-', "_")));
    let bytes =
        std::fs::read(&module).with_context(|| format!("cannot read {}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .and_then(|encoder| encoder.validate(true).encode())
        .with_context(|| format!("guest `{guest}` does not make a component"))?;
    one_release(&component).with_context(|| format!("guest `{guest}`"))?;
    let dir = components_dir(target_dir);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{guest}.wasm"));
    // Left as it is when unchanged, and else replaced whole (a rename): a
    // run going on beside this build (another `cargo xtask`) never reads
    // a component half written.
    if std::fs::read(&path).is_ok_and(|existing| existing == component) {
        return Ok(());
    }
    let partial = dir.join(format!("{guest}.wasm.partial"));
    std::fs::write(&partial, component)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))
}

/// Fails unless every WASI item `component` imports or exports is of one
/// release: a guest carries the WIT it was built against alone (built for
/// wasm32-wasip2, the standard library would add its own release's).
fn one_release(component: &[u8]) -> Result<()> {
    let wit_component::DecodedWasm::Component(resolve, world) = wit_component::decode(component)?
    else {
        bail!("wit-component made a WIT package, not a component");
    };
    let world = &resolve.worlds[world];
    let items: BTreeMap<String, String> = (world.imports.keys().chain(world.exports.keys()))
        .map(|key| resolve.name_world_key(key))
        .filter(|name| name.starts_with("wasi:"))
        .filter_map(|name| Some((name.split_once('@')?.1.to_string(), name)))
        .collect();
    if items.len() > 1 {
        let examples: Vec<&String> = items.values().collect();
        bail!(
            "imports or exports WASI items of {} releases, e.g. {examples:?}: it must carry only the WIT it was built against",
            items.len()
        );
    }
    Ok(())
}

/// The guest programs: the members of `<dir>/Cargo.toml` that build a
/// library for a component (`cdylib`).
pub fn names(dir: &Path) -> Result<Vec<String>> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(dir.join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata of the guests failed")?;
    let mut names: Vec<String> = metadata
        .workspace_packages()
        .into_iter()
        .filter(|package| {
            package.targets.iter().any(|target| {
                (target.kind.iter()).any(|kind| matches!(kind, cargo_metadata::TargetKind::CDyLib))
            })
        })
        .map(|package| package.name.to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// A fresh machine has the toolchain but not the wasm32-unknown-unknown
/// standard library: add it with rustup, for the toolchain
/// rust-toolchain.toml pins.
pub fn ensure_target(root: &Path) -> Result<()> {
    let installed = Command::new("rustup")
        .current_dir(root)
        .args(["target", "list", "--installed"])
        .output()
        .with_context(|| {
            format!("cannot run rustup: witness needs rustup to install the {TARGET} target")
        })?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("installing the {TARGET} target");
    let mut add = Command::new("rustup");
    add.current_dir(root).args(["target", "add", TARGET]);
    succeed(add)
}

/// Guests built against another WIT tree than wit/.
pub struct Built {
    /// The tree, retargeted: what their citations are checked against.
    pub wit: PathBuf,
    /// `<guest>.wasm` for each guest that built, `<guest>.build-error.txt`
    /// for each that did not.
    pub components: PathBuf,
}

/// Builds every guest against the WIT tree `wit` in `work` (a copy of
/// guests/ beside the prepared tree, as `../../wit` in the checkout), one
/// package at a time so that a guest that does not build is named.
pub fn build_against(root: &Path, wit: &Path, work: &Path) -> Result<Built> {
    crate::wit_tree::mirror(&root.join("guests"), &work.join("guests"))?;
    let tree = work.join("wit");
    crate::wit_tree::prepare(root, wit, &tree)?;
    ensure_target(root)?;
    let target_dir = work.join("target");
    let components = components_dir(&target_dir);
    std::fs::create_dir_all(&components)?;
    for guest in names(&root.join("guests"))? {
        let component = components.join(format!("{guest}.wasm"));
        let build_error = components.join(format!("{guest}.build-error.txt"));
        for stale in [&component, &build_error] {
            if stale.exists() {
                std::fs::remove_file(stale)?;
            }
        }
        let output = build(root, &work.join("guests"), &target_dir, Some(&guest))
            .output()
            .context("cannot run cargo build for the guests")?;
        let built = if output.status.success() {
            componentize(&target_dir, &guest).map_err(|e| format!("{e:#}").into_bytes())
        } else {
            Err(output.stderr)
        };
        match built {
            Ok(()) => eprintln!("guest `{guest}` builds against {}", wit.display()),
            Err(error) => {
                eprintln!("guest `{guest}` does NOT build against {}", wit.display());
                std::fs::write(&build_error, error)?;
            }
        }
    }
    Ok(Built {
        wit: tree,
        components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component whose core module calls `now` of monotonic-clock and
    /// `get-random-u64` of random, of WASI `clocks` and `random`.
    fn component_importing(clocks: &str, random: &str) -> Vec<u8> {
        use wasm_encoder::{EntityType, ImportSection, Module, TypeSection, ValType};
        let wit = format!(
            "package witness:test;
             world guest {{
               import wasi:clocks/monotonic-clock@{clocks};
               import wasi:random/random@{random};
             }}
             package wasi:clocks@{clocks} {{ interface monotonic-clock {{ now: func() -> u64; }} }}
             package wasi:random@{random} {{ interface random {{ get-random-u64: func() -> u64; }} }}"
        );
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve.push_str("guest.wit", &wit).unwrap();
        let world = resolve.select_world(&[package], Some("guest")).unwrap();
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I64]);
        let mut imports = ImportSection::new();
        let function = EntityType::Function(0);
        imports.import(
            &format!("wasi:clocks/monotonic-clock@{clocks}"),
            "now",
            function,
        );
        imports.import(
            &format!("wasi:random/random@{random}"),
            "get-random-u64",
            function,
        );
        let mut module = Module::new();
        module.section(&types).section(&imports);
        let mut bytes = module.finish();
        wit_component::embed_component_metadata(
            &mut bytes,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .unwrap();
        let encoder = wit_component::ComponentEncoder::default().module(&bytes);
        encoder.unwrap().encode().unwrap()
    }

    #[test]
    fn a_guest_of_one_wasi_release_passes() {
        one_release(&component_importing("0.2.0", "0.2.0")).unwrap();
    }

    #[test]
    fn a_guest_carrying_items_of_two_wasi_releases_fails() {
        let error = one_release(&component_importing("0.2.0", "0.2.6")).unwrap_err();
        assert!(error.to_string().contains("of 2 releases"), "{error}");
    }
}
