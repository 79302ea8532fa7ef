//! The files a run sees (`[run.tree]`, `[[run.preopen]]`): a tree the
//! harness lays out in a fresh directory, the run's root, of which the
//! preopens grant directories; beside them `outside/`, which no guest may
//! reach. After the run the harness looks again, from the host side:
//! what changed in the tree (`tree-changes`) and whether anything touched
//! `outside/` (`outside-touched`) are observations the guest cannot fake.

use inotify::{EventMask, Inotify, WatchMask};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, symlink};
use std::path::{Path, PathBuf};

/// The observation of what the run changed in the tree, in the tree's own
/// syntax: path → entry, or `"gone"`.
pub const TREE_CHANGES: &str = "tree-changes";
/// The observation of what touched `outside/` during the run: present only
/// when something did.
pub const OUTSIDE_TOUCHED: &str = "outside-touched";
/// The directory beside the preopens that no guest may reach, and the file
/// in it: reserved names of the tree.
pub const OUTSIDE: &str = "outside";
pub const SECRET: &str = "outside/secret";
const SECRET_CONTENTS: &str = "witness: no guest may read this file\n";
/// Files longer than this (or not UTF-8) are described by their size and
/// digest.
const SHOWN_CONTENTS: u64 = 256;
/// Files longer than this are described by their size alone: a guest may
/// write one byte at a terabyte's offset, and reading the hole would take
/// the harness minutes.
const DIGESTED_CONTENTS: u64 = 64 << 20;

/// `[run.tree]` and `[[run.preopen]]`, as a case file gives them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Files {
    /// Relative paths under the run's root; parents are directories.
    pub tree: BTreeMap<String, Entry>,
    pub preopens: Vec<Preopen>,
}

/// One entry of the tree: the same syntax describes what a run changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged, try_from = "WrittenEntry")]
pub enum Entry {
    /// A file with these contents (UTF-8).
    File(String),
    Dir {
        dir: bool,
    },
    /// A named pipe: a file that is no regular file, which a guest cannot
    /// make.
    Fifo {
        fifo: bool,
    },
    /// A symbolic link whose target is this text, as written. `dangling`
    /// says the target names nothing the tree lays out, on purpose.
    Symlink {
        symlink: Target,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dangling: bool,
    },
    /// A second name of the file at this path of the tree.
    HardLink {
        #[serde(rename = "hard-link")]
        hard_link: String,
    },
}

/// An entry as a case file writes it, before it is known to be of one
/// kind: so that a table of two kinds, or of a key no kind takes, is an
/// error that says what an entry may be.
#[derive(Deserialize)]
#[serde(untagged)]
enum WrittenEntry {
    Contents(String),
    Table(EntryTable),
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct EntryTable {
    dir: Option<bool>,
    fifo: Option<bool>,
    symlink: Option<Target>,
    #[serde(default)]
    dangling: bool,
    hard_link: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

impl TryFrom<WrittenEntry> for Entry {
    type Error = String;

    fn try_from(written: WrittenEntry) -> Result<Entry, String> {
        let table = match written {
            WrittenEntry::Contents(contents) => return Ok(Entry::File(contents)),
            WrittenEntry::Table(table) => table,
        };
        let kinds = "an entry is \"contents\", { dir = true }, { fifo = true }, { symlink = \"target\" } (with `dangling = true` if it names nothing on purpose) or { hard-link = \"path\" }";
        if let Some(key) = table.other.keys().next() {
            return Err(format!("`{key}` is no key of a tree entry: {kinds}"));
        }
        match (table.dir, table.fifo, table.symlink, table.hard_link) {
            (Some(dir), None, None, None) if !table.dangling => Ok(Entry::Dir { dir }),
            (None, Some(fifo), None, None) if !table.dangling => Ok(Entry::Fifo { fifo }),
            (None, None, Some(symlink), None) => Ok(Entry::Symlink {
                symlink,
                dangling: table.dangling,
            }),
            (None, None, None, Some(hard_link)) if !table.dangling => {
                Ok(Entry::HardLink { hard_link })
            }
            _ => Err(format!("a tree entry of one kind only: {kinds}")),
        }
    }
}

/// A symbolic link's target: text, or the bytes of one that is not UTF-8
/// (which no path of the tree can be, so such a link dangles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    Text(String),
    Bytes(Vec<u8>),
}

impl Target {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Target::Text(text) => text.as_bytes(),
            Target::Bytes(bytes) => bytes,
        }
    }
}

