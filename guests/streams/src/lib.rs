//! `wasi:io/streams` at its limits: write permits on every output stream a
//! guest can reach, every operation on closed output and input streams,
//! the 4096-byte bound of the blocking writes, and reads of 0 and u64::MAX.
//!
//! stdout carries the observations, so the stdio stream under test is
//! stderr: the same kind of host stream, whose capacity a case can set.

use common::observe;
use serde_json::{Value, json};
use wasi::cli::{stderr::get_stderr, stdin::get_stdin};
use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};
use wasi::io::poll::poll;
use wasi::io::streams::{InputStream, OutputStream, StreamError};

wit_bindgen::generate!({ path: "../../wit", world: "streams", generate_all });

/// How many check-write rounds filling a small stderr may take.
const FILL_ROUNDS: usize = 1_000;

common::command![
    ("stderr-write-without-check-write", || {
        write_without_check_write(&get_stderr())
    }),
    ("stderr-write-over-permit", || {
        write_over_permit(&get_stderr())
    }),
    ("stderr-write-zeroes-over-permit", || {
        write_zeroes_over_permit(&get_stderr())
    }),
    ("small-stderr-write-without-check-write", || {
        write_without_check_write(&get_stderr())
    }),
    ("small-stderr-write-over-permit", || {
        write_over_permit(&get_stderr())
    }),
    ("small-stderr-write-zeroes-over-permit", || {
        write_zeroes_over_permit(&get_stderr())
    }),
    ("file-write-without-check-write", || {
        let (_descriptor, file) = scratch_file();
        write_without_check_write(&file);
        flushed(&file)
    }),
    ("file-write-over-permit", || {
        let (_descriptor, file) = scratch_file();
        write_over_permit(&file);
        flushed(&file)
    }),
    ("file-write-zeroes-over-permit", || {
        let (_descriptor, file) = scratch_file();
        write_zeroes_over_permit(&file);
        flushed(&file)
    }),
    ("closed-output-check-write", || {
        observe("check-write", permit(&closed_stderr().check_write()))
    }),
    ("closed-output-write", || {
        observe("write", unit(&closed_stderr().write(b"x")))
    }),
    ("closed-output-write-empty", || {
        observe("write", unit(&closed_stderr().write(&[])))
    }),
    ("closed-output-flush", || {
        observe("flush", unit(&closed_stderr().flush()))
    }),
    ("closed-output-blocking-flush", || {
        observe("blocking-flush", unit(&closed_stderr().blocking_flush()))
    }),
    (
        "closed-output-subscribe-ready",
        closed_output_subscribe_ready,
    ),
    ("closed-output-splice", closed_output_splice),
    ("closed-output-blocking-write-and-flush", || {
        observe(
            "blocking-write-and-flush",
            unit(&closed_stderr().blocking_write_and_flush(b"x")),
        )
    }),
    ("closed-input-read", || {
        observe("read", bytes(&closed_stdin().read(1)))
    }),
    ("closed-input-read-zero", || {
        observe("read", bytes(&closed_stdin().read(0)))
    }),
    ("closed-input-blocking-read", || {
        observe("blocking-read", bytes(&closed_stdin().blocking_read(1)))
    }),
    ("closed-input-skip", || {
        observe("skip", count(&closed_stdin().skip(1)))
    }),
    ("closed-input-subscribe-poll", closed_input_subscribe_poll),
    ("closed-input-splice", closed_input_splice),
    ("open-input-read-zero", || {
        observe("read", bytes(&get_stdin().read(0)))
    }),
    ("input-read-u64-max", || {
        observe("read", bytes(&get_stdin().read(u64::MAX)))
    }),
    ("blocking-write-and-flush-0", || blocking_write_and_flush(0)),
    ("blocking-write-and-flush-4096", || {
        blocking_write_and_flush(4096)
    }),
    ("blocking-write-and-flush-4097", || {
        blocking_write_and_flush(4097)
    }),
    ("blocking-write-zeroes-and-flush-0", || {
        blocking_write_zeroes_and_flush(0)
    }),
    ("blocking-write-zeroes-and-flush-4096", || {
        blocking_write_zeroes_and_flush(4096)
    }),
    ("blocking-write-zeroes-and-flush-4097", || {
        blocking_write_zeroes_and_flush(4097)
    }),
    ("open-output-check-write", || {
        observe("check-write", permit(&get_stderr().check_write()))
    }),
    (
        "open-output-write-within-permit",
        open_output_write_within_permit,
    ),
    (
        "open-output-write-zeroes-within-permit",
        open_output_write_zeroes_within_permit,
    ),
    ("open-output-flush", || {
        observe("flush", unit(&get_stderr().flush()))
    }),
    ("open-output-blocking-flush", || {
        observe("blocking-flush", unit(&get_stderr().blocking_flush()))
    }),
    (
        "open-output-subscribe-then-check-write",
        open_output_subscribe_then_check_write,
    ),
    ("open-input-read-4", || {
        observe("read", bytes(&get_stdin().read(4)))
    }),
    ("open-input-skip-3", || {
        observe("skip", count(&get_stdin().skip(3)))
    }),
    ("closed-input-blocking-skip", || {
        observe("blocking-skip", count(&closed_stdin().blocking_skip(1)))
    }),
    ("open-splice", || {
        observe("splice", count(&get_stderr().splice(&get_stdin(), 64)))
    }),
    ("open-input-subscribe-then-read", || {
        let stdin = get_stdin();
        stdin.subscribe().block();
        observe("read", bytes(&stdin.read(64)))
    }),
    ("open-input-read-to-end", open_input_read_to_end),
    ("file-blocking-write-and-flush", || {
        let (_descriptor, file) = scratch_file();
        observe("result", unit(&file.blocking_write_and_flush(b"witness\n")));
    }),
    ("file-blocking-write-zeroes-and-flush", || {
        let (_descriptor, file) = scratch_file();
        observe("result", unit(&file.blocking_write_zeroes_and_flush(4)));
    }),
    ("file-write-control-bytes", || {
        let (_descriptor, file) = scratch_file();
        let permitted = file.check_write().expect("an open stream permits a write");
        observe("permit-at-least-5", permitted >= 5);
        observe("write", unit(&file.write(&[0, 1, 0x1b, 0x7f, b'\n'])));
        flushed(&file)
    }),
    ("file-flush-then-subscribe", file_flush_then_subscribe),
    ("exact-capacity-blocking-write-and-flush", || {
        let stderr = get_stderr();
        observe("result", unit(&stderr.blocking_write_and_flush(b"abcd")));
        observe("check-write", permit(&stderr.check_write()));
    }),
    ("open-blocking-splice", || {
        observe(
            "blocking-splice",
            count(&get_stderr().blocking_splice(&get_stdin(), 64)),
        )
    }),
];

