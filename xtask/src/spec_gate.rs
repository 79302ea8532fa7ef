//! `cargo xtask test --wit <dir>`: the CI gate for a change to the WIT.
//!
//! The guests are rebuilt against the changed WIT in target/spec-gate/
//! (one package at a time, so a guest that no longer builds is named), the
//! spec check lists the citations that changed, then the suite runs with
//! `WITNESS_WIT_DIR` and `WITNESS_COMPONENTS_DIR` pointing there: every
//! trial checks its case's citation against the changed docs, and runs the
//! guest built against them.

use crate::{guests, witness_spec};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Where the spec under test and the guests built against it live
/// (`spec --wit` reads the same `wit/` there).
pub fn work_dir(root: &Path) -> PathBuf {
    root.join("target/spec-gate")
}

/// Rebuilds the guests against `wit`, then runs `suite` (the conformance
/// suite's command) against them.
pub fn run(root: &Path, wit: &Path, mut suite: Command) -> Result<ExitCode> {
    let built = guests::build_against(root, wit, &work_dir(root))?;
    // The citations first, as one list; the suite then fails each case.
    crate::status(witness_spec(root, "check", Some(&built.wit)))?;
    suite
        .env("WITNESS_WIT_DIR", &built.wit)
        .env("WITNESS_COMPONENTS_DIR", &built.components);
    crate::status(suite)
}