/// A directory of the tree granted to the guest under a name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Preopen {
    /// A directory of the tree.
    pub host: String,
    /// The name the guest finds it under (`get-directories`).
    pub guest: String,
    #[serde(default)]
    pub read_only: bool,
    /// Its directory lies on another filesystem than the rest of the tree
    /// (a tmpfs, `/dev/shm`), so that a rename or link between it and
    /// another preopen crosses devices.
    #[serde(default)]
    pub other_filesystem: bool,
}

/// Where in `[run.tree]` and `[[run.preopen]]` a problem is.
#[derive(Clone, Debug, PartialEq)]
pub enum At {
    Entry(String),
    /// The preopen of this index.
    Preopen(usize),
}

/// A preopen as a host grants it: the directory on this machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Granted {
    pub host: PathBuf,
    pub guest: String,
    pub read_only: bool,
}

impl Granted {
    /// `HOST::GUEST`, as the adapter protocol's `--dir` and
    /// `--read-only-dir` give a preopen.
    pub fn parse(text: &str, read_only: bool) -> Result<Granted, String> {
        match text.split_once("::") {
            Some((host, guest)) if !host.is_empty() && !guest.is_empty() => Ok(Granted {
                host: host.into(),
                guest: guest.into(),
                read_only,
            }),
            _ => Err(format!("`{text}` is no preopen: write HOST::GUEST")),
        }
    }

    /// The adapter protocol's option for this preopen: its name and value.
    pub fn option(&self) -> (&'static str, String) {
        let name = if self.read_only {
            "read-only-dir"
        } else {
            "dir"
        };
        (name, format!("{}::{}", self.host.display(), self.guest))
    }
}

