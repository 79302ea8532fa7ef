//! The request the wasi:http command guests send: to the reserved
//! authority, which only the run's responder answers. Shared by `http` and
//! `http-outgoing` (as a `#[path]` module, as `fields_text.rs` is).

use crate::wasi::http::outgoing_handler::handle;
use crate::wasi::http::types::{
    Fields, FutureIncomingResponse, OutgoingBody, OutgoingRequest, Scheme,
};

/// `GET http://witness.invalid/` with `headers`.
pub fn request_with(headers: Fields) -> OutgoingRequest {
    let request = OutgoingRequest::new(headers);
    request
        .set_scheme(Some(&Scheme::Http))
        .expect("http is a scheme");
    request
        .set_authority(Some("witness.invalid"))
        .expect("witness.invalid is an authority");
    request.set_path_with_query(Some("/")).expect("/ is a path");
    request
}

/// `GET http://witness.invalid/`, sent with an empty body.
pub fn send() -> FutureIncomingResponse {
    let request = request_with(Fields::new());
    let body = request.body().expect("a fresh request has its body");
    let future = handle(request, None).expect("the outgoing handler takes the request");
    OutgoingBody::finish(body, None).expect("an empty body finishes");
    future
}
