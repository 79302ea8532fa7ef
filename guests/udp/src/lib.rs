//! wasi:sockets/udp on the run's own loopback address: binding, the
//! association `stream` makes with a peer, the remote-address checks of
//! `stream` and `send`, `check-send`'s permits, `receive`'s limits, the
//! datagram streams' pollables and the socket options.

use common::observe;
use loopback::{bound_udp, documentation_address, error_name, finish, ipv4, own, own_v6};
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv6SocketAddress, Network,
};
use wasi::sockets::udp::{
    IncomingDatagram, IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket,
};
use wasi::sockets::udp_create_socket::create_udp_socket;

wit_bindgen::generate!({ path: "../../wit", world: "udp", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
#[path = "../../sockets/src/loopback.rs"]
mod loopback;

common::command![
    ("udp-address-family", address_family),
    ("udp-bind-wrong-family", bind_wrong_family),
    ("udp-bind-twice", bind_twice),
    ("udp-bind-address-in-use", bind_address_in_use),
    ("udp-bind-not-bindable", || observe_bind(
        &unbound(),
        &instance_network(),
        documentation_address(0)
    )),
    ("udp-finish-bind-without-start", finish_bind_without_start),
    ("udp-finish-bind-twice", finish_bind_twice),
    ("udp-bind-ephemeral-port", bind_ephemeral_port),
    ("udp-ipv6-bind-ipv4-mapped", ipv6_bind_ipv4_mapped),
    ("udp-local-address-unbound", local_address_unbound),
    (
        "udp-remote-address-without-peer",
        remote_address_without_peer
    ),
    ("udp-stream-sets-remote-address", stream_sets_remote_address),
    (
        "udp-stream-disconnect-with-none",
        stream_disconnect_with_none
    ),
    (
        "udp-stream-reconnect-other-peer",
        stream_reconnect_other_peer
    ),
    ("udp-stream-before-bind", stream_before_bind),
    ("udp-stream-wrong-family", stream_wrong_family),
    ("udp-stream-unspecified-address", stream_unspecified_address),
    ("udp-stream-port-zero", stream_port_zero),
    ("udp-stream-unreachable", || observe_stream_to(
        documentation_address
    )),
    ("udp-stream-non-unicast", stream_non_unicast),
    (
        "udp-connected-filters-other-peers",
        connected_filters_other_peers
    ),
    ("udp-connected-datagram-source", connected_datagram_source),
    ("udp-send-more-than-permitted", send_more_than_permitted),
    ("udp-send-without-check-send", send_without_check_send),
    (
        "udp-send-again-without-check-send",
        send_again_without_check_send
    ),
    ("udp-send-empty-list", send_empty_list),
    (
        "udp-send-empty-without-check-send",
        send_empty_without_check_send
    ),
    (
        "udp-send-to-other-when-connected",
        send_to_other_when_connected
    ),
    (
        "udp-send-without-address-unconnected",
        send_without_address_unconnected
    ),
    ("udp-send-wrong-family", send_wrong_family),
    ("udp-send-unreachable", || observe_send_to(
        documentation_address
    )),
    ("udp-send-unspecified-address", send_unspecified_address),
    ("udp-send-port-zero", send_port_zero),
    ("udp-send-datagram-too-large", send_datagram_too_large),
    ("udp-send-to-closed-port", send_to_closed_port),
    ("udp-receive-zero", receive_zero),
    ("udp-receive-nothing-pending", receive_nothing_pending),
    ("udp-receive-more-than-max", receive_more_than_max),
    ("udp-incoming-subscribe", incoming_subscribe),
    ("udp-outgoing-subscribe", outgoing_subscribe),
    ("udp-hop-limit-zero", hop_limit_zero),
    ("udp-hop-limit-read-back", hop_limit_read_back),
    ("udp-buffer-size-zero", buffer_size_zero),
    ("udp-buffer-size-huge", buffer_size_huge),
    ("udp-option-defaults", option_defaults),
];

// Set-up shared by the scenarios.

fn unbound() -> UdpSocket {
    create_udp_socket(IpAddressFamily::Ipv4).expect("a UDP socket")
}

fn address_of(socket: &UdpSocket) -> IpSocketAddress {
    socket
        .local_address()
        .expect("a bound socket has an address")
}

/// A port of the own address nothing listens on: bound once, then freed.
fn closed_port() -> IpSocketAddress {
    address_of(&bound_udp(&instance_network()))
}

fn port_of(address: IpSocketAddress) -> u16 {
    match address {
        IpSocketAddress::Ipv4(address) => address.port,
        IpSocketAddress::Ipv6(address) => address.port,
    }
}

/// The bindings derive no `PartialEq`; their `Debug` shows every field.
fn same(a: &IpSocketAddress, b: &IpSocketAddress) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn streams(
    socket: &UdpSocket,
    remote: Option<IpSocketAddress>,
) -> (IncomingDatagramStream, OutgoingDatagramStream) {
    socket
        .stream(remote)
        .expect("streams of a bound socket on the own address")
}

fn datagram(data: &[u8], remote: Option<IpSocketAddress>) -> OutgoingDatagram {
    OutgoingDatagram {
        data: data.to_vec(),
        remote_address: remote,
    }
}

/// One datagram, as `check-send` permits it; sent again while `send` sent
/// none, which it may ("may be less than requested").
fn send_one(
    outgoing: &OutgoingDatagramStream,
    data: &[u8],
    remote: Option<IpSocketAddress>,
) -> Result<u64, ErrorCode> {
    loop {
        let permit = finish(&outgoing.subscribe(), || match outgoing.check_send() {
            Ok(0) => Err(ErrorCode::WouldBlock),
            other => other,
        });
        assert!(permit.expect("check-send") >= 1, "a permit");
        match outgoing.send(&[datagram(data, remote)]) {
            Ok(0) => continue,
            sent => return sent,
        }
    }
}

/// Sends `data` to `to` from a socket of its own, which it returns.
fn sent_from_peer(to: IpSocketAddress, data: &[&[u8]]) -> UdpSocket {
    let peer = bound_udp(&instance_network());
    let (incoming, outgoing) = streams(&peer, Some(to));
    for data in data {
        assert_eq!(send_one(&outgoing, data, None), Ok(1), "the peer sends");
    }
    drop((incoming, outgoing));
    peer
}

/// Receives until `count` datagrams came, waiting on the stream's pollable.
fn receive_count(incoming: &IncomingDatagramStream, count: usize) -> Vec<IncomingDatagram> {
    let mut received = Vec::new();
    while received.len() < count {
        incoming.subscribe().block();
        received.extend(incoming.receive(10).expect("receive"));
    }
    received
}

fn payloads(datagrams: &[IncomingDatagram]) -> Vec<String> {
    datagrams
        .iter()
        .map(|datagram| String::from_utf8_lossy(&datagram.data).into_owned())
        .collect()
}

/// A count as a number, an error as its name.
fn observe_count(name: &str, result: Result<u64, ErrorCode>) {
    match result {
        Ok(count) => observe(name, count),
        Err(code) => observe(name, code.name()),
    }
}

/// `start-bind`, and `finish-bind` if it started: a host may bind natively
/// in either, so an error may come from either.
fn observe_bind(socket: &UdpSocket, network: &Network, address: IpSocketAddress) {
    let start = socket.start_bind(network, address);
    observe("start", error_name(&start));
    if start.is_ok() {
        let done = finish(&socket.subscribe(), || socket.finish_bind());
        observe("finish", error_name(&done));
    }
}

fn unspecified(port: u16) -> IpSocketAddress {
    ipv4((0, 0, 0, 0), port)
}

// The socket and its binding.

fn address_family() {
    for (name, family) in [
        ("ipv4", IpAddressFamily::Ipv4),
        ("ipv6", IpAddressFamily::Ipv6),
    ] {
        let socket = create_udp_socket(family).expect("a UDP socket");
        let got = match socket.address_family() {
            IpAddressFamily::Ipv4 => "ipv4",
            IpAddressFamily::Ipv6 => "ipv6",
        };
        observe(name, got);
    }
}

fn bind_wrong_family() {
    observe_bind(&unbound(), &instance_network(), own_v6(0));
}

fn bind_twice() {
    let network = instance_network();
    observe_bind(&bound_udp(&network), &network, own(0));
}

fn bind_address_in_use() {
    let network = instance_network();
    let first = bound_udp(&network);
    observe_bind(&unbound(), &network, address_of(&first));
}

fn finish_bind_without_start() {
    observe("finish", error_name(&unbound().finish_bind()));
}

fn finish_bind_twice() {
    let socket = bound_udp(&instance_network());
    observe("again", error_name(&socket.finish_bind()));
}

fn bind_ephemeral_port() {
    let address = address_of(&bound_udp(&instance_network()));
    observe("port-nonzero", port_of(address) != 0);
}

fn ipv6_bind_ipv4_mapped() {
    let IpSocketAddress::Ipv4(v4) = own(0) else {
        unreachable!("the own address is IPv4")
    };
    let (a, b, c, d) = v4.address;
    let mapped = IpSocketAddress::Ipv6(Ipv6SocketAddress {
        port: 0,
        flow_info: 0,
        address: (
            0,
            0,
            0,
            0,
            0,
            0xffff,
            u16::from_be_bytes([a, b]),
            u16::from_be_bytes([c, d]),
        ),
        scope_id: 0,
    });
    let socket = create_udp_socket(IpAddressFamily::Ipv6).expect("an IPv6 UDP socket");
    let bound = socket.start_bind(&instance_network(), mapped).is_ok()
        && finish(&socket.subscribe(), || socket.finish_bind()).is_ok();
    observe("bound", bound);
}

fn local_address_unbound() {
    observe("local-address", error_name(&unbound().local_address()));
}

// `stream`: the association with a peer.

fn remote_address_without_peer() {
    let socket = unbound();
    observe("unbound", error_name(&socket.remote_address()));
    let socket = bound_udp(&instance_network());
    observe("bound", error_name(&socket.remote_address()));
    let _streams = streams(&socket, None);
    observe("streaming", error_name(&socket.remote_address()));
}

/// `remote-address` as whether it is `expected`, or the error's name.
fn observe_remote(name: &str, socket: &UdpSocket, expected: &IpSocketAddress) {
    match socket.remote_address() {
        Ok(address) => observe(name, same(&address, expected)),
        Err(code) => observe(name, code.name()),
    }
}

fn stream_sets_remote_address() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let peer = address_of(&bound_udp(&network));
    let _streams = streams(&socket, Some(peer));
    observe_remote("remote-is-peer", &socket, &peer);
}

fn stream_disconnect_with_none() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let peer = bound_udp(&network);
    drop(streams(&socket, Some(address_of(&peer))));
    let _streams = streams(&socket, None);
    observe("remote", error_name(&socket.remote_address()));
}

