//! The reserved HTTP authority's peer. For a run with
//! `[run.http-response]`, a responder answers each request on the wire with
//! the case's response, as a server would: every host's own HTTP client
//! reads it. On a host in the private network, `witness.invalid` names an
//! address of the run's own there (its process's hosts file,
//! [`PrivateNetwork::hosts_file`]); the embedded hosts' hooks send its
//! requests to the responder's address on the machine's loopback
//! ([`super::world::http`]).
//!
//! A case's `error` becomes what a peer does to make it: nothing listens
//! (`connection-refused`), the connection closes after the request's head
//! (`connection-terminated`), no answer ever comes
//! (`http-response-timeout`).
//!
//! A browser's requests are a page's, cross-origin to the responder: it
//! then answers as a server for pages does, allowing any origin (CORS) and
//! answering preflights, so that the guest meets the same peer there.
//!
//! A serving adapter process keeps one responder for its life (its hosts
//! file is fixed when it starts), answering each run's requests as that
//! run says ([`Responder::answer`]): a request is answered as the run
//! current when its head arrives, even on a connection an earlier run
//! opened and its HTTP client kept alive.

use super::RunSettings;
use super::private_network::{HostsFile, PrivateNetwork};
use super::world::http::{HttpError, HttpResponse, RESERVED_AUTHORITY};
use super::world::sockets::fresh_address;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a request's head may be: more is not a request witness's
/// guests send, and the connection is closed.
const HEAD_LIMIT: u64 = 64 << 10;

/// A run's responder, or a serving process's: until it is dropped, it
/// listens (unless the run wants nothing listening).
pub struct Responder {
    hosts_file: Option<HostsFile>,
    /// None for a run that wants nothing listening.
    listening: Option<Listening>,
    /// The connections open now: shut down on drop, with the listener, so
    /// that no thread outlives the responder.
    connections: Arc<Mutex<Connections>>,
}

/// A responder's listener (a duplicate of the accepting thread's) and how
/// it answers the next request.
struct Listening {
    listener: TcpListener,
    answer: Arc<Mutex<Answer>>,
}

/// The connections a responder's threads serve, each until it closes.
#[derive(Default)]
struct Connections {
    open: HashMap<u64, TcpStream>,
    next: u64,
    /// The responder was dropped: a connection accepted after is closed.
    closed: bool,
}

/// What a run asks of the responder.
#[derive(Clone, Copy)]
pub struct Wanted<'a> {
    /// The case's `[run.http-response]`.
    pub response: &'a HttpResponse,
    /// The host's requests are a page's: allow them from any origin.
    pub cross_origin: bool,
}