impl Files {
    /// Why this tree cannot be laid out as written, if it cannot, and at
    /// which entry or preopen: a path that is not a plain relative path,
    /// `outside` used, a link to nothing not marked dangling, a hard link
    /// to no file, a preopen of no directory, a guest name given twice.
    pub fn check(&self) -> Result<(), (At, String)> {
        for (path, entry) in &self.tree {
            let at = |problem: String| (At::Entry(path.clone()), problem);
            self.check_entry(path, entry).map_err(at)?;
        }
        let mut guests = std::collections::BTreeSet::new();
        for (index, preopen) in self.preopens.iter().enumerate() {
            let at = |problem: String| (At::Preopen(index), problem);
            if !self.is_dir(&preopen.host) {
                return Err(at(format!(
                    "`{}` is no directory of the tree; add `\"{}\" = {{ dir = true }}` to [run.tree]",
                    preopen.host, preopen.host
                )));
            }
            if preopen.guest.is_empty() || !guests.insert(&preopen.guest) {
                return Err(at(format!(
                    "`{}`: each preopen needs a guest name of its own",
                    preopen.guest
                )));
            }
        }
        for (index, preopen) in self.preopens.iter().enumerate() {
            if let Some(other) = (self.preopens.iter()).find(|other| {
                other.host.starts_with(&format!("{}/", preopen.host))
                    || (other.host == preopen.host && !std::ptr::eq(*other, preopen))
            }) {
                return Err((
                    At::Preopen(index),
                    format!(
                        "`{}` holds the preopen `{}`: give each preopen a directory of its own (a host whose files are in memory would copy the shared part twice)",
                        preopen.host, other.host
                    ),
                ));
            }
        }
        // A link resolves where it lies: one between the other filesystem
        // and the rest would point at what the other side does not hold.
        for (path, entry) in &self.tree {
            let here = self.apart(path);
            let crosses = match entry {
                Entry::HardLink { hard_link } => self.apart(hard_link) != here,
                // Every directory the target's text passes through, not
                // just where it ends: on disk, `..` out of the other
                // filesystem climbs elsewhere.
                Entry::Symlink {
                    symlink: Target::Text(target),
                    ..
                } if !target.starts_with('/') => match lexical_steps(path, target) {
                    Some(steps) => steps.iter().any(|step| self.apart(step) != here),
                    None => here.is_some(),
                },
                _ => false,
            };
            if crosses {
                return Err((
                    At::Entry(path.clone()),
                    format!(
                        "`{path}` links across filesystems, into or out of a preopen marked `other-filesystem`: keep its links within it"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The preopen marked `other-filesystem` that `path` lies in, if any.
    fn apart(&self, path: &str) -> Option<&str> {
        (self.preopens.iter())
            .filter(|preopen| preopen.other_filesystem)
            .map(|preopen| preopen.host.as_str())
            .find(|host| within(path, host).is_some())
    }

    fn check_entry(&self, path: &str, entry: &Entry) -> Result<(), String> {
        {
            plain(path)?;
            if path == OUTSIDE || path.starts_with("outside/") {
                return Err(format!(
                    "`{path}`: `outside/` is the harness's, beside the preopens, for no guest to reach; a symlink may point into it (`{SECRET}`)"
                ));
            }
            if let Some(parent) = self.tree.keys().find(|other| {
                path.starts_with(&format!("{other}/"))
                    && !matches!(self.tree[*other], Entry::Dir { .. })
            }) {
                return Err(format!(
                    "`{path}` lies under `{parent}`, which is no directory"
                ));
            }
            match entry {
                Entry::Dir { dir: false } => {
                    return Err(format!(
                        "`{path}`: `dir = false` says nothing; leave it out"
                    ));
                }
                Entry::Fifo { fifo: false } => {
                    return Err(format!(
                        "`{path}`: `fifo = false` says nothing; leave it out"
                    ));
                }
                Entry::Symlink {
                    symlink: Target::Bytes(bytes),
                    ..
                } if std::str::from_utf8(bytes).is_ok() => {
                    return Err(format!(
                        "`{path}`: its target's bytes are UTF-8; write the target as text"
                    ));
                }
                Entry::Symlink { symlink, dangling } => {
                    let names = match symlink {
                        Target::Text(text) => self.names(&lexical_target(path, text)),
                        Target::Bytes(_) => false,
                    };
                    match (names, dangling) {
                        (false, false) => {
                            return Err(format!(
                                "`{path}` links to `{}`, which the tree does not lay out: add `dangling = true` if it is meant to point at nothing",
                                String::from_utf8_lossy(symlink.as_bytes())
                            ));
                        }
                        (true, true) => {
                            return Err(format!(
                                "`{path}` is marked dangling, but `{}` is in the tree",
                                String::from_utf8_lossy(symlink.as_bytes())
                            ));
                        }
                        _ => {}
                    }
                }
                Entry::HardLink { hard_link } => {
                    if !matches!(self.tree.get(hard_link), Some(Entry::File(_))) {
                        return Err(format!(
                            "`{path}` is a hard link to `{hard_link}`, which is no file of the tree"
                        ));
                    }
                }
                Entry::File(_) | Entry::Dir { .. } | Entry::Fifo { .. } => {}
            }
        }
        Ok(())
    }

    /// What of the tree only filesystems on this machine can hold (a FIFO,
    /// a target that is not UTF-8, a second filesystem), if anything:
    /// preview2-shim's in-memory tree, one JavaScript object of strings,
    /// has none of them.
    pub fn on_disk_only(&self) -> Option<&'static str> {
        let entry = self.tree.values().find_map(|entry| match entry {
            Entry::Fifo { .. } => Some("a named pipe"),
            Entry::Symlink {
                symlink: Target::Bytes(_),
                ..
            } => Some("a symlink target that is not UTF-8"),
            _ => None,
        });
        let apart = (self.preopens.iter().any(|preopen| preopen.other_filesystem))
            .then_some("a preopen on another filesystem");
        entry.or(apart)
    }

    /// Whether `path` is laid out: an entry, a directory above one, or
    /// the harness's own `outside/secret`.
    fn names(&self, path: &Option<String>) -> bool {
        let Some(path) = path else { return false };
        path.is_empty()
            || path == OUTSIDE
            || path == SECRET
            || self.tree.contains_key(path)
            || self.is_dir(path)
    }

    fn is_dir(&self, path: &str) -> bool {
        matches!(self.tree.get(path), Some(Entry::Dir { .. }))
            || self
                .tree
                .keys()
                .any(|other| other.starts_with(&format!("{path}/")))
    }

    /// Lays the tree out in a fresh directory and starts watching
    /// `outside/`.
    pub fn lay_out(&self) -> Result<LaidOut, String> {
        let root = tempfile::tempdir().map_err(|e| format!("cannot make the run's root: {e}"))?;
        let failed = |path: &str, e: std::io::Error| format!("cannot lay out `{path}`: {e}");
        std::fs::create_dir(root.path().join(OUTSIDE)).map_err(|e| failed(OUTSIDE, e))?;
        std::fs::write(root.path().join(SECRET), SECRET_CONTENTS).map_err(|e| failed(SECRET, e))?;
        let mut apart = Vec::new();
        for preopen in self.preopens.iter().filter(|p| p.other_filesystem) {
            apart.push((preopen.host.clone(), other_filesystem(root.path())?));
        }
        // Where a path of the tree lies on this machine.
        let place = |path: &str| {
            for (host, dir) in &apart {
                match within(path, host) {
                    Some("") => return dir.path().to_path_buf(),
                    Some(rest) => return dir.path().join(rest),
                    None => {}
                }
            }
            root.path().join(path)
        };
        // Files first, so that a hard link finds its file; links last.
        let mut entries: Vec<(&String, &Entry)> = self.tree.iter().collect();
        entries.sort_by_key(|(_, entry)| {
            matches!(entry, Entry::HardLink { .. } | Entry::Symlink { .. })
        });
        for (path, entry) in entries {
            let at = place(path);
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent).map_err(|e| failed(path, e))?;
            }
            match entry {
                Entry::File(contents) => std::fs::write(&at, contents),
                Entry::Dir { .. } => std::fs::create_dir_all(&at),
                Entry::Fifo { .. } => make_fifo(&at),
                Entry::Symlink {
                    symlink: target, ..
                } => symlink(OsStr::from_bytes(target.as_bytes()), &at),
                Entry::HardLink { hard_link } => std::fs::hard_link(place(hard_link), &at),
            }
            .map_err(|e| failed(path, e))?;
        }
        let granted = (self.preopens.iter())
            .map(|preopen| Granted {
                host: place(&preopen.host),
                guest: preopen.guest.clone(),
                read_only: preopen.read_only,
            })
            .collect();
        // The harness's own look first: it opens `outside/` too.
        let before =
            look(root.path(), &apart).map_err(|e| format!("cannot read the laid-out tree: {e}"))?;
        let watch = Inotify::init().map_err(|e| format!("cannot watch `{OUTSIDE}/`: {e}"))?;
        watch
            .watches()
            .add(root.path().join(OUTSIDE), WatchMask::ALL_EVENTS)
            .map_err(|e| format!("cannot watch `{OUTSIDE}/`: {e}"))?;
        Ok(LaidOut {
            granted,
            root,
            apart,
            watch,
            before,
        })
    }

    /// Shell commands that lay the tree out in the working directory as
    /// the harness does, `outside/` included: for a reproduction.
    pub fn shell(&self) -> String {
        let quote = |text: &str| {
            shlex::try_quote(text).map_or_else(|_| format!("{text:?}"), |q| q.into_owned())
        };
        // printf's format: one line however many the contents have.
        let printf = |contents: &str, path: &str| {
            let format = (contents.replace('\\', "\\\\").replace('%', "%%")).replace('\n', "\\n");
            format!("printf {} > {}\n", quote(&format), quote(path))
        };
        let mut out = format!("mkdir -p {OUTSIDE}\n{}", printf(SECRET_CONTENTS, SECRET));
        for preopen in self.preopens.iter().filter(|p| p.other_filesystem) {
            out.push_str(&format!(
                "# witness lays `{}` out on another filesystem (a tmpfs): mount one there to cross devices as the run did\n",
                preopen.host
            ));
        }
        let mut made = std::collections::BTreeSet::new();
        let mut entries: Vec<(&String, &Entry)> = self.tree.iter().collect();
        entries.sort_by_key(|(_, entry)| match entry {
            Entry::Symlink { .. } => 2,
            Entry::HardLink { .. } => 1,
            Entry::File(_) | Entry::Dir { .. } | Entry::Fifo { .. } => 0,
        });
        for (path, entry) in entries {
            let dir = match entry {
                Entry::Dir { .. } => Some(path.as_str()),
                _ => path.rsplit_once('/').map(|(parent, _)| parent),
            };
            if let Some(dir) = dir.filter(|dir| made.insert(*dir)) {
                out.push_str(&format!("mkdir -p {}\n", quote(dir)));
            }
            out.push_str(&match entry {
                Entry::File(contents) => printf(contents, path),
                Entry::Dir { .. } => continue,
                Entry::Fifo { .. } => format!("mkfifo {}\n", quote(path)),
                Entry::Symlink {
                    symlink: Target::Text(target),
                    ..
                } => format!("ln -s {} {}\n", quote(target), quote(path)),
                Entry::Symlink {
                    symlink: Target::Bytes(bytes),
                    ..
                } => {
                    let octal: String = bytes.iter().map(|byte| format!("\\{byte:03o}")).collect();
                    format!("ln -s \"$(printf '{octal}')\" {}\n", quote(path))
                }
                Entry::HardLink { hard_link } => {
                    format!("ln {} {}\n", quote(hard_link), quote(path))
                }
            });
        }
        out
    }

    /// The preopens as granted from the working directory a reproduction
    /// laid the tree out in ([`Files::shell`]).
    pub fn granted_here(&self) -> Vec<Granted> {
        (self.preopens.iter())
            .map(|preopen| Granted {
                host: Path::new(".").join(&preopen.host),
                guest: preopen.guest.clone(),
                read_only: preopen.read_only,
            })
            .collect()
    }

    /// The directory `host` of the tree as preview2-shim's in-memory
    /// filesystem takes it (`{ dir: { name: { source: "..." } } }`): a
    /// symlink is `{ symlink: "..." }`; a hard link is left out, for the
    /// shim's `linkAt` to make ([`Files::hard_links`]), which counts links.
    pub fn in_memory(&self, host: &str) -> serde_json::Value {
        let mut dir = serde_json::Map::new();
        let prefix = format!("{host}/");
        for (path, entry) in &self.tree {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let mut at = &mut dir;
            let mut parts: Vec<&str> = rest.split('/').collect();
            let name = parts.pop().unwrap_or_default();
            for part in parts {
                let child = at
                    .entry(part)
                    .or_insert_with(|| serde_json::json!({ "dir": {} }));
                at = child["dir"]
                    .as_object_mut()
                    .expect("a directory holds a map");
            }
            match entry {
                Entry::File(contents) => {
                    at.insert(name.into(), serde_json::json!({ "source": contents }));
                }
                Entry::Symlink {
                    symlink: Target::Text(target),
                    ..
                } => {
                    at.insert(name.into(), serde_json::json!({ "symlink": target }));
                }
                // Never asked for: a host whose tree is in memory does not
                // take such a tree (`Files::on_disk_only`).
                Entry::Fifo { .. }
                | Entry::Symlink {
                    symlink: Target::Bytes(_),
                    ..
                } => {}
                Entry::HardLink { .. } => {}
                Entry::Dir { .. } => {
                    at.entry(name)
                        .or_insert_with(|| serde_json::json!({ "dir": {} }));
                }
            }
        }
        serde_json::json!({ "dir": dir })
    }

    /// Each hard link of the tree that joins two preopens' files: where
    /// its file is and where the link goes, as (preopen index, path in
    /// that preopen), to make with `link-at` once the preopens exist.
    pub fn hard_links(&self) -> Vec<((usize, String), (usize, String))> {
        let in_preopen = |path: &str| {
            (self.preopens.iter().enumerate()).find_map(|(index, preopen)| {
                Some((index, within(path, &preopen.host)?.to_string()))
            })
        };
        (self.tree.iter())
            .filter_map(|(path, entry)| match entry {
                Entry::HardLink { hard_link } => Some((in_preopen(hard_link)?, in_preopen(path)?)),
                _ => None,
            })
            .collect()
    }
}

/// `path` relative to the tree's directory `dir`: `""` for `dir` itself,
/// `None` for a path elsewhere.
fn within<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    match path.strip_prefix(dir)? {
        "" => Some(""),
        rest => rest.strip_prefix('/'),
    }
}

/// A relative path of normal components: `Err` says what is wrong.
fn plain(path: &str) -> Result<(), String> {
    // Split by hand: `Path::components` would drop a `.` and a trailing `/`.
    let normal = path.split('/').all(|part| !matches!(part, "" | "." | ".."));
    if normal {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a path under the run's root: write it relative, with no `.`, `..` or trailing `/`"
        ))
    }
}

