//! wasi:sockets/tcp's options (their invalid values, read-back, the rounding
//! the docs allow, what an accepted socket inherits), `shutdown` in each
//! direction, and the streams of a connection on the run's own loopback
//! address.

use common::observe;
use loopback::{
    accept, bound_tcp, client_of, error_name, listen, listener, read_result, write_result,
};
use wasi::io::error::Error as IoError;
use wasi::io::streams::{InputStream, OutputStream, StreamError};
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::network::{ErrorCode, IpAddressFamily, Network};
use wasi::sockets::tcp::{ShutdownType, TcpSocket};
use wasi::sockets::tcp_create_socket::create_tcp_socket;

wit_bindgen::generate!({ path: "../../wit", world: "tcp-options", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
#[path = "../../sockets/src/loopback.rs"]
mod loopback;

common::command![
    ("tcp-option-keep-alive-idle-time-zero", || set_on_fresh(
        |socket| socket.set_keep_alive_idle_time(0)
    )),
    ("tcp-option-keep-alive-interval-zero", || set_on_fresh(
        |socket| socket.set_keep_alive_interval(0)
    )),
    ("tcp-option-keep-alive-count-zero", || set_on_fresh(
        |socket| socket.set_keep_alive_count(0)
    )),
    ("tcp-option-hop-limit-zero", || set_on_fresh(|socket| {
        socket.set_hop_limit(0)
    })),
    ("tcp-option-receive-buffer-size-zero", || set_on_fresh(
        |socket| socket.set_receive_buffer_size(0)
    )),
    ("tcp-option-send-buffer-size-zero", || set_on_fresh(
        |socket| socket.set_send_buffer_size(0)
    )),
    ("tcp-option-listen-backlog-size-zero", || set_on_fresh(
        |socket| socket.set_listen_backlog_size(0)
    )),
    (
        "tcp-option-keep-alive-idle-time-one-nanosecond",
        idle_time_one_nanosecond,
    ),
    ("tcp-option-keep-alive-interval-max", interval_max),
    ("tcp-option-keep-alive-count-max", count_max),
    ("tcp-option-send-buffer-size-max", send_buffer_max),
    ("tcp-option-hop-limit-read-back", hop_limit_read_back),
    ("tcp-option-keep-alive-enabled-read-back", enabled_read_back),
    ("tcp-option-keep-alive-enabled-default", enabled_default),
    (
        "tcp-option-keep-alive-configured-while-disabled",
        configured_while_disabled,
    ),
    (
        "tcp-option-keep-alive-idle-time-connected",
        idle_time_connected,
    ),
    (
        "tcp-option-listen-backlog-size-after-listen",
        backlog_after_listen,
    ),
    (
        "tcp-option-listen-backlog-size-connected",
        backlog_connected,
    ),
    (
        "tcp-option-listen-backlog-size-connect-in-progress",
        backlog_connect_in_progress,
    ),
    (
        "tcp-option-accepted-inherits-keep-alive",
        inherits_keep_alive,
    ),
    ("tcp-option-accepted-inherits-hop-limit", inherits_hop_limit),
    (
        "tcp-option-accepted-inherits-buffer-sizes",
        inherits_buffer_sizes,
    ),
    (
        "tcp-shutdown-receive-discards-queued",
        receive_discards_queued,
    ),
    ("tcp-shutdown-receive-read-zero", receive_read_zero),
    ("tcp-shutdown-send-closes-output", send_closes_output),
    (
        "tcp-shutdown-send-keeps-written-data",
        send_keeps_written_data,
    ),
    ("tcp-shutdown-send-unflushed-write", send_unflushed_write),
    ("tcp-shutdown-both", shutdown_both),
    ("tcp-shutdown-twice", shutdown_twice),
    ("tcp-shutdown-unconnected", shutdown_unconnected),
    (
        "tcp-shutdown-socket-stays-connected",
        socket_stays_connected,
    ),
    ("tcp-stream-write-then-read", write_then_read),
    (
        "tcp-stream-read-after-peer-shutdown-send",
        read_after_peer_shutdown_send,
    ),
    (
        "tcp-stream-read-zero-after-peer-shutdown-send",
        read_zero_after_peer_shutdown_send,
    ),
    ("tcp-stream-write-after-peer-dropped", || {
        write_after_peer_dropped(false)
    },),
    ("tcp-stream-error-debug-string", || {
        write_after_peer_dropped(true)
    }),
];

/// A listener on the own address, a client connected to it and the socket
/// the listener accepted for it. Fields drop in order: the streams before
/// their sockets (the other order is a case of its own, in `sockets`).
struct Connection {
    client_in: InputStream,
    client_out: OutputStream,
    server_in: InputStream,
    server_out: OutputStream,
    client: TcpSocket,
    server: TcpSocket,
    listener: TcpSocket,
}

/// A new, unbound IPv4 socket.
fn fresh() -> TcpSocket {
    create_tcp_socket(IpAddressFamily::Ipv4).expect("a TCP socket")
}

/// A client connected to `listener`, and the socket `listener` accepted.
fn connect_to(network: &Network, listener: TcpSocket) -> Connection {
    let (client, client_in, client_out) = client_of(network, &listener);
    let (server, server_in, server_out) = accept(&listener);
    Connection {
        client_in,
        client_out,
        server_in,
        server_out,
        client,
        server,
        listener,
    }
}

fn connection(network: &Network) -> Connection {
    connect_to(network, listener(network))
}

/// A bound listener set up by `configure` before it listens, with a
/// connection accepted from it.
fn accepted_from(network: &Network, configure: impl FnOnce(&TcpSocket)) -> Connection {
    let socket = bound_tcp(network);
    configure(&socket);
    listen(&socket);
    connect_to(network, socket)
}

/// Observes an option's value, or the error reading it gave (so does
/// `observe_flag`).
fn observe_number(name: &str, result: Result<u64, ErrorCode>) {
    match result {
        Ok(value) => observe(name, value),
        Err(code) => observe(name, code.name()),
    }
}

/// Observes under `name` whether the accepted socket reads the option
/// `read` reads as the listener reads it (after the host's rounding, which
/// the docs allow).
fn observe_inherited<T: PartialEq>(
    name: &str,
    c: &Connection,
    read: impl Fn(&TcpSocket) -> Result<T, ErrorCode>,
) {
    let listener = read(&c.listener).expect("the listener reads its option back");
    observe(name, read(&c.server).ok() == Some(listener));
}

fn observe_flag(name: &str, result: Result<bool, ErrorCode>) {
    match result {
        Ok(value) => observe(name, value),
        Err(code) => observe(name, code.name()),
    }
}

fn check_write_result(result: Result<u64, StreamError>) -> String {
    write_result(result.map(|_| ()))
}

/// Every byte `input` gives until it fails, as text, and the failure.
fn read_to_end(input: &InputStream) -> (String, String) {
    let mut bytes = Vec::new();
    loop {
        match input.blocking_read(64) {
            Ok(chunk) => bytes.extend(chunk),
            Err(error) => {
                return (
                    String::from_utf8_lossy(&bytes).into(),
                    read_result(Err(error)),
                );
            }
        }
    }
}

/// `len` bytes from `input` as text, or the failure that came first.
fn read_exactly(input: &InputStream, len: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < len {
        match input.blocking_read((len - bytes.len()) as u64) {
            Ok(chunk) => bytes.extend(chunk),
            Err(error) => return read_result(Err(error)),
        }
    }
    String::from_utf8_lossy(&bytes).into()
}

/// Writes `bytes` without a flush, once `output` permits them all.
fn write_unflushed(output: &OutputStream, bytes: &[u8]) {
    let ready = output.subscribe();
    while output.check_write().expect("the output stream is open") < bytes.len() as u64 {
        ready.block();
    }
    output.write(bytes).expect("a write within the permit");
}

/// A setter's result on a fresh socket.
fn set_on_fresh(set: impl FnOnce(&TcpSocket) -> Result<(), ErrorCode>) {
    observe("set", error_name(&set(&fresh())));
}

fn idle_time_one_nanosecond() {
    let socket = fresh();
    observe("set", error_name(&socket.set_keep_alive_idle_time(1)));
    observe("read", error_name(&socket.keep_alive_idle_time()));
}

fn interval_max() {
    let socket = fresh();
    observe("set", error_name(&socket.set_keep_alive_interval(u64::MAX)));
    observe("read", error_name(&socket.keep_alive_interval()));
}

fn count_max() {
    let socket = fresh();
    observe("set", error_name(&socket.set_keep_alive_count(u32::MAX)));
    observe("read", error_name(&socket.keep_alive_count()));
}

fn send_buffer_max() {
    let socket = fresh();
    observe("set", error_name(&socket.set_send_buffer_size(u64::MAX)));
    observe("read", error_name(&socket.send_buffer_size()));
}

fn hop_limit_read_back() {
    let socket = fresh();
    socket.set_hop_limit(42).expect("set hop-limit 42");
    observe_number("hop-limit", socket.hop_limit().map(u64::from));
}

fn enabled_read_back() {
    let socket = fresh();
    socket
        .set_keep_alive_enabled(true)
        .expect("enable keepalive");
    observe_flag("keep-alive-enabled", socket.keep_alive_enabled());
}

fn enabled_default() {
    observe_flag("keep-alive-enabled", fresh().keep_alive_enabled());
}

fn configured_while_disabled() {
    let socket = fresh();
    socket
        .set_keep_alive_enabled(false)
        .expect("disable keepalive");
    let second = 1_000_000_000;
    let idle = socket.set_keep_alive_idle_time(30 * second);
    observe("keep-alive-idle-time", error_name(&idle));
    let interval = socket.set_keep_alive_interval(5 * second);
    observe("keep-alive-interval", error_name(&interval));
    observe(
        "keep-alive-count",
        error_name(&socket.set_keep_alive_count(3)),
    );
}

fn idle_time_connected() {
    let network = instance_network();
    let connection = connection(&network);
    let set = connection.client.set_keep_alive_idle_time(30_000_000_000);
    observe("set", error_name(&set));
}

fn backlog_after_listen() {
    let network = instance_network();
    let listener = listener(&network);
    observe("set", error_name(&listener.set_listen_backlog_size(16)));
}

fn backlog_connected() {
    let network = instance_network();
    let connection = connection(&network);
    let set = connection.client.set_listen_backlog_size(16);
    observe("set", error_name(&set));
}

fn backlog_connect_in_progress() {
    let network = instance_network();
    let listener = listener(&network);
    let address = listener.local_address().expect("a listener's address");
    let client = bound_tcp(&network);
    client
        .start_connect(&network, address)
        .expect("connect starts");
    // `connect-in-progress` until `finish-connect`, however soon the
    // connection is up.
    observe("set", error_name(&client.set_listen_backlog_size(16)));
}

fn inherits_keep_alive() {
    let network = instance_network();
    let second = 1_000_000_000;
    let c = accepted_from(&network, |listener| {
        listener.set_keep_alive_enabled(true).expect("enable");
        listener
            .set_keep_alive_idle_time(40 * second)
            .expect("idle time");
        listener
            .set_keep_alive_interval(7 * second)
            .expect("interval");
        listener.set_keep_alive_count(4).expect("count");
    });
    observe_inherited("keep-alive-enabled", &c, TcpSocket::keep_alive_enabled);
    observe_inherited("keep-alive-idle-time", &c, TcpSocket::keep_alive_idle_time);
    observe_inherited("keep-alive-interval", &c, TcpSocket::keep_alive_interval);
    observe_inherited("keep-alive-count", &c, TcpSocket::keep_alive_count);
}

fn inherits_hop_limit() {
    let network = instance_network();
    let c = accepted_from(&network, |listener| {
        listener.set_hop_limit(42).expect("hop limit");
    });
    observe_inherited("hop-limit", &c, TcpSocket::hop_limit);
}

fn inherits_buffer_sizes() {
    let network = instance_network();
    let c = accepted_from(&network, |listener| {
        listener
            .set_receive_buffer_size(40_000)
            .expect("receive buffer");
        listener.set_send_buffer_size(50_000).expect("send buffer");
    });
    observe_inherited("receive-buffer-size", &c, TcpSocket::receive_buffer_size);
    observe_inherited("send-buffer-size", &c, TcpSocket::send_buffer_size);
}

fn receive_discards_queued() {
    let network = instance_network();
    let c = connection(&network);
    c.server_out
        .blocking_write_and_flush(b"ping")
        .expect("the server writes");
    // Ready with bytes to read: the peer has not closed.
    c.client_in.subscribe().block();
    c.client
        .shutdown(ShutdownType::Receive)
        .expect("shutdown receive");
    observe("read", read_result(c.client_in.read(4)));
}

fn receive_read_zero() {
    let network = instance_network();
    let c = connection(&network);
    c.client
        .shutdown(ShutdownType::Receive)
        .expect("shutdown receive");
    observe("read", read_result(c.client_in.read(0)));
}

fn send_closes_output() {
    let network = instance_network();
    let c = connection(&network);
    c.client
        .shutdown(ShutdownType::Send)
        .expect("shutdown send");
    observe(
        "check-write",
        check_write_result(c.client_out.check_write()),
    );
}

fn send_keeps_written_data() {
    let network = instance_network();
    let c = connection(&network);
    c.client_out
        .blocking_write_and_flush(b"hello")
        .expect("the client writes");
    c.client
        .shutdown(ShutdownType::Send)
        .expect("shutdown send");
    observe("received", read_exactly(&c.server_in, 5));
}

fn send_unflushed_write() {
    let network = instance_network();
    let c = connection(&network);
    write_unflushed(&c.client_out, b"hello");
    c.client
        .shutdown(ShutdownType::Send)
        .expect("shutdown send");
    let (received, end) = read_to_end(&c.server_in);
    observe("received", received);
    observe("end", end);
}

fn shutdown_both() {
    let network = instance_network();
    let c = connection(&network);
    c.client
        .shutdown(ShutdownType::Both)
        .expect("shutdown both");
    observe("read", read_result(c.client_in.read(1)));
    observe(
        "check-write",
        check_write_result(c.client_out.check_write()),
    );
}

fn shutdown_twice() {
    let network = instance_network();
    let c = connection(&network);
    observe("first", error_name(&c.client.shutdown(ShutdownType::Send)));
    observe("again", error_name(&c.client.shutdown(ShutdownType::Send)));
}

fn shutdown_unconnected() {
    let network = instance_network();
    let socket = bound_tcp(&network);
    observe("shutdown", error_name(&socket.shutdown(ShutdownType::Both)));
}

fn socket_stays_connected() {
    let network = instance_network();
    let c = connection(&network);
    c.client
        .shutdown(ShutdownType::Both)
        .expect("shutdown both");
    observe("remote-address", error_name(&c.client.remote_address()));
}

fn write_then_read() {
    let network = instance_network();
    let c = connection(&network);
    c.client_out
        .blocking_write_and_flush(b"hello")
        .expect("the client writes");
    observe("client-to-server", read_exactly(&c.server_in, 5));
    c.server_out
        .blocking_write_and_flush(b"world")
        .expect("the server writes");
    observe("server-to-client", read_exactly(&c.client_in, 5));
}

/// The client's input once the server shut down sending, and ready.
fn after_peer_shutdown_send(read: impl FnOnce(&InputStream) -> String) {
    let network = instance_network();
    let c = connection(&network);
    c.server
        .shutdown(ShutdownType::Send)
        .expect("shutdown send");
    // Ready once "the other end of the stream has been closed".
    c.client_in.subscribe().block();
    observe("read", read(&c.client_in));
}

fn read_after_peer_shutdown_send() {
    after_peer_shutdown_send(|input| read_result(input.read(1)));
}

fn read_zero_after_peer_shutdown_send() {
    after_peer_shutdown_send(|input| read_result(input.read(0)));
}

/// With `describe`, a write's `last-operation-failed` is also described
/// by `to-debug-string` (`debug-string`: "text" or "empty"; its words are
/// the host's).
fn write_after_peer_dropped(describe: bool) {
    let network = instance_network();
    let Connection {
        client_in,
        client_out,
        server_in,
        server_out,
        client,
        server,
        listener,
    } = connection(&network);
    drop((server_in, server_out));
    drop(server);
    drop(listener);
    // The peer's end arrives first as the end of the client's input.
    let (_, end) = read_to_end(&client_in);
    // The peer's answer to the first byte (a reset) takes a moment: write
    // until a write fails, for up to two seconds.
    let mut failure = "none".to_string();
    for _ in 0..200 {
        match client_out.blocking_write_and_flush(b"x") {
            Ok(()) => wasi::clocks::monotonic_clock::subscribe_duration(10_000_000).block(),
            Err(StreamError::LastOperationFailed(error)) if describe => {
                let text = IoError::to_debug_string(&error);
                observe("debug-string", common::debug_string(&text));
                failure = "last-operation-failed".into();
                break;
            }
            Err(error) => {
                failure = write_result(Err(error));
                break;
            }
        }
    }
    observe("input", end);
    observe("write", failure);
    drop((client_in, client_out));
    drop(client);
}
