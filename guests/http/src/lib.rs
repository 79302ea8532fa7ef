//! wasi:http's taken resources from a command guest: calls that succeed at
//! most once, child resources dropped before or after their parents,
//! immutable fields, and outgoing bodies finished wrongly. Requests go to
//! `http://witness.invalid`, which only the run's responder answers, with
//! the response the case describes.

use common::{kind, observe, text};
use wasi::http::outgoing_handler::handle;
use wasi::http::types::{
    ErrorCode, Fields, FutureTrailers, IncomingBody, IncomingResponse, OutgoingBody,
    OutgoingRequest, OutgoingResponse,
};
use wasi::io::streams::StreamError;

wit_bindgen::generate!({ path: "../../wit", world: "http", generate_all });

#[allow(dead_code, reason = "each wasi:http guest uses a part of it")]
mod fields_text;
mod reserved;
use fields_text::{header_result, witness_fields};
use reserved::{request_with, send};

common::command![
    ("outgoing-request-body-again", outgoing_request_body_again),
    ("outgoing-response-body-again", outgoing_response_body_again),
    ("outgoing-body-write-again", outgoing_body_write_again),
    (
        "incoming-response-consume-again",
        incoming_response_consume_again,
    ),
    ("incoming-body-stream-again", incoming_body_stream_again),
    ("incoming-response-status", || {
        observe("status", response().status())
    }),
    ("future-trailers-get-again", future_trailers_get_again),
    (
        "future-incoming-response-get-again",
        future_incoming_response_get_again,
    ),
    (
        "future-incoming-response-get-before-poll",
        future_incoming_response_get_before_poll,
    ),
    (
        "incoming-body-finish-with-stream-alive",
        incoming_body_finish_with_stream_alive,
    ),
    (
        "incoming-body-finish-after-stream-dropped",
        incoming_body_finish_after_stream_dropped,
    ),
    (
        "incoming-body-stream-dropped-first",
        incoming_body_stream_dropped_first,
    ),
    (
        "incoming-body-dropped-before-stream",
        incoming_body_dropped_before_stream,
    ),
    (
        "incoming-response-dropped-before-body",
        incoming_response_dropped_before_body,
    ),
    ("incoming-response-dropped-before-headers", || {
        dropped_before_headers(response(), IncomingResponse::headers)
    }),
    ("incoming-response-headers-dropped-first", || {
        headers_dropped_first(response(), IncomingResponse::headers)
    }),
    ("outgoing-request-dropped-before-headers", || {
        dropped_before_headers(
            OutgoingRequest::new(witness_fields()),
            OutgoingRequest::headers,
        )
    }),
    ("outgoing-request-headers-dropped-first", || {
        headers_dropped_first(
            OutgoingRequest::new(witness_fields()),
            OutgoingRequest::headers,
        )
    }),
    ("outgoing-response-headers-dropped-first", || {
        headers_dropped_first(
            OutgoingResponse::new(witness_fields()),
            OutgoingResponse::headers,
        )
    }),
    ("outgoing-response-dropped-before-headers", || {
        dropped_before_headers(
            OutgoingResponse::new(witness_fields()),
            OutgoingResponse::headers,
        )
    }),
    (
        "outgoing-body-finish-with-stream-alive",
        outgoing_body_finish_with_stream_alive,
    ),
    (
        "outgoing-body-drop-with-stream-alive",
        outgoing_body_drop_with_stream_alive,
    ),
    (
        "outgoing-body-finish-after-stream-dropped",
        outgoing_body_finish_after_stream_dropped,
    ),
    (
        "outgoing-body-content-length-mismatch",
        outgoing_body_content_length_mismatch,
    ),
    (
        "future-trailers-dropped-before-trailers",
        future_trailers_dropped_before_trailers,
    ),
    (
        "future-trailers-dropped-before-pollable",
        future_trailers_dropped_before_pollable,
    ),
    (
        "future-incoming-response-dropped-before-pollable",
        future_incoming_response_dropped_before_pollable,
    ),
    ("outgoing-request-headers-immutable", || {
        mutate_headers(
            OutgoingRequest::new(witness_fields()),
            OutgoingRequest::headers,
        )
    }),
    ("incoming-response-headers-immutable", || {
        mutate_headers(response(), IncomingResponse::headers)
    }),
    ("outgoing-response-headers-immutable", || {
        mutate_headers(
            OutgoingResponse::new(witness_fields()),
            OutgoingResponse::headers,
        )
    }),
    ("trailers-immutable", trailers_immutable),
    ("headers-clone-is-mutable", headers_clone_is_mutable),
    ("immutable-and-invalid-name", immutable_and_invalid_name),
    ("immutable-and-forbidden-name", immutable_and_forbidden_name),
];

/// Observes the first, second and third call of `call`: the third after the
/// first call's resource was dropped.
fn at_most_once<T, E>(name: &str, mut call: impl FnMut() -> Result<T, E>) {
    let first = call();
    let second = call();
    let kinds = [kind(&first), kind(&second)];
    drop((first, second));
    let third = call();
    observe(name, [kinds[0], kinds[1], kind(&third)]);
}