fn stream_reconnect_other_peer() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let first = bound_udp(&network);
    let second = bound_udp(&network);
    let (second_incoming, _) = streams(&second, None);
    drop(streams(&socket, Some(address_of(&first))));
    let (_incoming, outgoing) = streams(&socket, Some(address_of(&second)));
    observe_remote("remote-is-second", &socket, &address_of(&second));
    observe_count("sent", send_one(&outgoing, b"hello", None));
    observe(
        "second-received",
        payloads(&receive_count(&second_incoming, 1)),
    );
}

fn stream_before_bind() {
    let peer = address_of(&bound_udp(&instance_network()));
    let socket = unbound();
    observe("none", error_name(&socket.stream(None)));
    observe("some", error_name(&socket.stream(Some(peer))));
}

/// `stream` to `remote` from a bound socket (a live peer gives the port).
fn observe_stream_to(remote: impl FnOnce(u16) -> IpSocketAddress) {
    let network = instance_network();
    let socket = bound_udp(&network);
    let port = port_of(address_of(&bound_udp(&network)));
    observe("stream", error_name(&socket.stream(Some(remote(port)))));
}

fn stream_wrong_family() {
    observe_stream_to(own_v6);
}

fn stream_unspecified_address() {
    observe_stream_to(unspecified);
}

