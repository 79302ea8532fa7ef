//! Cells of earlier time-lapse runs, under target/timelapse/cells/: an
//! installed release does not change, so what it did on a case is kept,
//! keyed by everything the run depends on — the column (the host's entry,
//! the release its guests carried, and the records that say what the kind
//! varies between on the case), the guest component's bytes, the case
//! file's text, and the harness itself (this program's bytes,
//! harness/jco/'s runners and locks): a change to any of them runs the case
//! afresh. A harness error is not kept.
//! `--fresh` runs every case afresh (and keeps what it saw).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use witness::case::Case;
use witness::history::matrix::Cell;

pub struct CellCache {
    dir: PathBuf,
    /// The harness's digest: this program and the jco runners.
    harness: Vec<u8>,
    fresh: bool,
}

/// One kept cell, and whether it was run again to confirm it (the sides
/// of a change are).
#[derive(Serialize, Deserialize)]
struct Kept {
    cell: Cell,
    confirmed: bool,
}

impl CellCache {
    pub fn open(dir: PathBuf, jco_runners: &Path, fresh: bool) -> Result<CellCache, String> {
        let mut harness = Sha256::new();
        let program = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
        harness.update(
            std::fs::read(&program)
                .map_err(|e| format!("cannot read {}: {e}", program.display()))?,
        );
        let mut runners: Vec<PathBuf> = (std::fs::read_dir(jco_runners))
            .map_err(|e| format!("cannot list {}: {e}", jco_runners.display()))?
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|extension| extension == "mjs"))
            .collect();
        // And the locks jco's hosts install from.
        for lock in ["", "deno/", "bun/", "chromium/"] {
            runners.push(jco_runners.join(format!("{lock}package-lock.json")));
        }
        runners.sort();
        for runner in runners {
            harness.update(std::fs::read(&runner).unwrap_or_default());
        }
        Ok(CellCache {
            dir,
            harness: harness.finalize().to_vec(),
            fresh,
        })
    }

    /// The key of `case` in `column`, whose guest is `component`.
    pub fn key(&self, column: &str, component: &Path, case: &Case) -> Option<String> {
        let mut key = Sha256::new();
        key.update(&self.harness);
        key.update(column.as_bytes());
        key.update([0]);
        key.update(std::fs::read(component).ok()?);
        key.update(std::fs::read(&case.path).ok()?);
        key.update(case.name.to_string().as_bytes());
        let digest = key.finalize();
        Some(digest.iter().map(|byte| format!("{byte:02x}")).collect())
    }

    /// The cell kept under `key`, and whether it was confirmed.
    pub fn get(&self, key: &str) -> Option<(Cell, bool)> {
        if self.fresh {
            return None;
        }
        let text = std::fs::read_to_string(self.dir.join(key)).ok()?;
        let kept: Kept = serde_json::from_str(&text).ok()?;
        Some((kept.cell, kept.confirmed))
    }

    /// Keeps `cell` under `key` (best effort: a cell not kept runs again).
    pub fn put(&self, key: &str, cell: &Cell, confirmed: bool) {
        let kept = Kept {
            cell: cell.clone(),
            confirmed,
        };
        let Ok(text) = serde_json::to_string(&kept) else {
            return;
        };
        let fresh = self.dir.join(format!("{key}.{}", std::process::id()));
        let _ = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&fresh, text))
            .and_then(|()| std::fs::rename(&fresh, self.dir.join(key)));
    }
}
