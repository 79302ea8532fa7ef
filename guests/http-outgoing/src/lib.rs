//! wasi:http's outgoing handler against the peers a case scripts: a request
//! to `http://witness.invalid/` (or a request the scenario spoils), then
//! everything that comes back: the response or the error its future gives,
//! the body as read, how the stream ended (and `http-error-code` of a
//! failed read), and what `finish` and its trailers say. The case's peer
//! (`[run.http-response]`) makes each case: the scenarios are few.

use common::{kind, observe};
use std::sync::atomic::{AtomicBool, Ordering};
use wasi::http::outgoing_handler::handle;
use wasi::http::types::{
    Fields, IncomingBody, OutgoingBody, OutgoingRequest, RequestOptions, Scheme, http_error_code,
};
use wasi::io::error::Error as IoError;
use wasi::io::streams::StreamError;

wit_bindgen::generate!({ path: "../../wit", world: "http-outgoing", generate_all });

#[path = "../../http/src/error_code.rs"]
mod error_code;
use error_code::code_name;
#[path = "../../http/src/reserved.rs"]
mod reserved;
use reserved::{request_with, send};

common::command![
    ("get", || get(request(), None)),
    ("get-large", get_large),
    ("post-large", post_large),
    ("get-first-byte-timeout", || {
        with_timeout(RequestOptions::set_first_byte_timeout)
    }),
    ("get-between-bytes-timeout", || {
        with_timeout(RequestOptions::set_between_bytes_timeout)
    }),
    ("get-https", || {
        let request = request();
        request
            .set_scheme(Some(&Scheme::Https))
            .expect("https is a scheme");
        // The responder's port: a TLS handshake meets plain HTTP.
        request
            .set_authority(Some("witness.invalid:80"))
            .expect("witness.invalid:80 is an authority");
        get(request, None)
    }),
    ("get-other-scheme", || {
        let request = request();
        request
            .set_scheme(Some(&Scheme::Other("ftp".into())))
            .expect("ftp is a scheme");
        get(request, None)
    }),
    ("get-without-authority", || {
        let request = request();
        request.set_authority(None).expect("none is an authority");
        get(request, None)
    }),
    ("post-beyond-content-length", post_beyond_content_length),
    ("get-debug-string", || {
        DESCRIBE_ERRORS.store(true, Ordering::Relaxed);
        get(request(), None)
    }),
];

/// Set by `get-debug-string`: a body's stream error is described by
/// `to-debug-string` (`debug-string`: "text" or "empty") rather than by
/// `http-error-code`, and the trailers are left unread.
static DESCRIBE_ERRORS: AtomicBool = AtomicBool::new(false);

/// `GET http://witness.invalid/`.
fn request() -> OutgoingRequest {
    request_with(Fields::new())
}

/// Sends `request` with an empty body and observes all that comes back:
/// `handle` ("ok" or "error"), `response` (its status, "error", or
/// "not-sent" when `handle` failed), `error-code` (of whichever failed),
/// then `body`, `body-end` ("closed", or "failed: " and what
/// `http-error-code` makes of the error), and `trailers` ("none", "empty",
/// "some", or "error" and `trailers-error`).
fn get(request: OutgoingRequest, options: Option<RequestOptions>) {
    let body = request.body().expect("a fresh request has its body");
    let future = match handle(request, options) {
        Ok(future) => future,
        Err(code) => {
            observe("handle", "error");
            observe("response", "not-sent");
            return observe("error-code", code_name(&code));
        }
    };
    observe("handle", "ok");
    OutgoingBody::finish(body, None).expect("an empty body finishes");
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => {
            observe("response", "error");
            return observe("error-code", code_name(&code));
        }
        other => panic!("the future is not ready after block, or was taken: {other:?}"),
    };
    observe("response", response.status());
    let body = response.consume().expect("the response's body, once");
    read_to_end(&body);
    if DESCRIBE_ERRORS.load(Ordering::Relaxed) {
        return;
    }
    let future = IncomingBody::finish(body);
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(None))) => observe("trailers", "none"),
        Some(Ok(Ok(Some(trailers)))) if trailers.entries().is_empty() => {
            observe("trailers", "empty")
        }
        Some(Ok(Ok(Some(_)))) => observe("trailers", "some"),
        Some(Ok(Err(code))) => {
            observe("trailers", "error");
            observe("trailers-error", code_name(&code));
        }
        other => panic!("the trailers are not ready after block, or were taken: {other:?}"),
    }
}

