//! What the sockets guests share (each includes this file as `mod
//! loopback` under its own bindings): the run's own addresses, which the
//! harness passes in `WITNESS_LOOPBACK`, the wait for a `finish-*` method,
//! and the names observations give results.

use crate::wasi::io::poll::Pollable;
use crate::wasi::io::streams::{InputStream, OutputStream, StreamError};
use crate::wasi::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, Network,
};
use crate::wasi::sockets::tcp::TcpSocket;
use crate::wasi::sockets::tcp_create_socket::create_tcp_socket;
use crate::wasi::sockets::udp::UdpSocket;
use crate::wasi::sockets::udp_create_socket::create_udp_socket;

/// The run's own loopback address, port `port`.
pub fn own(port: u16) -> IpSocketAddress {
    let text = common::env_var("WITNESS_LOOPBACK").expect("the harness sets WITNESS_LOOPBACK");
    let address: std::net::Ipv4Addr = text.parse().expect("WITNESS_LOOPBACK is an IPv4 address");
    let [a, b, c, d] = address.octets();
    IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (a, b, c, d),
    })
}

/// IPv6's loopback address, `::1`, port `port`: every host lets a
/// sockets case bind and connect there.
pub fn own_v6(port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv6(Ipv6SocketAddress {
        port,
        flow_info: 0,
        address: (0, 0, 0, 0, 0, 0, 0, 1),
        scope_id: 0,
    })
}

/// 192.0.2.1 (TEST-NET-1, RFC 5737), port `port`: an address for
/// documentation that no network has and the private network has no
/// route to. Only a case with `beyond-loopback` may aim at it.
pub fn documentation_address(port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (192, 0, 2, 1),
    })
}

/// Calls `finish` until it stops saying `would-block`, waiting on `ready`.
pub fn finish<T>(
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

/// `"ok"`, or the error code's WIT name.
pub fn error_name<T>(result: &Result<T, ErrorCode>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(code) => code.name().into(),
    }
}

pub fn read_result(result: Result<Vec<u8>, StreamError>) -> String {
    match result {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(StreamError::Closed) => "closed".into(),
        Err(StreamError::LastOperationFailed(_)) => "last-operation-failed".into(),
    }
}

pub fn write_result(result: Result<(), StreamError>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(StreamError::Closed) => "closed".into(),
        Err(StreamError::LastOperationFailed(_)) => "last-operation-failed".into(),
    }
}

pub fn bound_udp(network: &Network) -> UdpSocket {
    let socket = create_udp_socket(IpAddressFamily::Ipv4).expect("a UDP socket");
    socket
        .start_bind(network, own(0))
        .expect("bind on the own address starts");
    finish(&socket.subscribe(), || socket.finish_bind()).expect("bind on the own address");
    socket
}

pub fn bound_tcp(network: &Network) -> TcpSocket {
    let socket = create_tcp_socket(IpAddressFamily::Ipv4).expect("a TCP socket");
    socket
        .start_bind(network, own(0))
        .expect("bind on the own address starts");
    finish(&socket.subscribe(), || socket.finish_bind()).expect("bind on the own address");
    socket
}

/// An IPv4 socket address.
pub fn ipv4(address: (u8, u8, u8, u8), port: u16) -> IpSocketAddress {
    IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address })
}

/// `start-connect`, and `finish-connect` once it started.
pub fn connect(
    network: &Network,
    socket: &TcpSocket,
    address: IpSocketAddress,
) -> Result<(InputStream, OutputStream), ErrorCode> {
    socket
        .start_connect(network, address)
        .and_then(|()| finish(&socket.subscribe(), || socket.finish_connect()))
}

/// `start-listen` and `finish-listen` on a bound socket.
pub fn listen(socket: &TcpSocket) {
    socket.start_listen().expect("listen starts");
    finish(&socket.subscribe(), || socket.finish_listen()).expect("listen");
}

/// A socket listening on the own address.
pub fn listener(network: &Network) -> TcpSocket {
    let listener = bound_tcp(network);
    listen(&listener);
    listener
}

/// A client bound on the own address and connected to `listener`.
pub fn client_of(
    network: &Network,
    listener: &TcpSocket,
) -> (TcpSocket, InputStream, OutputStream) {
    let address = (listener.local_address()).expect("a bound listener has an address");
    let client = bound_tcp(network);
    let (input, output) = connect(network, &client, address).expect("connect to the listener");
    (client, input, output)
}

/// The listener's next connection, waited for.
pub fn accept(listener: &TcpSocket) -> (TcpSocket, InputStream, OutputStream) {
    finish(&listener.subscribe(), || listener.accept()).expect("accept the client")
}

/// A listener on the own address, and a client connected to it.
pub fn connected(network: &Network) -> (TcpSocket, TcpSocket, InputStream, OutputStream) {
    let listener = listener(network);
    let (client, input, output) = client_of(network, &listener);
    (listener, client, input, output)
}
