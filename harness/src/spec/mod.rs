//! The spec under test: the doc text of every WIT item, read with
//! wit-parser, the clauses cases cite, and which normative clauses they
//! cover.
//!
//! An item is named `<package>/<interface>@<version>`, then `#<name>` for a
//! function, type or resource, `#<resource>.<method>` for a method, and
//! `#<type>.<case>` for a variant, enum or flags case or a record field:
//! `wasi:io/poll@0.2.12#pollable.ready`, `wasi:io/streams@0.2.12#stream-error.closed`.
//! A citation may leave the version out (`wasi:io/poll#poll`), or give any
//! version compatible with the WIT's under semver (0.2.0 and 0.2.12 are):
//! the WIT under test says which version its docs are.

pub mod documents;
pub mod functions;
pub mod worlds;

use crate::case::{Case, Citation};
use documents::Document;
use functions::Function;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use wit_parser::{Docs, FunctionKind, Resolve, TypeDefKind, WorldKey};

/// The interfaces every normative clause of which a case must cite.
pub const FULLY_COVERED_INTERFACES: [&str; 2] = ["wasi:io/poll", "wasi:clocks/monotonic-clock"];

/// Which sentences are normative, that is state behaviour a host must or
/// may show: every sentence of a function's or method's docs (each says
/// what the call does); in the docs of interfaces, types, resources, cases
/// and fields, the sentences with one of these words (what a host must,
/// may or will do: trap, fail, block, return; a precondition or a bound).
/// The rest describe data.
const NORMATIVE_WORDS: [&str; 22] = [
    "trap",
    "traps",
    "must",
    "may",
    "should",
    "shall",
    "never",
    "always",
    "will",
    "returns",
    "return",
    "fails",
    "fail",
    "precondition",
    "otherwise",
    "equivalent",
    "identical",
    "immediately",
    "promptly",
    "blocks",
    "non-decreasing",
    "until",
];

/// Every documented item of a WIT tree.
#[derive(Debug)]
pub struct Spec {
    /// Item name without the version → its interface (unversioned), its
    /// package's version and its docs, whitespace normalised.
    items: BTreeMap<String, Item>,
    /// The documents the WIT links that cases may quote, by file name.
    documents: BTreeMap<String, Document>,
    /// Every function, method, constructor and static function.
    pub functions: Vec<Function>,
    /// Each error type's case names, by the error type's item.
    pub error_cases: BTreeMap<String, Vec<String>>,
    /// The interfaces each of witness's worlds (a guest's) exports, which
    /// the host calls: `wasi:cli/run`.
    pub exports: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug)]
struct Item {
    interface: String,
    version: Option<semver::Version>,
    docs: String,
    /// A function or method: every sentence of its docs is normative.
    is_function: bool,
}

/// Why a case's citation no longer holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Stale {
    /// The cited item is not in the WIT any more.
    ItemGone,
    /// The item is there in a version the citation's is not compatible with.
    OtherVersion { found: String },
    /// The item is there, but its docs (or the document the case quotes)
    /// no longer contain the quoted clause: `current` is the docs, or where
    /// the document was read from.
    ClauseGone { current: String },
    /// The item's docs (its resource's, its interface's) no longer link
    /// the document the case quotes.
    DocumentNotLinked { document: String },
    /// The case quotes a document neither `documents.lock` nor `docs/` has.
    DocumentUnknown { document: String },
    /// The document no longer contains the quoted clause: `from` is where
    /// its sentences were read.
    DocumentClauseGone { document: String, from: String },
    /// The document is locked for another package than the item's.
    DocumentOfAnotherPackage { document: String, package: String },
}

impl Stale {
    /// Why `item`'s citation does not hold in `wit` (a path, or "WASI 0.2.0"):
    /// the one wording the suite, `spec check` and the time-lapse share.
    pub fn describe(&self, item: &str, wit: &str) -> String {
        match self {
            Stale::ItemGone => format!("`{item}` is not in {wit}"),
            Stale::OtherVersion { found } => format!(
                "{wit} has `{item}` at {found} only, which the citation's version is not semver-compatible with"
            ),
            Stale::ClauseGone { .. } => {
                format!("the quoted clause is not in {wit}'s docs of `{item}`")
            }
            Stale::DocumentNotLinked { document } => format!(
                "in {wit}, neither the docs of `{item}` nor its resource's or interface's link {document}, which the case quotes"
            ),
            Stale::DocumentClauseGone { document, from } => {
                format!("the quoted sentences are not in {document} ({from})")
            }
            Stale::DocumentOfAnotherPackage { document, package } => {
                format!("{document} is locked as {package}'s, and `{item}` is not of {package}")
            }
            Stale::DocumentUnknown { document } => format!(
                "the case quotes {document}, which {wit} has no copy of and {} does not list",
                documents::LOCK
            ),
        }
    }
}

