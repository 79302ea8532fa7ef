//! `wasi:filesystem` on the tree a case lays out (`[run.tree]`): path
//! resolution and the sandbox, read-only preopens, and what each
//! descriptor method does to the files. The guest reports what each call
//! returned; what the calls did to the files the harness sees for itself,
//! from the host side (`tree-changes`, `outside-touched`).
//!
//! Every scenario works in the preopen `/data`; those about read-only
//! preopens also use `/ro` (read-only) and `/rw` (writable).

use common::observe;
use serde_json::{Value, json};
use wasi::clocks::wall_clock;
use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{
    Advice, Datetime, Descriptor, DescriptorFlags, DescriptorStat, DescriptorType,
    DirectoryEntryStream, ErrorCode, NewTimestamp, OpenFlags, PathFlags, filesystem_error_code,
};
use wasi::io::error::Error as IoError;
use wasi::io::streams::{OutputStream, StreamError};

wit_bindgen::generate!({ path: "../../wit", world: "filesystem", generate_all });

const NONE: PathFlags = PathFlags::empty();
const FOLLOW: PathFlags = PathFlags::SYMLINK_FOLLOW;
const READ: DescriptorFlags = DescriptorFlags::READ;
const WRITE: DescriptorFlags = DescriptorFlags::WRITE;
/// An offset far past the end of any file a case lays out: 2^62.
const FAR: u64 = 1 << 62;
/// 2001-09-09T01:46:40Z: a time no clock reads now.
const LONG_AGO: Datetime = Datetime {
    seconds: 1_000_000_000,
    nanoseconds: 0,
};