/// Where a link at `link` to `target` points, relative to the root, by
/// its text alone; `None` when it leaves the root or is absolute.
fn lexical_target(link: &str, target: &str) -> Option<String> {
    lexical_steps(link, target)?.pop()
}

/// Each path, relative to the root, that following `target` from the
/// link at `link` passes through, by its text alone, the last where it
/// points; `None` when it leaves the root or is absolute.
fn lexical_steps(link: &str, target: &str) -> Option<Vec<String>> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    let mut steps = vec![parts.join("/")];
    for part in target.split('/') {
        match part {
            "" | "." => continue,
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
        steps.push(parts.join("/"));
    }
    Some(steps)
}

/// A laid-out tree, for one run: deleted when dropped.
pub struct LaidOut {
    root: tempfile::TempDir,
    /// The preopens marked `other-filesystem`: the tree's path, and the
    /// directory on the other filesystem that holds it.
    apart: Vec<(String, tempfile::TempDir)>,
    granted: Vec<Granted>,
    watch: Inotify,
    before: BTreeMap<String, serde_json::Value>,
}

impl LaidOut {
    /// The preopens, as the host grants them.
    pub fn granted(&self) -> &[Granted] {
        &self.granted
    }

    /// What the run did to the tree, seen from the host side: the
    /// observations [`TREE_CHANGES`] (when anything changed) and
    /// [`OUTSIDE_TOUCHED`] (when anything touched `outside/`).
    pub fn observe(mut self) -> Result<Vec<(String, serde_json::Value)>, String> {
        // The events first: the harness's own look below opens files too.
        let mut buffer = [0; 4096];
        let mut touched = Vec::new();
        loop {
            match self.watch.read_events(&mut buffer) {
                Ok(events) => {
                    let mut any = false;
                    for event in events {
                        any = true;
                        let name = event
                            .name
                            .map_or(String::new(), |name| name.to_string_lossy().into_owned());
                        for what in touches(event.mask) {
                            let what = format!("{what} {OUTSIDE}/{name}");
                            if !touched.contains(&what) {
                                touched.push(what);
                            }
                        }
                    }
                    if !any {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("cannot read what touched `{OUTSIDE}/`: {e}")),
            }
        }
        let after = look(self.root.path(), &self.apart)
            .map_err(|e| format!("cannot read the tree after the run: {e}"))?;
        let mut changes = serde_json::Map::new();
        for (path, entry) in &after {
            if self.before.get(path) != Some(entry) {
                changes.insert(path.clone(), entry.clone());
            }
        }
        for path in self.before.keys() {
            if !after.contains_key(path) {
                changes.insert(path.clone(), "gone".into());
            }
        }
        let mut observations = Vec::new();
        if !changes.is_empty() {
            observations.push((TREE_CHANGES.to_string(), changes.into()));
        }
        if !touched.is_empty() {
            observations.push((OUTSIDE_TOUCHED.to_string(), touched.into()));
        }
        Ok(observations)
    }
}

/// What an inotify event says was done, in words; closing is implied by
/// opening and goes unsaid.
fn touches(mask: EventMask) -> impl Iterator<Item = &'static str> {
    [
        (EventMask::OPEN, "opened"),
        (EventMask::ACCESS, "read"),
        (EventMask::MODIFY, "wrote"),
        (EventMask::ATTRIB, "changed the metadata of"),
        (EventMask::CREATE, "created"),
        (EventMask::DELETE, "deleted"),
        (EventMask::DELETE_SELF, "deleted"),
        (EventMask::MOVED_FROM, "moved away"),
        (EventMask::MOVED_TO, "moved in"),
        (EventMask::MOVE_SELF, "moved"),
        // Events were lost: what touched `outside/` is not all known.
        (EventMask::Q_OVERFLOW, "lost track of what touched"),
    ]
    .into_iter()
    .filter(move |(bit, _)| mask.contains(*bit))
    .map(|(_, what)| what)
}