/// One normative clause and the cases that cite it.
#[derive(Debug)]
pub struct Clause {
    pub interface: String,
    pub item: String,
    pub sentence: String,
    pub cases: Vec<Covering>,
}

/// A case that cites a clause.
#[derive(Debug)]
pub struct Covering {
    pub case: String,
    /// Set when the case can only approach the clause, and why.
    pub nearest: Option<String>,
}

impl Clause {
    /// Some case tests the clause itself.
    pub fn is_covered(&self) -> bool {
        self.cases.iter().any(|covering| covering.nearest.is_none())
    }

    /// No case tests the clause itself, but one approaches it and says why
    /// nothing can do more.
    pub fn is_only_approached(&self) -> bool {
        !self.is_covered() && !self.cases.is_empty()
    }
}

impl Spec {
    /// Parses a WIT tree in wit/'s layout (a package, and its deps/).
    pub fn load(wit_dir: &Path) -> Result<Spec, String> {
        let mut resolve = Resolve::default();
        resolve
            .push_dir(wit_dir)
            .map_err(|e| format!("cannot read the WIT in {}: {e:?}", wit_dir.display()))?;
        // witness's own package (the guests' worlds, the self-tests' faulty
        // import) may be cited by self-tests, but is not the spec under test:
        // the ledger has none of its functions or clauses.
        let guests = (resolve.packages.iter())
            .find(|(_, package)| package.name.to_string() == worlds::GUESTS_PACKAGE)
            .map(|(id, _)| id);
        let mut items = BTreeMap::new();
        for (id, interface) in resolve.interfaces.iter() {
            let Some(name) = resolve.id_of(id) else {
                continue;
            };
            let (unversioned, _) = without_version(&name);
            let version = (interface.package)
                .and_then(|package| resolve.packages[package].name.version.clone());
            let name = unversioned.clone();
            let mut add = |item: String, docs: &Docs, is_function: bool| {
                let docs = normalise(docs.contents.as_deref().unwrap_or(""));
                items.insert(
                    item,
                    Item {
                        interface: unversioned.clone(),
                        version: version.clone(),
                        docs,
                        is_function,
                    },
                );
            };
            add(name.clone(), &interface.docs, false);
            for function in interface.functions.values() {
                let item = match function.kind {
                    FunctionKind::Freestanding | FunctionKind::AsyncFreestanding => {
                        function.name.clone()
                    }
                    FunctionKind::Method(resource)
                    | FunctionKind::AsyncMethod(resource)
                    | FunctionKind::Static(resource)
                    | FunctionKind::AsyncStatic(resource)
                    | FunctionKind::Constructor(resource) => {
                        let resource = resource_name(&resolve, resource);
                        format!("{resource}.{}", function.item_name())
                    }
                };
                add(format!("{name}#{item}"), &function.docs, true);
            }
            for (type_name, &type_id) in &interface.types {
                let definition = &resolve.types[type_id];
                add(format!("{name}#{type_name}"), &definition.docs, false);
                let mut member = |member: &str, docs: &Docs| {
                    add(format!("{name}#{type_name}.{member}"), docs, false)
                };
                match &definition.kind {
                    TypeDefKind::Variant(variant) => {
                        variant.cases.iter().for_each(|c| member(&c.name, &c.docs))
                    }
                    TypeDefKind::Enum(enumeration) => enumeration
                        .cases
                        .iter()
                        .for_each(|c| member(&c.name, &c.docs)),
                    TypeDefKind::Flags(flags) => {
                        flags.flags.iter().for_each(|f| member(&f.name, &f.docs))
                    }
                    TypeDefKind::Record(record) => {
                        record.fields.iter().for_each(|f| member(&f.name, &f.docs))
                    }
                    _ => {}
                }
            }
        }
        let (functions, error_cases) = functions::read(&resolve, guests);
        let mut exports = BTreeMap::new();
        for &world in guests
            .iter()
            .flat_map(|&guests| resolve.packages[guests].worlds.values())
        {
            let world = &resolve.worlds[world];
            let interfaces = (world.exports.keys())
                .filter_map(|key| match key {
                    WorldKey::Interface(id) => resolve.id_of(*id),
                    WorldKey::Name(_) => None,
                })
                .map(|name| without_version(&name).0)
                .collect();
            exports.insert(world.name.clone(), interfaces);
        }
        Ok(Spec {
            items,
            documents: documents::load(wit_dir)?,
            functions,
            error_cases,
            exports,
        })
    }

