//! The harness's confinement self-tests: requests, connects, datagrams
//! and binds aimed where stdin says, which a host must keep from reaching
//! anything its case did not grant. WASI alone, so that every host runs it.

use common::observe;
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, Network,
};
use wasi::sockets::tcp::TcpSocket;
use wasi::sockets::tcp_create_socket::create_tcp_socket;
use wasi::sockets::udp::OutgoingDatagram;
use wasi::sockets::udp_create_socket::create_udp_socket;

wit_bindgen::generate!({ path: "../../wit", world: "selftest-network", generate_all });

common::command![
    ("request-to-stdin-authority", request_to_stdin_authority),
    ("connect-to-stdin-address", connect_to_stdin_address),
    ("datagram-to-stdin-address", datagram_to_stdin_address),
    ("bind-to-stdin-address", bind_to_stdin_address),
    ("resolve-stdin-name", resolve_stdin_name),
];

/// The first line of stdin: where the confinement self-tests aim.
fn stdin_line() -> String {
    let stdin = wasi::cli::stdin::get_stdin();
    let mut bytes = Vec::new();
    while !bytes.contains(&b'\n') {
        match stdin.blocking_read(4096) {
            Ok(chunk) => bytes.extend(chunk),
            Err(_) => break,
        }
    }
    let text = String::from_utf8(bytes).expect("the case gives stdin as text");
    text.lines().next().unwrap_or_default().trim().to_string()
}

/// A GET to `http://<stdin>/`: `response` is its status, or the error code
/// `handle` or the response future gave.
fn request_to_stdin_authority() {
    use wasi::http::outgoing_handler::handle;
    use wasi::http::types::{Fields, OutgoingRequest, Scheme};
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&Scheme::Http))
        .expect("http is a scheme");
    request
        .set_authority(Some(&stdin_line()))
        .expect("stdin holds an authority");
    request.set_path_with_query(Some("/")).expect("a path");
    let future = match handle(request, None) {
        Ok(future) => future,
        Err(code) => return observe("response", format!("{code:?}")),
    };
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => observe("response", response.status()),
        Some(Ok(Err(code))) => observe("response", format!("{code:?}")),
        other => observe("response", format!("{other:?}")),
    }
}

fn ip(address: std::net::SocketAddr) -> IpSocketAddress {
    match address {
        std::net::SocketAddr::V4(address) => {
            let [a, b, c, d] = address.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: address.port(),
                address: (a, b, c, d),
            })
        }
        std::net::SocketAddr::V6(address) => {
            let [a, b, c, d, e, f, g, h] = address.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: address.port(),
                flow_info: 0,
                address: (a, b, c, d, e, f, g, h),
                scope_id: 0,
            })
        }
    }
}

/// The run's own loopback address, port 0.
fn own_address() -> IpSocketAddress {
    let own = common::env_var("WITNESS_LOOPBACK").expect("the harness sets WITNESS_LOOPBACK");
    ip(format!("{own}:0").parse().expect("an IPv4 address"))
}

/// The `ip:port` (or `[ip]:port`) on stdin.
fn stdin_address() -> IpSocketAddress {
    ip(stdin_line().parse().expect("stdin holds ip:port"))
}

/// A TCP socket bound to `address`, or the error code's name.
fn bound_tcp(network: &Network, address: IpSocketAddress) -> Result<TcpSocket, &'static str> {
    let family = match address {
        IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
        IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
    };
    let socket = create_tcp_socket(family).expect("a TCP socket");
    let ready = socket.subscribe();
    socket
        .start_bind(network, address)
        .map_err(|code| code.name())?;
    loop {
        match socket.finish_bind() {
            Err(ErrorCode::WouldBlock) => ready.block(),
            Err(code) => return Err(code.name()),
            Ok(()) => break,
        }
    }
    drop(ready);
    Ok(socket)
}

/// A TCP bind to the `ip:port` on stdin: `bind` is `bound` or the error
/// code's name.
fn bind_to_stdin_address() {
    match bound_tcp(&instance_network(), stdin_address()) {
        Ok(_socket) => observe("bind", "bound"),
        Err(code) => observe("bind", code),
    }
}

/// A datagram from the run's own loopback address to the `ip:port` on
/// stdin: `send` is `sent` or the error code's name.
fn datagram_to_stdin_address() {
    let network = instance_network();
    let socket = create_udp_socket(IpAddressFamily::Ipv4).expect("a UDP socket");
    let ready = socket.subscribe();
    socket
        .start_bind(&network, own_address())
        .expect("bind on the own address starts");
    while let Err(ErrorCode::WouldBlock) = socket.finish_bind() {
        ready.block();
    }
    drop(ready);
    let (_incoming, outgoing) = socket.stream(None).expect("the streams of a bound socket");
    outgoing.subscribe().block();
    outgoing.check_send().expect("a permit to send");
    let datagram = OutgoingDatagram {
        data: b"witness".to_vec(),
        remote_address: Some(stdin_address()),
    };
    match outgoing.send(&[datagram]) {
        Ok(1) => observe("send", "sent"),
        Ok(n) => observe("send", format!("{n} datagrams sent")),
        Err(code) => observe("send", code.name()),
    }
}

/// A TCP connect from the run's own loopback address (IPv6's, `[::1]`, to
/// an IPv6 address) to the `ip:port` on stdin: `connect` is `connected` or
/// the error code's name.
fn connect_to_stdin_address() {
    let target = stdin_address();
    let network = instance_network();
    let from = match target {
        IpSocketAddress::Ipv4(_) => own_address(),
        IpSocketAddress::Ipv6(_) => ip("[::1]:0".parse().expect("an IPv6 address")),
    };
    let socket = bound_tcp(&network, from).expect("bind on the own address");
    let ready = socket.subscribe();
    let connected = socket.start_connect(&network, target).and_then(|()| {
        loop {
            match socket.finish_connect() {
                Err(ErrorCode::WouldBlock) => ready.block(),
                done => break done,
            }
        }
    });
    match connected {
        Ok(_streams) => observe("connect", "connected"),
        Err(code) => observe("connect", code.name()),
    }
}

/// The name on stdin looked up: `resolved` is its addresses, or the error
/// code's name where the lookup or the stream fails.
fn resolve_stdin_name() {
    use wasi::sockets::ip_name_lookup::resolve_addresses;
    use wasi::sockets::network::IpAddress;
    let stream = match resolve_addresses(&instance_network(), &stdin_line()) {
        Ok(stream) => stream,
        Err(code) => return observe("resolved", code.name()),
    };
    let mut addresses = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => addresses.push(format!("{a}.{b}.{c}.{d}")),
            Ok(Some(IpAddress::Ipv6(address))) => addresses.push(format!("{address:?}")),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
            Err(code) => return observe("resolved", code.name()),
        }
    }
    observe("resolved", addresses);
}
