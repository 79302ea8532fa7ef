//! Hosts: the WASI implementations a case runs on.

pub mod subprocess;
pub mod wasmtime;
pub mod wasmtime_sync;

use crate::outcome::Outcome;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// One run of one guest scenario.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// The guest's component file.
    pub component: &'a Path,
    /// `argv[1]`: the scenario to run, or `--list`.
    pub scenario: &'a str,
    pub settings: &'a RunSettings,
}

/// What a case may set about the world its guest runs in.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// After this long the harness stops the guest and records a hang.
    pub deadline: Duration,
    /// The bytes the guest's stdin holds; it is closed after them.
    pub stdin: Vec<u8>,
    /// How many bytes stderr accepts before it reports `closed`.
    pub stderr_capacity: usize,
    /// Preopen a fresh empty directory at `/scratch`.
    pub scratch_dir: bool,
}

impl Default for RunSettings {
    fn default() -> RunSettings {
        RunSettings {
            deadline: Duration::from_secs(10),
            stdin: Vec::new(),
            stderr_capacity: 1 << 20,
            scratch_dir: false,
        }
    }
}

/// What the host reports: how the run ended and the guest's raw output.
#[derive(Clone, Debug)]
pub struct HostRun {
    pub outcome: Outcome,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A WASI 0.2 implementation that runs guest components.
///
/// A host must turn every way a run can end — a trap, a panic inside its
/// own code, a guest that never returns — into an [`Outcome`]; it must never
/// panic or block past the deadline itself. `Err` is for what is not an
/// outcome of the guest: the host or the run's set-up failed.
pub trait Host: Send + Sync {
    /// The first part of every trial name on this host.
    fn name(&self) -> &str;

    fn run(&self, request: &RunRequest<'_>) -> Result<HostRun, String>;
}

/// The names of the [`embedded`] hosts, in their order: what trial names,
/// records files and divergences call them.
pub const EMBEDDED_HOSTS: [&str; 3] = ["wasmtime", "wasmtime-current-thread", "wasmtime-sync"];

/// The embedded wasmtime configurations, each a host of its own: async on a
/// multi-thread runtime (the default), async on a current-thread runtime,
/// and sync in a child process (`sync_program`, `witness-wasmtime-sync`).
pub fn embedded(cache_dir: PathBuf, sync_program: PathBuf) -> Vec<Arc<dyn Host>> {
    use self::wasmtime::{Flavor, WasmtimeHost};
    vec![
        Arc::new(WasmtimeHost::new(Flavor::MultiThread, cache_dir.clone())),
        Arc::new(WasmtimeHost::new(Flavor::CurrentThread, cache_dir.clone())),
        Arc::new(wasmtime_sync::WasmtimeSyncHost::new(
            sync_program,
            cache_dir,
        )),
    ]
}

/// The hosts named in `WITNESS_HOSTS` (comma-separated; `cargo xtask test
/// --host`), in `hosts`' order; all of them when it is unset or empty.
pub fn selected(hosts: Vec<Arc<dyn Host>>) -> Result<Vec<Arc<dyn Host>>, String> {
    let wanted: Vec<String> = std::env::var("WITNESS_HOSTS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    if wanted.is_empty() {
        return Ok(hosts);
    }
    let known: Vec<&str> = hosts.iter().map(|host| host.name()).collect();
    if let Some(unknown) = wanted.iter().find(|name| !known.contains(&name.as_str())) {
        return Err(format!(
            "there is no host named `{unknown}`; the hosts: {}",
            known.join(", ")
        ));
    }
    Ok(hosts
        .into_iter()
        .filter(|host| wanted.iter().any(|name| name == host.name()))
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_hosts_are_named_as_listed() {
        let hosts = super::embedded("cache".into(), "sync".into());
        let names: Vec<&str> = hosts.iter().map(|host| host.name()).collect();
        assert_eq!(names, super::EMBEDDED_HOSTS);
    }
}