common::command![
    // The sandbox: paths that leave the base directory.
    ("open-absolute", || open_in_data(NONE, "/etc/passwd")),
    ("open-dotdot", || open_in_data(NONE, "../outside/secret")),
    ("open-dotdot-after-subdir", || {
        open_in_data(NONE, "sub/../../outside/secret")
    }),
    ("open-symlink-out", || open_in_data(FOLLOW, "escape")),
    ("open-symlink-absolute", || open_in_data(FOLLOW, "abs")),
    ("open-symlink-chain-out", || open_in_data(FOLLOW, "one")),
    ("open-through-symlink-to-parent", || {
        open_in_data(NONE, "up/outside/secret")
    }),
    ("stat-at-dotdot", || {
        observe("stat-at", stat(data().stat_at(NONE, "..")))
    }),
    ("stat-at-symlink-out", || {
        observe("stat-at", stat(data().stat_at(FOLLOW, "escape")))
    }),
    ("create-directory-dotdot", || {
        observe(
            "create-directory-at",
            done(data().create_directory_at("../outside/made")),
        )
    }),
    ("unlink-dotdot", || {
        observe(
            "unlink-file-at",
            done(data().unlink_file_at("../outside/secret")),
        )
    }),
    ("remove-directory-dotdot", || {
        observe(
            "remove-directory-at",
            done(data().remove_directory_at("../outside")),
        )
    }),
    ("rename-out", || {
        let data = data();
        observe(
            "rename-at",
            done(data.rename_at("a.txt", &data, "../outside/a.txt")),
        )
    }),
    ("link-from-outside", || {
        let data = data();
        observe(
            "link-at",
            done(data.link_at(NONE, "../outside/secret", &data, "got")),
        )
    }),
    ("set-times-dotdot", || {
        observe(
            "set-times-at",
            done(data().set_times_at(
                NONE,
                "../outside/secret",
                NewTimestamp::Timestamp(LONG_AGO),
                NewTimestamp::Timestamp(LONG_AGO),
            )),
        )
    }),
    ("symlink-absolute", || {
        observe("symlink-at", done(data().symlink_at("/etc/passwd", "l")))
    }),
    ("readlink-absolute", || {
        observe(
            "readlink-at",
            outcome(data().readlink_at("abs"), |text| json!(text)),
        )
    }),
    // open-at's flags.
    ("open-exclusive-exists", || {
        open_flagged("a.txt", OpenFlags::CREATE | OpenFlags::EXCLUSIVE, WRITE)
    }),
    ("open-directory-flag-on-file", || {
        open_flagged("a.txt", OpenFlags::DIRECTORY, READ)
    }),
    ("open-create", || open_flagged(
        "new.txt",
        OpenFlags::CREATE,
        WRITE
    )),
    ("open-truncate", || open_flagged(
        "a.txt",
        OpenFlags::TRUNCATE,
        WRITE
    )),
    ("open-symlink-followed", || {
        let file = data().open_at(FOLLOW, "to-a", OpenFlags::empty(), READ);
        observe(
            "contents",
            file.map_or_else(|code| json!({ "err": code.name() }), |file| contents(&file)),
        )
    }),
    // Read-only preopens: `/data` is read-only in these cases.
    ("read-only-open-write", || {
        read_only(|data| opened(data.open_at(NONE, "a.txt", OpenFlags::empty(), WRITE)))
    }),
    ("read-only-open-create", || {
        read_only(|data| opened(data.open_at(NONE, "new.txt", OpenFlags::CREATE, READ)))
    }),
    ("read-only-open-truncate", || {
        read_only(|data| opened(data.open_at(NONE, "a.txt", OpenFlags::TRUNCATE, READ)))
    }),
    ("read-only-open-mutate-directory", || {
        read_only(|data| {
            let flags = READ | DescriptorFlags::MUTATE_DIRECTORY;
            opened(data.open_at(NONE, "sub", OpenFlags::DIRECTORY, flags))
        })
    }),
    ("read-only-create-directory", || {
        read_only(|data| done(data.create_directory_at("made")))
    }),
    ("read-only-unlink", || {
        read_only(|data| done(data.unlink_file_at("a.txt")))
    }),
    ("read-only-remove-directory", || {
        read_only(|data| done(data.remove_directory_at("sub")))
    }),
    ("read-only-rename", || {
        read_only(|data| done(data.rename_at("a.txt", data, "b.txt")))
    }),
    ("read-only-link", || {
        read_only(|data| done(data.link_at(NONE, "a.txt", data, "h")))
    }),
    ("read-only-symlink", || {
        read_only(|data| done(data.symlink_at("a.txt", "l")))
    }),
    ("read-only-set-times", || {
        read_only(|data| {
            let long_ago = || NewTimestamp::Timestamp(LONG_AGO);
            done(data.set_times_at(NONE, "a.txt", long_ago(), long_ago()))
        })
    }),
    ("read-only-set-size", || {
        read_only(|data| {
            let file = data.open_at(NONE, "a.txt", OpenFlags::empty(), READ);
            done(file.and_then(|file| file.set_size(0)))
        })
    }),
    ("read-only-write-via-stream", || {
        read_only(|data| through_stream(data, |file| file.write_via_stream(0)))
    }),
    ("read-only-append-via-stream", || {
        read_only(|data| through_stream(data, Descriptor::append_via_stream))
    }),
    ("link-from-read-only", || {
        let (ro, rw) = (preopen("/ro"), preopen("/rw"));
        observe("read-only-mutate-directory", mutates(&ro));
        observe("link-at", done(ro.link_at(NONE, "a.txt", &rw, "h")))
    }),
    ("link-into-read-only", || {
        let (ro, rw) = (preopen("/ro"), preopen("/rw"));
        observe("read-only-mutate-directory", mutates(&ro));
        observe("link-at", done(rw.link_at(NONE, "b.txt", &ro, "h")))
    }),
    ("rename-from-read-only", || {
        let (ro, rw) = (preopen("/ro"), preopen("/rw"));
        observe("read-only-mutate-directory", mutates(&ro));
        observe("rename-at", done(ro.rename_at("a.txt", &rw, "a.txt")))
    }),
    ("rename-into-read-only", || {
        let (ro, rw) = (preopen("/ro"), preopen("/rw"));
        observe("read-only-mutate-directory", mutates(&ro));
        observe("rename-at", done(rw.rename_at("b.txt", &ro, "b.txt")))
    }),
    // What each method does to the files.
    ("write-past-end", || {
        let file = open("a.txt", WRITE);
        observe("write", outcome(file.write(b"x", 10), |n| json!(n)))
    }),
    ("set-size-grow", || {
        observe("set-size", done(open("a.txt", WRITE).set_size(10)))
    }),
    ("set-size-shrink", || {
        observe("set-size", done(open("a.txt", WRITE).set_size(2)))
    }),
    ("read-directory", || {
        observe("entries", outcome(entries(&data()), |names| json!(names)))
    }),
    ("read-directory-streams-apart", read_directory_streams_apart),
    ("remove-directory-not-empty", || {
        observe(
            "remove-directory-at",
            done(data().remove_directory_at("sub")),
        )
    }),
    ("remove-directory", || {
        observe(
            "remove-directory-at",
            done(data().remove_directory_at("empty")),
        )
    }),
    ("unlink-directory", || {
        observe("unlink-file-at", done(data().unlink_file_at("sub")))
    }),
    ("unlink-file", || {
        observe("unlink-file-at", done(data().unlink_file_at("a.txt")))
    }),
    ("link-missing", || link_in_data("missing", "h")),
    ("link-onto-existing", || link_in_data("a.txt", "b.txt")),
    ("link-directory", || link_in_data("sub", "h")),
    ("link", || link_in_data("a.txt", "h")),
    ("symlink", || {
        observe("symlink-at", done(data().symlink_at("a.txt", "l")))
    }),
    ("readlink", || {
        observe(
            "readlink-at",
            outcome(data().readlink_at("to-a"), |text| json!(text)),
        )
    }),
    ("create-directory", || {
        observe(
            "create-directory-at",
            done(data().create_directory_at("made")),
        )
    }),
    ("rename", || {
        let data = data();
        observe("rename-at", done(data.rename_at("a.txt", &data, "b.txt")))
    }),
    ("stat-file", || observe(
        "stat",
        stat(open("a.txt", READ).stat())
    )),
    ("stat-symlink", || {
        observe("stat-at", stat(data().stat_at(NONE, "to-a")))
    }),
    ("preopen-type", || {
        observe(
            "get-type",
            outcome(data().get_type(), |kind| json!(type_name(kind))),
        )
    }),
    ("is-same-object", || {
        let (a, again, b) = (
            open("a.txt", READ),
            open("a.txt", READ),
            open("b.txt", READ),
        );
        observe("same-file", a.is_same_object(&again));
        observe("other-file", a.is_same_object(&b))
    }),
    ("metadata-hash-at", || {
        let by_descriptor = open("a.txt", READ)
            .metadata_hash()
            .map(|h| (h.lower, h.upper));
        let by_path = (data().metadata_hash_at(NONE, "a.txt")).map(|h| (h.lower, h.upper));
        // The same computation: the same hash, or the same error.
        observe("hashes-equal", by_descriptor == by_path)
    }),
    ("set-times", || {
        let file = open("a.txt", WRITE);
        let long_ago = || NewTimestamp::Timestamp(LONG_AGO);
        observe("set-times", done(file.set_times(long_ago(), long_ago())));
        observe("modified", modified(&file))
    }),
    ("set-times-no-change", || {
        let file = open("a.txt", WRITE);
        let long_ago = || NewTimestamp::Timestamp(LONG_AGO);
        observe("set-times", done(file.set_times(long_ago(), long_ago())));
        let no_change = || NewTimestamp::NoChange;
        observe("no-change", done(file.set_times(no_change(), no_change())));
        observe("modified", modified(&file))
    }),
    ("sync-data-not-for-writing", || {
        observe("sync-data", done(open("a.txt", READ).sync_data()))
    }),
    ("sync-not-for-writing", || {
        observe("sync", done(open("a.txt", READ).sync()))
    }),
    ("get-directories", || {
        let names: Vec<String> = get_directories()
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        observe("names", names)
    }),
    ("read-streams-apart", read_streams_apart),
    ("append-via-stream", || {
        let file = open("a.txt", WRITE);
        let stream = file.append_via_stream();
        let written = stream.map(|stream| stream.blocking_write_and_flush(b"more\n"));
        observe("append", outcome(written, streamed))
    }),
    ("advise", || {
        let advised = open("a.txt", READ).advise(0, 6, Advice::Sequential);
        observe("advise", done(advised))
    }),
    ("stream-error-code", stream_error_code),
    ("stream-error-debug-string", stream_error_debug_string),
    (
        "stream-after-last-operation-failed",
        stream_after_last_operation_failed
    ),
    ("open-create-exclusive-new", || {
        open_flagged("new.txt", OpenFlags::CREATE | OpenFlags::EXCLUSIVE, WRITE)
    }),
    ("open-symlink-loop", || open_in_data(FOLLOW, "loop-one")),
    ("stat-at-symlink-followed", || {
        observe("stat-at", stat(data().stat_at(FOLLOW, "to-a")))
    }),
    ("stat-at-directory", || {
        observe("stat-at", stat(data().stat_at(NONE, "sub")))
    }),
    ("stat-link-count", || observe(
        "stat",
        stat(open("a.txt", READ).stat())
    )),
    ("file-type", || {
        observe(
            "get-type",
            outcome(open("a.txt", READ).get_type(), |kind| {
                json!(type_name(kind))
            }),
        )
    }),
    ("is-same-object-hard-link", || {
        let (a, h) = (open("a.txt", READ), open("h", READ));
        observe("same-file", a.is_same_object(&h))
    }),
    ("read-directory-subdirectory", || {
        let sub = data().open_at(NONE, "sub", OpenFlags::DIRECTORY, READ);
        observe(
            "entries",
            outcome(sub.and_then(|sub| entries(&sub)), |names| json!(names)),
        )
    }),
    ("link-across-preopens", || {
        let (data, more) = (data(), preopen("/more"));
        observe("link-at", done(data.link_at(NONE, "a.txt", &more, "h")))
    }),
    ("rename-across-preopens", || {
        let (data, more) = (data(), preopen("/more"));
        observe("rename-at", done(data.rename_at("a.txt", &more, "a.txt")))
    }),
    ("rename-across-filesystems", || {
        let (data, apart) = (data(), preopen("/apart"));
        observe("rename-at", done(data.rename_at("a.txt", &apart, "a.txt")))
    }),
    ("link-across-filesystems", || {
        let (data, apart) = (data(), preopen("/apart"));
        observe("link-at", done(data.link_at(NONE, "a.txt", &apart, "h")))
    }),
    ("create-directory-nested", || {
        observe(
            "create-directory-at",
            done(data().create_directory_at("sub/made")),
        )
    }),
    ("unlink-symlink", || {
        observe("unlink-file-at", done(data().unlink_file_at("to-a")))
    }),
    ("unlink-dangling-symlink", || {
        observe("unlink-file-at", done(data().unlink_file_at("nowhere")))
    }),
    ("symlink-dangling", || {
        observe("symlink-at", done(data().symlink_at("missing", "l")))
    }),
    ("write-keeps-no-offset", || {
        let file = open("a.txt", WRITE);
        observe("first", outcome(file.write(b"HE", 0), |n| json!(n)));
        observe("second", outcome(file.write(b"XY", 0), |n| json!(n)))
    }),
    // Paths the docs do not decide: what each host answers is its record.
    ("open-symlink-not-followed", || open_in_data(NONE, "to-a")),
    ("open-empty-path", || open_in_data(NONE, "")),
    ("open-trailing-slash-on-file", || open_in_data(
        NONE, "a.txt/"
    )),
    ("open-through-file", || open_in_data(NONE, "a.txt/x")),
    ("open-nul-in-path", || open_in_data(NONE, "a.txt\0x")),
    ("open-long-name", || open_in_data(NONE, &"n".repeat(300))),
    ("write-via-stream-read-only-descriptor", || {
        let file = open("a.txt", READ);
        let stream = file.write_via_stream(0);
        let written = stream.map(|stream| stream.blocking_write_and_flush(b"x"));
        observe("write", outcome(written, streamed))
    }),
    ("read-keeps-no-offset", || {
        let file = open("a.txt", READ);
        let read = |file: &Descriptor| {
            outcome(file.read(2, 1), |(bytes, _)| {
                json!(String::from_utf8_lossy(&bytes))
            })
        };
        observe("first", read(&file));
        observe("second", read(&file))
    }),
    ("get-flags-file", || {
        let flags = open("a.txt", READ | WRITE).get_flags();
        observe(
            "get-flags",
            outcome(flags, |flags| json!(flag_names(flags))),
        )
    }),
    ("set-times-now", set_times_now),
    ("read-zero-length", || {
        let read = open("a.txt", READ).read(0, 0);
        observe("read", outcome(read, |(bytes, _)| json!(bytes.len())))
    }),
    // 2^62: past what ext4 holds (16 TiB), and past 2^53, the largest
    // integer below which every JavaScript number is one (Node's `fs`
    // takes no position above it).
    ("write-far-past-end", || {
        let write = open("a.txt", WRITE).write(b"x", FAR);
        observe("write", outcome(write, |n| json!(n)))
    }),
    ("read-far-past-end", || {
        let read = open("a.txt", READ).read(6, FAR);
        observe(
            "read",
            outcome(read, |(bytes, _)| json!(String::from_utf8_lossy(&bytes))),
        )
    }),
    ("stat-at-fifo", || {
        observe("stat-at", stat(data().stat_at(NONE, "pipe")))
    }),
    // The io rules, on a file's streams.
    ("write-via-stream-subscribe-then-check-write", || {
        let file = open("a.txt", WRITE);
        let stream = file.write_via_stream(0);
        let stream = stream.unwrap_or_else(|e| panic!("write-via-stream: {}", e.name()));
        stream.subscribe().block();
        observe("check-write", count(stream.check_write()))
    }),
    ("append-via-stream-subscribe-then-check-write", || {
        let file = open("a.txt", WRITE);
        let stream = file.append_via_stream();
        let stream = stream.unwrap_or_else(|e| panic!("append-via-stream: {}", e.name()));
        stream.subscribe().block();
        observe("check-write", count(stream.check_write()))
    }),
    ("read-via-stream-subscribe-then-read", || {
        let file = open("a.txt", READ);
        let stream = file.read_via_stream(0);
        let stream = stream.unwrap_or_else(|e| panic!("read-via-stream: {}", e.name()));
        stream.subscribe().block();
        observe("read", read_count(stream.read(64)))
    }),
    // Children outliving their descriptor: each descriptor is dropped
    // before its stream is used (the other stream scenarios keep theirs).
    ("directory-entry-stream-outlives-descriptor", || {
        let stream = (data().open_at(NONE, "sub", OpenFlags::DIRECTORY, READ))
            .unwrap_or_else(|e| panic!("the case lays out sub/, which opens: {}", e.name()))
            .read_directory();
        let names = stream.and_then(|stream| names(&stream));
        observe("entries", outcome(names, |names| json!(names)))
    }),
    ("read-stream-outlives-descriptor", || {
        let stream = open("a.txt", READ).read_via_stream(0);
        let read = stream.map(|stream| stream.blocking_read(64));
        observe("read", outcome(read, read_text))
    }),
    ("write-stream-outlives-descriptor", || {
        let stream = open("a.txt", WRITE).write_via_stream(0);
        let written = stream.map(|stream| stream.blocking_write_and_flush(b"HE"));
        observe("write", outcome(written, streamed))
    }),
    // Errors a tree or a value at the edge provokes, where the docs do
    // not say which: what each host answers is its record.
    ("set-times-overflow", || {
        let file = open("a.txt", WRITE);
        let far = || {
            NewTimestamp::Timestamp(Datetime {
                seconds: u64::MAX,
                nanoseconds: 0,
            })
        };
        observe("set-times", done(file.set_times(far(), far())))
    }),
    ("open-file-integrity-sync", || {
        let flags = READ | WRITE | DescriptorFlags::FILE_INTEGRITY_SYNC;
        open_flagged("a.txt", OpenFlags::empty(), flags)
    }),
    ("write-zero-length-past-end", || {
        let write = open("a.txt", WRITE).write(b"", 10);
        observe("write", outcome(write, |n| json!(n)))
    }),
    ("readlink-not-utf8", || {
        observe(
            "readlink-at",
            outcome(data().readlink_at("odd"), |text| json!(text)),
        )
    }),
    ("fifo-at-offset", fifo_at_offset),
    ("create-directory-exists", || {
        observe(
            "create-directory-at",
            done(data().create_directory_at("sub")),
        )
    }),
];