/// `{"ok": …}` or `{"err": "closed" | "last-operation-failed"}`.
fn outcome<T>(result: &Result<T, StreamError>, ok: impl Fn(&T) -> Value) -> Value {
    match result {
        Ok(value) => json!({ "ok": ok(value) }),
        Err(StreamError::Closed) => json!({ "err": "closed" }),
        Err(StreamError::LastOperationFailed(_)) => json!({ "err": "last-operation-failed" }),
    }
}

/// A `result<_, stream-error>`: `{"ok": true}` on success.
fn unit(result: &Result<(), StreamError>) -> Value {
    outcome(result, |()| Value::Bool(true))
}

fn permit(result: &Result<u64, StreamError>) -> Value {
    outcome(result, |n| json!(n))
}

fn count(result: &Result<u64, StreamError>) -> Value {
    permit(result)
}

/// The number of bytes read, not the bytes: cases compare lengths.
fn bytes(result: &Result<Vec<u8>, StreamError>) -> Value {
    outcome(result, |bytes| json!(bytes.len()))
}

/// A new file in the preopened scratch directory, opened for writing, and
/// its stream: the descriptor is kept while the stream is used (whether a
/// stream may outlive its descriptor is the filesystem family's question).
fn scratch_file() -> (Descriptor, OutputStream) {
    let (dir, _) = get_directories()
        .into_iter()
        .next()
        .expect("the case preopens a scratch directory");
    let file = dir
        .open_at(
            PathFlags::empty(),
            "witness.out",
            OpenFlags::CREATE,
            DescriptorFlags::WRITE,
        )
        .expect("the scratch directory is writable");
    let stream =
        (file.write_via_stream(0)).expect("a file opened for writing has an output stream");
    (file, stream)
}

/// A file's stream flushed, and how that went (`flush`): what the guest
/// wrote is then in the file when the harness looks, on every host.
fn flushed(file: &OutputStream) {
    observe("flush", unit(&file.blocking_flush()));
}

fn write_without_check_write(stream: &OutputStream) {
    observe("write", unit(&stream.write(b"witness\n")));
}

