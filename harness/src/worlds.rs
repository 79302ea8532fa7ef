//! The guests' worlds in wit/witness.wit, read with wit-parser: which
//! packages each imports, so that a host that cannot confine wasi:http or
//! wasi:sockets knows which cases it cannot run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use wit_parser::{Resolve, WorldKey};

/// The package witness's worlds are in.
const GUESTS_PACKAGE: &str = "witness:guests";

/// World name → the unversioned names of the packages it imports
/// (`wasi:io`, `wasi:http`, ...). `Err` when wit/ does not parse.
pub fn imports(wit_dir: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
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
    let mut worlds = BTreeMap::new();
    for &world in resolve.packages[package].worlds.values() {
        let world = &resolve.worlds[world];
        let packages = world
            .imports
            .keys()
            .filter_map(|key| match key {
                WorldKey::Interface(id) => resolve.interfaces[*id].package,
                WorldKey::Name(_) => None,
            })
            .map(|package| {
                let name = &resolve.packages[package].name;
                format!("{}:{}", name.namespace, name.name)
            })
            .collect();
        worlds.insert(world.name.clone(), packages);
    }
    Ok(worlds)
}