impl<'a> Wanted<'a> {
    /// What a run on a host in the private network asks: the case's
    /// `[run.http-response]`, if it has one.
    pub fn of(settings: &'a RunSettings, cross_origin: bool) -> Option<Wanted<'a>> {
        (settings.http_response.as_ref()).map(|response| Wanted {
            response,
            cross_origin,
        })
    }

    /// Whether the peer listens: all but `connection-refused`, and
    /// `dns-error`, which has no peer to find.
    pub fn listens(&self) -> bool {
        !matches!(
            self.response.error,
            Some(HttpError::ConnectionRefused | HttpError::DnsError)
        )
    }

    /// Whether [`RESERVED_AUTHORITY`] names the peer: all but `dns-error`.
    fn named(&self) -> bool {
        self.response.error != Some(HttpError::DnsError)
    }

    /// Whether the peer answers every request with a response HTTP/1.1
    /// can read: it listens, and has no `error` nor `raw` bytes.
    pub fn keeps_to_http(&self) -> bool {
        self.response.error.is_none() && self.response.raw.is_none()
    }

    /// How the peer answers; `None` when nothing listens.
    fn answer(&self) -> Option<Answer> {
        self.listens().then(|| match self.response.error {
            Some(HttpError::ConnectionTerminated) => Answer::Close,
            Some(HttpError::HttpResponseTimeout) => Answer::Never,
            _ => Answer::Play {
                script: Arc::new(script(self.response, self.cross_origin)),
                cross_origin: self.cross_origin,
            },
        })
    }
}

/// What the responder does with each request.
#[derive(Clone)]
enum Answer {
    /// Plays this script: the response; to a CORS preflight,
    /// [`PREFLIGHT_ANSWER`] when it allows cross-origin requests.
    Play {
        script: Arc<Script>,
        cross_origin: bool,
    },
    /// Closes the connection.
    Close,
    /// Reads on, never answering.
    Never,
}

impl Responder {
    /// The responder a run on a host in `network` needs: one answering
    /// as `wanted` says, at a fresh address of `network`, named
    /// [`RESERVED_AUTHORITY`] by its [`Responder::hosts_file`]. None when
    /// the host is not in the private network or the run wants nothing.
    pub fn for_run(
        network: Option<&PrivateNetwork>,
        wanted: Option<Wanted<'_>>,
    ) -> Result<Option<Responder>, String> {
        let (Some(network), Some(wanted)) = (network, wanted) else {
            return Ok(None);
        };
        let address = fresh_address();
        let named = [(RESERVED_AUTHORITY, address)];
        let named = if wanted.named() { &named[..] } else { &[] };
        let hosts_file = (network.hosts_file(named))
            .map_err(|e| format!("cannot write the run's hosts file: {e}"))?;
        let bound = match wanted.listens() {
            true => Some(network.inside(|| TcpListener::bind((address, 80)))?),
            false => None,
        };
        Responder::start(wanted, bound, Some(hosts_file)).map(Some)
    }

    /// A responder answering as `wanted` says, for a host whose network is
    /// the machine's (the embedded hosts, which send `witness.invalid`'s
    /// requests to it): at a fresh loopback address and a port the kernel
    /// picks, which it returns, or [`nowhere`] for a run that wants nothing
    /// listening.
    pub fn on_loopback(wanted: Wanted<'_>) -> Result<(Responder, SocketAddr), String> {
        let address = fresh_address();
        let bound = match wanted.listens() {
            true => Some(TcpListener::bind((address, 0))),
            false => None,
        };
        let responder = Responder::start(wanted, bound, None)?;
        let at = match &responder.listening {
            Some(Listening { listener, .. }) => listener.local_addr(),
            None => nowhere(address),
        };
        let at = at.map_err(|e| format!("cannot find an address for the responder: {e}"))?;
        Ok((responder, at))
    }

    /// The responder, accepting on `bound` (if it listens).
    fn start(
        wanted: Wanted<'_>,
        bound: Option<std::io::Result<TcpListener>>,
        hosts_file: Option<HostsFile>,
    ) -> Result<Responder, String> {
        let connections = Arc::<Mutex<Connections>>::default();
        let listening = match (bound, wanted.answer()) {
            (Some(bound), Some(answer)) => {
                let listener =
                    bound.map_err(|e| format!("cannot listen for {RESERVED_AUTHORITY}: {e}"))?;
                let accepting = (listener.try_clone())
                    .map_err(|e| format!("cannot share the responder's listener: {e}"))?;
                let answer = Arc::new(Mutex::new(answer));
                let (connections, shared) = (connections.clone(), answer.clone());
                std::thread::spawn(move || accept_all(&accepting, &connections, &shared));
                Some(Listening { listener, answer })
            }
            _ => None,
        };
        Ok(Responder {
            hosts_file,
            listening,
            connections,
        })
    }

    /// From now on, answers as `wanted` says (a serving process's
    /// responder, before each run). A responder that listens keeps
    /// listening: a run that wants nothing listening has one of its own.
    pub fn answer(&self, wanted: Wanted<'_>) {
        if let (Some(listening), Some(answer)) = (&self.listening, wanted.answer()) {
            *listening.answer.lock().expect("no panics while locked") = answer;
        }
    }