fn write_over_permit(stream: &OutputStream) {
    let permitted = stream
        .check_write()
        .expect("an open stream permits a write");
    observe("permit-positive", permitted > 0);
    let over = usize::try_from(permitted + 1)
        .expect("a permit small enough for a wasm32 guest to write one byte more");
    let contents = vec![b'x'; over];
    observe("write", unit(&stream.write(&contents)));
}

fn write_zeroes_over_permit(stream: &OutputStream) {
    let permitted = stream
        .check_write()
        .expect("an open stream permits a write");
    observe("permit-positive", permitted > 0);
    observe("write-zeroes", unit(&stream.write_zeroes(permitted + 1)));
}

/// stderr, written until check-write reports an error: the case sets a
/// small capacity, and a host's stderr reports `closed` once it is full.
/// Each permit is written in full; a permit of 0 waits on `subscribe`, which
/// is ready once check-write permits a byte or fails. The docs do not make a
/// host permit all the room at once, hence the rounds.
/// `check-write-when-full` is the evidence: the error that ended them.
fn closed_stderr() -> OutputStream {
    let stderr = get_stderr();
    for _ in 0..FILL_ROUNDS {
        match stderr.check_write() {
            Ok(0) => stderr.subscribe().block(),
            Ok(permitted) => stderr
                .write(&vec![b'x'; permitted as usize])
                .expect("a write within the permit"),
            Err(error) => {
                observe("check-write-when-full", permit(&Err(error)));
                return stderr;
            }
        }
    }
    panic!("stderr still accepts bytes after {FILL_ROUNDS} rounds: it has no small capacity")
}

/// stdin, read to its end: the case gives it no bytes.
fn closed_stdin() -> InputStream {
    let stdin = get_stdin();
    while stdin.blocking_read(4096).is_ok() {}
    stdin
}

fn closed_output_subscribe_ready() {
    let stderr = closed_stderr();
    let pollable = stderr.subscribe();
    observe("ready", pollable.ready());
}

fn closed_output_splice() {
    let stderr = closed_stderr();
    observe("splice", count(&stderr.splice(&get_stdin(), 1)));
}

fn closed_input_subscribe_poll() {
    let stdin = closed_stdin();
    let pollable = stdin.subscribe();
    observe("indices", poll(&[&pollable]));
}

fn closed_input_splice() {
    let stdin = closed_stdin();
    observe("splice", count(&get_stderr().splice(&stdin, 1)));
}

fn blocking_write_and_flush(len: usize) {
    observe(
        "result",
        unit(&get_stderr().blocking_write_and_flush(&vec![b'x'; len])),
    );
}

fn blocking_write_zeroes_and_flush(len: u64) {
    observe(
        "result",
        unit(&get_stderr().blocking_write_zeroes_and_flush(len)),
    );
}

/// A write of exactly what check-write permitted.
fn open_output_write_within_permit() {
    let stderr = get_stderr();
    let permitted = stderr
        .check_write()
        .expect("an open stream permits a write");
    observe(
        "write",
        unit(&stderr.write(&vec![b'x'; permitted as usize])),
    );
}

/// write-zeroes of exactly what check-write permitted.
fn open_output_write_zeroes_within_permit() {
    let stderr = get_stderr();
    let permitted = stderr
        .check_write()
        .expect("an open stream permits a write");
    observe("write-zeroes", unit(&stderr.write_zeroes(permitted)));
}

/// stdin's bytes, read to its end (`bytes`, as numbers), and how the
/// reads ended (`end`).
fn open_input_read_to_end() {
    let stdin = get_stdin();
    let mut read = Vec::new();
    let end = loop {
        match stdin.blocking_read(4096) {
            Ok(chunk) => read.extend(chunk),
            Err(error) => break outcome(&Err::<(), _>(error), |()| Value::Null),
        }
    };
    observe("bytes", read);
    observe("end", end);
}

/// `x` written to a file and flushed: what check-write permits once the
/// stream's pollable is ready after the flush.
fn file_flush_then_subscribe() {
    let (_descriptor, file) = scratch_file();
    file.check_write().expect("an open stream permits a write");
    observe("write", unit(&file.write(b"x")));
    observe("flush", unit(&file.flush()));
    file.subscribe().block();
    observe("check-write", permit(&file.check_write()));
}

/// What check-write says once the output pollable is ready.
fn open_output_subscribe_then_check_write() {
    let stderr = get_stderr();
    stderr.subscribe().block();
    observe("check-write", permit(&stderr.check_write()));
}