    /// The item `cited` names, if this spec has it in a compatible version.
    fn find(&self, cited: &str) -> Result<&Item, Stale> {
        let (item, version) = without_version(cited);
        let found = self.items.get(&item).ok_or(Stale::ItemGone)?;
        match (version, &found.version) {
            (Some(cited), Some(present)) if !compatible(&cited, present) => {
                Err(Stale::OtherVersion {
                    found: present.to_string(),
                })
            }
            _ => Ok(found),
        }
    }

    /// Whether `case`'s citation still holds in this spec.
    pub fn stale(&self, case: &Case) -> Option<Stale> {
        let found = match self.find(case.spec.item()) {
            Ok(found) => found,
            Err(stale) => return Some(stale),
        };
        let Citation::Clause {
            clause, document, ..
        } = &case.spec
        else {
            return None;
        };
        let Some(document) = document else {
            return (!says(&found.docs, clause)).then(|| Stale::ClauseGone {
                current: found.docs.clone(),
            });
        };
        if !self.links(case.spec.item(), document) {
            return Some(Stale::DocumentNotLinked {
                document: document.clone(),
            });
        }
        match self.documents.get(document) {
            None => Some(Stale::DocumentUnknown {
                document: document.clone(),
            }),
            Some(text) if !text.is_of(case.spec.item()) => Some(Stale::DocumentOfAnotherPackage {
                document: document.clone(),
                package: text.package.clone().unwrap_or_default(),
            }),
            Some(text) => (!text.says(clause)).then(|| Stale::DocumentClauseGone {
                document: document.clone(),
                from: text.from.clone(),
            }),
        }
    }

    /// Whether the docs of `cited`, of its resource or of its interface
    /// link `document` (an address whose last part is its file name).
    fn links(&self, cited: &str, document: &str) -> bool {
        let (item, _) = without_version(cited);
        let interface = item.split('#').next().unwrap_or_default().to_string();
        let resource = match item.split_once('#') {
            Some((interface, member)) => member
                .split_once('.')
                .map(|(resource, _)| format!("{interface}#{resource}")),
            None => None,
        };
        [Some(item), resource, Some(interface)]
            .into_iter()
            .flatten()
            .filter_map(|name| self.items.get(&name))
            .any(|found| found.docs.contains(&format!("/{document}")))
    }

    /// The normative clauses of every interface of the spec under test
    /// (witness's own package aside), each with the cases whose quote
    /// includes it.
    pub fn coverage(&self, cases: &[Case]) -> Vec<Clause> {
        let mut clauses = Vec::new();
        let under_test = (self.items.iter())
            .filter(|(_, found)| functions::package_of(&found.interface) != worlds::GUESTS_PACKAGE);
        for (item, found) in under_test {
            // A heading (`# Typical errors`) names what follows, a list of
            // links (`# References`) where to read more: they say nothing.
            for sentence in sentences(&found.docs)
                .into_iter()
                .filter(|s| !s.starts_with('#') && !is_only_links(s))
                .filter(|s| found.is_function || is_normative(s))
            {
                let cases = cases
                    .iter()
                    .filter_map(|case| match &case.spec {
                        Citation::Clause {
                            item: cited,
                            clause,
                            nearest,
                            document: None,
                        } if self
                            .find(cited)
                            .is_ok_and(|cited| std::ptr::eq(cited, found))
                            && sentences(&normalise(clause)).contains(&sentence) =>
                        {
                            Some(Covering {
                                case: case.name.to_string(),
                                nearest: nearest.clone(),
                            })
                        }
                        _ => None,
                    })
                    .collect();
                clauses.push(Clause {
                    interface: found.interface.clone(),
                    item: item.clone(),
                    sentence,
                    cases,
                });
            }
        }
        clauses
    }
}

