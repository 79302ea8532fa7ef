//! Draft upstream issues, generated from committed evidence only — the
//! case files, the records of the hosts in hosts.toml, the guests' sources
//! and the parts people write, kept in `upstream/<draft>.toml` — so the
//! same checkout writes the same drafts whichever hosts are installed.
//!
//! One draft per `draft:<file>` a divergence names, addressed to the
//! host's repository; one per WIT item that silent cases ask about,
//! addressed to WebAssembly/WASI; one comment per existing thread that
//! cases name as `comment:<address>`, the evidence to post there instead
//! of opening a new issue. `cargo xtask upstream` writes them;
//! `cargo xtask spec check` fails while one is stale.

mod draft;
mod embedding;
pub mod reproduce;

use crate::case::{Case, Citation};
use crate::file_error::FileError;
use crate::history::summary::Summary;
use crate::host::registry::Entry;
use crate::judge::records::HostRecords;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the drafts are made of.
pub struct Evidence {
    /// The checkout: guest sources are read from it, and drafts link into it.
    pub root: PathBuf,
    pub cases: Vec<Case>,
    /// hosts.toml's hosts, by name.
    pub hosts: BTreeMap<String, Entry>,
    /// Each host's records, by host name.
    pub records: BTreeMap<String, HostRecords>,
    /// The hand-written parts, by draft file name (`x.md` for `x.toml`).
    pub kept: BTreeMap<String, Kept>,
    /// The guests that are commands (their world exports `wasi:cli/run`);
    /// the others are proxies.
    pub commands: BTreeSet<String>,
    /// What the time-lapse found (`history.toml`): since when.
    pub history: Summary,
}

/// The parts of a draft people write: `upstream/<draft>.toml`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Kept {
    /// The title.
    pub title: Option<String>,
    /// What the host or the spec should do, in Markdown.
    pub resolution: Option<String>,
    /// What the host's source does that explains it, in Markdown.
    pub cause: Option<String>,
}

/// One generated draft.
#[derive(Debug)]
pub struct Draft {
    /// Its file name in `upstream/`.
    pub file: String,
    pub text: String,
    /// The guests whose components a maintainer needs.
    pub guests: BTreeSet<String>,
}

/// What a draft is about.
enum Subject<'a> {
    /// Hosts that violate clauses: each case with the hosts this draft
    /// covers on it.
    Divergence(Vec<(&'a Case, Vec<&'a str>)>),
    /// What the docs of one WIT item leave open.
    Question { item: String, cases: Vec<&'a Case> },
    /// The evidence for an existing thread (`comment:<address>`): each case
    /// with the hosts its divergence names (none for a silent case, whose
    /// every host's answer is evidence).
    Comment {
        thread: String,
        cases: Vec<(&'a Case, Vec<&'a str>)>,
    },
}

impl Evidence {
    /// Reads everything but the cases from the checkout at `root`.
    pub fn load(
        root: &Path,
        cases: Vec<Case>,
        hosts: BTreeMap<String, Entry>,
        records_dir: &Path,
        drafts_dir: &Path,
    ) -> Result<Evidence, FileError> {
        let mut records = BTreeMap::new();
        for host in hosts.keys() {
            let path = records_dir.join(format!("{host}.toml"));
            records.insert(host.clone(), HostRecords::load(&path)?);
        }
        let mut kept = BTreeMap::new();
        for path in files_with_extension(drafts_dir, "toml") {
            let source =
                std::fs::read_to_string(&path).map_err(|e| FileError::unreadable(&path, &e))?;
            let parts: Kept = toml::from_str(&source).map_err(|e| {
                FileError::toml(
                    &path,
                    &source,
                    &e,
                    "a draft's kept parts are `title`, `resolution` and `cause`",
                )
            })?;
            kept.insert(draft_file_of(&path), parts);
        }
        let wit = root.join("wit");
        let commands = crate::spec::worlds::commands(&wit).map_err(|message| FileError {
            path: wit.join("witness.wit"),
            at: Default::default(),
            message,
            help: "`cargo xtask wit sync` materialises wit/deps/; witness.wit must parse".into(),
        })?;
        Ok(Evidence {
            root: root.to_path_buf(),
            cases,
            hosts,
            records,
            kept,
            commands,
            history: Summary::load(&root.join("history.toml"))?,
        })
    }

    /// Every draft, by file name.
    pub fn drafts(&self) -> Result<Vec<Draft>, String> {
        let mut drafts = Vec::new();
        for (file, subject) in self.subjects() {
            let kept = self.kept.get(&file);
            drafts.push(draft::write(self, &file, &subject, kept)?);
        }
        Ok(drafts)
    }

    fn subjects(&self) -> BTreeMap<String, Subject<'_>> {
        let mut subjects: BTreeMap<String, Subject<'_>> = BTreeMap::new();
        let mut comment = |thread: &str, case, hosts| match subjects
            .entry(comment_file(thread))
            .or_insert_with(|| Subject::Comment {
                thread: thread.to_string(),
                cases: Vec::new(),
            }) {
            Subject::Comment { cases, .. } => cases.push((case, hosts)),
            _ => unreachable!("comment drafts are named comment-*"),
        };
        for case in &self.cases {
            for divergence in &case.divergences {
                if let Some(thread) = divergence.upstream.strip_prefix("comment:") {
                    comment(
                        thread,
                        case,
                        divergence.hosts.iter().map(String::as_str).collect(),
                    );
                }
            }
            if let Citation::Silent {
                filed: Some(filed), ..
            } = &case.spec
                && let Some(thread) = filed.strip_prefix("comment:")
            {
                comment(thread, case, Vec::new());
            }
        }
        for case in &self.cases {
            for divergence in &case.divergences {
                let Some(file) = divergence.upstream.strip_prefix("draft:") else {
                    continue;
                };
                let hosts = divergence.hosts.iter().map(String::as_str).collect();
                match subjects
                    .entry(file.to_string())
                    .or_insert_with(|| Subject::Divergence(Vec::new()))
                {
                    Subject::Divergence(cases) => cases.push((case, hosts)),
                    _ => {
                        unreachable!("question and comment drafts are named question-*, comment-*")
                    }
                }
            }
            if let Citation::Silent {
                item, filed: None, ..
            } = &case.spec
            {
                let item = unversioned(item);
                match subjects
                    .entry(question_file(&item))
                    .or_insert_with(|| Subject::Question {
                        item: item.clone(),
                        cases: Vec::new(),
                    }) {
                    Subject::Question { cases, .. } => cases.push(case),
                    _ => unreachable!("a divergence draft named question-*"),
                }
            }
        }
        subjects
    }
}