fn stream_port_zero() {
    observe_stream_to(|_| own(0));
}

fn stream_non_unicast() {
    let socket = bound_udp(&instance_network());
    for (name, address) in [
        ("multicast", (224, 0, 0, 1)),
        ("broadcast", (255, 255, 255, 255)),
    ] {
        let result = socket.stream(Some(ipv4(address, 9)));
        observe(name, error_name(&result));
        drop(result);
    }
}

// What a connected stream receives.

fn connected_filters_other_peers() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let peer = bound_udp(&network);
    let (incoming, _outgoing) = streams(&socket, Some(address_of(&peer)));
    // The other peer sends first, so its datagram would be queued before
    // the peer's, and the peer's arrival ends the wait.
    let _other = sent_from_peer(address_of(&socket), &[b"from-other"]);
    let (_peer_incoming, peer_outgoing) = streams(&peer, Some(address_of(&socket)));
    send_one(&peer_outgoing, b"from-peer", None).expect("the peer sends");
    let mut received = payloads(&receive_count(&incoming, 1));
    while !received.iter().any(|data| data == "from-peer") {
        received.extend(payloads(&receive_count(&incoming, 1)));
    }
    received.extend(payloads(&incoming.receive(10).expect("receive")));
    observe("received", received);
}

fn connected_datagram_source() {
    let network = instance_network();
    let socket = bound_udp(&network);
    let peer = bound_udp(&network);
    let (incoming, _outgoing) = streams(&socket, Some(address_of(&peer)));
    let (_peer_incoming, peer_outgoing) = streams(&peer, Some(address_of(&socket)));
    send_one(&peer_outgoing, b"ping", None).expect("the peer sends");
    let received = receive_count(&incoming, 1);
    observe(
        "source-is-peer",
        same(&received[0].remote_address, &address_of(&peer)),
    );
}

