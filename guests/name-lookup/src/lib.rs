//! wasi:sockets/ip-name-lookup and the network handle: IP literals, names
//! that are no names, `localhost`, a name that does not exist (under
//! `.invalid`, RFC 6761), the stream once exhausted and its pollable; and
//! `instance-network`'s handles, taken twice, mixed and dropped early.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::observe;
use loopback::{bound_tcp, error_name, finish, own};
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Network,
};
use wasi::sockets::tcp_create_socket::create_tcp_socket;
use wasi::sockets::udp_create_socket::create_udp_socket;

wit_bindgen::generate!({ path: "../../wit", world: "name-lookup", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
#[path = "../../sockets/src/loopback.rs"]
mod loopback;

common::command![
    ("name-lookup-ipv4-literal", ipv4_literal),
    ("name-lookup-ipv6-literal", ipv6_literal),
    ("name-lookup-ipv6-bracketed", ipv6_bracketed),
    ("name-lookup-ipv4-mapped-literal", ipv4_mapped_literal),
    ("name-lookup-ipv4-shorthand", ipv4_shorthand),
    ("name-lookup-localhost", localhost),
    (
        "name-lookup-localhost-not-ipv4-mapped",
        localhost_not_ipv4_mapped
    ),
    ("name-lookup-empty", empty),
    ("name-lookup-space", space),
    ("name-lookup-with-port", with_port),
    ("name-lookup-illegal-character", illegal_character),
    ("name-lookup-label-too-long", label_too_long),
    ("name-lookup-unicode", unicode),
    ("name-lookup-nonexistent", nonexistent),
    ("name-lookup-exhausted-again", exhausted_again),
    ("name-lookup-subscribe-ready", subscribe_ready),
    (
        "name-lookup-subscribe-after-exhausted",
        subscribe_after_exhausted
    ),
    ("network-instance-network-twice", instance_network_twice),
    (
        "network-bind-connect-different-handles",
        bind_connect_different_handles,
    ),
    (
        "network-dropped-before-resolve-stream",
        dropped_before_resolve_stream,
    ),
    ("network-denied", denied),
];

/// More addresses than any name here has: a stream that never ends stops
/// the drain rather than hanging the run.
const MAX_ADDRESSES: usize = 64;

fn ipv4_literal() {
    lookup("127.0.0.1", Order::AsGiven);
}

fn ipv6_literal() {
    lookup("::1", Order::AsGiven);
}

fn ipv6_bracketed() {
    resolve_only("[::1]");
}

fn ipv4_mapped_literal() {
    lookup("::ffff:127.0.0.1", Order::AsGiven);
}

fn ipv4_shorthand() {
    lookup("127.1", Order::AsGiven);
}

fn localhost() {
    lookup("localhost", Order::Sorted);
}

fn localhost_not_ipv4_mapped() {
    let network = instance_network();
    let stream = resolve_addresses(&network, "localhost").expect("resolve-addresses of localhost");
    let (addresses, _end) = drain(&stream);
    observe("ipv4-mapped", addresses.iter().any(is_ipv4_mapped));
}

fn empty() {
    resolve_only("");
}

fn space() {
    resolve_only("local host");
}

fn with_port() {
    resolve_only("localhost:80");
}

fn illegal_character() {
    resolve_only("witness/name.invalid");
}

fn label_too_long() {
    resolve_only(&format!("{}.invalid", "a".repeat(64)));
}

fn unicode() {
    resolve_only("bücher.invalid");
}

fn nonexistent() {
    lookup("witness.invalid", Order::AsGiven);
}

fn exhausted_again() {
    let network = instance_network();
    let stream = resolve_addresses(&network, "::1").expect("resolve-addresses of ::1");
    let (addresses, end) = drain(&stream);
    observe("addresses", texts(&addresses));
    observe("end", end);
    observe("again", next_name(stream.resolve_next_address()));
}

fn subscribe_ready() {
    let network = instance_network();
    let stream = resolve_addresses(&network, "localhost").expect("resolve-addresses of localhost");
    let ready = stream.subscribe();
    ready.block();
    let next = stream.resolve_next_address();
    observe("would-block", matches!(next, Err(ErrorCode::WouldBlock)));
}

fn subscribe_after_exhausted() {
    let network = instance_network();
    let stream = resolve_addresses(&network, "127.0.0.1").expect("resolve-addresses of 127.0.0.1");
    let (_addresses, end) = drain(&stream);
    observe("end", end);
    observe("ready", stream.subscribe().ready());
}

fn instance_network_twice() {
    let first = instance_network();
    let second = instance_network();
    observe("first", bind_udp(&first));
    observe("second", bind_udp(&second));
    drop(first);
    observe("second-after-first-dropped", bind_udp(&second));
}

fn bind_connect_different_handles() {
    let bound_with = instance_network();
    let listener = bound_tcp(&bound_with);
    listener.start_listen().expect("listen starts");
    finish(&listener.subscribe(), || listener.finish_listen()).expect("listen");
    let address = listener
        .local_address()
        .expect("a bound listener has an address");
    let client = bound_tcp(&bound_with);
    // A second handle to the same default network.
    let connect_with = instance_network();
    let started = client.start_connect(&connect_with, address);
    observe("start-connect", error_name(&started));
    if started.is_ok() {
        let connected = finish(&client.subscribe(), || client.finish_connect());
        observe("finish-connect", error_name(&connected));
    }
}

fn dropped_before_resolve_stream() {
    let network = instance_network();
    let stream = resolve_addresses(&network, "127.0.0.1").expect("resolve-addresses of 127.0.0.1");
    observe("dropping", true);
    drop(network);
    let (addresses, end) = drain(&stream);
    observe("addresses", texts(&addresses));
    observe("end", end);
}

enum Order {
    AsGiven,
    /// The question is which addresses, not their order, which the host's
    /// resolver configuration decides.
    Sorted,
}

/// Resolves `name` and reports `resolve`; once it is ok, every address the
/// stream gives (`addresses`) and how it ended (`end`).
fn lookup(name: &str, order: Order) {
    let network = instance_network();
    let resolved = resolve_addresses(&network, name);
    observe("resolve", error_name(&resolved));
    let Ok(stream) = resolved else { return };
    let (addresses, end) = drain(&stream);
    let mut texts = texts(&addresses);
    if let Order::Sorted = order {
        texts.sort();
    }
    observe("addresses", texts);
    observe("end", end);
}

/// Reports only what `resolve-addresses` answers: a host that takes a name
/// it should refuse is not then left waiting on its resolver.
fn resolve_only(name: &str) {
    let network = instance_network();
    observe("resolve", error_name(&resolve_addresses(&network, name)));
}

/// Every address `stream` gives, waiting out `would-block`, and how it
/// ended: `"none"`, or the error code's name.
fn drain(stream: &ResolveAddressStream) -> (Vec<IpAddress>, String) {
    let ready = stream.subscribe();
    let mut addresses = Vec::new();
    while addresses.len() < MAX_ADDRESSES {
        match finish(&ready, || stream.resolve_next_address()) {
            Ok(Some(address)) => addresses.push(address),
            done => return (addresses, next_name(done)),
        }
    }
    (addresses, "no end".into())
}

/// `"none"`, the address, or the error code's name.
fn next_name(next: Result<Option<IpAddress>, ErrorCode>) -> String {
    match next {
        Ok(None) => "none".into(),
        Ok(Some(address)) => text(&address),
        Err(code) => code.name().into(),
    }
}

fn texts(addresses: &[IpAddress]) -> Vec<String> {
    addresses.iter().map(text).collect()
}

fn text(address: &IpAddress) -> String {
    std_address(address).to_string()
}

fn is_ipv4_mapped(address: &IpAddress) -> bool {
    match std_address(address) {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

fn std_address(address: &IpAddress) -> IpAddr {
    match *address {
        IpAddress::Ipv4((a, b, c, d)) => Ipv4Addr::new(a, b, c, d).into(),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => Ipv6Addr::new(a, b, c, d, e, f, g, h).into(),
    }
}

/// `"ok"`, or the error code of binding a UDP socket on the own address
/// with `network`.
fn bind_udp(network: &Network) -> String {
    let socket = create_udp_socket(IpAddressFamily::Ipv4).expect("a UDP socket");
    let bound = socket
        .start_bind(network, own(0))
        .and_then(|()| finish(&socket.subscribe(), || socket.finish_bind()));
    error_name(&bound)
}

/// A run granted no network: what creating, binding and looking up give.
fn denied() {
    let network = instance_network();
    let loopback = IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port: 0,
        address: (127, 0, 0, 1),
    });
    match create_tcp_socket(IpAddressFamily::Ipv4) {
        Err(code) => observe("tcp-create", code.name()),
        Ok(socket) => {
            observe("tcp-create", "ok");
            let bound = (socket.start_bind(&network, loopback))
                .and_then(|()| finish(&socket.subscribe(), || socket.finish_bind()));
            observe("tcp-bind", error_name(&bound));
        }
    }
    match create_udp_socket(IpAddressFamily::Ipv4) {
        Err(code) => observe("udp-create", code.name()),
        Ok(socket) => {
            observe("udp-create", "ok");
            let bound = (socket.start_bind(&network, loopback))
                .and_then(|()| finish(&socket.subscribe(), || socket.finish_bind()));
            observe("udp-bind", error_name(&bound));
        }
    }
    observe(
        "resolve",
        error_name(&resolve_addresses(&network, "127.0.0.1")),
    );
}