/// The preopen the guest knows by `name`.
fn preopen(name: &str) -> Descriptor {
    get_directories()
        .into_iter()
        .find_map(|(descriptor, path)| (path == name).then_some(descriptor))
        .unwrap_or_else(|| panic!("the case preopens {name}"))
}

fn data() -> Descriptor {
    preopen("/data")
}

/// A file of `/data`, opened with `flags`; the case lays it out.
fn open(path: &str, flags: DescriptorFlags) -> Descriptor {
    (data().open_at(NONE, path, OpenFlags::empty(), flags))
        .unwrap_or_else(|e| panic!("the case lays out {path}, which opens: {}", e.name()))
}

/// `{"ok": ...}` or `{"err": "<error-code>"}`.
fn outcome<T>(result: Result<T, ErrorCode>, ok: impl FnOnce(T) -> Value) -> Value {
    match result {
        Ok(value) => json!({ "ok": ok(value) }),
        Err(code) => json!({ "err": code.name() }),
    }
}

fn done(result: Result<(), ErrorCode>) -> Value {
    outcome(result, |()| json!(true))
}

/// An `open-at`: a descriptor opened is `{"ok": true}`.
fn opened(result: Result<Descriptor, ErrorCode>) -> Value {
    outcome(result, |_| json!(true))
}

