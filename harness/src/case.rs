//! Case files: `cases/<family>/<case>.toml`, loaded and validated.
//!
//! Every error names the file, line and column and says what to do.

use crate::expectation::{Expectation, ExpectedOutcome, HostMessages};
use crate::host::RunSettings;
use crate::observations::Observations;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// One validated case file.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: CaseName,
    pub path: PathBuf,
    pub summary: String,
    pub guest: String,
    pub scenario: String,
    /// Where `scenario = ...` stands, for errors about the scenario.
    pub scenario_at: Position,
    pub spec: Citation,
    pub run: RunSettings,
    pub expect: Expectation,
    pub divergences: Vec<Divergence>,
}

/// `<family>::<case>`, from the file's path under `cases/`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CaseName {
    pub family: String,
    pub case: String,
}

/// What part of the spec a case tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Citation {
    /// A clause quoted from the docs of a WIT item, e.g. `wasi:io/poll@0.2.12#poll`:
    /// whole, contiguous sentences. `nearest` says why the case can only
    /// approach the clause (no guest can exercise it as written).
    Clause {
        item: String,
        clause: String,
        nearest: Option<String>,
    },
    /// The item's docs say nothing about this: the open question.
    Silent { item: String, question: String },
}

/// A host known to violate the spec: on it, the case expects the
/// known-wrong outcome, and fails as stale the day the host is fixed.
#[derive(Clone, Debug)]
pub struct Divergence {
    pub host: String,
    pub upstream: String,
    pub expect: Expectation,
}

/// What a case file may refer to outside itself.
#[derive(Clone, Debug)]
pub struct Known {
    /// The guests a case may name.
    pub guests: BTreeSet<String>,
    /// Where draft upstream issues live (`upstream/`), for divergences
    /// whose issue is not filed yet.
    pub drafts_dir: PathBuf,
}

/// A line and column (both from 1) in a case file.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A case file that could not be loaded.
#[derive(Clone, Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub at: Position,
    pub message: String,
    pub help: String,
}

impl Case {
    /// The expectation on `host`, and the divergence it comes from if any.
    pub fn expectation_for(&self, host: &str) -> (&Expectation, Option<&Divergence>) {
        match self.divergences.iter().find(|d| d.host == host) {
            Some(divergence) => (&divergence.expect, Some(divergence)),
            None => (&self.expect, None),
        }
    }
}

impl Citation {
    /// The cited WIT item.
    pub fn item(&self) -> &str {
        match self {
            Citation::Clause { item, .. } | Citation::Silent { item, .. } => item,
        }
    }
}

impl fmt::Display for CaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.family, self.case)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Position { line, column } = self.at;
        write!(
            f,
            "{}:{line}:{column}: {}\n  help: {}",
            self.path.display(),
            self.message,
            self.help
        )
    }
}

impl Position {
    fn of(source: &str, offset: usize) -> Position {
        let before = &source[..offset.min(source.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// Every case file under `dir`, each loaded or with the reason it was not.
/// A broken file never hides the others.
pub fn load_dir(dir: &Path, known: &Known) -> Vec<(CaseName, Result<Case, LoadError>)> {
    let mut loaded = Vec::new();
    for path in case_files(dir) {
        let name = name_of(dir, &path);
        let case = load(&path, name.clone(), known);
        loaded.push((name, case));
    }
    loaded.sort_by(|a, b| a.0.cmp(&b.0));
    loaded
}

fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "toml") {
                files.push(path);
            }
        }
    }
    files
}

/// `cases/poll/empty-list.toml` → `poll::empty-list`.
fn name_of(dir: &Path, path: &Path) -> CaseName {
    let relative = path.strip_prefix(dir).unwrap_or(path).with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let case = parts.pop().unwrap_or_default();
    CaseName {
        family: parts.join("::"),
        case,
    }
}