/// The harness's response to a request.
fn response() -> IncomingResponse {
    let future = send();
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => response,
        other => panic!("the harness did not answer: {other:?}"),
    }
}

/// The response's body, read to its end and the stream dropped.
fn read_body(body: &IncomingBody) -> Vec<u8> {
    let stream = body.stream().expect("the body's stream, once");
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(4096) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => return bytes,
            Err(error) => panic!("reading the body failed: {error:?}"),
        }
    }
}

/// The trailers of a body already read: waits for the future and gets it once.
fn trailers_of(body: IncomingBody) -> (FutureTrailers, Result<Option<Fields>, ErrorCode>) {
    let future = IncomingBody::finish(body);
    future.subscribe().block();
    match future.get() {
        Some(Ok(trailers)) => (future, trailers),
        other => panic!("the trailers are not ready after block: {other:?}"),
    }
}

fn outgoing_request_body_again() {
    let request = OutgoingRequest::new(Fields::new());
    at_most_once("calls", || request.body());
}

fn outgoing_response_body_again() {
    let response = OutgoingResponse::new(Fields::new());
    at_most_once("calls", || response.body());
}

fn outgoing_body_write_again() {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a fresh response has its body");
    at_most_once("calls", || body.write());
}

fn incoming_response_consume_again() {
    let response = response();
    at_most_once("calls", || response.consume());
}

fn incoming_body_stream_again() {
    // The response outlives its body: whether it must is an open question
    // (incoming-response-dropped-before-body), not this scenario's.
    let response = response();
    let body = response.consume().expect("the response's body, once");
    at_most_once("calls", || body.stream());
}

fn future_trailers_get_again() {
    let response = response();
    let body = response.consume().expect("the response's body, once");
    read_body(&body);
    let future = IncomingBody::finish(body);
    future.subscribe().block();
    observe("calls", get_three_times(|| future.get()));
}

fn future_incoming_response_get_again() {
    let future = send();
    future.subscribe().block();
    observe("calls", get_three_times(|| future.get()));
}

fn future_incoming_response_get_before_poll() {
    let future = send();
    observe("before-poll", readiness(&future.get()));
    future.subscribe().block();
    observe("after-poll", readiness(&future.get()));
}

/// What a future's `get` returned: `"pending"` (none), `"ok"` (the one
/// success) or `"error"` (a call after it).
fn readiness<T>(got: &Option<Result<T, ()>>) -> &'static str {
    match got {
        None => "pending",
        Some(Ok(_)) => "ok",
        Some(Err(())) => "error",
    }
}

/// The first, second and third `get` of a ready future: the third after the
/// first call's value was dropped.
fn get_three_times<T>(mut get: impl FnMut() -> Option<Result<T, ()>>) -> [&'static str; 3] {
    let first = get();
    let second = get();
    let kinds = [readiness(&first), readiness(&second)];
    drop((first, second));
    [kinds[0], kinds[1], readiness(&get())]
}

fn incoming_body_finish_with_stream_alive() {
    // The response outlives its body: whether it must is an open question
    // (incoming-response-dropped-before-body), not this scenario's.
    let response = response();
    let body = response.consume().expect("the response's body, once");
    let stream = body.stream().expect("the body's stream, once");
    observe("finishing", true);
    let _trailers = IncomingBody::finish(body);
    observe("finished", true);
    drop(stream);
}

fn incoming_body_finish_after_stream_dropped() {
    let response = response();
    let body = response.consume().expect("the response's body, once");
    observe("body", text(&[read_body(&body)]));
    let (_future, trailers) = trailers_of(body);
    observe("trailers", kind(&trailers));
}

fn incoming_body_stream_dropped_first() {
    // The response outlives its body: whether it must is an open question
    // (incoming-response-dropped-before-body), not this scenario's.
    let response = response();
    let body = response.consume().expect("the response's body, once");
    let stream = body.stream().expect("the body's stream, once");
    drop(stream);
    drop(body);
    observe("dropped", true);
}

fn incoming_body_dropped_before_stream() {
    // The response outlives its body: whether it must is an open question
    // (incoming-response-dropped-before-body), not this scenario's.
    let response = response();
    let body = response.consume().expect("the response's body, once");
    let stream = body.stream().expect("the body's stream, once");
    observe("dropping", true);
    drop(body);
    observe("read-after-drop", read_result(stream.blocking_read(16)));
}

fn incoming_response_dropped_before_body() {
    let response = response();
    let body = response.consume().expect("the response's body, once");
    observe("dropping", true);
    drop(response);
    observe("body", text(&[read_body(&body)]));
}

/// Drops `parent` after the headers it gave, as the docs say to.
fn headers_dropped_first<P>(parent: P, headers: impl FnOnce(&P) -> Fields) {
    let headers = headers(&parent);
    observe("header", text(&headers.get("x-witness")));
    drop(headers);
    drop(parent);
    observe("dropped", true);
}

