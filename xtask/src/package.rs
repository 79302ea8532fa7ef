//! `cargo xtask package`: the suite in one archive, for CI jobs that have
//! no Rust toolchain (the harness's `witness::package` says what it holds
//! and how its runner checks it).

use crate::{Build, build_beside_guests, cargo, succeed};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What of the checkout a packaged suite reads: the cases and records, the
/// hosts registry and the adapters' sources and locks (harness/jco), the
/// WIT the cases cite, the guests' sources (the coverage ledger reads
/// which functions each calls), the drafts records name, and the ledger's
/// floors and reasons.
const FROM_CHECKOUT: [&str; 9] = [
    "cases",
    "records",
    "hosts.toml",
    "harness/jco",
    "wit",
    "guests",
    "upstream",
    "coverage.toml",
    "out-of-reach.toml",
];

/// Builds the guests and the lean runner, lays the package out in
/// `out/witness/` and archives it there; returns the archive.
pub fn make(root: &Path, out: &Path, commit: Option<String>) -> Result<PathBuf> {
    // The dev profile's build of the lean path (`cargo xtask test --host
    // wasmtime-cli=PATH`), shared with it: its dependencies are optimised
    // (Cargo.toml), and it builds in 92 s where a release build takes 156.
    eprintln!("building the guests and the runner (without the embedded hosts)");
    let mut runner = cargo(root);
    runner
        .args(["build", "--quiet", "--package", "witness", "--bins"])
        .args(Build::Lean.features());
    build_beside_guests(root, runner)?;
    let commit = match commit {
        Some(commit) => commit,
        None => checkout_commit(root)?,
    };
    let staging = out.join("witness");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot empty {}", staging.display()))?;
    }
    for path in FROM_CHECKOUT {
        copy(&root.join(path), &staging.join(path))?;
    }
    copy(
        &root.join("target/components"),
        &staging.join("target/components"),
    )?;
    let built = root.join("target/debug/witness");
    let program = staging.join("witness");
    std::fs::copy(&built, &program).context("cannot copy the runner")?;
    // Without the debug info of witness's own crates (two thirds of its
    // size): `-S` is both binutils' and macOS's.
    let mut strip = Command::new("strip");
    strip.arg("-S").arg(&program);
    succeed(strip).context("cannot strip the runner's debug info with `strip -S` (binutils)")?;
    // The checkout's runner writes the manifest of its guests.
    let mut manifest = Command::new(&built);
    manifest
        .args(["manifest", "--commit", &commit, "--out"])
        .arg(staging.join("witness-package.toml"));
    succeed(manifest)?;
    // A file name of the commit (a ref `owner/witness@v1` has slashes).
    let stem: String = (commit.chars().take(24))
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let archive = out.join(format!(
        "witness-{stem}-{}-{}.tar.gz",
        std::env::consts::ARCH,
        std::env::consts::OS
    ));
    let mut tar = Command::new("tar");
    tar.arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(out)
        .arg("witness");
    succeed(tar)?;
    let size = std::fs::metadata(&archive)?.len();
    eprintln!(
        "packaged commit {commit}: {} ({:.1} MB); unpack it and run `./witness/witness test --host wasmtime-cli=PATH`",
        archive.display(),
        size as f64 / 1e6
    );
    Ok(archive)
}

/// The checkout's commit, `-dirty` when tracked files changed.
fn checkout_commit(root: &Path) -> Result<String> {
    let git = |arguments: &[&str]| -> Result<String> {
        let output = Command::new("git")
            .current_dir(root)
            .args(arguments)
            .output()
            .context("cannot run git")?;
        if !output.status.success() {
            bail!(
                "git {} failed: is this a git checkout?",
                arguments.join(" ")
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    Ok(match dirty {
        true => format!("{head}-dirty"),
        false => head,
    })
}

/// Copies a file or a tree, leaving out what is built or installed there
/// (`target/`, `node_modules/`).
fn copy(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to).with_context(|| format!("cannot make {}", to.display()))?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == "target" || name == "node_modules" {
                continue;
            }
            copy(&entry.path(), &to.join(&name))?;
        }
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}
