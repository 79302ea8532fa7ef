//! What the records know a kind of host to vary between from run to run:
//! their intermittent alternatives. The time-lapse judges nothing by a
//! record, but two releases that each did one of those outcomes, however
//! steadily, are no evidence that the kind changed between them.

use std::collections::BTreeMap;
use witness::case::Case;
use witness::history::summary::WASI_RELEASES;
use witness::host::registry::{Kind, Registry, Runtime};
use witness::judge::records::{HostRecords, Record};
use witness::outcome::Observed;

/// For each kind of host, the records of hosts.toml's hosts of that kind
/// (on Node, as the time-lapse runs jco), by host name.
pub struct Alternation {
    by_kind: BTreeMap<String, Vec<(String, HostRecords)>>,
}

impl Alternation {
    /// The records in `records` of the hosts of `hosts`.
    pub fn load(hosts: &Registry, records: &std::path::Path) -> Result<Alternation, String> {
        let mut by_kind: BTreeMap<String, Vec<(String, HostRecords)>> = BTreeMap::new();
        for (name, entry) in &hosts.entries {
            if entry.runtime != Runtime::default() {
                continue;
            }
            let records = HostRecords::load(&records.join(format!("{name}.toml")))
                .map_err(|e| e.to_string())?;
            (by_kind.entry(entry.kind.name().to_string()).or_default())
                .push((name.clone(), records));
        }
        Ok(Alternation { by_kind })
    }

    /// The records of `kind` on `case` that list outcomes it varies between
    /// (the WASI release columns' are their wasmtime CLI's).
    fn records<'a>(
        &'a self,
        kind: &str,
        case: &Case,
    ) -> impl Iterator<Item = (&'a str, &'a Record)> {
        let kind = match kind {
            WASI_RELEASES => Kind::WasmtimeCli.name(),
            kind => kind,
        };
        (self.by_kind.get(kind).into_iter().flatten())
            .filter_map(|(host, records)| Some((host.as_str(), records.get(&case.name)?)))
            .filter(|(_, record)| !record.intermittent.is_empty())
    }

    /// Which record lists `observed` among the outcomes `kind` varies
    /// between on `case`, and why it varies.
    pub fn of(&self, kind: &str, case: &Case, observed: &Observed) -> Option<String> {
        let (host, record) =
            (self.records(kind, case)).find(|(_, record)| record.check(observed).is_ok())?;
        let reasons: Vec<&str> = (record.intermittent.iter())
            .map(|alternative| alternative.reason.as_str())
            .collect();
        Some(format!("records/{host}.toml: {}", reasons.join("; ")))
    }

    /// What a kept cell of `kind` on `case` depends on here: those records.
    pub fn key(&self, kind: &str, case: &Case) -> String {
        (self.records(kind, case))
            .map(|(host, record)| format!("{host} {:?} {:?}", record.seen, record.intermittent))
            .collect()
    }
}