/// The whole tree, as [`snapshot`] describes it: under the root, and each
/// preopen that lies on the other filesystem under its path in the tree.
fn look(
    root: &Path,
    apart: &[(String, tempfile::TempDir)],
) -> std::io::Result<BTreeMap<String, serde_json::Value>> {
    let mut entries = snapshot(root)?;
    for (host, dir) in apart {
        entries.insert(host.clone(), serde_json::json!({ "dir": true }));
        for (path, entry) in snapshot(dir.path())? {
            entries.insert(format!("{host}/{path}"), entry);
        }
    }
    Ok(entries)
}

/// A fresh directory on another filesystem than `root`'s: a tmpfs, which
/// Linux mounts at `/dev/shm`.
fn other_filesystem(root: &Path) -> Result<tempfile::TempDir, String> {
    const SHM: &str = "/dev/shm";
    let device = |path: &Path| std::fs::metadata(path).map(|metadata| metadata.dev());
    match (device(root), device(Path::new(SHM))) {
        (Ok(here), Ok(there)) if here != there => tempfile::tempdir_in(SHM)
            .map_err(|e| format!("cannot make a directory on another filesystem in {SHM}: {e}")),
        _ => Err(format!(
            "a preopen marked `other-filesystem` needs {SHM} on another filesystem than the run's root ({}): set TMPDIR to a directory on a disk",
            root.display()
        )),
    }
}