fn open_in_data(path_flags: PathFlags, path: &str) {
    observe(
        "open-at",
        opened(data().open_at(path_flags, path, OpenFlags::empty(), READ)),
    )
}

fn open_flagged(path: &str, open_flags: OpenFlags, flags: DescriptorFlags) {
    observe(
        "open-at",
        opened(data().open_at(NONE, path, open_flags, flags)),
    )
}

fn link_in_data(old: &str, new: &str) {
    let data = data();
    observe("link-at", done(data.link_at(NONE, old, &data, new)))
}

/// Whether `descriptor` says it may mutate its directory: the condition
/// of every read-only clause.
fn mutates(descriptor: &Descriptor) -> Value {
    outcome(descriptor.get_flags(), |flags| {
        json!(flags.contains(DescriptorFlags::MUTATE_DIRECTORY))
    })
}

/// `call` on `/data`, a read-only preopen: its flags
/// (`mutate-directory`), and what the call returned (`result`).
fn read_only(call: impl FnOnce(&Descriptor) -> Value) {
    let data = data();
    observe("mutate-directory", mutates(&data));
    observe("result", call(&data))
}

/// `a.txt` of a read-only `/data`, opened for reading (all a read-only
/// preopen grants), and a stream `make` gives of it, written and flushed
/// while the file is open: what each step answered.
fn through_stream(
    data: &Descriptor,
    make: impl FnOnce(&Descriptor) -> Result<wasi::io::streams::OutputStream, ErrorCode>,
) -> Value {
    let file = match data.open_at(NONE, "a.txt", OpenFlags::empty(), READ) {
        Ok(file) => file,
        Err(code) => return json!({ "err": code.name() }),
    };
    let written = make(&file).map(|stream| stream.blocking_write_and_flush(b"x"));
    outcome(written, streamed)
}

