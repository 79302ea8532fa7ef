//! Case files: `cases/<family>/<case>.toml`, loaded and validated.
//!
//! Every error names the file, line and column and says what to do.

pub mod expectation;
pub mod outcome_pattern;
pub mod pattern;

use crate::case::expectation::Expectation;
use crate::case::outcome_pattern::{OutcomeTable, Writer};
use crate::file_error::{FileError, Invalid, Position};
use crate::host::RunSettings;
use crate::host::world::cli::{Invocation, Stream};
use crate::host::world::files::{At, Entry, Files, Preopen};
use crate::host::world::http::{HttpRequest, HttpResponse};
use crate::host::world::sockets::Sockets;
use crate::spec::worlds::Needs;
use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};
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
    /// What the spec allows; `None` for a silent case, which makes no
    /// conformance claim.
    pub expect: Option<Expectation>,
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
    /// `document` names a document of the WASI release the item's docs link
    /// (`TcpSocketOperationalSemantics.md`) when the clause is quoted from
    /// it rather than from the docs themselves.
    Clause {
        item: String,
        clause: String,
        nearest: Option<String>,
        document: Option<String>,
    },
    /// The item's docs say nothing about this: the open question, and
    /// once it is asked upstream, the address (until then
    /// `cargo xtask upstream` drafts it), or `comment:<address>` when an
    /// existing thread asks it and the evidence is still to be posted there.
    Silent {
        item: String,
        question: String,
        filed: Option<String>,
    },
}

/// Hosts known to violate the spec on this case, with the upstream issue
/// that tracks it: their violation passes as known, and fails as stale the
/// day the host conforms. What the host does instead is its record.
#[derive(Clone, Debug)]
pub struct Divergence {
    pub hosts: Vec<String>,
    /// `https://...`, `draft:<file>` for a draft in `upstream/`, or
    /// `comment:https://...` for an existing thread the evidence is to be
    /// posted on (`cargo xtask upstream` drafts the comment).
    pub upstream: String,
    /// Set when the hosts violate the clause only on some runs: a run that
    /// conforms is then no sign the divergence is gone, until enough runs
    /// show nothing (see [`Intermittent::runs_to_retire`]).
    pub intermittent: Option<Intermittent>,
}

/// Why a violation shows only on some runs, and how often it was seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Intermittent {
    pub reason: String,
    /// Seen `times` in `runs` runs: the rate the evidence measured.
    pub times: u64,
    pub runs: u64,
}

impl Intermittent {
    /// How many runs in a row must all conform before the divergence is
    /// stale: enough that, at the recorded rate, a host still violating
    /// would show it at least once with 99% probability — the smallest n
    /// with (1 - times/runs)^n <= 1%.
    pub fn runs_to_retire(&self) -> u64 {
        let rate = self.times as f64 / self.runs as f64;
        if rate >= 1.0 {
            return 1;
        }
        // ln_1p keeps a tiny rate from rounding ln(1 - rate) to 0.
        (0.01f64.ln() / (-rate).ln_1p()).ceil() as u64
    }
}

/// What a case file may refer to outside itself.
#[derive(Clone, Debug)]
pub struct Known {
    /// The guests a case may name, each with what its world needs.
    pub guests: BTreeMap<String, Needs>,
    /// Why wit/ could not be read, which leaves no guest known.
    pub wit_problem: Option<String>,
    /// The hosts a divergence may name.
    pub hosts: BTreeSet<String>,
    /// Where draft upstream issues live (`upstream/`), for divergences
    /// whose issue is not filed yet.
    pub drafts_dir: PathBuf,
}

/// A case file that could not be loaded.
pub type LoadError = FileError;

impl Case {
    /// The divergence recorded for `host`, if any.
    pub fn divergence(&self, host: &str) -> Option<&Divergence> {
        self.divergences
            .iter()
            .find(|d| d.hosts.iter().any(|h| h == host))
    }
}

