//! wasi:http as the embedded wasmtime hosts serve it: wasmtime-wasi-http's
//! hooks reach only the run's responder, and what a proxy guest sends back
//! is read into the `response` observation.

use super::super::super::responder::{Responder, Wanted, nowhere};
use super::super::sockets::fresh_address;
use super::{HttpRequest, RESERVED_AUTHORITY, observe_received};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, default_send_request};

/// The hooks of a run: the outgoing handler that reaches only
/// [`RESERVED_AUTHORITY`], which is the run's responder on the machine's
/// loopback; wasmtime-wasi-http's own client sends the request there, as it
/// would to any server. Without a response (no `[run.http-response]`),
/// every request is refused.
pub struct OutgoingHandler {
    peer: Option<Peer>,
}

/// Where a run's requests to [`RESERVED_AUTHORITY`] go.
struct Peer {
    /// Lives as long as the run.
    _responder: Responder,
    /// The name's port 80: the responder (or where nothing listens, for a
    /// run that wants that).
    port_80: SocketAddr,
    /// Any other port of the name: where nothing listens.
    other_ports: SocketAddr,
}

impl OutgoingHandler {
    /// The handler of a run with `settings`, and its responder.
    pub fn for_run(settings: &super::super::super::RunSettings) -> Result<OutgoingHandler, String> {
        let Some(wanted) = Wanted::of(settings, false) else {
            return Ok(OutgoingHandler { peer: None });
        };
        let (responder, port_80) = Responder::on_loopback(wanted)?;
        let other_ports = (nowhere(fresh_address()))
            .map_err(|e| format!("cannot find a port where nothing listens: {e}"))?;
        let peer = Peer {
            _responder: responder,
            port_80,
            other_ports,
        };
        Ok(OutgoingHandler { peer: Some(peer) })
    }
}

type SendResult = Result<
    (
        hyper::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
>;

impl WasiHttpHooks for OutgoingHandler {
    fn send_request(
        &mut self,
        mut request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let uri = request.uri();
        let reserved =
            (uri.host()).is_some_and(|host| host.eq_ignore_ascii_case(RESERVED_AUTHORITY));
        let peer = self.peer.as_ref().filter(|_| reserved);
        let target = peer.map(|peer| {
            // The name's port 80 is the responder, as in the private
            // network; any other port of it is where nothing listens. The
            // scheme and path stay the guest's.
            let scheme = uri.scheme_str().unwrap_or("http");
            let default = if scheme == "https" { 443 } else { 80 };
            let at = match uri.port_u16().unwrap_or(default) {
                80 => peer.port_80,
                _ => peer.other_ports,
            };
            let path = uri.path_and_query().map_or("/", |path| path.as_str());
            format!("{scheme}://{at}{path}")
        });
        Box::new(async move {
            let target = target.ok_or(Error::HttpRequestDenied)?;
            *request.uri_mut() = target.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
            let (response, io) = default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// What a proxy guest sent through its `response-outparam`.
pub type SentResponse = Result<hyper::Response<HyperOutgoingBody>, ErrorCode>;

/// The `response` observation: what the guest's response was, read to its
/// end within `deadline`. `"never-set"` when the outparam went away unset,
/// `{"error": ...}` when it was set to an error, `"unfinished"` when the
/// response did not come in time; otherwise its status, headers, the body
/// received and how the body ended: `"complete"`, `"trailers"` (then the
/// trailers too), `"error"`, or `"unfinished"`.
pub async fn observe_response(
    sent: tokio::sync::oneshot::Receiver<SentResponse>,
    deadline: Duration,
) -> Value {
    let started = tokio::time::Instant::now();
    let mut response = match tokio::time::timeout(deadline, sent).await {
        Err(_elapsed) => return json!("unfinished"),
        Ok(Err(_dropped)) => return json!("never-set"),
        Ok(Ok(Err(code))) => return json!({ "error": format!("{code:?}") }),
        Ok(Ok(Ok(response))) => response,
    };
    observe_received(&mut response, started + deadline).await
}

impl HttpRequest {
    /// The request for `scenario`, addressed to the reserved authority, as
    /// an embedder hands it to a host; `Err` when the scenario cannot be a
    /// path.
    pub fn build(&self, scenario: &str) -> Result<hyper::Request<WasiBody>, String> {
        let request =
            self.with_target(scenario, format!("http://{RESERVED_AUTHORITY}/{scenario}"))?;
        Ok(request.map(|body| body.map_err(|never| match never {}).boxed_unsync()))
    }
}