/// The parts of a stat a clause decides: type, size and link count.
fn stat(result: Result<DescriptorStat, ErrorCode>) -> Value {
    outcome(
        result,
        |stat| json!({ "type": type_name(stat.type_), "size": stat.size, "link-count": stat.link_count }),
    )
}

/// The file's data-modification timestamp, in seconds.
fn modified(file: &Descriptor) -> Value {
    outcome(file.stat(), |stat| match stat.data_modification_timestamp {
        Some(time) => json!(time.seconds),
        None => json!("none"),
    })
}

/// A descriptor type's WIT name.
fn type_name(kind: DescriptorType) -> &'static str {
    match kind {
        DescriptorType::Unknown => "unknown",
        DescriptorType::BlockDevice => "block-device",
        DescriptorType::CharacterDevice => "character-device",
        DescriptorType::Directory => "directory",
        DescriptorType::Fifo => "fifo",
        DescriptorType::SymbolicLink => "symbolic-link",
        DescriptorType::RegularFile => "regular-file",
        DescriptorType::Socket => "socket",
    }
}

/// A file's contents, as text: read to its end, however few bytes each
/// read returns (up to 4 KiB).
fn contents(file: &Descriptor) -> Value {
    let mut all = Vec::new();
    loop {
        match file.read(4096, all.len() as u64) {
            Ok((bytes, end)) => {
                all.extend_from_slice(&bytes);
                if end || bytes.is_empty() || all.len() >= 4096 {
                    break;
                }
            }
            Err(code) => return json!({ "err": code.name() }),
        }
    }
    json!({ "ok": String::from_utf8_lossy(&all) })
}

