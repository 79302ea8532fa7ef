//! Building the guest components.

use crate::{cargo, succeed};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// Builds every guest for wasm32-wasip2 into the workspace's target/, so
/// the harness finds them at target/wasm32-wasip2/release/<guest>.wasm.
pub fn build(root: &Path) -> Result<()> {
    ensure_target(root)?;
    let mut build = cargo(root);
    build
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(root.join("guests/Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target"));
    succeed(build)
}

/// A fresh machine has the toolchain but not the wasm32-wasip2 standard
/// library: add it with rustup, for the toolchain rust-toolchain.toml pins.
fn ensure_target(root: &Path) -> Result<()> {
    let installed = Command::new("rustup")
        .current_dir(root)
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup: witness needs rustup to install the wasm32-wasip2 target")?;
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