// `check-send` and `send`.

/// A socket connected to a live peer, its outgoing stream, and the peer.
fn connected_sender() -> (UdpSocket, UdpSocket, OutgoingDatagramStream) {
    let network = instance_network();
    let peer = bound_udp(&network);
    let socket = bound_udp(&network);
    let (_, outgoing) = streams(&socket, Some(address_of(&peer)));
    (peer, socket, outgoing)
}

/// A socket streaming to no one in particular, its outgoing stream, and
/// a live peer's port.
fn unconnected_sender() -> (UdpSocket, OutgoingDatagramStream, u16) {
    let network = instance_network();
    let socket = bound_udp(&network);
    let (_, outgoing) = streams(&socket, None);
    let port = port_of(address_of(&bound_udp(&network)));
    (socket, outgoing, port)
}

fn send_more_than_permitted() {
    let (_peer, _socket, outgoing) = connected_sender();
    let permit = outgoing.check_send();
    observe("check-send", error_name(&permit));
    let permit = permit.expect("check-send");
    assert!(permit < 1 << 20, "a permit small enough to exceed");
    let datagrams: Vec<_> = (0..=permit).map(|_| datagram(b"x", None)).collect();
    observe_count("sent", outgoing.send(&datagrams));
}

fn send_without_check_send() {
    let (_peer, _socket, outgoing) = connected_sender();
    observe_count("sent", outgoing.send(&[datagram(b"x", None)]));
}

fn send_again_without_check_send() {
    let (_peer, _socket, outgoing) = connected_sender();
    observe_count("first", send_one(&outgoing, b"x", None));
    observe_count("second", outgoing.send(&[datagram(b"y", None)]));
}

fn send_empty_list() {
    let (_peer, _socket, outgoing) = connected_sender();
    observe("check-send", error_name(&outgoing.check_send()));
    observe_count("sent", outgoing.send(&[]));
}

fn send_empty_without_check_send() {
    let (_peer, _socket, outgoing) = connected_sender();
    observe_count("sent", outgoing.send(&[]));
}

fn send_to_other_when_connected() {
    let (_peer, _socket, outgoing) = connected_sender();
    let other = bound_udp(&instance_network());
    observe_count("sent", send_one(&outgoing, b"x", Some(address_of(&other))));
}

fn send_without_address_unconnected() {
    let (_socket, outgoing, _) = unconnected_sender();
    observe_count("sent", send_one(&outgoing, b"x", None));
}

/// One datagram to `remote` from a socket streaming to no one in particular.
fn observe_send_to(remote: impl FnOnce(u16) -> IpSocketAddress) {
    let (_socket, outgoing, port) = unconnected_sender();
    observe_count("sent", send_one(&outgoing, b"x", Some(remote(port))));
}

fn send_wrong_family() {
    observe_send_to(own_v6);
}

