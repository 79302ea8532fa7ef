//! `cargo xtask bless`: what each host did, written into its records file
//! with toml_edit, so that comments, key order and formatting survive.
//!
//! A record that still matches what the host did is left as it is, so
//! blessing twice changes nothing. Bless writes only `records/`: never a
//! case's `[spec]`, `[expect]` or divergence, so it cannot make a spec
//! violation pass.

use crate::case::CaseName;
use crate::judge::records::HostRecords;
use crate::outcome::{Observed, Outcome, Trap};
use serde_json::Value;
use similar::TextDiff;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

/// What trials observed while blessing, by host, then case.
#[derive(Debug, Default)]
pub struct Blessings(Mutex<BTreeMap<String, BTreeMap<String, Observed>>>);

impl Blessings {
    pub fn add(&self, host: &str, case: &CaseName, observed: &Observed) {
        self.0
            .lock()
            .expect("no panics while locked")
            .entry(host.to_string())
            .or_default()
            .insert(case.to_string(), observed.clone());
    }

    /// Writes every host's observations into `<records_dir>/<host>.toml`
    /// and returns the unified diff of what changed (empty when nothing did).
    pub fn write(&self, records_dir: &Path) -> Result<String, String> {
        let blessed = std::mem::take(&mut *self.0.lock().expect("no panics while locked"));
        let mut diff = String::new();
        for (host, observed) in blessed {
            let path = records_dir.join(format!("{host}.toml"));
            let records = HostRecords::load(&path).map_err(|e| {
                format!("{e}\nbless does not overwrite a records file it cannot read: fix it first")
            })?;
            let before = std::fs::read_to_string(&path).unwrap_or_else(|_| header(&host));
            let after = bless(&before, &records, &observed)?;
            if after != before {
                std::fs::create_dir_all(records_dir).map_err(|e| e.to_string())?;
                std::fs::write(&path, &after)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                let name = path.display().to_string();
                diff.push_str(
                    &TextDiff::from_lines(&before, &after)
                        .unified_diff()
                        .header(&name, &name)
                        .to_string(),
                );
            }
        }
        Ok(diff)
    }
}

/// The comment a new records file starts with.
fn header(host: &str) -> String {
    format!(
        "# What `{host}` did on each case: its regression baseline, not a spec claim.\n\
         # Written by `cargo xtask bless --host {host}`, reviewed like code; see\n\
         # \"Host records\" in the README.\n"
    )
}

/// `source` (a records file, parsed as `records`) with a record for each
/// observation that its current record does not match.
pub fn bless(
    source: &str,
    records: &HostRecords,
    observed: &BTreeMap<String, Observed>,
) -> Result<String, String> {
    let mut document: DocumentMut = source.parse().map_err(|e| format!("{e}"))?;
    // A file of comments alone (a new file's header): toml_edit keeps them
    // as the text after the last table, which would put them below every
    // record added. Keep them on top.
    let mut header = String::new();
    if document.as_table().is_empty() {
        header = document.trailing().as_str().unwrap_or_default().to_string();
        document.set_trailing("");
    }
    let mut changed = false;
    for (case, observed) in observed {
        let unchanged = records
            .entries
            .get(case)
            .is_some_and(|record| record.check(observed).is_ok());
        if unchanged {
            continue;
        }
        let Ok(observations) = &observed.observations else {
            return Err(format!(
                "{case}: the guest broke the observation protocol, so there is nothing to record"
            ));
        };
        let entry = document
            .entry(case)
            .or_insert_with(|| Item::Table(Table::new()));
        let Some(table) = entry.as_table_mut() else {
            return Err(format!("{case}: the record is not a table"));
        };
        // The record's own keys are rewritten in place, each keeping its
        // comments; a key the new outcome does not take goes. Its
        // intermittent alternatives (written by a person, with reasons) stay.
        let mut keys = outcome_keys(&observed.outcome);
        if !observations.0.is_empty() {
            let mut inline = InlineTable::new();
            for (name, value) in &observations.0 {
                inline.insert(name, toml_value(value));
            }
            keys.push(("observations", inline.into()));
        }
        let gone: Vec<String> = table
            .iter()
            .map(|(key, _)| key.to_string())
            .filter(|key| key != "intermittent" && !keys.iter().any(|(new, _)| new == key))
            .collect();
        for key in gone {
            table.remove(&key);
        }
        for (key, mut value) in keys {
            match table.get_mut(key).and_then(Item::as_value_mut) {
                Some(old) => {
                    *value.decor_mut() = old.decor().clone();
                    *old = value;
                }
                None => {
                    table.insert(key, toml_edit::value(value));
                }
            }
        }
        changed = true;
    }
    if !changed {
        return Ok(source.to_string());
    }
    document.as_table_mut().sort_values();
    Ok(format!("{header}{document}"))
}

/// The keys that say how a run ended, as a record writes them.
fn outcome_keys(outcome: &Outcome) -> Vec<(&'static str, toml_edit::Value)> {
    let mut keys = vec![("outcome", outcome.kind().into())];
    match outcome {
        Outcome::Completed { exit: 0 } | Outcome::Hang { .. } => {}
        Outcome::Completed { exit } => keys.push(("exit", i64::from(*exit).into())),
        Outcome::Trap(Trap::ByHost { message }) => {
            keys.push(("by", "host".into()));
            keys.push(("message", message.as_str().into()));
        }
        Outcome::Trap(Trap::ByGuest { code, .. }) => {
            keys.push(("by", "guest".into()));
            keys.push(("code", code.as_str().into()));
        }
        Outcome::HostPanic { message } | Outcome::LinkError { message } => {
            keys.push(("message", message.as_str().into()));
        }
        Outcome::Crash { detail } => keys.push(("message", detail.as_str().into())),
    }
    keys
}

fn toml_value(value: &Value) -> toml_edit::Value {
    match value {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(toml_value(item));
            }
            array.into()
        }
        Value::Object(object) => {
            let mut inline = InlineTable::new();
            for (key, value) in object {
                inline.insert(key, toml_value(value));
            }
            inline.into()
        }
        // Observations never hold a null (observations.rs refuses them).
        Value::Null => unreachable!("observations hold no null"),
    }
}