/// `wasi:io/poll@0.2.12#poll` → (`wasi:io/poll#poll`, 0.2.12); an item
/// without a version, or one that is not semver, has none.
fn without_version(item: &str) -> (String, Option<semver::Version>) {
    let (interface, member) = match item.split_once('#') {
        Some((interface, member)) => (interface, Some(member)),
        None => (item, None),
    };
    let (name, version) = match interface.split_once('@') {
        Some((name, version)) => (name, semver::Version::parse(version).ok()),
        None => (interface, None),
    };
    let item = match member {
        Some(member) => format!("{name}#{member}"),
        None => name.to_string(),
    };
    (item, version)
}

/// Semver compatibility as WIT packages use it: the same major version,
/// and below 1.0 the same minor one (any 0.2.x with any other).
fn compatible(a: &semver::Version, b: &semver::Version) -> bool {
    a.major == b.major && (a.major > 0 || a.minor == b.minor)
}

fn resource_name(resolve: &Resolve, resource: wit_parser::TypeId) -> String {
    resolve.types[resource].name.clone().unwrap_or_default()
}

/// Whether `clause` is whole, contiguous sentences of `docs`.
fn says(docs: &str, clause: &str) -> bool {
    let quoted = sentences(&normalise(clause));
    !quoted.is_empty()
        && sentences(docs)
            .windows(quoted.len())
            .any(|run| run == quoted.as_slice())
}

/// Whitespace runs, line breaks included, become one space.
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A doc text's sentences: it breaks after `.`, `!` or `?` followed by a
/// space and a letter, a backtick or a list dash (not after a list number,
/// as in `1. calling`, unless a list dash follows, as after a bullet ending
/// `was 0.`; nor after `e.g.`, `i.e.` or `I.e.`), and after `:` or `)`
/// followed by a space and a list dash.
pub fn sentences(docs: &str) -> Vec<String> {
    let chars: Vec<char> = docs.chars().collect();
    let mut sentences = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let (Some(' '), Some(&next)) = (chars.get(i + 1), chars.get(i + 2)) else {
            continue;
        };
        // A Markdown heading (`# Typical errors`) stands alone: it breaks
        // what precedes it, and ends before its list.
        let heading = next == '#' && matches!(chars.get(i + 3), Some(' ' | '#'));
        let in_heading = chars[start..i].iter().find(|c| !c.is_whitespace()) == Some(&'#');
        let opens = next.is_alphabetic() || next == '`' || next == '-';
        let previous = if i > 0 { chars[i - 1] } else { ' ' };
        let abbreviation = i >= 3
            && matches!(
                &chars[i - 3..i],
                ['e' | 'E', '.', 'g'] | ['i' | 'I', '.', 'e']
            );
        let ends = heading
            || (in_heading && next == '-')
            || match chars[i] {
                // Not a numbered item's `1. `, unless a list item follows:
                // `... was 0. - `invalid-state`: ...`.
                '.' => opens && (!previous.is_ascii_digit() || next == '-') && !abbreviation,
                '!' | '?' => opens,
                // A list item that ends in a parenthesis, as wasi:sockets'
                // error lists do: `... (EISCONN) - `invalid-state`: ...`.
                ':' | ')' => next == '-',
                _ => false,
            };
        if ends {
            sentences.push(
                chars[start..=i]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string(),
            );
            start = i + 1;
        }
    }
    let rest: String = chars[start..].iter().collect();
    if !rest.trim().is_empty() {
        sentences.push(rest.trim().to_string());
    }
    sentences
}

/// Whether a sentence is a list of links alone: `- <https://...> - <https://...>`.
fn is_only_links(sentence: &str) -> bool {
    sentence
        .split_whitespace()
        .all(|token| token == "-" || (token.starts_with('<') && token.ends_with('>')))
}

/// Whether a sentence says the instance traps (or may, or will not).
pub fn is_trap_clause(sentence: &str) -> bool {
    // `exit-with-code`'s "the effect is analogous to a trap, but without the
    // connotation that something bad has happened" likens an exit to a trap:
    // nothing traps.
    words(sentence).any(|word| ["trap", "traps"].contains(&word.as_str()))
        && !sentence.contains("analogous to a trap")
}

/// The error code a "Typical errors" bullet names: `` - `invalid-state`: ... `` →
/// `invalid-state`.
pub fn typical_error(sentence: &str) -> Option<&str> {
    let rest = sentence.strip_prefix("- `")?;
    let (code, rest) = rest.split_once('`')?;
    let kebab = !code.is_empty()
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (kebab && rest.starts_with(':')).then_some(code)
}

fn words(sentence: &str) -> impl Iterator<Item = String> + '_ {
    sentence
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(str::to_lowercase)
}

