//! wasi:http's taken resources from the server side: an incoming-handler
//! whose request path names the scenario (`/--list` answers the scenario
//! list as the response body). The harness sends the request the case
//! describes and records the response this guest sends back.

use common::{kind, observe, text};
use exports::wasi::http::incoming_handler::Guest;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use wasi::io::streams::StreamError;

wit_bindgen::generate!({ path: "../../wit", world: "proxy", generate_all });

#[path = "../../http/src/error_code.rs"]
mod error_code;
use error_code::code_name;
#[allow(dead_code, reason = "each wasi:http guest uses a part of it")]
#[path = "../../http/src/fields_text.rs"]
mod fields_text;
use fields_text::{field_values, header_result};

type Scenario = (&'static str, fn(IncomingRequest, ResponseOutparam));

const SCENARIOS: &[Scenario] = &[
    (
        "incoming-request-consume-again",
        incoming_request_consume_again,
    ),
    (
        "incoming-request-dropped-before-headers",
        incoming_request_dropped_before_headers,
    ),
    (
        "incoming-request-headers-dropped-first",
        incoming_request_headers_dropped_first,
    ),
    (
        "incoming-request-headers-immutable",
        incoming_request_headers_immutable,
    ),
    (
        "incoming-request-body-and-trailers",
        incoming_request_body_and_trailers,
    ),
    ("incoming-request-as-sent", incoming_request_as_sent),
    ("incoming-request-headers", |request, outparam| {
        let headers = request.headers();
        observe("header", field_values(&headers.get("x-witness")));
        observe("other-case", field_values(&headers.get("X-WITNESS")));
        drop(headers);
        respond(outparam, 200, b"");
    }),
    ("streaming-echo", streaming_echo),
    ("response-with-trailers", |_request, outparam| {
        let out = send(
            outparam,
            OutgoingResponse::new(Fields::new()),
            b"with trailers",
        );
        let trailers = Fields::from_list(&[("x-witness".into(), b"done".to_vec())])
            .expect("x-witness is a field");
        observe("finish", kind(&OutgoingBody::finish(out, Some(trailers))));
    }),
    ("response-outparam-set-error", |_request, outparam| {
        let error = ErrorCode::InternalError(Some("witness".into()));
        ResponseOutparam::set(outparam, Err(error));
        observe("set", true);
    }),
    ("trap-before-set", |_request, _outparam| {
        observe("trapping", true);
        core::arch::wasm32::unreachable()
    }),
    ("trap-after-set", |_request, outparam| {
        let _out = send(outparam, OutgoingResponse::new(Fields::new()), b"partial");
        observe("trapping", true);
        core::arch::wasm32::unreachable()
    }),
    ("handler-never-returns", |_request, outparam| {
        let _out = send(outparam, OutgoingResponse::new(Fields::new()), b"waiting");
        observe("waiting", true);
        // 2^64 ns, some 584 years: the handler outlives any deadline.
        wasi::clocks::monotonic_clock::subscribe_duration(u64::MAX).block();
    }),
    ("response-outparam-never-set", |_request, _outparam| {
        observe("returning", true)
    }),
    (
        "response-outparam-set-through-stale-handle",
        response_outparam_set_through_stale_handle,
    ),
    (
        "outgoing-body-dropped-instead-of-finished",
        outgoing_body_dropped_instead_of_finished,
    ),
    (
        "response-content-length-mismatch",
        response_content_length_mismatch,
    ),
];

struct Proxy;

impl Guest for Proxy {
    fn handle(request: IncomingRequest, outparam: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let wanted = path.trim_start_matches('/');
        if wanted == "--list" {
            let names: String = SCENARIOS
                .iter()
                .map(|(name, _)| format!("{name}\n"))
                .collect();
            return respond(outparam, 200, names.as_bytes());
        }
        match SCENARIOS.iter().find(|(name, _)| *name == wanted) {
            Some((_, scenario)) => scenario(request, outparam),
            None => respond(
                outparam,
                404,
                format!("unknown scenario `{wanted}`: `/--list` answers the scenarios\n")
                    .as_bytes(),
            ),
        }
    }
}

export!(Proxy);

/// Sets a response of `status` with `body`, finished.
fn respond(outparam: ResponseOutparam, status: u16, body: &[u8]) {
    let response = OutgoingResponse::new(Fields::new());
    response.set_status_code(status).expect("a valid status");
    let out = send(outparam, response, body);
    OutgoingBody::finish(out, None).expect("the body finishes");
}

/// Sets `response` and writes `bytes` to its body, the stream dropped:
/// the body is left for the caller to finish, or not.
fn send(outparam: ResponseOutparam, response: OutgoingResponse, bytes: &[u8]) -> OutgoingBody {
    let out = response.body().expect("a fresh response has its body");
    ResponseOutparam::set(outparam, Ok(response));
    let stream = out.write().expect("the body's stream, once");
    stream
        .blocking_write_and_flush(bytes)
        .expect("the harness reads the body");
    drop(stream);
    out
}

/// The request's method, path, scheme and authority, as the host gives them.
fn incoming_request_as_sent(request: IncomingRequest, outparam: ResponseOutparam) {
    observe("method", format!("{:?}", request.method()));
    observe(
        "path-with-query",
        request.path_with_query().unwrap_or_default(),
    );
    observe("scheme", format!("{:?}", request.scheme()));
    observe("authority", request.authority().unwrap_or_default());
    respond(outparam, 200, b"");
}

/// Writes each piece of the request's body to the response's body as it
/// comes, then finishes the response with the request's trailers.
fn streaming_echo(request: IncomingRequest, outparam: ResponseOutparam) {
    let body = request.consume().expect("the request's body, once");
    let input = body.stream().expect("the body's stream, once");
    let response = OutgoingResponse::new(Fields::new());
    let out = response.body().expect("a fresh response has its body");
    ResponseOutparam::set(outparam, Ok(response));
    let output = out.write().expect("the body's stream, once");
    loop {
        match input.blocking_read(4096) {
            Ok(chunk) => output
                .blocking_write_and_flush(&chunk)
                .expect("the harness reads the body"),
            Err(StreamError::Closed) => break,
            Err(error) => panic!("reading the body failed: {error:?}"),
        }
    }
    drop((input, output));
    let future = IncomingBody::finish(body);
    future.subscribe().block();
    let trailers = match future.get() {
        Some(Ok(Ok(trailers))) => trailers,
        other => panic!("the request's trailers: {other:?}"),
    };
    observe("finish", kind(&OutgoingBody::finish(out, trailers)));
}

fn incoming_request_consume_again(request: IncomingRequest, outparam: ResponseOutparam) {
    let first = request.consume();
    let second = request.consume();
    let kinds = [kind(&first), kind(&second)];
    drop((first, second));
    observe("calls", [kinds[0], kinds[1], kind(&request.consume())]);
    respond(outparam, 200, b"");
}

fn incoming_request_dropped_before_headers(request: IncomingRequest, outparam: ResponseOutparam) {
    respond(outparam, 200, b"");
    let headers = request.headers();
    observe("dropping", true);
    drop(request);
    observe("dropped", true);
    drop(headers);
}

fn incoming_request_headers_dropped_first(request: IncomingRequest, outparam: ResponseOutparam) {
    let headers = request.headers();
    observe("header", text(&headers.get("x-witness")));
    drop(headers);
    drop(request);
    observe("dropped", true);
    respond(outparam, 200, b"");
}

fn incoming_request_headers_immutable(request: IncomingRequest, outparam: ResponseOutparam) {
    let headers = request.headers();
    observe(
        "mutations",
        [
            header_result(headers.set("x-witness", &[b"2".to_vec()])),
            header_result(headers.append("x-witness", b"3")),
            header_result(headers.delete("x-witness")),
        ],
    );
    observe("header", text(&headers.get("x-witness")));
    respond(outparam, 200, b"");
}

fn incoming_request_body_and_trailers(request: IncomingRequest, outparam: ResponseOutparam) {
    let body = request.consume().expect("the request's body, once");
    let stream = body.stream().expect("the body's stream, once");
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(4096) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => break,
            Err(error) => panic!("reading the body failed: {error:?}"),
        }
    }
    drop(stream);
    observe("body", text(&[bytes]));
    let future = IncomingBody::finish(body);
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(Some(trailers)))) => observe("trailer", text(&trailers.get("x-witness"))),
        other => observe("trailer", format!("{other:?}")),
    }
    respond(outparam, 200, b"");
}