impl Citation {
    /// What the case cites, in one line: the item (and the document its
    /// docs link, if the clause is quoted from one) and the clause, or the
    /// question.
    pub fn cites(&self) -> String {
        match self {
            Citation::Clause {
                item,
                clause,
                document: Some(document),
                ..
            } => format!("{item}, in {document}: {clause:?}"),
            Citation::Clause { item, clause, .. } => format!("{item}: {clause:?}"),
            Citation::Silent { item, question, .. } => format!("{item} is silent: {question}"),
        }
    }

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
    let source = std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e))?;
    let error = |invalid: Invalid| FileError::at(path, &source, invalid);
    let file: CaseFile = toml::from_str(&source).map_err(|e| {
        FileError::toml(
            path,
            &source,
            &e,
            "see \"Case files\" in the README for the keys a case takes",
        )
    })?;
    if name.family.is_empty() || name.family.contains("::") {
        return Err(error((
            0..0,
            "a case file must sit exactly one directory below the cases directory".into(),
            "move it to cases/<family>/<case>.toml".into(),
        )));
    }
    let Some(needs) = known.guests.get(file.guest.get_ref()) else {
        let help = match &known.wit_problem {
            Some(problem) => format!("no guest is known while wit/ does not read: {problem}"),
            None => format!(
                "a guest is a directory guests/<name>/ whose world `<name>` is in wit/witness.wit; known guests: {}",
                list(known.guests.keys())
            ),
        };
        return Err(error((
            file.guest.span(),
            format!("there is no guest named `{}`", file.guest.get_ref()),
            help,
        )));
    };
    if file.scenario.get_ref().is_empty() || file.scenario.get_ref().starts_with('-') {
        return Err(error((
            file.scenario.span(),
            format!("`{}` cannot name a scenario", file.scenario.get_ref()),
            "a scenario is argv[1] of the guest: a name that does not start with `-` (`--list` asks the guest for its scenarios)".into(),
        )));
    }
    let spec_span = file.spec.span();
    let spec = into_citation(file.spec).map_err(error)?;
    let expect = match (&spec, file.expect) {
        (Citation::Clause { .. }, Some(expect)) => Some(into_expectation(expect).map_err(error)?),
        (Citation::Silent { .. }, None) => None,
        (Citation::Clause { .. }, None) => {
            return Err(error((
                spec_span,
                "a case that cites a clause needs [expect]".into(),
                "say what the clause allows in [expect], or [[expect]] tables for alternatives"
                    .into(),
            )));
        }
        (Citation::Silent { .. }, Some(expect)) => {
            return Err(error((
                expect.span(),
                "a silent case makes no conformance claim, so it has no [expect]".into(),
                "remove [expect]: what each host does on this case is its record, in records/<host>.toml".into(),
            )));
        }
    };
    let mut divergences = Vec::new();
    let mut diverging = BTreeSet::new();
    for divergence in file.divergence {
        check_upstream(&divergence.upstream, &known.drafts_dir).map_err(error)?;
        if divergence.hosts.get_ref().is_empty() {
            return Err(error((
                divergence.hosts.span(),
                "a divergence names no host".into(),
                "list the hosts that violate the clause, e.g. `hosts = [\"wasmtime\"]`".into(),
            )));
        }
        let mut hosts = Vec::new();
        for host in divergence.hosts.into_inner() {
            if !known.hosts.contains(host.get_ref()) {
                return Err(error((
                    host.span(),
                    format!("there is no host named `{}`", host.get_ref()),
                    format!("known hosts: {}", list(&known.hosts)),
                )));
            }
            if !diverging.insert(host.get_ref().clone()) {
                return Err(error((
                    host.span(),
                    format!("host `{}` is named by a second divergence", host.get_ref()),
                    "a host diverges one way per case: name it in one [[divergence]]".into(),
                )));
            }
            hosts.push(host.into_inner());
        }
        let intermittent = match (divergence.intermittent, divergence.seen) {
            (None, None) => None,
            (Some(reason), Some(seen)) => {
                let (times, runs) = (seen.get_ref().times, seen.get_ref().runs);
                if times == 0 || runs < times {
                    return Err(error((
                        seen.span(),
                        format!("`seen` says {times} in {runs} runs"),
                        "say how often the violation showed: at least once, in at least as many runs".into(),
                    )));
                }
                Some(Intermittent {
                    reason: reason.into_inner(),
                    times,
                    runs,
                })
            }
            (Some(reason), None) => {
                return Err(error((
                    reason.span(),
                    "an intermittent divergence needs `seen`".into(),
                    "say how often it showed, as measured: `seen = { times = 3, runs = 2000 }`; a run of that many that shows nothing retires it".into(),
                )));
            }
            (None, Some(seen)) => {
                return Err(error((
                    seen.span(),
                    "`seen` goes with `intermittent`".into(),
                    "a divergence that shows on every run has no rate: leave `seen` out".into(),
                )));
            }
        };
        divergences.push(Divergence {
            hosts,
            upstream: divergence.upstream.into_inner(),
            intermittent,
        });
    }
    let run = into_run_settings(file.run, needs.clone()).map_err(error)?;
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
/// `draft:<file>` in the drafts directory; or `comment:<address>`, an
/// existing thread the evidence is still to be posted on.
fn check_upstream(upstream: &Spanned<String>, drafts_dir: &Path) -> Result<(), Invalid> {
    if is_thread(upstream.get_ref()) {
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
            "link the issue that tracks the host's bug (https://...), `comment:https://...` for an existing thread to post the evidence on, or `draft:<file>` for a draft in upstream/ not filed yet".into(),
        )),
    }
}

