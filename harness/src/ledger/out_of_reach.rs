//! `out-of-reach.toml`: the ledger's open entries that say why they are
//! open — an error no guest can provoke on a private loopback network, one
//! only a peer witness does not run yet would, one a silent case asks
//! about. A reason covers nothing: the entry stays open, and
//! `cargo xtask spec coverage --open` prints the reason beside it.
//!
//! A reason must name an entry of the WIT under test that is still open:
//! one naming nothing, or an entry a case now covers, is an error at its
//! line. Items are matched without their version, so that a reason
//! outlives a WIT release that keeps the sentence.

use super::{Entry, Ledger, Measure, Status};
use crate::file_error::{FileError, Invalid};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The open entries of these packages and measures must each give a reason.
pub const REASONED: [(&str, Measure); 1] = [("wasi:sockets", Measure::Errors)];

const HELP: &str = "out-of-reach.toml is a list of `[[entry]]` tables, each with `item` (as \
`cargo xtask spec coverage --open` prints it, with its interface: \
`wasi:sockets/tcp@0.2.12#tcp-socket.accept`), `text` (the bullet, sentence or error code, \
exactly) and `why`";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    entry: Vec<toml::Spanned<Reason>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    item: String,
    text: String,
    why: String,
}

/// The reasons, by the index of the ledger entry each explains.
pub type Reasons = BTreeMap<usize, String>;

/// The reasons in `path` (none when it is absent), matched to `ledger`'s
/// entries.
pub fn read(path: &Path, ledger: &Ledger) -> Result<Reasons, FileError> {
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reasons::new()),
        Err(e) => return Err(FileError::unreadable(path, &e)),
    };
    let file: File =
        toml::from_str(&source).map_err(|e| FileError::toml(path, &source, &e, HELP))?;
    let mut reasons = Reasons::new();
    for reason in file.entry {
        let span = reason.span();
        let reason = reason.into_inner();
        let at = |(message, help): (String, String)| {
            let invalid: Invalid = (span.clone(), message, help);
            FileError::at(path, &source, invalid)
        };
        let index = matching(&reason, ledger).map_err(at)?;
        if reasons.insert(index, reason.why).is_some() {
            return Err(at((
                format!("a second reason for `{}` {:?}", reason.item, reason.text),
                "keep one reason per entry".into(),
            )));
        }
    }
    Ok(reasons)
}

/// The index of the open entry `reason` names.
fn matching(reason: &Reason, ledger: &Ledger) -> Result<usize, (String, String)> {
    let unversioned = |item: &str| -> String {
        match item.split_once('@') {
            Some((before, after)) => {
                let member = after.split_once('#').map_or("", |(_, member)| member);
                format!("{before}#{member}")
            }
            None => item.to_string(),
        }
    };
    let wanted = unversioned(&reason.item);
    let found = (ledger.entries.iter().enumerate()).find(|(_, entry)| {
        unversioned(&entry.item) == wanted && entry.text.as_deref() == Some(reason.text.as_str())
    });
    match found {
        None => Err((
            format!(
                "no ledger entry is `{}` saying {:?}",
                reason.item, reason.text
            ),
            "copy the item and the text from `cargo xtask spec coverage --open`, or remove the reason if the WIT dropped the sentence".into(),
        )),
        Some((_, entry)) if entry.status != Status::Open => Err((
            format!(
                "`{}` {:?} is {} now: a case reaches it",
                reason.item,
                reason.text,
                match entry.status {
                    Status::Covered => "covered",
                    _ => "approached",
                }
            ),
            "remove this reason".into(),
        )),
        Some((index, _)) => Ok(index),
    }
}

/// The open entries of [`REASONED`] that give no reason.
pub fn unreasoned<'a>(ledger: &'a Ledger, reasons: &Reasons) -> Vec<&'a Entry> {
    (ledger.entries.iter().enumerate())
        .filter(|(index, entry)| {
            entry.status == Status::Open
                && !reasons.contains_key(index)
                && (REASONED.iter()).any(|(package, measure)| {
                    entry.package() == *package && entry.measure == *measure
                })
        })
        .map(|(_, entry)| entry)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(item: &str, text: &str, status: Status) -> Entry {
        Entry {
            measure: Measure::Errors,
            interface: item.split('#').next().unwrap().into(),
            item: item.into(),
            text: Some(text.into()),
            status,
            cases: Vec::new(),
            hosts: Default::default(),
        }
    }

    fn ledger() -> Ledger {
        Ledger {
            entries: vec![
                entry("wasi:sockets/network#error-code", "timeout", Status::Open),
                entry(
                    "wasi:sockets/network#error-code",
                    "out-of-memory",
                    Status::Open,
                ),
                entry(
                    "wasi:sockets/network#error-code",
                    "invalid-state",
                    Status::Covered,
                ),
                entry("wasi:filesystem/types#error-code", "quota", Status::Open),
            ],
            ..Ledger::default()
        }
    }

    fn read_text(text: &str) -> Result<Reasons, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out-of-reach.toml");
        std::fs::write(&path, text).unwrap();
        read(&path, &ledger()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_reason_names_an_open_entry_and_the_rest_must_give_one() {
        let reasons = read_text(
            "[[entry]]\nitem = \"wasi:sockets/network@0.2.12#error-code\"\ntext = \"timeout\"\nwhy = \"no real network\"\n",
        )
        .unwrap();
        assert_eq!(reasons, Reasons::from([(0, "no real network".into())]));
        let ledger = ledger();
        let unreasoned: Vec<&str> = unreasoned(&ledger, &reasons)
            .iter()
            .map(|entry| entry.text.as_deref().unwrap())
            .collect();
        // Only wasi:sockets' errors must say why.
        assert_eq!(unreasoned, ["out-of-memory"]);
    }

    #[test]
    fn a_reason_for_nothing_or_for_a_covered_entry_is_an_error_at_its_line() {
        let error = read_text(
            "# why\n[[entry]]\nitem = \"wasi:sockets/network#error-code\"\ntext = \"no such code\"\nwhy = \"-\"\n",
        )
        .unwrap_err();
        assert!(
            error.contains("out-of-reach.toml:2:1: no ledger entry"),
            "{error}"
        );
        let error = read_text(
            "[[entry]]\nitem = \"wasi:sockets/network#error-code\"\ntext = \"invalid-state\"\nwhy = \"-\"\n",
        )
        .unwrap_err();
        assert!(
            error.contains(":1:1: ") && error.contains("is covered now"),
            "{error}"
        );
        let timeout = "[[entry]]\nitem = \"wasi:sockets/network#error-code\"\ntext = \"timeout\"\nwhy = \"-\"\n";
        let error = read_text(&format!("{timeout}{timeout}")).unwrap_err();
        assert!(error.contains(":5:1: a second reason"), "{error}");
        let error = read_text("[[entry]]\nitem = \"x\"\n").unwrap_err();
        assert!(error.contains("missing field"), "{error}");
    }
}