/// Sets the response, then calls `set` again through the consumed handle.
/// The second response is made first, and what `respond` makes in between
/// (the body, its stream) is dropped again, so the freed handle stays free:
/// the second call must find it gone, not a resource of another type.
fn response_outparam_set_through_stale_handle(
    _request: IncomingRequest,
    outparam: ResponseOutparam,
) {
    let second = OutgoingResponse::new(Fields::new());
    let handle = outparam.handle();
    respond(outparam, 200, b"first");
    observe("setting-again", true);
    // SAFETY: the handle is stale on purpose; the host must refuse it.
    let stale = unsafe { ResponseOutparam::from_handle(handle) };
    ResponseOutparam::set(stale, Ok(second));
    observe("set-again", true);
}

/// The body gets 7 bytes and is dropped without `finish`.
fn outgoing_body_dropped_instead_of_finished(
    _request: IncomingRequest,
    outparam: ResponseOutparam,
) {
    let out = send(outparam, OutgoingResponse::new(Fields::new()), b"partial");
    drop(out);
    observe("dropped", true);
}

/// Content-Length says 10; the body gets 3 bytes and is finished.
fn response_content_length_mismatch(_request: IncomingRequest, outparam: ResponseOutparam) {
    let headers = Fields::from_list(&[("content-length".into(), b"10".to_vec())])
        .expect("content-length is a field");
    let out = send(outparam, OutgoingResponse::new(headers), b"abc");
    let finished = OutgoingBody::finish(out, None);
    observe("finish", kind(&finished));
    if let Err(code) = finished {
        observe("finish-error", code_name(&code));
    }
}
