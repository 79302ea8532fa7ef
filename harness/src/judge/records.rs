//! Host records: what each host actually did on each case, one file per
//! host, `records/<host>.toml`. The regression question is asked here: did
//! the host change since its behaviour was recorded? `cargo xtask bless`
//! writes them; people review them like code.

use crate::case::CaseName;
use crate::case::outcome_pattern::{OutcomePattern, OutcomeTable, Writer};
use crate::file_error::{FileError, Invalid, Position};
use crate::outcome::Observed;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One host's records, by case name (`poll::empty-list`).
#[derive(Clone, Debug)]
pub struct HostRecords {
    pub path: PathBuf,
    pub entries: BTreeMap<String, Record>,
}

/// What a host did on one case.
#[derive(Clone, Debug)]
pub struct Record {
    pub seen: OutcomePattern,
    /// Other outcomes the host was seen to produce on this case from run
    /// to run, each with the reason it varies (as WPT's `known_intermittent`).
    pub intermittent: Vec<Intermittent>,
    /// Where the record starts in its file.
    pub at: Position,
}

#[derive(Clone, Debug)]
pub struct Intermittent {
    pub reason: String,
    pub seen: OutcomePattern,
}

impl HostRecords {
    /// `records/<host>.toml`; a host with no file has no records yet.
    pub fn load(path: &Path) -> Result<HostRecords, FileError> {
        let source = match std::fs::read_to_string(path) {
            Ok(source) => source,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(FileError::unreadable(path, &e)),
        };
        let file: BTreeMap<Spanned<String>, Spanned<OutcomeTable>> = toml::from_str(&source)
            .map_err(|e| {
                FileError::toml(
                    path,
                    &source,
                    &e,
                    "see \"Host records\" in the README for the keys a record takes",
                )
            })?;
        let mut entries = BTreeMap::new();
        for (case, table) in file {
            let at = Position::of(&source, case.span().start);
            let record = into_record(table).map_err(|e| FileError::at(path, &source, e))?;
            entries.insert(case.into_inner(), Record { at, ..record });
        }
        Ok(HostRecords {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Every host's records in `dir` (`<host>.toml`), by host name.
    pub fn load_all(dir: &Path) -> Result<Vec<(String, HostRecords)>, FileError> {
        let entries = std::fs::read_dir(dir).map_err(|e| FileError::unreadable(dir, &e))?;
        let mut all = Vec::new();
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.extension().is_some_and(|ext| ext == "toml")
                && let Some(host) = path.file_stem().and_then(|stem| stem.to_str())
            {
                all.push((host.to_string(), HostRecords::load(&path)?));
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    pub fn get(&self, case: &CaseName) -> Option<&Record> {
        self.entries.get(&case.to_string())
    }
}

impl Record {
    /// Whether some observation of the record (or of an intermittent
    /// alternative) holds the string `value`, at any depth: a host returned
    /// that error code.
    pub fn shows(&self, value: &str) -> bool {
        std::iter::once(&self.seen)
            .chain(
                self.intermittent
                    .iter()
                    .map(|alternative| &alternative.seen),
            )
            .flat_map(|seen| seen.observations.values())
            .any(|pattern| pattern.holds_string(value))
    }

    /// `Ok` when `observed` is what the host was recorded doing (or one of
    /// its intermittent alternatives); otherwise how it differs from the record.
    pub fn check(&self, observed: &Observed) -> Result<(), Vec<String>> {
        let problems = self.seen.mismatches(observed);
        if problems.is_empty()
            || self
                .intermittent
                .iter()
                .any(|alternative| alternative.seen.mismatches(observed).is_empty())
        {
            return Ok(());
        }
        Err(problems)
    }
}

fn into_record(table: Spanned<OutcomeTable>) -> Result<Record, Invalid> {
    let span = table.span();
    let table = table.into_inner();
    if let Some(reason) = &table.reason {
        return Err((
            reason.span(),
            "`reason` belongs to an intermittent alternative".into(),
            "explain why the host varies inside `intermittent = [{ reason = \"...\", outcome = ... }]`".into(),
        ));
    }
    let seen = table.pattern(span, Writer::Record)?;
    let mut intermittent = Vec::new();
    for alternative in table
        .intermittent
        .map(Spanned::into_inner)
        .unwrap_or_default()
    {
        let span = alternative.span();
        let alternative = alternative.into_inner();
        let reason = match &alternative.reason {
            Some(reason) if !reason.get_ref().trim().is_empty() => reason.get_ref().clone(),
            _ => {
                return Err((
                    span,
                    "an intermittent alternative needs a `reason`".into(),
                    "say why this host's outcome varies from run to run on this case".into(),
                ));
            }
        };
        if let Some(nested) = &alternative.intermittent {
            return Err((
                nested.span(),
                "an intermittent alternative cannot have alternatives of its own".into(),
                "list every alternative in the record's own `intermittent`".into(),
            ));
        }
        intermittent.push(Intermittent {
            reason,
            seen: alternative.pattern(span, Writer::Intermittent)?,
        });
    }
    Ok(Record {
        seen,
        intermittent,
        at: Position::default(),
    })
}
