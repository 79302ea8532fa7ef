//! Hosts: the WASI implementations a case runs on.

pub mod wasmtime;

use crate::outcome::Outcome;
use std::path::Path;
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