/// Whether a sentence states behaviour: see [`NORMATIVE_WORDS`].
pub fn is_normative(sentence: &str) -> bool {
    words(sentence).any(|word| NORMATIVE_WORDS.contains(&word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_break_at_full_stops_and_list_items() {
        let docs = normalise(
            "This function traps if either:\n- the list is empty, or:\n- the list is long.\n\nA timeout can be implemented.",
        );
        assert_eq!(
            sentences(&docs),
            [
                "This function traps if either:",
                "- the list is empty, or:",
                "- the list is long.",
                "A timeout can be implemented."
            ]
        );
        let errors = normalise(
            "# Typical errors\n- `invalid-state`: Already connected. (EISCONN)\n- `not-in-progress`: None in progress.",
        );
        assert_eq!(
            sentences(&errors),
            [
                "# Typical errors",
                "- `invalid-state`: Already connected. (EISCONN)",
                "- `not-in-progress`: None in progress."
            ]
        );
        assert_eq!(
            sentences("- `invalid-argument`: The value was 0. - `invalid-state`: Connected."),
            [
                "- `invalid-argument`: The value was 0.",
                "- `invalid-state`: Connected."
            ],
            "a bullet ending in a number ends before the next bullet"
        );
        assert_eq!(
            sentences("It may be rounded. I.e. after setting a value, it differs."),
            [
                "It may be rounded.",
                "I.e. after setting a value, it differs."
            ],
            "a capital I.e. is an abbreviation too"
        );
        assert_eq!(
            sentences("Use poll. # Typical errors - `x`: Y. # References: - a"),
            [
                "Use poll.",
                "# Typical errors",
                "- `x`: Y.",
                "# References:",
                "- a"
            ]
        );
        assert_eq!(
            sentences("Moved by e.g. `handle`. Then dropped."),
            ["Moved by e.g. `handle`.", "Then dropped."]
        );
    }

    #[test]
    fn a_clause_must_be_whole_contiguous_sentences_of_the_docs() {
        let wit = tempfile::tempdir().unwrap();
        std::fs::write(
            wit.path().join("x.wit"),
            "package t:x;\ninterface i {\n  /// First sentence here.\n  /// Second one, on\n  /// two lines. Third.\n  f: func();\n}\n",
        )
        .unwrap();
        let spec = Spec::load(wit.path()).unwrap();
        let docs = &spec.items["t:x/i#f"].docs;
        assert!(says(docs, "First sentence here."));
        assert!(says(docs, "Second one, on\n two lines. Third."));
        assert!(says(docs, "First sentence here."));
        assert!(
            !says(docs, "Second one, on"),
            "a sentence cut short is not a clause"
        );
        assert!(
            !says(docs, "First sentence here. Third."),
            "sentences must be contiguous"
        );
        assert!(!says(docs, ""));
    }

    #[test]
    fn a_citation_matches_any_semver_compatible_version_or_none() {
        let wit = tempfile::tempdir().unwrap();
        std::fs::write(
            wit.path().join("x.wit"),
            "package t:x@0.2.3;\ninterface i {\n  /// Does it.\n  f: func();\n}\n",
        )
        .unwrap();
        let spec = Spec::load(wit.path()).unwrap();
        for cited in [
            "t:x/i@0.2.3#f",
            "t:x/i@0.2.0#f",
            "t:x/i@0.2.12#f",
            "t:x/i#f",
        ] {
            assert!(spec.find(cited).is_ok(), "{cited}");
        }
        assert_eq!(
            spec.find("t:x/i@0.3.0#f").err(),
            Some(Stale::OtherVersion {
                found: "0.2.3".into()
            })
        );
        assert_eq!(spec.find("t:x/i#g").err(), Some(Stale::ItemGone));
    }

    #[test]
    fn trap_clauses_and_typical_errors_are_read_from_sentences() {
        assert!(is_trap_clause("This function traps if either:"));
        assert!(!is_trap_clause("A trapdoor."));
        assert_eq!(
            typical_error("- `invalid-state`: Already connected. (EISCONN)"),
            Some("invalid-state")
        );
        assert_eq!(typical_error("See `poll` - `x`: for more."), None);
    }

    #[test]
    fn normative_sentences_state_behaviour() {
        assert!(is_normative("Return the readiness of a pollable."));
        assert!(is_normative("This function never blocks."));
        assert!(!is_normative("A duration of time, in nanoseconds."));
    }
}