/// Every entry under `root` (links not followed), described as the tree's
/// syntax describes it; a file with several names says how many.
fn snapshot(root: &Path) -> std::io::Result<BTreeMap<String, serde_json::Value>> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for child in std::fs::read_dir(&dir)? {
            let path = child?.path();
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let metadata = std::fs::symlink_metadata(&path)?;
            let kind = metadata.file_type();
            let entry = if kind.is_dir() {
                pending.push(path);
                serde_json::json!({ "dir": true })
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path)?.into_os_string().into_vec();
                match String::from_utf8(target) {
                    Ok(text) => serde_json::json!({ "symlink": text }),
                    Err(bytes) => serde_json::json!({ "symlink": bytes.into_bytes() }),
                }
            } else if kind.is_file() {
                file(&path, &metadata)?
            } else if kind.is_fifo() {
                // Never opened: opening a pipe for reading waits for a writer.
                serde_json::json!({ "fifo": true })
            } else {
                let special = if kind.is_socket() {
                    "socket"
                } else if kind.is_char_device() {
                    "character-device"
                } else {
                    "block-device"
                };
                serde_json::json!({ "special": special })
            };
            entries.insert(name, entry);
        }
    }
    Ok(entries)
}

/// A regular file as the tree's syntax describes it: its contents when
/// short UTF-8, else its size (and a digest of a file not too long to
/// read); how many names it has when more than one.
fn file(path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<serde_json::Value> {
    let size = metadata.len();
    let mut file = serde_json::Map::new();
    if size <= DIGESTED_CONTENTS {
        let mut contents = Vec::new();
        std::fs::File::open(path)?
            .take(DIGESTED_CONTENTS)
            .read_to_end(&mut contents)?;
        match String::from_utf8(contents) {
            Ok(text) if text.len() as u64 <= SHOWN_CONTENTS => {
                file.insert("file".into(), text.into());
            }
            contents => {
                let bytes = contents.map_or_else(|e| e.into_bytes(), String::into_bytes);
                file.insert("file-size".into(), bytes.len().into());
                let digest = Sha256::digest(&bytes);
                let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
                file.insert("sha256".into(), hex.into());
            }
        }
    } else {
        file.insert("file-size".into(), size.into());
    }
    if metadata.nlink() > 1 {
        file.insert("links".into(), metadata.nlink().into());
    }
    // A lone file reads as its contents, as the tree writes it.
    Ok(match (file.len(), file.get("file")) {
        (1, Some(text)) => text.clone(),
        _ => file.into(),
    })
}

/// `mkfifo(3)`: std has no call for it.
fn make_fifo(path: &Path) -> std::io::Result<()> {
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    if unsafe { libc::mkfifo(path.as_ptr(), 0o644) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(tree: &[(&str, Entry)], preopens: &[(&str, &str)]) -> Files {
        Files {
            tree: tree
                .iter()
                .map(|(path, entry)| (path.to_string(), entry.clone()))
                .collect(),
            preopens: preopens
                .iter()
                .map(|(host, guest)| Preopen {
                    host: host.to_string(),
                    guest: guest.to_string(),
                    read_only: false,
                    other_filesystem: false,
                })
                .collect(),
        }
    }

    fn link(target: &str) -> Entry {
        Entry::Symlink {
            symlink: Target::Text(target.into()),
            dangling: false,
        }
    }

    #[test]
    fn a_link_must_name_what_the_tree_lays_out_or_say_it_dangles() {
        let good = files(
            &[
                ("data/a", Entry::File("x".into())),
                ("data/up", link("../outside/secret")),
                ("data/self", link(".")),
            ],
            &[("data", "/data")],
        );
        assert_eq!(good.check(), Ok(()));
        let bad = files(&[("data/a", link("b"))], &[]);
        assert!(bad.check().unwrap_err().1.contains("dangling = true"));
        let escapes = files(&[("data/a", link("../../etc/passwd"))], &[]);
        assert!(escapes.check().unwrap_err().1.contains("dangling = true"));
    }

    #[test]
    fn paths_stay_under_the_root_and_off_outside() {
        for path in ["../x", "/etc", "a/./b", "a/", "", "outside/x", "outside"] {
            let tree = files(&[(path, Entry::File(String::new()))], &[]);
            assert!(tree.check().is_err(), "{path:?} passed");
        }
        let preopen_of_a_file = files(&[("f", Entry::File(String::new()))], &[("f", "/f")]);
        assert!(
            preopen_of_a_file
                .check()
                .unwrap_err()
                .1
                .contains("no directory")
        );
    }

    #[test]
    fn the_look_after_the_run_sees_changes_and_touches() {
        let tree = files(
            &[
                ("data/a", Entry::File("x".into())),
                ("data/gone", Entry::File("y".into())),
                (
                    "data/h",
                    Entry::HardLink {
                        hard_link: "data/a".into(),
                    },
                ),
            ],
            &[("data", "/data")],
        );
        let laid = tree.lay_out().unwrap();
        assert!(laid.observe().unwrap().is_empty(), "nothing happened");
        let laid = tree.lay_out().unwrap();
        let data = &laid.granted()[0].host;
        std::fs::write(data.join("new"), "n").unwrap();
        std::fs::remove_file(data.join("gone")).unwrap();
        std::fs::read(data.join("../outside/secret")).unwrap();
        let seen: BTreeMap<_, _> = laid.observe().unwrap().into_iter().collect();
        assert_eq!(
            seen[TREE_CHANGES],
            serde_json::json!({ "data/new": "n", "data/gone": "gone" })
        );
        assert_eq!(
            seen[OUTSIDE_TOUCHED],
            serde_json::json!(["opened outside/secret", "read outside/secret"])
        );
    }

    #[test]
    fn pipes_byte_targets_and_long_files_are_seen_without_reading_what_cannot_be_read() {
        let odd = Entry::Symlink {
            symlink: Target::Bytes(vec![0x61, 0xff]),
            dangling: true,
        };
        let tree = files(
            &[
                ("data/a", Entry::File("x".into())),
                ("data/pipe", Entry::Fifo { fifo: true }),
                ("data/odd", odd),
            ],
            &[("data", "/data")],
        );
        assert_eq!(tree.check(), Ok(()));
        assert!(tree.on_disk_only().is_some());
        // A pipe opened for reading would wait for a writer: the look must not open it.
        let laid = tree.lay_out().unwrap();
        assert!(laid.observe().unwrap().is_empty(), "nothing happened");
        let laid = tree.lay_out().unwrap();
        let data = laid.granted()[0].host.clone();
        std::fs::write(data.join("long"), "y".repeat(300)).unwrap();
        let far = std::fs::OpenOptions::new()
            .write(true)
            .open(data.join("a"))
            .unwrap();
        std::os::unix::fs::FileExt::write_at(&far, b"z", 1 << 40).unwrap();
        let seen: BTreeMap<_, _> = laid.observe().unwrap().into_iter().collect();
        assert_eq!(
            seen[TREE_CHANGES],
            serde_json::json!({
                "data/long": {
                    "file-size": 300,
                    "sha256": "9637cfead94a85e03a7ea004468a639f68a872e98696b90a023e13f42b8a0ad1",
                },
                "data/a": { "file-size": (1u64 << 40) + 1 },
            })
        );
    }

    #[test]
    fn a_target_given_as_bytes_must_not_be_utf8() {
        let tree = files(
            &[(
                "data/l",
                Entry::Symlink {
                    symlink: Target::Bytes(b"a.txt".to_vec()),
                    dangling: true,
                },
            )],
            &[],
        );
        let (_, problem) = tree.check().unwrap_err();
        assert!(problem.contains("write the target as text"), "{problem}");
    }

    #[test]
    fn a_preopen_on_another_filesystem_keeps_its_links_and_its_directory_to_itself() {
        let mut tree = files(
            &[
                ("data/a", Entry::File("x".into())),
                ("apart/l", link("../data/a")),
            ],
            &[("data", "/data"), ("apart", "/apart")],
        );
        tree.preopens[1].other_filesystem = true;
        let (at, problem) = tree.check().unwrap_err();
        assert_eq!(at, At::Entry("apart/l".into()));
        assert!(problem.contains("across filesystems"), "{problem}");
        tree.tree.insert("apart/l".into(), link("../apart/b"));
        assert!(tree.check().is_err(), "a link climbing out of it and back");
        tree.tree.remove("apart/l");
        tree.tree.insert("apart/b".into(), Entry::File("y".into()));
        assert_eq!(tree.check(), Ok(()));
        let laid = tree.lay_out().unwrap();
        let device = |path: &Path| std::fs::metadata(path).unwrap().dev();
        let granted = laid.granted();
        assert_ne!(device(&granted[0].host), device(&granted[1].host));
        std::fs::write(granted[1].host.join("b"), "z").unwrap();
        let seen: BTreeMap<_, _> = laid.observe().unwrap().into_iter().collect();
        assert_eq!(seen[TREE_CHANGES], serde_json::json!({ "apart/b": "z" }));
        // One preopen inside another: a load error.
        let nested = files(
            &[("data/sub/a", Entry::File("x".into()))],
            &[("data", "/data"), ("data/sub", "/sub")],
        );
        assert!(matches!(nested.check(), Err((At::Preopen(0), _))));
    }

    #[test]
    fn an_in_memory_tree_leaves_hard_links_for_link_at_to_make() {
        let tree = files(
            &[
                ("data/a", Entry::File("x".into())),
                (
                    "more/h",
                    Entry::HardLink {
                        hard_link: "data/a".into(),
                    },
                ),
            ],
            &[("data", "/data"), ("more", "/more")],
        );
        assert_eq!(tree.in_memory("more"), serde_json::json!({ "dir": {} }));
        assert_eq!(
            tree.hard_links(),
            [((0, "a".to_string()), (1, "h".to_string()))]
        );
    }
}