/// Loads one case file.
pub fn load(path: &Path, name: CaseName, known: &Known) -> Result<Case, LoadError> {
    let source = std::fs::read_to_string(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        at: Position { line: 1, column: 1 },
        message: format!("cannot read the case file: {e}"),
        help: "check the file's permissions and encoding (UTF-8)".into(),
    })?;
    let error = |(span, message, help): Invalid| LoadError {
        path: path.to_path_buf(),
        at: Position::of(&source, span.start),
        message,
        help,
    };
    let file: CaseFile = toml::from_str(&source).map_err(|e| {
        error((
            e.span().unwrap_or(0..0),
            e.message().trim().to_string(),
            "see \"Case files\" in the README for the keys a case takes".into(),
        ))
    })?;
    if name.family.is_empty() || name.family.contains("::") {
        return Err(error((
            0..0,
            "a case file must sit exactly one directory below the cases directory".into(),
            "move it to cases/<family>/<case>.toml".into(),
        )));
    }
    if !known.guests.contains(file.guest.get_ref()) {
        return Err(error((
            file.guest.span(),
            format!("there is no guest named `{}`", file.guest.get_ref()),
            format!(
                "a guest is a directory guests/<name>/ with a src/main.rs; known guests: {}",
                list(&known.guests)
            ),
        )));
    }
    let spec = into_citation(file.spec).map_err(error)?;
    let expect = into_expectation(file.expect).map_err(error)?;
    let mut divergences = Vec::new();
    for divergence in file.divergence {
        check_upstream(&divergence.upstream, &known.drafts_dir).map_err(error)?;
        if divergences
            .iter()
            .any(|d: &Divergence| d.host == *divergence.host.get_ref())
        {
            return Err(error((
                divergence.host.span(),
                format!(
                    "a second divergence for host `{}`",
                    divergence.host.get_ref()
                ),
                "a host diverges one way per case: keep one [[divergence]] for it".into(),
            )));
        }
        let expect = into_expectation(divergence.expect).map_err(error)?;
        divergences.push(Divergence {
            host: divergence.host.into_inner(),
            upstream: divergence.upstream.into_inner(),
            expect,
        });
    }
    let run = into_run_settings(file.run).map_err(error)?;
    Ok(Case {
        name,
        path: path.to_path_buf(),
        summary: file.summary,
        guest: file.guest.into_inner(),
        scenario_at: Position::of(&source, file.scenario.span().start),
        scenario: file.scenario.into_inner(),
        spec,
        run,
        expect,
        divergences,
    })
}

/// A divergence names the upstream issue, or until it is filed, its draft:
/// `draft:<file>` in the drafts directory.
fn check_upstream(upstream: &Spanned<String>, drafts_dir: &Path) -> Result<(), Invalid> {
    if upstream.get_ref().starts_with("https://") {
        return Ok(());
    }
    match upstream.get_ref().strip_prefix("draft:") {
        Some(draft) if drafts_dir.join(draft).is_file() => Ok(()),
        Some(draft) => Err((
            upstream.span(),
            format!("there is no draft issue `{draft}` in {}", drafts_dir.display()),
            "write the draft there, or link the filed issue".into(),
        )),
        None => Err((
            upstream.span(),
            "a divergence needs the upstream issue's address".into(),
            "link the issue that tracks the host's bug (https://...), or `draft:<file>` for a draft in upstream/ not filed yet".into(),
        )),
    }
}