/// `https://...` (filed, or commented on), or `comment:https://...` (an
/// existing thread the evidence is still to be posted on).
fn is_thread(upstream: &str) -> bool {
    upstream
        .strip_prefix("comment:")
        .unwrap_or(upstream)
        .starts_with("https://")
}

fn list<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    names
        .into_iter()
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
    run: Option<Spanned<RunFile>>,
    expect: Option<Spanned<ExpectFile>>,
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
    document: Option<Spanned<String>>,
    upstream: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RunFile {
    deadline_ms: Option<Spanned<u64>>,
    stdin: Option<String>,
    stderr_capacity: Option<usize>,
    #[serde(default)]
    arguments: Vec<String>,
    #[serde(default)]
    environment: Vec<(String, String)>,
    initial_cwd: Option<String>,
    #[serde(default)]
    terminal: BTreeSet<Stream>,
    tree: Option<BTreeMap<Spanned<String>, Entry>>,
    #[serde(default)]
    preopen: Vec<Spanned<Preopen>>,
    http_response: Option<Spanned<HttpResponse>>,
    http_request: Option<Spanned<HttpRequest>>,
    sockets: Option<Spanned<Sockets>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DivergenceFile {
    hosts: Spanned<Vec<Spanned<String>>>,
    upstream: Spanned<String>,
    intermittent: Option<Spanned<String>>,
    seen: Option<Spanned<Seen>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seen {
    times: u64,
    runs: u64,
}

/// `[expect]`, one table, or `[[expect]]`, the alternatives the spec allows.
enum ExpectFile {
    One(Box<OutcomeTable>),
    Alternatives(Vec<Spanned<OutcomeTable>>),
}

impl<'de> Deserialize<'de> for ExpectFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectVisitor;
        impl<'de> Visitor<'de> for ExpectVisitor {
            type Value = ExpectFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table [expect], or tables [[expect]] for alternatives")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ExpectFile, A::Error> {
                let table = serde::de::value::MapAccessDeserializer::new(map);
                OutcomeTable::deserialize(table).map(|table| ExpectFile::One(Box::new(table)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExpectFile, A::Error> {
                let mut alternatives = Vec::new();
                while let Some(table) = seq.next_element()? {
                    alternatives.push(table);
                }
                Ok(ExpectFile::Alternatives(alternatives))
            }
        }
        deserializer.deserialize_any(ExpectVisitor)
    }
}

fn into_run_settings(run: Option<Spanned<RunFile>>, needs: Needs) -> Result<RunSettings, Invalid> {
    let defaults = RunSettings::default();
    let (run_span, run) = match run {
        Some(run) => (run.span(), run.into_inner()),
        None => (Range::default(), RunFile::default()),
    };
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
    let unbuildable = |span, problem: String, table: &str| {
        (
            span,
            format!("[run.{table}] cannot be built: {problem}"),
            "see \"Case files\" in the README for what it takes".to_string(),
        )
    };
    if let Some(response) = &run.http_response {
        (response.get_ref().check())
            .map_err(|problem| unbuildable(response.span(), problem, "http-response"))?;
    }
    if let Some(request) = &run.http_request {
        (request.get_ref().check())
            .map_err(|problem| unbuildable(request.span(), problem, "http-request"))?;
    }
    let non_loopback = |sockets: &Spanned<Sockets>| {
        (sockets.get_ref().grant.iter())
            .find(|grant| !grant.ip().is_loopback())
            .map(|grant| (sockets.span(), *grant))
    };
    if let Some((span, grant)) = run.sockets.as_ref().and_then(non_loopback) {
        return Err((
            span,
            format!("[run.sockets] grants {grant}, which is not a loopback address"),
            "a case reaches no network: grant only addresses on loopback (127.0.0.0/8, ::1)".into(),
        ));
    }
    let invocation = Invocation {
        arguments: run.arguments,
        environment: run.environment,
        initial_cwd: run.initial_cwd,
        terminal: run.terminal,
    };
    invocation.check().map_err(|problem| {
        (
            run_span.clone(),
            format!("[run] cannot be handed to a host: {problem}"),
            "see \"Case files\" in the README for `arguments`, `environment` and `initial-cwd`"
                .to_string(),
        )
    })?;
    let files = match run.tree {
        None if run.preopen.is_empty() => None,
        tree => {
            let tree = tree.unwrap_or_default();
            let spans: BTreeMap<String, Range<usize>> = (tree.keys())
                .map(|path| (path.get_ref().clone(), path.span()))
                .collect();
            let preopen_spans: Vec<Range<usize>> = run.preopen.iter().map(Spanned::span).collect();
            let files = Files {
                tree: (tree.into_iter())
                    .map(|(path, entry)| (path.into_inner(), entry))
                    .collect(),
                preopens: run.preopen.into_iter().map(Spanned::into_inner).collect(),
            };
            files.check().map_err(|(at, problem)| {
                let span = match at {
                    At::Entry(path) => spans.get(&path).cloned(),
                    At::Preopen(index) => preopen_spans.get(index).cloned(),
                };
                (
                    span.unwrap_or_default(),
                    format!("the run's files cannot be laid out: {problem}"),
                    "see \"Case files\" in the README for [run.tree] and [[run.preopen]]"
                        .to_string(),
                )
            })?;
            Some(files)
        }
    };
    Ok(RunSettings {
        deadline,
        stdin: run.stdin.map_or(defaults.stdin, String::into_bytes),
        stderr_capacity: run.stderr_capacity.unwrap_or(defaults.stderr_capacity),
        invocation,
        files,
        http_response: run.http_response.map(Spanned::into_inner),
        http_request: run
            .http_request
            .map_or(defaults.http_request, Spanned::into_inner),
        sockets: run.sockets.map(Spanned::into_inner),
        needs,
    })
}

fn into_citation(spec: Spanned<SpecFile>) -> Result<Citation, Invalid> {
    let span = spec.span();
    let SpecFile {
        item,
        clause,
        silent,
        nearest,
        document,
        upstream,
    } = spec.into_inner();
    if let Some(document) = &document
        && clause.is_none()
    {
        return Err((
            document.span(),
            "`document` goes with `clause`: it names where the clause is quoted from".into(),
            "a silent case quotes nothing; leave `document` out".into(),
        ));
    }
    let document = document.map(Spanned::into_inner);
    let filed = match upstream {
        Some(upstream) if silent.is_none() => {
            return Err((
                upstream.span(),
                "`upstream` in [spec] is the address of a silent case's question".into(),
                "a host's violation of a clause goes in a [[divergence]] with its upstream issue"
                    .into(),
            ));
        }
        Some(upstream) if !is_thread(upstream.get_ref()) => {
            return Err((
                upstream.span(),
                "`upstream` must be the filed issue's address (https://...), or `comment:https://...` for an existing thread".into(),
                "until the question is filed, leave it out: `cargo xtask upstream` drafts it in upstream/ (search WebAssembly/WASI's issues first)".into(),
            ));
        }
        upstream => upstream.map(Spanned::into_inner),
    };
    match (clause, silent, nearest) {
        (Some(clause), None, _) if clause.trim().is_empty() => Err((
            span,
            "`clause` is empty".into(),
            "quote whole sentences of the item's docs".into(),
        )),
        (Some(clause), None, nearest) => Ok(Citation::Clause {
            item,
            clause,
            nearest,
            document,
        }),
        (None, Some(question), None) => Ok(Citation::Silent {
            item,
            question,
            filed,
        }),
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
    let span = expect.span();
    let tables = match expect.into_inner() {
        ExpectFile::One(table) => vec![(span.clone(), *table)],
        ExpectFile::Alternatives(tables) => tables
            .into_iter()
            .map(|table| (table.span(), table.into_inner()))
            .collect(),
    };
    if tables.is_empty() {
        return Err((
            span,
            "`expect` allows nothing".into(),
            "write one [expect] table, or an [[expect]] table per outcome the spec allows".into(),
        ));
    }
    let mut allowed = Vec::new();
    for (span, table) in tables {
        for (key, at) in [
            (
                "intermittent",
                table.intermittent.as_ref().map(Spanned::span),
            ),
            ("reason", table.reason.as_ref().map(Spanned::span)),
        ] {
            if let Some(at) = at {
                return Err((
                    at,
                    format!("`{key}` belongs in a host's records, not in [expect]"),
                    "[expect] says what the spec allows; what a host was seen to do goes in records/<host>.toml".into(),
                ));
            }
        }
        allowed.push(table.pattern(span, Writer::Spec)?);
    }
    Ok(Expectation { allowed })
}
