//! The guests' worlds in wit/witness.wit, read with wit-parser: which
//! packages each imports, so that a host that cannot confine wasi:http or
//! wasi:sockets knows which cases it cannot run; and the worlds retargeted
//! to the versions of another WIT tree's packages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use wit_parser::{Resolve, UnresolvedPackageGroup, WorldKey};

/// The package witness's worlds are in.
pub const GUESTS_PACKAGE: &str = "witness:guests";

/// What a host must provide a guest of a world.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    /// The unversioned names of the packages it imports (`wasi:io`,
    /// `wasi:http`, ...).
    pub imports: BTreeSet<String>,
    /// The unversioned names of the interfaces it imports (`wasi:cli/exit`).
    pub interfaces: BTreeSet<String>,
    /// It is a command (it exports `wasi:cli/run`); else a proxy, run by
    /// handing its `wasi:http/incoming-handler` a request.
    pub command: bool,
}

/// World name → what a guest of that world needs. `Err` when wit/ does
/// not parse.
pub fn needs(wit_dir: &Path) -> Result<BTreeMap<String, Needs>, String> {
    let commands = commands(wit_dir)?;
    let (resolve, package) = guests_package(wit_dir)?;
    let mut worlds = BTreeMap::new();
    for &world in resolve.packages[package].worlds.values() {
        let world = &resolve.worlds[world];
        let mut packages = BTreeSet::new();
        let mut interfaces = BTreeSet::new();
        for key in world.imports.keys() {
            let WorldKey::Interface(id) = key else {
                continue;
            };
            let interface = &resolve.interfaces[*id];
            let Some(package) = interface.package else {
                continue;
            };
            let name = &resolve.packages[package].name;
            let package = format!("{}:{}", name.namespace, name.name);
            if let Some(interface) = &interface.name {
                interfaces.insert(format!("{package}/{interface}"));
            }
            packages.insert(package);
        }
        let needs = Needs {
            imports: packages,
            interfaces,
            command: commands.contains(&world.name),
        };
        worlds.insert(world.name.clone(), needs);
    }
    Ok(worlds)
}

/// The worlds of command guests: those that export `wasi:cli/run` (the
/// others are proxies, exporting `wasi:http/incoming-handler`).
pub fn commands(wit_dir: &Path) -> Result<BTreeSet<String>, String> {
    let (resolve, package) = guests_package(wit_dir)?;
    let exports_run = |world: &wit_parser::World| {
        world.exports.keys().any(|key| match key {
            WorldKey::Interface(id) => {
                let interface = &resolve.interfaces[*id];
                let package = interface
                    .package
                    .map(|package| &resolve.packages[package].name);
                package.is_some_and(|name| name.namespace == "wasi" && name.name == "cli")
                    && interface.name.as_deref() == Some("run")
            }
            WorldKey::Name(_) => false,
        })
    };
    Ok(resolve.packages[package]
        .worlds
        .values()
        .map(|&world| &resolve.worlds[world])
        .filter(|world| exports_run(world))
        .map(|world| world.name.clone())
        .collect())
}

/// wit/ resolved, and its package, which must be witness's.
fn guests_package(wit_dir: &Path) -> Result<(Resolve, wit_parser::PackageId), String> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(wit_dir)
        .map_err(|e| format!("cannot read the WIT in {}: {e:?}", wit_dir.display()))?;
    let name = resolve.packages[package].name.to_string();
    if name != GUESTS_PACKAGE {
        return Err(format!(
            "{} holds {name}, not {GUESTS_PACKAGE}",
            wit_dir.display()
        ));
    }
    Ok((resolve, package))
}

/// The WASI 0.2 release of the WIT in `wit_dir` (its wasi:io's version):
/// what the guests built against it carry.
pub fn wasi_release(wit_dir: &Path) -> Option<String> {
    dep_versions(wit_dir).ok()?.remove("wasi:io")
}

/// The version of each package in `<wit_dir>/deps/` (a `.wit` file or a
/// directory per package), read with wit-parser: `wasi:io` → `0.2.0`.
fn dep_versions(wit_dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let deps = wit_dir.join("deps");
    let entries =
        std::fs::read_dir(&deps).map_err(|e| format!("cannot read {}: {e}", deps.display()))?;
    let mut versions = BTreeMap::new();
    for path in entries.flatten().map(|entry| entry.path()) {
        let group = if path.is_dir() {
            UnresolvedPackageGroup::parse_dir(&path).map_err(|e| format!("{e:?}"))
        } else if path.extension().is_some_and(|ext| ext == "wit") {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            UnresolvedPackageGroup::parse(&path, &text).map_err(|(_, e)| format!("{e:?}"))
        } else {
            continue;
        }
        .map_err(|e| format!("{} does not parse: {e}", path.display()))?;
        let name = group.main.name;
        if let Some(version) = name.version {
            versions.insert(
                format!("{}:{}", name.namespace, name.name),
                version.to_string(),
            );
        }
    }
    Ok(versions)
}

/// Rewrites `<wit_dir>/witness.wit` so that every `<package>/<interface>@<version>`
/// it names carries the version `deps/` has of that package: the guests'
/// worlds then resolve against any release of WASI 0.2 (`cargo xtask test
/// --wit`). Returns each package whose version changed, `wasi:io 0.2.12 → 0.2.0`.
pub fn retarget(wit_dir: &Path) -> Result<Vec<String>, String> {
    let versions = dep_versions(wit_dir)?;
    let path = wit_dir.join("witness.wit");
    let mut text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut changed = BTreeSet::new();
    for (package, version) in &versions {
        let mut rewritten = String::new();
        let mut rest = text.as_str();
        let prefix = format!("{package}/");
        while let Some(at) = rest.find(&prefix) {
            let (before, reference) = rest.split_at(at + prefix.len());
            rewritten.push_str(before);
            let interface_end = reference
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(reference.len());
            rewritten.push_str(&reference[..interface_end]);
            rest = &reference[interface_end..];
            if let Some(versioned) = rest.strip_prefix('@') {
                let version_end = versioned
                    .find(|c: char| !(c.is_ascii_alphanumeric() || ".+-".contains(c)))
                    .unwrap_or(versioned.len());
                let old = &versioned[..version_end];
                if old != version {
                    changed.insert(format!("{package} {old} → {version}"));
                }
                rewritten.push('@');
                rewritten.push_str(version);
                rest = &versioned[version_end..];
            }
        }
        rewritten.push_str(rest);
        text = rewritten;
    }
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(changed.into_iter().collect())
}