fn list(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A case file as written. Unknown keys are errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    summary: String,
    guest: Spanned<String>,
    scenario: Spanned<String>,
    spec: Spanned<SpecFile>,
    #[serde(default)]
    run: RunFile,
    expect: Spanned<ExpectFile>,
    #[serde(default)]
    divergence: Vec<DivergenceFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    item: String,
    clause: Option<String>,
    silent: Option<String>,
    nearest: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RunFile {
    deadline_ms: Option<Spanned<u64>>,
    stdin: Option<String>,
    stderr_capacity: Option<usize>,
    #[serde(default)]
    scratch_dir: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DivergenceFile {
    host: Spanned<String>,
    upstream: Spanned<String>,
    expect: Spanned<ExpectFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    outcome: Spanned<OutcomeKind>,
    exit: Option<Spanned<i32>>,
    by: Option<Spanned<TrapBy>>,
    code: Option<Spanned<String>>,
    message: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    observations: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum OutcomeKind {
    Completed,
    Trap,
    Hang,
    HostPanic,
    Crash,
    LinkError,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum TrapBy {
    Host,
    Guest,
}

/// A validation error: where, what, and what to do.
type Invalid = (Range<usize>, String, String);

fn into_run_settings(run: RunFile) -> Result<RunSettings, Invalid> {
    let defaults = RunSettings::default();
    let deadline = match run.deadline_ms {
        None => defaults.deadline,
        Some(ms) if *ms.get_ref() > 0 => Duration::from_millis(*ms.get_ref()),
        Some(ms) => {
            return Err((
                ms.span(),
                "`deadline-ms` must be positive".into(),
                "give the deadline in milliseconds, e.g. 500".into(),
            ));
        }
    };
    Ok(RunSettings {
        deadline,
        stdin: run.stdin.map_or(defaults.stdin, String::into_bytes),
        stderr_capacity: run.stderr_capacity.unwrap_or(defaults.stderr_capacity),
        scratch_dir: run.scratch_dir,
    })
}

fn into_citation(spec: Spanned<SpecFile>) -> Result<Citation, Invalid> {
    let span = spec.span();
    let SpecFile {
        item,
        clause,
        silent,
        nearest,
    } = spec.into_inner();
    match (clause, silent, nearest) {
        (Some(clause), None, _) if clause.trim().is_empty() => Err((
            span,
            "`clause` is empty".into(),
            "quote whole sentences of the item's docs".into(),
        )),
        (Some(clause), None, nearest) => Ok(Citation::Clause { item, clause, nearest }),
        (None, Some(question), None) => Ok(Citation::Silent { item, question }),
        (None, Some(_), Some(_)) => Err((
            span,
            "`nearest` goes with `clause`, not `silent`".into(),
            "a case that approaches a clause quotes it; a silent one has no clause to approach".into(),
        )),
        _ => Err((
            span,
            "[spec] needs exactly one of `clause` and `silent`".into(),
            "quote the clause of the item's docs this case tests, or say `silent = \"<the open question>\"`".into(),
        )),
    }
}

fn into_expectation(expect: Spanned<ExpectFile>) -> Result<Expectation, Invalid> {
    let table_span = expect.span();
    let ExpectFile {
        outcome,
        exit,
        by,
        code,
        message,
        observations,
    } = expect.into_inner();
    let kind = *outcome.get_ref();
    let messages = |message: Option<Spanned<BTreeMap<String, String>>>| {
        HostMessages(message.map(Spanned::into_inner).unwrap_or_default())
    };
    let is_guest_trap =
        kind == OutcomeKind::Trap && by.as_ref().is_some_and(|by| *by.get_ref() == TrapBy::Guest);
    let takes_message = matches!(
        kind,
        OutcomeKind::Trap | OutcomeKind::HostPanic | OutcomeKind::LinkError
    ) && !is_guest_trap;
    // Each optional key, where it stands, whether this expectation takes
    // it, and which expectations do.
    let keys = [
        (
            "exit",
            exit.as_ref().map(Spanned::span),
            kind == OutcomeKind::Completed,
            "outcome = \"completed\"",
        ),
        (
            "by",
            by.as_ref().map(Spanned::span),
            kind == OutcomeKind::Trap,
            "outcome = \"trap\"",
        ),
        (
            "code",
            code.as_ref().map(Spanned::span),
            is_guest_trap,
            "a trap with by = \"guest\"",
        ),
        (
            "message",
            message.as_ref().map(Spanned::span),
            takes_message,
            "a trap with by = \"host\", host-panic and link-error",
        ),
    ];
    for (key, span, applies, takers) in keys {
        if let Some(span) = span
            && !applies
        {
            return Err((
                span,
                format!("`{key}` applies only to {takers}"),
                "remove it; see \"Case files\" in the README for the keys each outcome takes"
                    .into(),
            ));
        }
    }
    if let Some(message) = &message
        && message
            .get_ref()
            .values()
            .any(|part| part.trim().is_empty())
    {
        return Err((
            message.span(),
            "an empty message part matches every message".into(),
            "record a part of the message the host gives, e.g. `message.wasmtime = \"empty poll list\"`".into(),
        ));
    }
    let outcome = match kind {
        OutcomeKind::Completed => ExpectedOutcome::Completed {
            exit: exit.map_or(0, Spanned::into_inner),
        },
        OutcomeKind::Trap => match by.map(Spanned::into_inner) {
            None => {
                return Err((
                    outcome.span(),
                    "a trap needs `by`".into(),
                    "say `by = \"host\"` (a host import or the canonical ABI refused the call) or `by = \"guest\"` (the wasm code trapped)".into(),
                ));
            }
            Some(TrapBy::Host) => ExpectedOutcome::HostTrap {
                message: messages(message),
            },
            Some(TrapBy::Guest) => match code {
                Some(code) => ExpectedOutcome::GuestTrap {
                    code: code.into_inner(),
                },
                None => {
                    return Err((
                        table_span,
                        "a guest trap needs `code`".into(),
                        "name the trap, e.g. `code = \"unreachable-code-reached\"`".into(),
                    ));
                }
            },
        },
        OutcomeKind::Hang => ExpectedOutcome::Hang,
        OutcomeKind::HostPanic => ExpectedOutcome::HostPanic {
            message: messages(message),
        },
        OutcomeKind::Crash => ExpectedOutcome::Crash,
        OutcomeKind::LinkError => ExpectedOutcome::LinkError {
            message: messages(message),
        },
    };
    let observations = observations
        .into_iter()
        .map(|(name, value)| {
            (
                name,
                serde_json::to_value(value).expect("a TOML value is JSON"),
            )
        })
        .collect();
    Ok(Expectation {
        outcome,
        observations: Observations(observations),
    })
}