    /// The hosts file of the run's process, naming the responder: none on
    /// the machine's loopback.
    pub fn hosts_file(&self) -> Option<&HostsFile> {
        self.hosts_file.as_ref()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let mut connections = self.connections.lock().expect("no panics while locked");
        connections.closed = true;
        for connection in connections.open.values() {
            let _ = connection.shutdown(Shutdown::Both);
        }
        if let Some(Listening { listener, .. }) = &self.listening {
            // Wakes the accepting thread, whose accept then fails with
            // EINVAL: Linux ends a blocked accept on a listener shut down.
            // SAFETY: shutdown(2) of a descriptor this value owns.
            unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) };
        }
    }
}

/// A port of `address` where nothing listens: one the kernel found free,
/// with no listener of the machine on it (a wildcard one included), as the
/// kernel picks for a bind to port 0.
pub fn nowhere(address: std::net::Ipv4Addr) -> std::io::Result<SocketAddr> {
    TcpListener::bind((address, 0))?.local_addr()
}

/// Serves each connection `listener` accepts on a thread of its own, until
/// the listener is shut down.
fn accept_all(
    listener: &TcpListener,
    connections: &Arc<Mutex<Connections>>,
    answer: &Arc<Mutex<Answer>>,
) {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return,
            // A connection aborted while queued, or no descriptor left for
            // one for now: the others are still served.
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        let id = {
            let mut open = connections.lock().expect("no panics while locked");
            let Ok(copy) = stream.try_clone() else {
                continue;
            };
            if open.closed {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            open.next += 1;
            let id = open.next;
            open.open.insert(id, copy);
            id
        };
        let (connections, answer) = (connections.clone(), answer.clone());
        std::thread::spawn(move || {
            serve(stream, &answer);
            // Its copy goes too, so that the connection closes now.
            let mut open = connections.lock().expect("no panics while locked");
            if let Some(copy) = open.open.remove(&id) {
                let _ = copy.shutdown(Shutdown::Both);
            }
        });
    }
}

/// Answers each request on `stream` until the client closes it, as
/// `answer` says when its head is in; then reads its body to the end, as a
/// server would, so that a guest writing it never waits on a full buffer.
fn serve(stream: TcpStream, answer: &Mutex<Answer>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader) {
        let answer = answer.lock().expect("no panics while locked").clone();
        let mut then_close = false;
        match &answer {
            Answer::Play {
                cross_origin: true, ..
            } if head.preflight => {
                if writer.write_all(PREFLIGHT_ANSWER.as_bytes()).is_err() {
                    return;
                }
            }
            Answer::Play { script, .. } => {
                for step in &script.steps {
                    let written = match step {
                        Step::Write(bytes) => writer.write_all(bytes),
                        Step::Pause(pause) => {
                            std::thread::sleep(*pause);
                            Ok(())
                        }
                    };
                    if written.is_err() {
                        return;
                    }
                }
                then_close = script.then_close;
            }
            Answer::Close => return,
            Answer::Never => {
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
                return;
            }
        }
        if read_body(&mut reader, head.body).is_none() || then_close {
            return;
        }
    }
}

/// The answer to a browser's CORS preflight: any method and fields, from
/// any origin.
pub const PREFLIGHT_ANSWER: &str = "HTTP/1.1 204 No Content\r\naccess-control-allow-origin: *\r\naccess-control-allow-methods: *\r\naccess-control-allow-headers: *\r\n\r\n";

/// What the responder needs of a request's head.
struct Head {
    body: Body,
    /// It is a CORS preflight (`OPTIONS` asking for a method).
    preflight: bool,
}

/// How a request's body is framed.
enum Body {
    Length(u64),
    Chunked,
}

