//! wasi:http as a case describes it: requests to [`RESERVED_AUTHORITY`]
//! reach the run's responder, which answers with the response a case
//! describes (`[run.http-response]`), and every other request is refused;
//! a proxy guest gets the incoming request a case describes
//! (`[run.http-request]`), and the response it sends back becomes the
//! `response` observation (on the embedded hosts: [`wasmtime`]).

#[cfg(feature = "embedded")]
pub mod wasmtime;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;

/// The only authority a guest's `outgoing-handler.handle` reaches.
pub const RESERVED_AUTHORITY: &str = "witness.invalid";
/// The observation a proxy guest's response becomes; guests do not use it.
pub const RESPONSE_OBSERVATION: &str = "response";

/// `[run.http-response]`: how the responder answers a request to
/// `http://witness.invalid/...`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpResponse {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    /// The trailers after the body; none when absent.
    pub trailers: Option<BTreeMap<String, String>>,
    /// How many times over `body` is sent (a large body from a short one).
    #[serde(default = "once")]
    pub repeat: usize,
    /// The body in these chunks, sent chunked, instead of `body`.
    pub chunks: Option<Vec<String>>,
    /// Milliseconds between two of the `chunks`.
    #[serde(default)]
    pub between_chunks_ms: u64,
    /// Milliseconds the peer waits, the request's head in, before it
    /// answers.
    #[serde(default)]
    pub first_byte_delay_ms: u64,
    /// Instead of a response: these bytes as they are (a response that
    /// breaks HTTP/1.1, or one cut short), then the connection closes.
    pub raw: Option<String>,
    /// Instead of a response, what a peer does that hosts report with this
    /// error (or another: each host's is in its record).
    pub error: Option<HttpError>,
}

/// The errors a case can make the outgoing handler answer with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpError {
    ConnectionRefused,
    ConnectionTerminated,
    HttpResponseTimeout,
    /// The name resolves to nothing: the run's hosts file leaves it out,
    /// and no name server answers in the private network.
    DnsError,
}

/// `[run.http-request]`: the incoming request a proxy guest's handler gets.
/// Its path is `/<scenario>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpRequest {
    #[serde(default = "get")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
    pub trailers: Option<BTreeMap<String, String>>,
}

fn ok() -> u16 {
    200
}

fn once() -> usize {
    1
}

impl Default for HttpResponse {
    fn default() -> HttpResponse {
        HttpResponse {
            status: ok(),
            headers: BTreeMap::new(),
            body: String::new(),
            trailers: None,
            repeat: once(),
            chunks: None,
            between_chunks_ms: 0,
            first_byte_delay_ms: 0,
            raw: None,
            error: None,
        }
    }
}

fn get() -> String {
    "GET".into()
}

impl Default for HttpRequest {
    fn default() -> HttpRequest {
        HttpRequest {
            method: get(),
            headers: BTreeMap::new(),
            body: String::new(),
            trailers: None,
        }
    }
}

impl HttpResponse {
    /// Whether the response can be built (valid status and field names).
    pub fn check(&self) -> Result<(), String> {
        let response = HttpResponse {
            error: None,
            ..self.clone()
        };
        if self.error.is_some() && response != HttpResponse::default() {
            return Err("`error` answers instead of a response: give it alone".into());
        }
        let response = HttpResponse {
            raw: None,
            first_byte_delay_ms: 0,
            ..response
        };
        if self.raw.is_some() && response != HttpResponse::default() {
            return Err("`raw` is the whole response: give it alone (with `first-byte-delay-ms` if need be)".into());
        }
        if self.repeat == 0 || (self.repeat > 1 && self.body.is_empty()) {
            return Err("`repeat` is how many times `body` is sent: 1 or more, of a `body`".into());
        }
        if self.chunks.is_some() && !self.body.is_empty() {
            return Err("`chunks` is the body: leave `body` out".into());
        }
        if (self.chunks.iter().flatten()).any(String::is_empty) {
            return Err("an empty chunk would end the body: leave it out".into());
        }
        if self.chunks.is_none() && self.between_chunks_ms > 0 {
            return Err("`between-chunks-ms` needs `chunks`".into());
        }
        let status = hyper::StatusCode::from_u16(self.status)
            .map_err(|_| format!("{} is not an HTTP status", self.status))?;
        if status.is_informational() {
            return Err(format!(
                "{status} is an interim status: a response's is 200 to 599"
            ));
        }
        if !self.has_body()
            && (!self.body.is_empty() || self.trailers.is_some() || self.chunks.is_some())
        {
            return Err(format!("a {status} response has no body nor trailers"));
        }
        // The responder frames the body on the wire.
        let fields = self
            .headers
            .keys()
            .chain(self.trailers.iter().flat_map(BTreeMap::keys));
        if let Some(name) = fields.into_iter().find(|name| {
            ["content-length", "transfer-encoding"].contains(&name.to_ascii_lowercase().as_str())
        }) {
            return Err(format!(
                "`{name}` frames the body, which the harness does from `body` and `trailers`: leave it out"
            ));
        }
        field_map(&self.headers)?;
        self.trailers.as_ref().map(field_map).transpose()?;
        Ok(())
    }