/// The draft of the comment for `thread`:
/// `https://github.com/WebAssembly/WASI/issues/812` → `comment-webassembly-wasi-812.md`.
pub fn comment_file(thread: &str) -> String {
    let path = thread
        .trim_start_matches("https://")
        .trim_start_matches("github.com/")
        .replace("/issues/", "/")
        .replace("/pull/", "/");
    let slug: String = path
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("comment-{slug}.md")
}

/// The draft file for the questions about `item` (unversioned):
/// `wasi:io/poll#pollable.ready` → `question-wasi-io-poll-pollable-ready.md`.
pub fn question_file(item: &str) -> String {
    let slug: String = item
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("question-{slug}.md")
}

/// `wasi:io/poll@0.2.12#poll` → `wasi:io/poll#poll`: a question is about
/// the item whichever 0.2 release the case was written against.
fn unversioned(item: &str) -> String {
    match (item.find('@'), item.find('#')) {
        (Some(at), Some(hash)) if at < hash => format!("{}{}", &item[..at], &item[hash..]),
        _ => item.to_string(),
    }
}

/// How the drafts directory differs from the drafts the evidence makes.
#[derive(Debug, PartialEq)]
pub enum Problem {
    /// The file says something else than its regeneration would.
    Stale { file: String, diff: String },
    /// No file yet for a draft.
    Missing { file: String },
    /// A draft, or kept parts, that no case asks for any more.
    Orphan { file: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Stale { file, diff } => write!(
                f,
                "upstream/{file} is stale against its cases and records; `cargo xtask upstream` regenerates it:\n{diff}"
            ),
            Problem::Missing { file } => write!(
                f,
                "upstream/{file} is missing; `cargo xtask upstream` writes it"
            ),
            Problem::Orphan { file } => write!(
                f,
                "upstream/{file} belongs to no divergence, open question or thread to comment on any more: delete it (once filed or posted, the cases name the issue's or the comment's address)"
            ),
        }
    }
}

/// The drafts directory against `drafts`; its README is its own.
pub fn check(drafts_dir: &Path, drafts: &[Draft]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let generated: BTreeSet<&str> = drafts.iter().map(|draft| draft.file.as_str()).collect();
    for draft in drafts {
        match std::fs::read_to_string(drafts_dir.join(&draft.file)) {
            Ok(text) if text == draft.text => {}
            Ok(text) => problems.push(Problem::Stale {
                file: draft.file.clone(),
                diff: similar::TextDiff::from_lines(&text, &draft.text)
                    .unified_diff()
                    .header("committed", "regenerated")
                    .to_string(),
            }),
            Err(_) => problems.push(Problem::Missing {
                file: draft.file.clone(),
            }),
        }
    }
    for path in files_with_extension(drafts_dir, "md") {
        let file = draft_file_of(&path);
        if file != "README.md" && !generated.contains(file.as_str()) {
            problems.push(Problem::Orphan { file });
        }
    }
    for path in files_with_extension(drafts_dir, "toml") {
        if !generated.contains(draft_file_of(&path).as_str()) {
            problems.push(Problem::Orphan {
                file: file_name(&path),
            });
        }
    }
    problems
}

/// Writes every draft that changed, and deletes generated drafts no case
/// asks for any more; returns the files written or deleted.
pub fn write(drafts_dir: &Path, drafts: &[Draft]) -> std::io::Result<Vec<String>> {
    let mut changed = Vec::new();
    for problem in check(drafts_dir, drafts) {
        match problem {
            Problem::Stale { file, .. } | Problem::Missing { file } => {
                let draft = drafts.iter().find(|draft| draft.file == file);
                let text = draft.map_or("", |draft| draft.text.as_str());
                std::fs::write(drafts_dir.join(&file), text)?;
                changed.push(format!("wrote upstream/{file}"));
            }
            Problem::Orphan { file } => {
                let path = drafts_dir.join(&file);
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if text.starts_with(draft::GENERATED) {
                    std::fs::remove_file(&path)?;
                    changed.push(format!(
                        "deleted upstream/{file}: no case asks for it any more"
                    ));
                } else {
                    changed.push(Problem::Orphan { file }.to_string());
                }
            }
        }
    }
    Ok(changed)
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `x.toml` and `x.md` → `x.md`: the draft a file belongs to.
fn draft_file_of(path: &Path) -> String {
    file_name(&path.with_extension("md"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_file_is_named_for_its_unversioned_item() {
        let item = unversioned("wasi:io/poll@0.2.12#pollable.ready");
        assert_eq!(item, "wasi:io/poll#pollable.ready");
        assert_eq!(
            question_file(&item),
            "question-wasi-io-poll-pollable-ready.md"
        );
        assert_eq!(unversioned("wasi:io/poll#poll"), "wasi:io/poll#poll");
    }
}
