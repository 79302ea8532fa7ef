//! Building the guest components.

use crate::{cargo, succeed};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// `cargo build` of the guests in `guests_dir` for wasm32-wasip2 into
/// `target_dir`, so that components land in
/// `<target_dir>/wasm32-wasip2/release/<guest>.wasm`; only `package` if given.
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

/// A fresh machine has the toolchain but not the wasm32-wasip2 standard
/// library: add it with rustup, for the toolchain rust-toolchain.toml pins.
pub fn ensure_target(root: &Path) -> Result<()> {
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