/// The names of a directory's entries, sorted: a listing is a set.
fn entries(dir: &Descriptor) -> Result<Vec<String>, ErrorCode> {
    names(&dir.read_directory()?)
}

/// The names a directory-entry stream reads to its end, sorted.
fn names(stream: &DirectoryEntryStream) -> Result<Vec<String>, ErrorCode> {
    let mut names = Vec::new();
    while let Some(entry) = stream.read_directory_entry()? {
        names.push(entry.name);
    }
    names.sort();
    Ok(names)
}

/// Two streams of one directory: one read an entry in, the other read
/// whole; then the first finished. `second` holds every entry, and
/// `first` does too, with nothing twice (both sorted).
fn read_directory_streams_apart() {
    let data = data();
    let (Ok(first), Ok(second)) = (data.read_directory(), data.read_directory()) else {
        return observe("read-directory", "failed");
    };
    let read = |stream: &DirectoryEntryStream| {
        let mut names = Vec::new();
        while let Ok(Some(entry)) = stream.read_directory_entry() {
            names.push(entry.name);
        }
        names
    };
    let started = first.read_directory_entry();
    let mut whole = read(&second);
    let mut rest = read(&first);
    if let Ok(Some(entry)) = started {
        rest.push(entry.name);
    }
    whole.sort();
    rest.sort();
    observe("second", json!(whole));
    observe("first", json!(rest))
}

