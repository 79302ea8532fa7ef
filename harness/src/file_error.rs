//! An error in a TOML file witness reads (a case file, a host's records):
//! the file, line and column, what is wrong and what to do.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A line and column (both from 1) in a file.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A file that could not be loaded.
#[derive(Clone, Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub at: Position,
    pub message: String,
    pub help: String,
}

/// A validation error inside a file: where (a byte span), what, and what to do.
pub type Invalid = (Range<usize>, String, String);

impl Position {
    /// The line and column of byte `offset` in `source`.
    pub fn of(source: &str, offset: usize) -> Position {
        let before = &source[..offset.min(source.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl FileError {
    /// An `Invalid` found in `source`, the text of `path`.
    pub fn at(path: &Path, source: &str, (span, message, help): Invalid) -> FileError {
        FileError {
            path: path.to_path_buf(),
            at: Position::of(source, span.start),
            message,
            help,
        }
    }

    /// The file could not be read at all.
    pub fn unreadable(path: &Path, error: &std::io::Error) -> FileError {
        FileError {
            path: path.to_path_buf(),
            at: Position { line: 1, column: 1 },
            message: format!("cannot read the file: {error}"),
            help: "check the file's permissions and encoding (UTF-8)".into(),
        }
    }

    /// A TOML syntax or shape error, where toml says it is.
    pub fn toml(path: &Path, source: &str, error: &toml::de::Error, help: &str) -> FileError {
        FileError::at(
            path,
            source,
            (
                error.span().unwrap_or(0..0),
                error.message().trim().to_string(),
                help.into(),
            ),
        )
    }
}

impl fmt::Display for FileError {
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
