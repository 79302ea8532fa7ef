//! Building messages without sending them: an `outgoing-request`'s method,
//! path, scheme and authority, an `outgoing-response`'s status, and
//! `request-options`' timeouts, each set and read back.

use common::{kind, observe};
use wasi::http::types::{
    Fields, Method, OutgoingRequest, OutgoingResponse, RequestOptions, Scheme,
};

wit_bindgen::generate!({ path: "../../wit", world: "http-messages", generate_all });

common::command![
    ("request-defaults", || {
        let request = request();
        observe("method", method(&request.method()));
        observe("path-with-query", optional(request.path_with_query()));
        observe("scheme", optional(request.scheme().as_ref().map(scheme)));
        observe("authority", optional(request.authority()));
    }),
    ("request-set-method-standard", || {
        set_method(Method::Patch)
    }),
    ("request-set-method-other", || {
        set_method(Method::Other("PURGE".into()))
    }),
    ("request-set-method-other-with-space", || {
        set_method(Method::Other("NOT A METHOD".into()))
    }),
    ("request-set-method-other-empty", || {
        set_method(Method::Other(String::new()))
    }),
    ("request-set-path-with-query", || {
        set_path(Some("/witness/path?query=1&other"))
    }),
    ("request-set-path-with-query-none", || {
        let request = request();
        request
            .set_path_with_query(Some("/witness"))
            .expect("/witness is a path");
        observe("set", kind(&request.set_path_with_query(None)));
        observe("path-with-query", optional(request.path_with_query()));
    }),
    ("request-set-path-with-query-with-space", || {
        set_path(Some("/not a path"))
    }),
    ("request-set-path-with-query-with-newline", || {
        set_path(Some("/witness\n"))
    }),
    ("request-set-scheme-https", || {
        set_scheme(Some(Scheme::Https))
    }),
    ("request-set-scheme-other", || {
        set_scheme(Some(Scheme::Other("witness+test".into())))
    }),
    ("request-set-scheme-other-invalid", || {
        set_scheme(Some(Scheme::Other("not a scheme".into())))
    }),
    ("request-set-scheme-other-leading-digit", || {
        set_scheme(Some(Scheme::Other("1witness".into())))
    }),
    ("request-set-authority-with-port", || {
        set_authority(Some("witness.invalid:8080"))
    }),
    ("request-set-authority-with-space", || {
        set_authority(Some("witness invalid"))
    }),
    ("request-set-authority-with-path", || {
        set_authority(Some("witness.invalid/path"))
    }),
    ("request-set-authority-port-beyond-u16", || {
        set_authority(Some("witness.invalid:65536"))
    }),
    ("request-set-authority-none", || {
        let request = request();
        request
            .set_authority(Some("witness.invalid"))
            .expect("witness.invalid is an authority");
        observe("set", kind(&request.set_authority(None)));
        observe("authority", optional(request.authority()));
    }),
    ("response-default-status", || {
        observe("status", OutgoingResponse::new(Fields::new()).status_code())
    }),
    ("response-set-status-404", || set_status(404)),
    ("response-set-status-99", || set_status(99)),
    ("response-set-status-600", || set_status(600)),
    ("response-set-status-1000", || set_status(1000)),
    ("request-options-defaults", || {
        let options = RequestOptions::new();
        observe(
            "timeouts",
            [
                optional(options.connect_timeout()),
                optional(options.first_byte_timeout()),
                optional(options.between_bytes_timeout()),
            ],
        )
    }),
    ("request-options-connect-timeout", || {
        set_timeout(
            RequestOptions::set_connect_timeout,
            RequestOptions::connect_timeout,
        )
    }),
    ("request-options-first-byte-timeout", || {
        set_timeout(
            RequestOptions::set_first_byte_timeout,
            RequestOptions::first_byte_timeout,
        )
    }),
    ("request-options-between-bytes-timeout", || {
        set_timeout(
            RequestOptions::set_between_bytes_timeout,
            RequestOptions::between_bytes_timeout,
        )
    }),
];

fn request() -> OutgoingRequest {
    OutgoingRequest::new(Fields::new())
}

/// Observes `set-method` and what `method` then returns.
fn set_method(wanted: Method) {
    let request = request();
    observe("set", kind(&request.set_method(&wanted)));
    observe("method", method(&request.method()));
}

/// Observes `set-path-with-query` and what `path-with-query` then returns.
fn set_path(wanted: Option<&str>) {
    let request = request();
    observe("set", kind(&request.set_path_with_query(wanted)));
    observe("path-with-query", optional(request.path_with_query()));
}

/// Observes `set-scheme` and what `scheme` then returns.
fn set_scheme(wanted: Option<Scheme>) {
    let request = request();
    observe("set", kind(&request.set_scheme(wanted.as_ref())));
    observe("scheme", optional(request.scheme().as_ref().map(scheme)));
}

/// Observes `set-authority` and what `authority` then returns.
fn set_authority(wanted: Option<&str>) {
    let request = request();
    observe("set", kind(&request.set_authority(wanted)));
    observe("authority", optional(request.authority()));
}

/// Observes `set-status-code` and what `status-code` then returns.
fn set_status(wanted: u16) {
    let response = OutgoingResponse::new(Fields::new());
    observe("set", kind(&response.set_status_code(wanted)));
    observe("status", response.status_code());
}

/// Sets a timeout of 5 s, then none, each read back: `"unsupported"` for
/// what the setter refused.
fn set_timeout(
    set: fn(&RequestOptions, Option<u64>) -> Result<(), ()>,
    get: fn(&RequestOptions) -> Option<u64>,
) {
    let options = RequestOptions::new();
    let read_back = |wanted| match set(&options, wanted) {
        Ok(()) => optional(get(&options)),
        Err(()) => serde_json::json!("unsupported"),
    };
    let five_seconds = read_back(Some(5_000_000_000));
    observe("read-back", [five_seconds, read_back(None)]);
}

/// An option's value, or `"none"` (TOML, which cases are written in, has
/// no null).
fn optional<T: Into<serde_json::Value>>(value: Option<T>) -> serde_json::Value {
    value.map_or("none".into(), Into::into)
}

fn method(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => format!("other({other})"),
    }
}

fn scheme(scheme: &Scheme) -> String {
    match scheme {
        Scheme::Http => "HTTP".into(),
        Scheme::Https => "HTTPS".into(),
        Scheme::Other(other) => format!("other({other})"),
    }
}