/// Two read streams of one file at offset 0: a read of 2 bytes from the
/// first leaves the second at the start (`second-reads`).
fn read_streams_apart() {
    let file = open("a.txt", READ);
    let (Ok(first), Ok(second)) = (file.read_via_stream(0), file.read_via_stream(0)) else {
        return observe("read-via-stream", "failed");
    };
    observe("first-reads", read_text(first.blocking_read(2)));
    observe("second-reads", read_text(second.blocking_read(2)))
}

/// A data-modification time set long ago, then to `now`: whether the
/// time `now` set lies between wall-clock readings taken around the call,
/// give or take a second (filesystems keep a coarser clock).
fn set_times_now() {
    let file = open("a.txt", WRITE);
    let long_ago = || NewTimestamp::Timestamp(LONG_AGO);
    observe("set-times", done(file.set_times(long_ago(), long_ago())));
    let before = wall_clock::now().seconds;
    let now = || NewTimestamp::Now;
    observe("now", done(file.set_times(now(), now())));
    let after = wall_clock::now().seconds;
    let set = file.stat().map(|stat| stat.data_modification_timestamp);
    observe(
        "modified-during-call",
        outcome(set, |time| match time {
            Some(time) => json!(time.seconds + 1 >= before && time.seconds <= after + 1),
            None => json!("none"),
        }),
    )
}

/// A named pipe opened for reading and writing (which, unlike opening it
/// for reading alone, waits for no writer), written and read at offset 0:
/// `pwrite` and `pread` on a pipe fail in POSIX. (A host that refuses the
/// write but reads ignoring the offset waits on the empty pipe: a hang.)
fn fifo_at_offset() {
    let flags = READ | WRITE;
    let pipe = match data().open_at(NONE, "pipe", OpenFlags::empty(), flags) {
        Ok(pipe) => pipe,
        Err(code) => return observe("open-at", json!({ "err": code.name() })),
    };
    observe("write", outcome(pipe.write(b"x", 0), |n| json!(n)));
    let read = pipe.read(1, 0);
    observe(
        "read",
        outcome(read, |(bytes, _)| json!(String::from_utf8_lossy(&bytes))),
    )
}

/// A stream of a file opened only for reading, written and flushed: the
/// first stream error (`error`), and what `filesystem-error-code` makes of
/// it (`error-code`, `"none"`); `"none"` for both when nothing failed.
fn stream_error_code() {
    let Some(written) = write_to_read_only() else {
        return observe("write-via-stream", "refused");
    };
    let (error, code) = match written {
        Ok(()) => ("none", None),
        Err(StreamError::Closed) => ("closed", None),
        Err(StreamError::LastOperationFailed(error)) => {
            ("last-operation-failed", filesystem_error_code(&error))
        }
    };
    observe("error", error);
    observe("error-code", code.map_or("none", |code| code.name()))
}

/// The error of a write to a file opened only for reading, as
/// `to-debug-string` describes it (`debug-string`: "text" or "empty"; its
/// words are the host's), or how the write ended instead (`error`).
fn stream_error_debug_string() {
    match write_to_read_only() {
        None => observe("write-via-stream", "refused"),
        Some(Ok(())) => observe("error", "none"),
        Some(Err(StreamError::Closed)) => observe("error", "closed"),
        Some(Err(StreamError::LastOperationFailed(error))) => {
            let text = IoError::to_debug_string(&error);
            observe("debug-string", common::debug_string(&text))
        }
    }
}

