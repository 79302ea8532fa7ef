//! A packaged suite (`cargo xtask package`): the built guest components,
//! the cases, records, hosts registry and adapters, and a runner built for
//! one platform, in one archive that a CI job with no Rust toolchain runs
//! (`./witness test --host wasmtime-cli=PATH`). Its manifest says what it
//! was built from, and its runner refuses guests other than those it lists:
//! a case's verdict holds only for the guest its records were made with.

use crate::case::Case;
use crate::file_error::FileError;
use crate::layout::Layout;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest's name, at the package's root beside the runner.
pub const MANIFEST: &str = "witness-package.toml";

/// What a package was built from.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// The witness commit (`-dirty` when its checkout had changes).
    pub commit: String,
    /// The WASI 0.2 release of the WIT the guests were built against.
    pub wit: String,
    /// The platform the runner was built for (`x86_64-linux`).
    pub platform: String,
    /// Each guest a case runs, by name: its component's SHA-256.
    pub guests: BTreeMap<String, String>,
}

impl Manifest {
    /// The manifest of `layout`'s built guests, those `cases` run.
    pub fn of(layout: &Layout, cases: &[Case], commit: &str) -> Result<Manifest, String> {
        let mut guests = BTreeMap::new();
        for case in cases {
            if !guests.contains_key(&case.guest) {
                guests.insert(case.guest.clone(), digest(&layout.component(&case.guest))?);
            }
        }
        Ok(Manifest {
            commit: commit.to_string(),
            wit: crate::spec::worlds::wasi_release(&layout.wit_dir())
                .ok_or("wit/deps/ has no wasi:io: run `cargo xtask wit sync`")?,
            platform: platform(),
            guests,
        })
    }

    /// The manifest of the package at `root`.
    pub fn load(root: &Path) -> Result<Manifest, FileError> {
        let path = root.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| FileError::unreadable(&path, &e))?;
        toml::from_str(&text).map_err(|e| {
            FileError::toml(
                &path,
                &text,
                &e,
                "the manifest is written by `cargo xtask package`: unpack the archive again",
            )
        })
    }

    /// Whether the package at `layout` runs `cases` with the guests it was
    /// built with: each case's guest listed, each listed component's
    /// digest the manifest's, the runner built for this platform.
    pub fn check(&self, layout: &Layout, cases: &[Case]) -> Result<(), String> {
        let again = "unpack the archive again, or package the suite anew from a witness checkout with `cargo xtask package`";
        if self.platform != platform() {
            return Err(format!(
                "this suite was packaged for {}, and this machine is {}: package it on this platform with `cargo xtask package`",
                self.platform,
                platform()
            ));
        }
        let mut problems = Vec::new();
        let wit = crate::spec::worlds::wasi_release(&layout.wit_dir());
        if wit.as_deref() != Some(self.wit.as_str()) {
            problems.push(format!(
                "{} is WASI {}, and the guests were built against WASI {}",
                layout.display(&layout.wit_dir()),
                wit.as_deref().unwrap_or("(no wasi:io)"),
                self.wit
            ));
        }
        for (guest, wanted) in &self.guests {
            let path = layout.component(guest);
            match digest(&path) {
                Ok(found) if &found == wanted => {}
                Ok(found) => problems.push(format!(
                    "{} is not the guest this suite was packaged with (commit {}): its digest is {found}, the manifest's {wanted}",
                    layout.display(&path),
                    self.commit
                )),
                Err(error) => problems.push(error),
            }
        }
        for case in cases {
            if !self.guests.contains_key(&case.guest) {
                problems.push(format!(
                    "case {} runs guest `{}`, which this suite was not packaged with (commit {})",
                    case.name, case.guest, self.commit
                ));
            }
        }
        match problems.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "{}: the suite runs cases only against the guests it was built with:\n  {}\n{again}",
                layout.display(&layout.root().join(MANIFEST)),
                problems.join("\n  ")
            )),
        }
    }
}

/// This machine's platform, as a package names it.
fn platform() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// `sha256:<hex>` of a file.
fn digest(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(format!("sha256:{:x}", Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::Manifest;
    use crate::layout::Layout;
    use crate::suite::Suite;

    /// The checkout's built guests pass their own manifest's check; a
    /// guest whose digest differs, or that the manifest does not list, is
    /// refused by name.
    #[test]
    fn a_package_runs_only_the_guests_it_was_built_with() {
        let layout = Layout::from_env();
        let cases: Vec<_> = (Suite::conformance(&layout).load().into_iter())
            .filter_map(|(_, case)| case.ok())
            .collect();
        let mut manifest = Manifest::of(&layout, &cases, "test").unwrap();
        assert_eq!(manifest.check(&layout, &cases), Ok(()));
        *manifest.guests.get_mut("poll").unwrap() = "sha256:0".into();
        let error = manifest.check(&layout, &cases).unwrap_err();
        assert!(
            error.contains(
                "target/components/poll.wasm is not the guest this suite was packaged with"
            ),
            "{error}"
        );
        manifest.guests.remove("poll");
        let error = manifest.check(&layout, &cases).unwrap_err();
        assert!(
            error.contains("runs guest `poll`, which this suite was not packaged with"),
            "{error}"
        );
    }
}
