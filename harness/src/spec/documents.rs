//! Documents of a WASI release that the WIT's docs link rather than say
//! (`TcpSocketOperationalSemantics.md`, which decides what wasi:sockets'
//! `finish-*` methods return), so that a case can cite the sentence that
//! decides it when that sentence is not in the WIT.
//!
//! No registry package ships them, and witness commits only its own
//! writing: `wit/documents.lock` keeps each document's sha256 and the
//! sha256 of each of its sentences, in order, taken from the release's copy
//! (`cargo xtask spec lock-document FILE ...`). A quote is checked against
//! those hashes exactly as a WIT clause is checked against the docs: whole,
//! contiguous sentences. Where the WIT tree under test has the document
//! itself (`docs/<package>/<file>`, as the gate on a WASI checkout lays it out), its
//! text is read instead, so a changed document fails the cases quoting it.

use super::{normalise, sentences};
use crate::file_error::FileError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock's name in a WIT tree, beside witness.wit.
pub const LOCK: &str = "documents.lock";

/// What documents.lock says of itself.
pub const LOCK_HEADER: &str = "# Documents of the WASI release that the WIT's docs link and cases quote: each\n# one's sha256 and its sentences' (whitespace normalised, in order), from the\n# release's copy at `source`. No package ships them, and witness commits only\n# its own writing. Written by `cargo xtask spec lock-document FILE ...`.\n\n";

/// Where a WIT tree keeps copies of documents, by file name.
pub const COPIES: &str = "docs";

/// One document: the hashes of its sentences, in order.
#[derive(Clone, Debug)]
pub struct Document {
    sentences: Vec<String>,
    /// Where the sentences came from, for messages.
    pub from: String,
    /// The package whose docs link it (`wasi:sockets`), where known.
    pub package: Option<String>,
}

impl Document {
    fn from_text(text: &str, from: String, package: Option<String>) -> Document {
        Document {
            sentences: sentences(&normalise(text))
                .iter()
                .map(|s| hash(s))
                .collect(),
            from,
            package,
        }
    }

    /// Whether `item` (`wasi:sockets/tcp@0.2.12#...`) may cite it: an item
    /// of its package, or of any where its package is not known.
    pub fn is_of(&self, item: &str) -> bool {
        self.package
            .as_ref()
            .is_none_or(|package| item.starts_with(&format!("{package}/")))
    }

    /// Whether `clause` is whole, contiguous sentences of the document.
    pub fn says(&self, clause: &str) -> bool {
        let quoted: Vec<String> = sentences(&normalise(clause))
            .iter()
            .map(|s| hash(s))
            .collect();
        !quoted.is_empty()
            && self
                .sentences
                .windows(quoted.len())
                .any(|run| run == quoted.as_slice())
    }
}

/// `documents.lock`: one entry per document.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Lock {
    #[serde(default, rename = "document")]
    pub documents: Vec<Locked>,
}

/// A document as the release has it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// The last part of the address the WIT links: what a case's `document` names.
    pub file: String,
    pub package: String,
    pub release: String,
    /// The release's copy, at its tag.
    pub source: String,
    pub sha256: String,
    /// The sha256 of each sentence, whitespace normalised, in order.
    pub sentences: Vec<String>,
}

impl Locked {
    /// The entry for `text`, the release's copy of `file`.
    pub fn new(
        file: String,
        package: String,
        release: String,
        source: String,
        text: &str,
    ) -> Locked {
        Locked {
            file,
            package,
            release,
            source,
            sha256: hash(text),
            sentences: Document::from_text(text, String::new(), None).sentences,
        }
    }
}

/// The documents a WIT tree knows: its lock's, and the copies in its
/// `docs/`, which take their place.
pub fn load(wit_dir: &Path) -> Result<BTreeMap<String, Document>, String> {
    let mut documents = BTreeMap::new();
    let lock_path = wit_dir.join(LOCK);
    if let Ok(text) = std::fs::read_to_string(&lock_path) {
        let lock: Lock = toml::from_str(&text).map_err(|e| {
            FileError::toml(
                &lock_path,
                &text,
                &e,
                "write it with `cargo xtask spec lock-document FILE ...`, not by hand",
            )
            .to_string()
        })?;
        for locked in lock.documents {
            let from = format!("{} (WASI {}, as locked)", locked.source, locked.release);
            documents.insert(
                locked.file,
                Document {
                    sentences: locked.sentences,
                    from,
                    package: Some(locked.package),
                },
            );
        }
    }
    // docs/<package>/<file>, as the gate lays out a WASI checkout's
    // proposals/<package>/*.md: the package is wasi:<package>.
    for package in read_dir(&wit_dir.join(COPIES)) {
        for path in read_dir(&package) {
            let (Some(dir), Some(file)) = (package.file_name(), path.file_name()) else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(&path) {
                let package = format!("wasi:{}", dir.to_string_lossy());
                documents.insert(
                    file.to_string_lossy().into_owned(),
                    Document::from_text(&text, path.display().to_string(), Some(package)),
                );
            }
        }
    }
    Ok(documents)
}

fn read_dir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = (std::fs::read_dir(dir).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    paths
}

fn hash(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_document_says_whole_contiguous_sentences_as_its_copy_does() {
        let text = "# States\n\n- One state. Another\n  sentence.\n- `finish-*` returns `x`.\n";
        let locked = Locked::new(
            "d.md".into(),
            "t:p".into(),
            "0.2.12".into(),
            "s".into(),
            text,
        );
        let wit = tempfile::tempdir().unwrap();
        let lock = Lock {
            documents: vec![locked],
        };
        std::fs::write(wit.path().join(LOCK), toml::to_string(&lock).unwrap()).unwrap();
        let from_lock = load(wit.path()).unwrap().remove("d.md").unwrap();
        let copies = wit.path().join(COPIES).join("p");
        std::fs::create_dir_all(&copies).unwrap();
        std::fs::write(copies.join("d.md"), text).unwrap();
        let from_copy = load(wit.path()).unwrap().remove("d.md").unwrap();
        for document in [&from_lock, &from_copy] {
            assert!(document.says("Another sentence. - `finish-*` returns `x`."));
            assert!(!document.says("Another"), "cut short");
            assert!(
                !document.says("- One state. - `finish-*` returns `x`."),
                "not contiguous"
            );
            assert!(!document.says(""));
        }
        std::fs::write(copies.join("d.md"), "- One state.\n").unwrap();
        let changed = load(wit.path()).unwrap().remove("d.md").unwrap();
        assert!(!changed.says("- `finish-*` returns `x`."), "the copy wins");
    }
}