/// After a write stream of a file opened only for reading failed with
/// `last-operation-failed`: what its next check-write, flush and
/// blocking-flush give (no write: without a permit one may trap); how the
/// write ended instead where it did not fail so (`error`).
fn stream_after_last_operation_failed() {
    let Some((_file, stream, written)) = written_to_read_only() else {
        return observe("write-via-stream", "refused");
    };
    // Rebound, so that it is dropped before the file.
    let stream = stream;
    match written {
        Ok(()) => observe("error", "none"),
        Err(StreamError::Closed) => observe("error", "closed"),
        Err(StreamError::LastOperationFailed(_)) => {
            observe(
                "next-check-write",
                stream_result(stream.check_write().map(|_| ())),
            );
            observe("next-flush", stream_result(stream.flush()));
            observe(
                "next-blocking-flush",
                stream_result(stream.blocking_flush()),
            );
        }
    }
}

/// `x` written and flushed through a write stream of `a.txt` opened only
/// for reading: how that ended; `None` when the stream was refused.
fn write_to_read_only() -> Option<Result<(), StreamError>> {
    let (file, stream, written) = written_to_read_only()?;
    drop(stream);
    drop(file);
    Some(written)
}

/// [`write_to_read_only`], with the file and its stream (which the caller
/// drops first: whether a stream may outlive its descriptor is another
/// case's question).
fn written_to_read_only() -> Option<(Descriptor, OutputStream, Result<(), StreamError>)> {
    let file = open("a.txt", READ);
    let stream = file.write_via_stream(0).ok()?;
    // A permit of 0 waits on the pollable, ready once one is due.
    let permitted = loop {
        match stream.check_write() {
            Ok(0) => stream.subscribe().block(),
            permitted => break permitted,
        }
    };
    let written = permitted
        .and_then(|_| stream.write(b"x"))
        .and_then(|()| stream.blocking_flush());
    Some((file, stream, written))
}

/// `"ok"`, or the stream error's kind.
fn stream_result(result: Result<(), StreamError>) -> Value {
    match result {
        Ok(()) => json!("ok"),
        Err(error) => stream_error(&error),
    }
}

/// The names of the flags set, in the WIT's order.
fn flag_names(flags: DescriptorFlags) -> Vec<&'static str> {
    [
        (DescriptorFlags::READ, "read"),
        (DescriptorFlags::WRITE, "write"),
        (DescriptorFlags::FILE_INTEGRITY_SYNC, "file-integrity-sync"),
        (DescriptorFlags::DATA_INTEGRITY_SYNC, "data-integrity-sync"),
        (
            DescriptorFlags::REQUESTED_WRITE_SYNC,
            "requested-write-sync",
        ),
        (DescriptorFlags::MUTATE_DIRECTORY, "mutate-directory"),
    ]
    .into_iter()
    .filter(|(flag, _)| flags.contains(*flag))
    .map(|(_, name)| name)
    .collect()
}

/// A stream error's kind.
fn stream_error(error: &StreamError) -> Value {
    match error {
        StreamError::Closed => json!("closed"),
        StreamError::LastOperationFailed(_) => json!("last-operation-failed"),
    }
}

/// A stream call's count (check-write's permit, a read's length),
/// `{"ok": n}` or `{"err": "<kind>"}`.
fn count(count: Result<u64, StreamError>) -> Value {
    match count {
        Ok(n) => json!({ "ok": n }),
        Err(error) => json!({ "err": stream_error(&error) }),
    }
}

/// How many bytes a stream read returned, `{"ok": n}` or `{"err": "<kind>"}`.
fn read_count(read: Result<Vec<u8>, StreamError>) -> Value {
    count(read.map(|bytes| bytes.len() as u64))
}

/// What a stream read returned, as text, or the stream error's kind.
fn read_text(read: Result<Vec<u8>, StreamError>) -> Value {
    match read {
        Ok(bytes) => json!(String::from_utf8_lossy(&bytes)),
        Err(error) => stream_error(&error),
    }
}

/// A stream write's result: `true`, or the stream error's kind.
fn streamed(written: Result<(), StreamError>) -> Value {
    written.map_or_else(|error| stream_error(&error), |()| json!(true))
}
