//! The commands a failure report gives, to run its trial again or to
//! record what its host did: as this run was started (`cargo xtask` in a
//! checkout, the package's runner in a package), with each host as
//! `--host` chose it, so that they run where they are pasted.

use crate::layout::Layout;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct Rerun {
    /// The package's runner, in a packaged suite; else `cargo xtask`.
    packaged: Option<&'static str>,
    /// A host's `--host` value where it is not the host's name
    /// (`wasmtime-cli=PATH`, `NAME:adapter=COMMAND`).
    selected_as: BTreeMap<String, String>,
    /// The run's `--records DIR`, where it is not the package's own.
    records: Option<PathBuf>,
}

impl Rerun {
    /// For a run of `layout` whose hosts `--host` chose as `selected_as`
    /// says (host name, the value that chose it).
    pub fn new(layout: &Layout, selected_as: BTreeMap<String, String>) -> Rerun {
        // Where README's `tar -xzf` puts it: a CI job's copy is gone with the job.
        let packaged = layout.is_packaged().then_some("./witness/witness");
        let records =
            (layout.records_dir() != layout.root().join("records")).then(|| layout.records_dir());
        Rerun {
            packaged,
            selected_as,
            records,
        }
    }

    /// The command that runs just `trial`, of `host`.
    pub fn trial(&self, host: &str, trial: &str) -> String {
        match &self.packaged {
            None => format!(
                "cargo xtask test --host {} -- --exact {trial}",
                self.host(host)
            ),
            Some(runner) => format!(
                "{runner} test --host {}{} --exact {trial}",
                self.host(host),
                self.records()
            ),
        }
    }

    /// The command that records what `host` did on `trial` alone.
    pub fn bless(&self, host: &str, trial: &str) -> String {
        match &self.packaged {
            None => format!(
                "cargo xtask bless --host {} --exact {trial}",
                self.host(host)
            ),
            Some(runner) => format!(
                "{runner} test --bless --host {}{} --exact {trial}",
                self.host(host),
                self.records()
            ),
        }
    }

    fn host(&self, host: &str) -> String {
        quote(self.selected_as.get(host).map_or(host, String::as_str))
    }

    fn records(&self) -> String {
        (self.records.as_ref())
            .map(|dir| format!(" --records {}", quote(&dir.to_string_lossy())))
            .unwrap_or_default()
    }
}

/// `word` as a shell reads it back.
fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| word.to_string(), |quoted| quoted.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_chosen_by_path_is_rerun_by_that_path() {
        let rerun = Rerun {
            selected_as: BTreeMap::from([(
                "mine".to_string(),
                "mine:adapter=/opt/my runtime --serve".to_string(),
            )]),
            ..Rerun::default()
        };
        assert_eq!(
            rerun.trial("mine", "mine::poll::empty-list"),
            "cargo xtask test --host 'mine:adapter=/opt/my runtime --serve' -- --exact mine::poll::empty-list"
        );
        assert_eq!(
            rerun.bless("jco", "jco::filesystem::link"),
            "cargo xtask bless --host jco --exact jco::filesystem::link"
        );
    }

    #[test]
    fn a_packaged_run_is_rerun_by_its_runner_with_its_records() {
        let rerun = Rerun {
            packaged: Some("./witness/witness"),
            selected_as: BTreeMap::from([(
                "wasmtime-cli".to_string(),
                "wasmtime-cli=/ci/bin/wasmtime".to_string(),
            )]),
            records: Some(PathBuf::from("/ci/records")),
        };
        assert_eq!(
            rerun.trial("wasmtime-cli", "wasmtime-cli::poll::empty-list"),
            "./witness/witness test --host 'wasmtime-cli=/ci/bin/wasmtime' --records /ci/records --exact wasmtime-cli::poll::empty-list"
        );
        assert_eq!(
            rerun.bless("wasmtime-cli", "wasmtime-cli::poll::empty-list"),
            "./witness/witness test --bless --host 'wasmtime-cli=/ci/bin/wasmtime' --records /ci/records --exact wasmtime-cli::poll::empty-list"
        );
    }
}