    /// Whether a response of this status carries a body (RFC 9110: not a
    /// 204 nor a 304).
    pub fn has_body(&self) -> bool {
        !matches!(self.status, 204 | 304)
    }
}

impl HttpRequest {
    /// Whether the request can be built (method and field names).
    pub fn check(&self) -> Result<(), String> {
        hyper::Method::from_bytes(self.method.as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", self.method))?;
        field_map(&self.headers)?;
        self.trailers.as_ref().map(field_map).transpose()?;
        Ok(())
    }

    /// The same request as a client sends it to a server: the path alone
    /// as its target, the reserved authority in its `host` field, `te:
    /// trailers` (without it a server may drop the response's trailers,
    /// RFC 9110 10.1.4), and a body with trailers sent chunked (the only
    /// framing that carries them) and named in a `trailer` field.
    pub fn to_send(&self, scenario: &str) -> Result<hyper::Request<PlainBody>, String> {
        let mut request = self.with_target(scenario, format!("/{scenario}"))?;
        let headers = request.headers_mut();
        headers.insert(
            hyper::header::HOST,
            HeaderValue::from_static(RESERVED_AUTHORITY),
        );
        headers.insert(hyper::header::TE, HeaderValue::from_static("trailers"));
        if let Some(trailers) = &self.trailers {
            let chunked = HeaderValue::from_static("chunked");
            headers.insert(hyper::header::TRANSFER_ENCODING, chunked);
            // hyper sends only the trailers a `trailer` field declares.
            let names = trailers.keys().cloned().collect::<Vec<_>>().join(", ");
            let names = HeaderValue::from_str(&names).expect("field names are values");
            headers.insert(hyper::header::TRAILER, names);
        }
        Ok(request)
    }

    fn with_target(
        &self,
        scenario: &str,
        target: String,
    ) -> Result<hyper::Request<PlainBody>, String> {
        let mut request = hyper::Request::builder()
            .method(self.method.as_str())
            .uri(target)
            .body(body(&self.body, self.trailers.as_ref()))
            .map_err(|e| format!("scenario `{scenario}` cannot be a request path: {e}"))?;
        *request.headers_mut() = field_map(&self.headers).expect("checked when loaded");
        Ok(request)
    }
}

/// A request body of the harness's making, which cannot fail.
pub type PlainBody = BoxBody<Bytes, Infallible>;

fn field_map(fields: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a field name"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("`{value}` is not a field value"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// A body of `text` followed by `trailers`.
fn body(text: &str, trailers: Option<&BTreeMap<String, String>>) -> PlainBody {
    let trailers = trailers.map(|t| field_map(t).expect("checked when loaded"));
    Full::new(Bytes::from(text.to_string()))
        .with_trailers(async move { trailers.map(Ok) })
        .boxed()
}

/// The `response` observation of a response that came: its status,
/// headers, the body received by `until` and how the body ended. The
/// response stays the caller's: a body still unfinished may be kept open.
pub async fn observe_received<B>(
    response: &mut hyper::Response<B>,
    until: tokio::time::Instant,
) -> Value
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let body = response.body_mut();
    let mut received = Vec::new();
    let mut trailers = None;
    let end = loop {
        match tokio::time::timeout_at(until, body.frame()).await {
            Err(_elapsed) => break "unfinished",
            Ok(None) => {
                break if trailers.is_some() {
                    "trailers"
                } else {
                    "complete"
                };
            }
            Ok(Some(Err(_error))) => break "error",
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => received.extend_from_slice(&data),
                Err(frame) => trailers = frame.into_trailers().ok().map(|map| fields(&map)),
            },
        }
    };
    let mut headers = fields(response.headers());
    // A server's `date` differs run by run; its presence is the record.
    if let Some(date) = headers.get_mut("date") {
        *date = json!("(the date of the response)");
    }
    let mut observed = json!({
        "status": response.status().as_u16(),
        "headers": headers,
        "body": String::from_utf8_lossy(&received),
        "end": end,
    });
    if let Some(trailers) = trailers {
        observed["trailers"] = trailers;
    }
    observed
}

/// The `@witness` line that carries a proxy guest's response, appended to
/// its stdout; for `--list`, the response body itself (the scenario list).
pub fn response_lines(scenario: &str, response: &Value) -> String {
    match (scenario, response.get("body")) {
        ("--list", Some(Value::String(body))) => body.clone(),
        _ => format!(
            "{}{}\n",
            crate::outcome::observations::PREFIX,
            json!({ RESPONSE_OBSERVATION: response })
        ),
    }
}

/// Field name → its value, or its values in order when there are several.
fn fields(map: &HeaderMap) -> Value {
    let mut table = serde_json::Map::new();
    for name in map.keys() {
        let mut values: Vec<String> = map
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        let value = match values.len() {
            1 => json!(values.remove(0)),
            _ => json!(values),
        };
        table.insert(name.to_string(), value);
    }
    Value::Object(table)
}