fn send_unspecified_address() {
    observe_send_to(unspecified);
}

fn send_port_zero() {
    observe_send_to(|_| own(0));
}

fn send_datagram_too_large() {
    let (_peer, _socket, outgoing) = connected_sender();
    // Over the 65,535 bytes a UDP length field can express at all.
    observe_count("sent", send_one(&outgoing, &[0; 70_000], None));
}

fn send_to_closed_port() {
    let closed = closed_port();
    let socket = bound_udp(&instance_network());
    let (incoming, outgoing) = streams(&socket, Some(closed));
    observe_count("first", send_one(&outgoing, b"x", None));
    // The port's refusal comes back as an ICMP message, a moment later: give
    // it half a second to reach the socket before asking, so that every run
    // asks after it could have come.
    let refusal = wasi::clocks::monotonic_clock::subscribe_duration(500_000_000);
    wasi::io::poll::poll(&[&incoming.subscribe(), &refusal]);
    let received = incoming.receive(1).map(|list| list.len() as u64);
    observe_count("receive", received);
    let permit = outgoing.check_send();
    observe_count("check-send", permit);
    if permit.is_ok_and(|permit| permit > 0) {
        observe_count("second", outgoing.send(&[datagram(b"y", None)]));
    }
}

// `receive`.

fn receive_zero() {
    let socket = bound_udp(&instance_network());
    let (incoming, _outgoing) = streams(&socket, None);
    let _peer = sent_from_peer(address_of(&socket), &[b"x"]);
    incoming.subscribe().block();
    let zero = incoming.receive(0).map(|list| list.len() as u64);
    observe_count("zero", zero);
    observe("after", payloads(&receive_count(&incoming, 1)));
}

fn receive_nothing_pending() {
    let socket = bound_udp(&instance_network());
    let (incoming, _outgoing) = streams(&socket, None);
    let received = incoming.receive(10).map(|list| list.len() as u64);
    observe_count("received", received);
}

fn receive_more_than_max() {
    let socket = bound_udp(&instance_network());
    let (incoming, _outgoing) = streams(&socket, None);
    let _peer = sent_from_peer(address_of(&socket), &[b"1", b"2", b"3"]);
    incoming.subscribe().block();
    let first = incoming.receive(2).expect("receive");
    observe("first", first.len() as u64);
    let mut all = payloads(&first);
    all.extend(payloads(&receive_count(
        &incoming,
        3usize.saturating_sub(first.len()),
    )));
    observe("all", all);
}

// The datagram streams' pollables.

fn incoming_subscribe() {
    let socket = bound_udp(&instance_network());
    let (incoming, _outgoing) = streams(&socket, None);
    let _peer = sent_from_peer(address_of(&socket), &[b"ping"]);
    incoming.subscribe().block();
    observe(
        "received",
        payloads(&incoming.receive(10).expect("receive")),
    );
}

fn outgoing_subscribe() {
    let (_peer, _socket, outgoing) = connected_sender();
    outgoing.subscribe().block();
    observe_count("check-send", outgoing.check_send());
}

// The socket options.

fn hop_limit_zero() {
    let socket = bound_udp(&instance_network());
    observe("set", error_name(&socket.set_unicast_hop_limit(0)));
}

fn hop_limit_read_back() {
    let socket = bound_udp(&instance_network());
    observe("set", error_name(&socket.set_unicast_hop_limit(42)));
    observe_count("get", socket.unicast_hop_limit().map(u64::from));
}

fn buffer_size_zero() {
    let socket = bound_udp(&instance_network());
    observe("receive", error_name(&socket.set_receive_buffer_size(0)));
    observe("send", error_name(&socket.set_send_buffer_size(0)));
}

fn buffer_size_huge() {
    let socket = bound_udp(&instance_network());
    let receive = socket.set_receive_buffer_size(u64::MAX);
    observe("receive", error_name(&receive));
    observe("send", error_name(&socket.set_send_buffer_size(u64::MAX)));
}

fn option_defaults() {
    let socket = unbound();
    observe_count("hop-limit", socket.unicast_hop_limit().map(u64::from));
    observe_count("receive-buffer-size", socket.receive_buffer_size());
    observe_count("send-buffer-size", socket.send_buffer_size());
}