/// Drops `parent` while the headers it gave live, then reads them.
fn dropped_before_headers<P>(parent: P, headers: impl FnOnce(&P) -> Fields) {
    let headers = headers(&parent);
    observe("dropping", true);
    drop(parent);
    observe("header", text(&headers.get("x-witness")));
}

fn outgoing_body_finish_with_stream_alive() {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a fresh response has its body");
    let stream = body.write().expect("the body's stream, once");
    observe("finishing", true);
    observe("finish", kind(&OutgoingBody::finish(body, None)));
    drop(stream);
}

fn outgoing_body_drop_with_stream_alive() {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a fresh response has its body");
    let stream = body.write().expect("the body's stream, once");
    observe("dropping", true);
    drop(body);
    observe("dropped", true);
    drop(stream);
}

fn outgoing_body_finish_after_stream_dropped() {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("a fresh response has its body");
    let stream = body.write().expect("the body's stream, once");
    stream
        .blocking_write_and_flush(b"witness")
        .expect("the body takes 7 bytes");
    drop(stream);
    observe("finish", kind(&OutgoingBody::finish(body, None)));
}

/// Content-Length says 10; the body gets 3 bytes and is finished.
fn outgoing_body_content_length_mismatch() {
    let headers = Fields::from_list(&[("content-length".into(), b"10".to_vec())])
        .expect("content-length is a field");
    let request = request_with(headers);
    let body = request.body().expect("a fresh request has its body");
    let _future = handle(request, None).expect("the outgoing handler takes the request");
    let stream = body.write().expect("the body's stream, once");
    stream
        .blocking_write_and_flush(b"abc")
        .expect("the body takes 3 bytes");
    drop(stream);
    observe("finish", kind(&OutgoingBody::finish(body, None)));
}

fn future_trailers_dropped_before_trailers() {
    let response = response();
    let body = response.consume().expect("the response's body, once");
    read_body(&body);
    let (future, trailers) = trailers_of(body);
    let trailers = trailers
        .expect("the body ended well")
        .expect("the case's response has trailers");
    observe("dropping", true);
    drop(future);
    observe("trailer", text(&trailers.get("x-witness")));
}

fn future_trailers_dropped_before_pollable() {
    // The response outlives its body: whether it must is an open question
    // (incoming-response-dropped-before-body), not this scenario's.
    let response = response();
    let body = response.consume().expect("the response's body, once");
    read_body(&body);
    let future = IncomingBody::finish(body);
    let pollable = future.subscribe();
    observe("dropping", true);
    drop(future);
    observe("ready", pollable.ready());
}

fn future_incoming_response_dropped_before_pollable() {
    let future = send();
    let pollable = future.subscribe();
    observe("dropping", true);
    drop(future);
    observe("ready", pollable.ready());
}

/// `set`, `append` and `delete` of a valid, allowed name on `fields`.
fn mutations(fields: &Fields) -> [&'static str; 3] {
    [
        header_result(fields.set("x-witness", &[b"2".to_vec()])),
        header_result(fields.append("x-witness", b"3")),
        header_result(fields.delete("x-witness")),
    ]
}

/// Tries to change the headers `parent` gave; they live before it drops.
fn mutate_headers<P>(parent: P, headers: impl FnOnce(&P) -> Fields) {
    let headers = headers(&parent);
    observe("mutations", mutations(&headers));
    observe("header", text(&headers.get("x-witness")));
}

fn trailers_immutable() {
    let response = response();
    let body = response.consume().expect("the response's body, once");
    read_body(&body);
    let (_future, trailers) = trailers_of(body);
    let trailers = trailers
        .expect("the body ended well")
        .expect("the case's response has trailers");
    observe("mutations", mutations(&trailers));
    observe("trailer", text(&trailers.get("x-witness")));
}

fn headers_clone_is_mutable() {
    let request = OutgoingRequest::new(witness_fields());
    let headers = request.headers();
    let copy = headers.clone();
    observe(
        "copy-set",
        header_result(copy.set("x-witness", &[b"2".to_vec()])),
    );
    observe("copy-header", text(&copy.get("x-witness")));
    observe("original-header", text(&headers.get("x-witness")));
}

fn immutable_and_invalid_name() {
    let request = OutgoingRequest::new(Fields::new());
    observe(
        "set",
        header_result(request.headers().set("bad name", &[b"1".to_vec()])),
    );
}

fn immutable_and_forbidden_name() {
    let request = OutgoingRequest::new(Fields::new());
    observe(
        "set",
        header_result(request.headers().set("connection", &[b"close".to_vec()])),
    );
}

fn read_result(result: Result<Vec<u8>, StreamError>) -> String {
    match result {
        Ok(bytes) => format!("{} bytes", bytes.len()),
        Err(StreamError::Closed) => "closed".into(),
        Err(StreamError::LastOperationFailed(_)) => "last-operation-failed".into(),
    }
}
