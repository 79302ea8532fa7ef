//! Where things live in a witness checkout.

use std::path::{Path, PathBuf};

/// The guests that only the harness's own self-tests use: one that only the
/// deliberately faulty hosts link, and two of WASI alone that every host
/// runs (the confinement's, and the limits and isolation's).
pub const SELFTEST_GUESTS: [&str; 3] = ["selftest", "selftest-network", "selftest-limits"];

/// The self-tests' hosts: the embedded configurations with a deliberately
/// faulty import, named apart so that no record or divergence of theirs
/// can stand for a real host's.
pub const SELFTEST_HOSTS: [&str; 3] = [
    "wasmtime-faulty",
    "wasmtime-current-thread-faulty",
    "wasmtime-sync-faulty",
];

/// The directory of the running program when it holds a packaged suite's
/// manifest: the package's root.
fn packaged_root() -> Option<PathBuf> {
    let program = std::env::current_exe().ok()?;
    let dir = program.parent()?;
    dir.join(crate::package::MANIFEST)
        .is_file()
        .then(|| dir.to_path_buf())
}

/// The paths the harness reads: case files, guest sources, built guest
/// components and the compilation cache.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
    components: PathBuf,
    wit: PathBuf,
    records: PathBuf,
    packaged: bool,
}

impl Layout {
    /// The checkout this harness was built from, or the packaged suite this
    /// program is part of (its directory holds the package's manifest).
    /// `cargo xtask test --wit` points `WITNESS_WIT_DIR` at the spec under
    /// test and `WITNESS_COMPONENTS_DIR` at the guests built against it.
    pub fn from_env() -> Layout {
        let packaged = packaged_root();
        let root = packaged.clone().unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("harness/ sits inside the workspace")
                .to_path_buf()
        });
        let components = std::env::var_os("WITNESS_COMPONENTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/components"));
        let wit =
            std::env::var_os("WITNESS_WIT_DIR").map_or_else(|| root.join("wit"), PathBuf::from);
        Layout {
            records: root.join("records"),
            root,
            components,
            wit,
            packaged: packaged.is_some(),
        }
    }

    /// This layout with the records in `dir` (a runtime's own, say).
    pub fn with_records(self, dir: PathBuf) -> Layout {
        Layout {
            records: dir,
            ..self
        }
    }

    /// Whether this is a packaged suite (`cargo xtask package`), whose
    /// guests must be those it was packaged with.
    pub fn is_packaged(&self) -> bool {
        self.packaged
    }

    /// The checkout's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `cases/`: one directory per family, one TOML file per case.
    pub fn cases_dir(&self) -> PathBuf {
        self.root.join("cases")
    }

    /// The spec under test: witness's worlds and, in deps/, the WASI packages.
    pub fn wit_dir(&self) -> PathBuf {
        self.wit.clone()
    }

    /// What each host did on each case: `records/<host>.toml`.
    pub fn records_dir(&self) -> PathBuf {
        self.records.clone()
    }

    /// `coverage.toml`: the coverage ledger's floors, per package.
    pub fn coverage_floors(&self) -> PathBuf {
        self.root.join("coverage.toml")
    }

    /// `out-of-reach.toml`: why open ledger entries are open.
    pub fn out_of_reach(&self) -> PathBuf {
        self.root.join("out-of-reach.toml")
    }

    /// `hosts.toml`: the hosts witness knows.
    pub fn hosts_registry(&self) -> PathBuf {
        self.root.join("hosts.toml")
    }

    /// Where `cargo xtask hosts install` puts each host: `target/hosts/<name>/`.
    pub fn hosts_install_root(&self) -> PathBuf {
        self.root.join("target/hosts")
    }

    /// The registry of hosts, read.
    pub fn registry(
        &self,
    ) -> Result<crate::host::registry::Registry, crate::file_error::FileError> {
        let path = self.hosts_registry();
        let registry = crate::host::registry::Registry::load(&path, self.hosts_install_root())?;
        // The suite builds every host's guests against one WIT: a host
        // cannot have its own.
        if let Some(name) =
            (registry.entries.iter()).find_map(|(name, entry)| entry.wit.as_ref().map(|_| name))
        {
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            // The `wit` line after the host's header.
            let header = source.find(name.as_str()).unwrap_or(0);
            let at = source[header..]
                .find("\nwit")
                .map_or(header, |line| header + line + 1);
            return Err(crate::file_error::FileError::at(
                &path,
                &source,
                (
                    at..at,
                    format!("host `{name}` has `wit`, which only timelapse.toml's hosts have"),
                    "remove it: the suite builds every host's guests against wit/ (or `--wit DIR`)"
                        .into(),
                ),
            ));
        }
        Ok(registry)
    }

    /// This checkout with the guests built against another WIT tree in
    /// `work` (xtask's `guests::build_against`): the tree in `work/wit`,
    /// the components in `work/target/components`.
    pub fn built_against(&self, work: &Path) -> Layout {
        Layout {
            components: work.join("target/components"),
            wit: work.join("wit"),
            ..self.clone()
        }
    }

    /// The self-test hosts' records.
    pub fn selftest_records_dir(&self) -> PathBuf {
        self.root.join("harness/tests/selftest-records")
    }

    /// The self-test suite's case files.
    pub fn selftest_cases_dir(&self) -> PathBuf {
        self.root.join("harness/tests/selftest-cases")
    }

    /// Draft upstream issues, for divergences not filed yet.
    pub fn drafts_dir(&self) -> PathBuf {
        self.root.join("upstream")
    }

    /// The guest programs' sources: a guest is `guests/<name>/src/lib.rs`.
    pub fn guests_dir(&self) -> PathBuf {
        self.root.join("guests")
    }

    /// The built component of a guest.
    pub fn component(&self, guest: &str) -> PathBuf {
        self.components.join(format!("{guest}.wasm"))
    }

    /// Where `cargo xtask test --wit` leaves the error of a guest that no
    /// longer builds.
    pub fn build_error(&self, guest: &str) -> PathBuf {
        self.components.join(format!("{guest}.build-error.txt"))
    }

    /// wasmtime's compilation cache, so each guest is compiled once, not
    /// once per test process.
    pub fn compile_cache_dir(&self) -> PathBuf {
        self.root.join("target/witness/compile-cache")
    }

    /// The JSON of the last run of the suite, for `cargo xtask report`.
    pub fn last_run(&self) -> PathBuf {
        self.root.join("target/witness/last-run.json")
    }

    /// A path as the user would type it from the checkout's root.
    pub fn display<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}