/// Sends `GET /` and reads the response's body, large, to its end:
/// `body-length` and `body-end`.
fn get_large() {
    let future = send();
    future.subscribe().block();
    let Some(Ok(Ok(response))) = future.get() else {
        panic!("the responder did not answer");
    };
    let body = response.consume().expect("the response's body, once");
    let (bytes, end) = read(&body);
    observe("body-length", bytes.len());
    observe("body-end", end);
}

/// `POST /` with a body of 2 MiB, written as the stream takes it (4 KiB a
/// call, each waiting for room): what the writes, `finish` and the
/// response say.
fn post_large() {
    let request = request();
    request
        .set_method(&wasi::http::types::Method::Post)
        .expect("POST is a method");
    let body = request.body().expect("a fresh request has its body");
    let future = handle(request, None).expect("the outgoing handler takes the request");
    let stream = body.write().expect("the body's stream, once");
    let chunk = [b'w'; 4096];
    let written = (0..512).try_for_each(|_| stream.blocking_write_and_flush(&chunk));
    observe("write", if written.is_ok() { "ok" } else { "error" });
    drop(stream);
    observe("finish", kind(&OutgoingBody::finish(body, None)));
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => observe("response", response.status()),
        Some(Ok(Err(code))) => observe("response", code_name(&code)),
        other => panic!("the future is not ready after block, or was taken: {other:?}"),
    }
}

/// Reads `body` to its end and observes what came and how it ended.
fn read_to_end(body: &IncomingBody) {
    let (bytes, end) = read(body);
    observe("body", String::from_utf8_lossy(&bytes).into_owned());
    observe("body-end", end);
}

/// `body`'s bytes to its end, and how it ended: "closed", or "failed: "
/// and what `http-error-code` makes of the error.
fn read(body: &IncomingBody) -> (Vec<u8>, String) {
    let stream = body.stream().expect("the body's stream, once");
    let mut bytes = Vec::new();
    let end = loop {
        match stream.blocking_read(1 << 16) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => break "closed".to_string(),
            Err(StreamError::LastOperationFailed(error))
                if DESCRIBE_ERRORS.load(Ordering::Relaxed) =>
            {
                let text = IoError::to_debug_string(&error);
                observe("debug-string", common::debug_string(&text));
                break "failed".to_string();
            }
            Err(StreamError::LastOperationFailed(error)) => {
                let code = http_error_code(&error);
                let code = code.as_ref().map_or("not an http error".into(), code_name);
                break format!("failed: {code}");
            }
        }
    };
    (bytes, end)
}

/// Sends `GET /` with a timeout of 100 ms set by `set`; `timeout` is
/// "unsupported" when the host refuses it (and nothing is sent).
fn with_timeout(set: fn(&RequestOptions, Option<u64>) -> Result<(), ()>) {
    let options = RequestOptions::new();
    if set(&options, Some(100_000_000)).is_err() {
        return observe("timeout", "unsupported");
    }
    observe("timeout", "set");
    get(request(), Some(options));
}

/// `POST /` with Content-Length 3 and a body of 10 bytes, written as 3 and
/// 7: what each write and `finish` say (and `finish-error`).
fn post_beyond_content_length() {
    let headers = Fields::from_list(&[("content-length".into(), b"3".to_vec())])
        .expect("content-length is a field");
    let request = request_with(headers);
    request
        .set_method(&wasi::http::types::Method::Post)
        .expect("POST is a method");
    let body = request.body().expect("a fresh request has its body");
    let _future = handle(request, None).expect("the outgoing handler takes the request");
    let stream = body.write().expect("the body's stream, once");
    let first = stream.blocking_write_and_flush(b"012");
    observe("write-first", if first.is_ok() { "ok" } else { "error" });
    let rest = stream.blocking_write_and_flush(b"3456789");
    observe("write-rest", if rest.is_ok() { "ok" } else { "error" });
    drop(stream);
    match OutgoingBody::finish(body, None) {
        Ok(()) => observe("finish", "ok"),
        Err(code) => {
            observe("finish", "error");
            observe("finish-error", code_name(&code));
        }
    }
}
