//! Another WIT tree than wit/, made ready for the guests: a spec under
//! test (`test --wit`, `spec --wit`) or an older WASI release for the
//! time-lapse, copied with witness's worlds retargeted to its versions.

use crate::witness_spec;
use anyhow::{Context, Result};
use std::path::Path;

/// Copies the WIT tree `wit` to `copy` with witness's worlds, retargeted
/// to the versions of its packages: what the gate, `spec --wit` and the
/// time-lapse's guests for an older release read. `wit` is a tree in wit/'s
/// layout, or a checkout of a WebAssembly/WASI 0.2 release.
pub fn prepare(root: &Path, wit: &Path, copy: &Path) -> Result<()> {
    // Made whole beside `copy`, then mirrored into it: a file that comes
    // out the same keeps its time, and cargo does not rebuild the guests
    // built against it for nothing.
    let staging = copy.with_extension("staging");
    match WASI_CHECKOUT_LAYOUTS
        .iter()
        .find(|(packages, _)| wit.join(packages).is_dir())
    {
        Some((packages, within)) => assemble_wasi_checkout(&wit.join(packages), within, &staging)?,
        None => mirror(wit, &staging)?,
    }
    // witness's own files, unless the tree has its own: the guests' worlds,
    // and the lock of the documents the WIT links (see assemble_wasi_checkout
    // for the documents themselves).
    for own in ["witness.wit", "documents.lock"] {
        if !staging.join(own).is_file() {
            std::fs::copy(root.join("wit").join(own), staging.join(own))?;
        }
    }
    crate::succeed(witness_spec(root, "retarget", Some(&staging)))?;
    mirror(&staging, copy)
}

/// Where WebAssembly/WASI's releases keep each package's WIT: the
/// directory of packages, and where a package's .wit files are inside its
/// own directory. v0.2.9 on (the `wasi-0.2` branch): `proposals/<package>/wit/`;
/// v0.2.1 to v0.2.8: `wasip2/<package>/`; v0.2.0: `preview2/<package>/`.
const WASI_CHECKOUT_LAYOUTS: [(&str, &str); 3] =
    [("proposals", "wit"), ("wasip2", ""), ("preview2", "")];

/// A WebAssembly/WASI checkout's packages, each as `deps/<package>/` (a
/// package's own `wit/deps/` holds copies of the others, left out), and
/// the documents beside a package's WIT that its docs link
/// (`proposals/sockets/TcpSocketOperationalSemantics.md`) in
/// `docs/<package>/`, read instead of their locked hashes (the harness's
/// `spec::documents` reads that layout).
fn assemble_wasi_checkout(packages_dir: &Path, within: &str, into: &Path) -> Result<()> {
    if into.exists() {
        std::fs::remove_dir_all(into)?;
    }
    let mut packages = 0;
    let mut entries: Vec<_> = std::fs::read_dir(packages_dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let wit = entry.path().join(within);
        if !wit.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(entry.path())? {
            let file = file?.path();
            let name = file.file_name().unwrap_or_default();
            if file.extension().is_some_and(|ext| ext == "md") && name != "README.md" {
                let docs = into.join("docs").join(entry.file_name());
                std::fs::create_dir_all(&docs)?;
                std::fs::copy(&file, docs.join(name))?;
            }
        }
        let package = into.join("deps").join(entry.file_name());
        std::fs::create_dir_all(&package)?;
        for file in std::fs::read_dir(&wit)? {
            let file = file?.path();
            if file.extension().is_some_and(|ext| ext == "wit") {
                std::fs::copy(&file, package.join(file.file_name().unwrap_or_default()))?;
            }
        }
        packages += 1;
    }
    if packages == 0 {
        anyhow::bail!(
            "{} holds no package with .wit files: WASI 0.2 is on the repository's `wasi-0.2` branch (`main` is 0.3)",
            packages_dir.display()
        );
    }
    Ok(())
}

/// Makes `to` hold what `from` holds, build output (`target/`) aside,
/// writing only the files whose bytes differ: the others keep their
/// modification times, so that cargo rebuilds only what changed.
pub fn mirror(from: &Path, to: &Path) -> Result<()> {
    mirror_tree(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

fn mirror_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(to)? {
        let entry = entry?;
        if entry.file_name() == "target" || from.join(entry.file_name()).exists() {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "target" {
                mirror_tree(&entry.path(), &target)?;
            }
        } else {
            let bytes = std::fs::read(entry.path())?;
            if std::fs::read(&target).ok().as_ref() != Some(&bytes) {
                std::fs::write(&target, bytes)?;
            }
        }
    }
    Ok(())
}