/// The next request's head, read whole; `None` at the end of the
/// connection or when what came is not a request.
fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Head> {
    // A request line begins with a method, in capitals; a TLS handshake
    // (0x16) or other bytes that cannot begin one end the connection.
    let first = *reader.fill_buf().ok()?.first()?;
    if !first.is_ascii_uppercase() && first != b'\r' && first != b'\n' {
        return None;
    }
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let read = (reader.by_ref().take(HEAD_LIMIT - before as u64))
            .read_until(b'\n', &mut head)
            .ok()?;
        if read == 0 {
            return None;
        }
        if head[before..] == *b"\r\n" && before > 0 {
            break;
        }
    }
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut fields);
    request.parse(&head).ok()?.is_complete().then_some(())?;
    let field = |name: &str| {
        (request.headers.iter())
            .find(|field| field.name.eq_ignore_ascii_case(name))
            .map(|field| {
                String::from_utf8_lossy(field.value)
                    .trim()
                    .to_ascii_lowercase()
            })
    };
    let preflight =
        request.method == Some("OPTIONS") && field("access-control-request-method").is_some();
    let body = match field("transfer-encoding") {
        Some(coding) if coding.ends_with("chunked") => Body::Chunked,
        _ => Body::Length(field("content-length").map_or(Some(0), |length| length.parse().ok())?),
    };
    Some(Head { body, preflight })
}

/// Reads a request's body to its end; `None` when the connection ended
/// first or the framing is broken.
fn read_body(reader: &mut BufReader<TcpStream>, body: Body) -> Option<()> {
    let skip = |reader: &mut BufReader<TcpStream>, length: u64| {
        let skipped = std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink());
        (skipped.ok()? == length).then_some(())
    };
    match body {
        Body::Length(length) => skip(reader, length),
        Body::Chunked => loop {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line).ok()?;
            let httparse::Status::Complete((_, size)) = httparse::parse_chunk_size(&line).ok()?
            else {
                return None;
            };
            if size == 0 {
                // The trailers, to the empty line.
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line).ok()? {
                        0 => return None,
                        _ if line == b"\r\n" => return Some(()),
                        _ => {}
                    }
                }
            }
            // The chunk and its CRLF.
            skip(reader, size + 2)?;
        },
    }
}

/// The fields that show a response, all of it, to a page from any origin.
const CORS_FIELDS: &str = "access-control-allow-origin: *\r\naccess-control-expose-headers: *\r\n";

/// `response` as HTTP/1.1 puts it on the wire: its fields as the case
/// gives them (and the CORS fields that show all of it to a page from any
/// origin, if `cross_origin`), the body framed by its length, or chunked
/// when trailers follow it or it comes in `chunks` ([`script`] puts them
/// before the last chunk).
fn wire(response: &HttpResponse, cross_origin: bool) -> Vec<u8> {
    let status = hyper::StatusCode::from_u16(response.status).expect("checked when loaded");
    let mut text = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or_default()
    );
    let lines = |fields: &std::collections::BTreeMap<String, String>| {
        (fields.iter())
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect::<String>()
    };
    text.push_str(&lines(&response.headers));
    if cross_origin {
        text.push_str(CORS_FIELDS);
    }
    let body = &response.body.repeat(response.repeat);
    let chunked = response.trailers.is_some() || response.chunks.is_some();
    match &response.trailers {
        _ if !response.has_body() => text.push_str("\r\n"),
        _ if !chunked => text.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len())),
        trailers => {
            text.push_str("transfer-encoding: chunked\r\n\r\n");
            if !body.is_empty() {
                text.push_str(&format!("{:x}\r\n{body}\r\n", body.len()));
            }
            let trailers = trailers.as_ref().map(lines).unwrap_or_default();
            text.push_str(&format!("0\r\n{trailers}\r\n"));
        }
    }
    text.into_bytes()
}

/// What the responder does for one request: writes, and pauses between
/// them.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Write(Vec<u8>),
    Pause(Duration),
}

/// A response as the responder plays it.
#[derive(Debug, PartialEq)]
pub struct Script {
    pub steps: Vec<Step>,
    /// The connection closes once the request's body is read.
    pub then_close: bool,
}

