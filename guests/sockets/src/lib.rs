//! wasi:sockets' taken resources: UDP streams asked for again, sockets
//! dropped before the streams they handed out, and a TCP socket connected
//! twice. Everything happens on the run's own loopback address, which the
//! harness passes in `WITNESS_LOOPBACK`.

use common::observe;
use wasi::io::poll::Pollable;
use wasi::io::streams::{InputStream, OutputStream, StreamError};
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Network,
};
use wasi::sockets::tcp::TcpSocket;
use wasi::sockets::tcp_create_socket::create_tcp_socket;
use wasi::sockets::udp::UdpSocket;
use wasi::sockets::udp_create_socket::create_udp_socket;

wit_bindgen::generate!({ path: "../../wit", world: "sockets", generate_all });

common::command![
    (
        "udp-stream-again-while-streams-live",
        udp_stream_again_while_streams_live,
    ),
    ("udp-stream-again-after-drop", udp_stream_again_after_drop),
    ("udp-dropped-before-streams", udp_dropped_before_streams),
    (
        "tcp-accepted-dropped-before-streams",
        tcp_accepted_dropped_before_streams,
    ),
    (
        "tcp-connected-dropped-before-streams",
        tcp_connected_dropped_before_streams,
    ),
    ("tcp-finish-connect-again", tcp_finish_connect_again),
    ("tcp-start-connect-again", tcp_start_connect_again),
];

/// The run's own loopback address, port `port`.
fn own(port: u16) -> IpSocketAddress {
    let text = common::env_var("WITNESS_LOOPBACK").expect("the harness sets WITNESS_LOOPBACK");
    let address: std::net::Ipv4Addr = text.parse().expect("WITNESS_LOOPBACK is an IPv4 address");
    let [a, b, c, d] = address.octets();
    IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (a, b, c, d),
    })
}

/// Calls `finish` until it stops saying `would-block`, waiting on `ready`.
fn finish<T>(
    ready: &Pollable,
    mut finish: impl FnMut() -> Result<T, ErrorCode>,
) -> Result<T, ErrorCode> {
    loop {
        match finish() {
            Err(ErrorCode::WouldBlock) => ready.block(),
            done => return done,
        }
    }
}

fn bound_udp(network: &Network) -> UdpSocket {
    let socket = create_udp_socket(IpAddressFamily::Ipv4).expect("a UDP socket");
    socket
        .start_bind(network, own(0))
        .expect("bind on the own address starts");
    finish(&socket.subscribe(), || socket.finish_bind()).expect("bind on the own address");
    socket
}

fn bound_tcp(network: &Network) -> TcpSocket {
    let socket = create_tcp_socket(IpAddressFamily::Ipv4).expect("a TCP socket");
    socket
        .start_bind(network, own(0))
        .expect("bind on the own address starts");
    finish(&socket.subscribe(), || socket.finish_bind()).expect("bind on the own address");
    socket
}

/// A listener on the own address, and a client connected to it.
fn connected(network: &Network) -> (TcpSocket, TcpSocket, InputStream, OutputStream) {
    let listener = bound_tcp(network);
    listener.start_listen().expect("listen starts");
    finish(&listener.subscribe(), || listener.finish_listen()).expect("listen");
    let address = listener
        .local_address()
        .expect("a bound listener has an address");
    let client = bound_tcp(network);
    client
        .start_connect(network, address)
        .expect("connect starts");
    let (input, output) =
        finish(&client.subscribe(), || client.finish_connect()).expect("connect to the listener");
    (listener, client, input, output)
}

fn udp_stream_again_while_streams_live() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let first = socket.stream(None);
    observe("first", error_name(&first));
    observe("asking-again", true);
    let second = socket.stream(None);
    observe("second", error_name(&second));
    drop((second, first));
}

fn udp_stream_again_after_drop() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let first = socket.stream(None);
    observe("first", error_name(&first));
    drop(first);
    observe("second", error_name(&socket.stream(None)));
}

fn udp_dropped_before_streams() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let (incoming, outgoing) = socket.stream(None).expect("streams of a bound socket");
    observe("dropping", true);
    drop(socket);
    observe("send-permit", format!("{:?}", outgoing.check_send()));
    observe(
        "receive",
        format!("{:?}", incoming.receive(1).map(|d| d.len())),
    );
}

fn tcp_accepted_dropped_before_streams() {
    let network = instance_network();
    // Locals drop in reverse: the accepted streams, then the client's
    // streams before the client, as documented.
    let (listener, _client, _input, output) = connected(&network);
    let (accepted, accepted_input, accepted_output) =
        finish(&listener.subscribe(), || listener.accept()).expect("accept the client");
    output
        .blocking_write_and_flush(b"ping")
        .expect("the client writes");
    observe("dropping", true);
    drop(accepted);
    observe("read", read_result(accepted_input.blocking_read(4)));
    observe(
        "write",
        write_result(accepted_output.blocking_write_and_flush(b"pong")),
    );
}

fn tcp_connected_dropped_before_streams() {
    let network = instance_network();
    let (listener, client, input, output) = connected(&network);
    let (_accepted, _accepted_input, accepted_output) =
        finish(&listener.subscribe(), || listener.accept()).expect("accept the client");
    accepted_output
        .blocking_write_and_flush(b"ping")
        .expect("the server writes");
    observe("dropping", true);
    drop(client);
    observe("read", read_result(input.blocking_read(4)));
    observe(
        "write",
        write_result(output.blocking_write_and_flush(b"pong")),
    );
}

fn tcp_finish_connect_again() {
    let network = instance_network();
    let (_listener, client, _input, _output) = connected(&network);
    observe("again", error_name(&client.finish_connect()));
}

fn tcp_start_connect_again() {
    let network = instance_network();
    let (listener, client, _input, _output) = connected(&network);
    let address = listener
        .local_address()
        .expect("a bound listener has an address");
    observe(
        "again",
        error_name(&client.start_connect(&network, address)),
    );
}

/// `"ok"`, or the error code's WIT name.
fn error_name<T>(result: &Result<T, ErrorCode>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(code) => code.name().into(),
    }
}

fn read_result(result: Result<Vec<u8>, StreamError>) -> String {
    match result {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(StreamError::Closed) => "closed".into(),
        Err(StreamError::LastOperationFailed(_)) => "last-operation-failed".into(),
    }
}

fn write_result(result: Result<(), StreamError>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(StreamError::Closed) => "closed".into(),
        Err(StreamError::LastOperationFailed(_)) => "last-operation-failed".into(),
    }
}