/// How the responder plays `response`: after `first-byte-delay-ms`, its
/// `raw` bytes (then the connection closes; for a page, with the CORS
/// fields after each status line), or its head and body as [`wire`] frames
/// them, the `chunks` `between-chunks-ms` apart.
pub fn script(response: &HttpResponse, cross_origin: bool) -> Script {
    let mut steps = Vec::new();
    let pause = |ms| Step::Pause(Duration::from_millis(ms));
    if response.first_byte_delay_ms > 0 {
        steps.push(pause(response.first_byte_delay_ms));
    }
    if let Some(raw) = &response.raw {
        let raw = match cross_origin {
            // Each status line's response shows itself to a page.
            true => raw
                .split_inclusive("\r\n")
                .fold(String::new(), |mut text, line| {
                    text.push_str(line);
                    if line.starts_with("HTTP/") && line.ends_with("\r\n") {
                        text.push_str(CORS_FIELDS);
                    }
                    text
                }),
            false => raw.clone(),
        };
        steps.push(Step::Write(raw.into_bytes()));
        return Script {
            steps,
            then_close: true,
        };
    }
    let whole = wire(response, cross_origin);
    match &response.chunks {
        None => steps.push(Step::Write(whole)),
        Some(chunks) => {
            let head_end = (whole.windows(4).position(|w| w == b"\r\n\r\n"))
                .expect("wire ends a head with an empty line")
                + 4;
            steps.push(Step::Write(whole[..head_end].to_vec()));
            for (index, chunk) in chunks.iter().enumerate() {
                if index > 0 && response.between_chunks_ms > 0 {
                    steps.push(pause(response.between_chunks_ms));
                }
                steps.push(Step::Write(
                    format!("{:x}\r\n{chunk}\r\n", chunk.len()).into_bytes(),
                ));
            }
            steps.push(Step::Write(whole[head_end..].to_vec()));
        }
    }
    Script {
        steps,
        then_close: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::ErrorKind;
    use std::time::Duration;

    /// A client connected to a responder's accepting thread answering with
    /// `answer`.
    fn served(answer: Answer) -> TcpStream {
        served_as(Arc::new(Mutex::new(answer)), &Arc::default())
    }

    /// A client connected to a responder's accepting thread, answering as
    /// `answer` says then, its connections in `connections`.
    fn served_as(answer: Arc<Mutex<Answer>>, connections: &Arc<Mutex<Connections>>) -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let connections = connections.clone();
        std::thread::spawn(move || accept_all(&listener, &connections, &answer));
        client
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        client
    }

    /// An answer that writes `text` and keeps the connection.
    fn played(text: &str, cross_origin: bool) -> Answer {
        Answer::Play {
            script: Arc::new(Script {
                steps: vec![Step::Write(text.into())],
                then_close: false,
            }),
            cross_origin,
        }
    }

    #[test]
    fn a_connection_kept_alive_is_answered_as_the_current_run_says() {
        let bytes = |text: &'static str| played(text, false);
        let answer = Arc::new(Mutex::new(bytes("FIRST")));
        let mut client = served_as(answer.clone(), &Arc::default());
        let request = b"GET / HTTP/1.1\r\n\r\n";
        client.write_all(request).unwrap();
        assert_eq!(received(&mut client).as_deref(), Some("FIRST"));
        *answer.lock().unwrap() = bytes("SECOND");
        client.write_all(request).unwrap();
        assert_eq!(received(&mut client).as_deref(), Some("SECOND"));
    }

    /// What arrives within the read timeout; `None` when the server closed
    /// the connection first.
    fn received(client: &mut TcpStream) -> Option<String> {
        let mut bytes = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            match client.read(&mut buffer) {
                Ok(0) => return None,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Some(String::from_utf8(bytes).unwrap());
                }
                Err(e) => panic!("the connection failed: {e}"),
            }
        }
    }

    #[test]
    fn each_request_on_a_connection_is_answered_after_its_head_and_its_body_is_read_past() {
        let answer = |cross_origin| played("ANSWER", cross_origin);
        let mut client = served(answer(false));
        // A chunked body with trailers, then a body of a given length, then
        // one without a body: three answers, no more.
        client
            .write_all(b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\nPUT / HTTP/1.1\r\ncontent-length: 4\r\n\r\nGET GET / HTTP/1.1\r\n\r\n")
            .unwrap();
        assert_eq!(received(&mut client).as_deref(), Some("ANSWERANSWERANSWER"));
        // A preflight gets the CORS answer only from a responder for pages.
        let preflight = b"OPTIONS / HTTP/1.1\r\naccess-control-request-method: PUT\r\n\r\n";
        let mut client = served(answer(false));
        client.write_all(preflight).unwrap();
        assert_eq!(received(&mut client).as_deref(), Some("ANSWER"));
        let mut client = served(answer(true));
        client.write_all(preflight).unwrap();
        assert_eq!(received(&mut client).as_deref(), Some(PREFLIGHT_ANSWER));
    }

    #[test]
    fn a_terminating_peer_closes_after_the_head_and_a_silent_one_never_answers() {
        let request = b"GET / HTTP/1.1\r\nhost: witness.invalid\r\n\r\n";
        let connections = Arc::default();
        let mut client = served_as(Arc::new(Mutex::new(Answer::Close)), &connections);
        client.write_all(request).unwrap();
        assert_eq!(received(&mut client), None);
        // The connection it closed is no longer kept.
        assert!(connections.lock().unwrap().open.is_empty());
        let mut client = served(Answer::Never);
        client.write_all(request).unwrap();
        assert_eq!(received(&mut client).as_deref(), Some(""));
    }

    #[test]
    fn a_response_with_trailers_is_chunked_one_without_has_its_length_and_cors_is_for_pages() {
        let fields = |name: &str, value: &str| BTreeMap::from([(name.into(), value.into())]);
        let on_the_wire = [
            (
                HttpResponse {
                    headers: fields("x-witness", "yes"),
                    body: "witness body".into(),
                    trailers: Some(fields("x-witness", "done")),
                    ..HttpResponse::default()
                },
                false,
                "HTTP/1.1 200 OK\r\nx-witness: yes\r\ntransfer-encoding: chunked\r\n\r\nc\r\nwitness body\r\n0\r\nx-witness: done\r\n\r\n",
            ),
            (
                HttpResponse {
                    status: 404,
                    body: "gone".into(),
                    ..HttpResponse::default()
                },
                true,
                "HTTP/1.1 404 Not Found\r\naccess-control-allow-origin: *\r\naccess-control-expose-headers: *\r\ncontent-length: 4\r\n\r\ngone",
            ),
            (
                HttpResponse {
                    status: 204,
                    ..HttpResponse::default()
                },
                false,
                "HTTP/1.1 204 No Content\r\n\r\n",
            ),
        ];
        for (response, cross_origin, wanted) in on_the_wire {
            assert_eq!(
                String::from_utf8(wire(&response, cross_origin)).unwrap(),
                wanted
            );
        }
    }

    #[test]
    fn chunks_come_apart_after_the_delay_and_raw_bytes_close_the_connection() {
        let pause = |ms| Step::Pause(Duration::from_millis(ms));
        let write = |text: &str| Step::Write(text.into());
        let chunked = HttpResponse {
            chunks: Some(vec!["ab".into(), "cde".into()]),
            between_chunks_ms: 20,
            first_byte_delay_ms: 10,
            ..HttpResponse::default()
        };
        assert_eq!(
            script(&chunked, false),
            Script {
                steps: vec![
                    pause(10),
                    write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"),
                    write("2\r\nab\r\n"),
                    pause(20),
                    write("3\r\ncde\r\n"),
                    write("0\r\n\r\n"),
                ],
                then_close: false,
            }
        );
        let raw = HttpResponse {
            raw: Some("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc".into()),
            ..HttpResponse::default()
        };
        let for_a_page = HttpResponse {
            raw: Some("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nno".into()),
            ..HttpResponse::default()
        };
        let cors = "access-control-allow-origin: *\r\naccess-control-expose-headers: *\r\n";
        assert_eq!(
            script(&for_a_page, true).steps,
            [write(&format!(
                "HTTP/1.1 100 Continue\r\n{cors}\r\nHTTP/1.1 200 OK\r\n{cors}\r\nno"
            ))]
        );
        let script = script(&raw, false);
        assert!(script.then_close);
        let answer = Answer::Play {
            script: Arc::new(script),
            cross_origin: false,
        };
        let mut client = served(answer);
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut got = String::new();
        client.read_to_string(&mut got).unwrap();
        assert_eq!(got, "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc");
    }
}
