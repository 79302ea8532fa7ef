//! wasi:sockets/tcp's state machine: every method in every state, and the
//! errors the clauses and TcpSocketOperationalSemantics.md give for each.
//!
//! Everything happens on the run's own loopback address (`own`) and on
//! `[::1]` (`own_v6`); the other addresses the scenarios pass (a multicast
//! group, the unspecified address, port 0, an IPv4-mapped or wrong-family
//! address) are wrong by their form alone, whatever the routing. A socket
//! of a `*-in-progress` state is one whose `start-*` returned and whose
//! `finish-*` was not yet called: the state machine moves only during the
//! calls.

use common::observe;
use loopback::{
    accept, bound_tcp, client_of, connect, documentation_address, error_name, finish, ipv4, listen,
    listener, own, own_v6,
};
use wasi::sockets::instance_network::instance_network;
use wasi::sockets::network::{
    ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, Network,
};
use wasi::sockets::tcp::TcpSocket;
use wasi::sockets::tcp_create_socket::create_tcp_socket;

wit_bindgen::generate!({ path: "../../wit", world: "tcp", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
#[path = "../../sockets/src/loopback.rs"]
mod loopback;

common::command![
    ("tcp-create-ipv4-family", create_ipv4_family),
    ("tcp-create-ipv6-family", create_ipv6_family),
    ("tcp-bind-twice", bind_twice),
    ("tcp-bind-finish-without-start", bind_finish_without_start),
    ("tcp-bind-in-progress-again", bind_in_progress_again),
    ("tcp-bind-address-in-use", bind_address_in_use),
    ("tcp-bind-same-port-unlistened", bind_same_port_unlistened),
    ("tcp-bind-v6-address-on-v4", bind_v6_address_on_v4),
    ("tcp-bind-v4-address-on-v6", bind_v4_address_on_v6),
    ("tcp-bind-multicast", bind_multicast),
    ("tcp-bind-v4-mapped", bind_v4_mapped),
    ("tcp-bind-again-after-failure", bind_again_after_failure),
    ("tcp-listen-unbound", listen_unbound),
    ("tcp-listen-twice", listen_twice),
    ("tcp-listen-connected", listen_connected),
    (
        "tcp-listen-finish-without-start",
        listen_finish_without_start
    ),
    ("tcp-listen-in-progress-again", listen_in_progress_again),
    (
        "tcp-connect-finish-without-start",
        connect_finish_without_start
    ),
    ("tcp-connect-refused", connect_refused),
    ("tcp-connect-unreachable", || connect_to(
        &instance_network(),
        IpAddressFamily::Ipv4,
        documentation_address(9)
    )),
    ("tcp-bind-not-bindable", || observe(
        "bind",
        bind(&instance_network(), &v4(), documentation_address(0))
    )),
    ("tcp-connect-port-zero", connect_port_zero),
    ("tcp-connect-unspecified", connect_unspecified),
    ("tcp-connect-multicast", connect_multicast),
    ("tcp-connect-v6-address-on-v4", connect_v6_address_on_v4),
    ("tcp-connect-v4-mapped", connect_v4_mapped),
    ("tcp-connect-listening", connect_listening),
    ("tcp-connect-in-progress-again", connect_in_progress_again),
    ("tcp-connect-closed-again", connect_closed_again),
    ("tcp-connect-closed-finish", connect_closed_finish),
    (
        "tcp-connect-after-invalid-argument",
        connect_after_invalid_argument,
    ),
    ("tcp-accept-unbound", accept_unbound),
    ("tcp-accept-would-block", accept_would_block),
    ("tcp-accept-listen-in-progress", accept_listen_in_progress),
    ("tcp-accept-not-listening", accept_not_listening),
    ("tcp-accept-family-v6", accept_family_v6),
    ("tcp-address-local-unbound", address_local_unbound),
    (
        "tcp-address-local-bind-in-progress",
        address_local_bind_in_progress,
    ),
    ("tcp-address-local-bound", address_local_bound),
    ("tcp-address-local-port-zero", address_local_port_zero),
    (
        "tcp-address-local-listen-in-progress",
        address_local_listen_in_progress,
    ),
    (
        "tcp-address-local-connect-in-progress",
        address_local_connect_in_progress,
    ),
    ("tcp-address-remote-listening", address_remote_listening),
    (
        "tcp-address-remote-connect-in-progress",
        address_remote_connect_in_progress,
    ),
    ("tcp-address-remote-connected", address_remote_connected),
    ("tcp-address-accepted-local", address_accepted_local),
    ("tcp-address-accepted-remote", address_accepted_remote),
    ("tcp-subscribe-unbound-ready", subscribe_unbound_ready),
    ("tcp-subscribe-listening-idle", subscribe_listening_idle),
    ("tcp-subscribe-listening-client", subscribe_listening_client),
    ("tcp-subscribe-bind-in-progress", subscribe_bind_in_progress),
    ("tcp-subscribe-closed-ready", subscribe_closed_ready),
    ("tcp-state-listening", state_listening),
    ("tcp-state-listen-in-progress", state_listen_in_progress),
    (
        "tcp-state-wrong-call-keeps-state",
        state_wrong_call_keeps_state
    ),
];

// ---- set-up ----

fn socket(family: IpAddressFamily) -> TcpSocket {
    create_tcp_socket(family).expect("a TCP socket")
}

fn v4() -> TcpSocket {
    socket(IpAddressFamily::Ipv4)
}

fn v6() -> TcpSocket {
    socket(IpAddressFamily::Ipv6)
}

/// `start-bind`, and `finish-bind` once it started: the first error, or "ok".
fn bind(network: &Network, socket: &TcpSocket, address: IpSocketAddress) -> String {
    let result = socket
        .start_bind(network, address)
        .and_then(|()| finish(&socket.subscribe(), || socket.finish_bind()));
    error_name(&result)
}

/// A socket bound at `address` (port 0: an ephemeral one) and listening.
fn listener_at(network: &Network, family: IpAddressFamily, address: IpSocketAddress) -> TcpSocket {
    let listener = socket(family);
    listener
        .start_bind(network, address)
        .expect("bind on a loopback address starts");
    finish(&listener.subscribe(), || listener.finish_bind()).expect("bind on a loopback address");
    listen(&listener);
    listener
}

fn local(socket: &TcpSocket) -> IpSocketAddress {
    socket.local_address().expect("a bound socket's address")
}

/// A socket bound on the own address with `start-bind` returned and
/// `finish-bind` not called: `bind-in-progress`.
fn binding(network: &Network) -> TcpSocket {
    let socket = v4();
    socket
        .start_bind(network, own(0))
        .expect("bind on the own address starts");
    socket
}

/// A bound socket with `start-listen` returned: `listen-in-progress`.
fn listen_started(network: &Network) -> TcpSocket {
    let socket = bound_tcp(network);
    socket.start_listen().expect("listen starts");
    socket
}

/// A bound socket whose connect to `listener` started: `connect-in-progress`.
fn connect_started(network: &Network, listener: &TcpSocket) -> TcpSocket {
    let client = bound_tcp(network);
    client
        .start_connect(network, local(listener))
        .expect("connect to the listener starts");
    client
}

/// The own address at a port nothing listens on: a socket bound there, then
/// dropped.
fn closed_port(network: &Network) -> IpSocketAddress {
    local(&bound_tcp(network))
}

fn port(address: IpSocketAddress) -> u16 {
    match address {
        IpSocketAddress::Ipv4(a) => a.port,
        IpSocketAddress::Ipv6(a) => a.port,
    }
}

/// `::ffff:a.b.c.d`, the IPv4-mapped IPv6 form of an IPv4 socket address.
fn mapped(address: IpSocketAddress) -> IpSocketAddress {
    let IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (a, b, c, d),
    }) = address
    else {
        panic!("an IPv4 address to map");
    };
    let high = u16::from_be_bytes([a, b]);
    let low = u16::from_be_bytes([c, d]);
    IpSocketAddress::Ipv6(Ipv6SocketAddress {
        port,
        flow_info: 0,
        address: (0, 0, 0, 0, 0, 0xffff, high, low),
        scope_id: 0,
    })
}

/// Whether two socket addresses are the same (the bindings derive no `==`).
fn same(a: &IpSocketAddress, b: &IpSocketAddress) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn family_name(family: IpAddressFamily) -> &'static str {
    match family {
        IpAddressFamily::Ipv4 => "ipv4",
        IpAddressFamily::Ipv6 => "ipv6",
    }
}

/// `accept`'s result by name; a connection it returns is dropped streams
/// first, as a socket's streams go before it.
fn accept_name(listener: &TcpSocket) -> String {
    match listener.accept() {
        Ok((socket, input, output)) => {
            drop((output, input));
            drop(socket);
            "ok".into()
        }
        Err(code) => code.name().into(),
    }
}

/// Runs `then` with a listener, a client connected to it and the socket
/// the listener accepted, all streams alive.
fn with_accepted(then: impl FnOnce(&TcpSocket, &TcpSocket, &TcpSocket)) {
    let network = instance_network();
    let listener = listener(&network);
    let (client, _input, _output) = client_of(&network, &listener);
    let (accepted, _accepted_input, _accepted_output) = accept(&listener);
    then(&listener, &client, &accepted);
}

/// A socket of `family` bound to the run's own address: an in-process
/// host checks an unbound socket's connect as a bind to the unspecified
/// address, which it refuses (`access-denied`).
fn client(network: &Network, family: IpAddressFamily) -> TcpSocket {
    let client = socket(family);
    let own = match family {
        IpAddressFamily::Ipv4 => own(0),
        IpAddressFamily::Ipv6 => own_v6(0),
    };
    assert_eq!(bind(network, &client, own), "ok", "bind the client");
    client
}

/// A socket whose connect to a closed port failed, and what it failed with.
fn refused(network: &Network) -> (TcpSocket, String) {
    let client = client(network, IpAddressFamily::Ipv4);
    let result = connect(network, &client, closed_port(network));
    (client, error_name(&result))
}

// ---- tcp-create-socket and address-family ----

fn create_ipv4_family() {
    observe("family", family_name(v4().address_family()));
}

fn create_ipv6_family() {
    match create_tcp_socket(IpAddressFamily::Ipv6) {
        Ok(socket) => {
            observe("create", "ok");
            observe("family", family_name(socket.address_family()));
        }
        Err(code) => observe("create", code.name()),
    }
}

// ---- start-bind, finish-bind ----

fn bind_twice() {
    let network = instance_network();
    let socket = bound_tcp(&network);
    observe("again", error_name(&socket.start_bind(&network, own(0))));
}

fn bind_finish_without_start() {
    observe("finish", error_name(&v4().finish_bind()));
}

fn bind_in_progress_again() {
    let network = instance_network();
    let socket = binding(&network);
    observe("again", error_name(&socket.start_bind(&network, own(0))));
}

fn bind_address_in_use() {
    let network = instance_network();
    let listener = listener(&network);
    observe("bind", bind(&network, &v4(), local(&listener)));
}

fn bind_same_port_unlistened() {
    let network = instance_network();
    let first = bound_tcp(&network);
    observe("bind", bind(&network, &v4(), local(&first)));
}

fn bind_v6_address_on_v4() {
    let network = instance_network();
    observe("bind", bind(&network, &v4(), own_v6(0)));
}

fn bind_v4_address_on_v6() {
    let network = instance_network();
    observe("bind", bind(&network, &v6(), own(0)));
}

fn bind_multicast() {
    let network = instance_network();
    observe("bind", bind(&network, &v4(), ipv4((224, 0, 0, 1), 0)));
}

fn bind_v4_mapped() {
    let network = instance_network();
    observe("bind", bind(&network, &v6(), mapped(own(0))));
}

fn bind_again_after_failure() {
    let network = instance_network();
    let listener = listener(&network);
    let socket = v4();
    observe("first", bind(&network, &socket, local(&listener)));
    observe("second", bind(&network, &socket, own(0)));
}

// ---- start-listen, finish-listen ----

fn listen_unbound() {
    observe("listen", error_name(&v4().start_listen()));
}

fn listen_twice() {
    let network = instance_network();
    observe("again", error_name(&listener(&network).start_listen()));
}

fn listen_connected() {
    let network = instance_network();
    let listener = listener(&network);
    let (client, _input, _output) = client_of(&network, &listener);
    observe("listen", error_name(&client.start_listen()));
}

fn listen_finish_without_start() {
    let network = instance_network();
    observe("finish", error_name(&bound_tcp(&network).finish_listen()));
}

fn listen_in_progress_again() {
    let network = instance_network();
    let socket = listen_started(&network);
    observe("again", error_name(&socket.start_listen()));
}

// ---- start-connect, finish-connect ----

fn connect_finish_without_start() {
    observe("finish", error_name(&v4().finish_connect()));
}

fn connect_refused() {
    let network = instance_network();
    let (_client, connect) = refused(&network);
    observe("connect", connect);
}

/// Connects a fresh socket of `family` to `address` and reports the result.
fn connect_to(network: &Network, family: IpAddressFamily, address: IpSocketAddress) {
    observe(
        "connect",
        error_name(&connect(network, &socket(family), address)),
    );
}

fn connect_port_zero() {
    connect_to(&instance_network(), IpAddressFamily::Ipv4, own(0));
}

fn connect_unspecified() {
    let network = instance_network();
    let listener = listener(&network);
    connect_to(
        &network,
        IpAddressFamily::Ipv4,
        ipv4((0, 0, 0, 0), port(local(&listener))),
    );
}

fn connect_multicast() {
    let network = instance_network();
    let listener = listener(&network);
    connect_to(
        &network,
        IpAddressFamily::Ipv4,
        ipv4((224, 0, 0, 1), port(local(&listener))),
    );
}

fn connect_v6_address_on_v4() {
    let network = instance_network();
    let listener = listener_at(&network, IpAddressFamily::Ipv6, own_v6(0));
    connect_to(&network, IpAddressFamily::Ipv4, local(&listener));
}

fn connect_v4_mapped() {
    let network = instance_network();
    let listener = listener(&network);
    connect_to(&network, IpAddressFamily::Ipv6, mapped(local(&listener)));
}

fn connect_listening() {
    let network = instance_network();
    let listener = listener(&network);
    let target = self::listener(&network);
    observe(
        "connect",
        error_name(&listener.start_connect(&network, local(&target))),
    );
}

fn connect_in_progress_again() {
    let network = instance_network();
    let listener = listener(&network);
    let client = connect_started(&network, &listener);
    observe(
        "again",
        error_name(&client.start_connect(&network, local(&listener))),
    );
}

fn connect_closed_again() {
    let network = instance_network();
    let listener = listener(&network);
    let (client, connect) = refused(&network);
    observe("connect", connect);
    observe(
        "again",
        error_name(&client.start_connect(&network, local(&listener))),
    );
}

fn connect_closed_finish() {
    let network = instance_network();
    let (client, connect) = refused(&network);
    observe("connect", connect);
    observe("finish", error_name(&client.finish_connect()));
}

fn connect_after_invalid_argument() {
    let network = instance_network();
    let listener = listener(&network);
    let client = client(&network, IpAddressFamily::Ipv4);
    observe("first", error_name(&connect(&network, &client, own(0))));
    observe(
        "second",
        error_name(&connect(&network, &client, local(&listener))),
    );
}

// ---- accept ----

fn accept_unbound() {
    observe("accept", accept_name(&v4()));
}

fn accept_would_block() {
    let network = instance_network();
    observe("accept", accept_name(&listener(&network)));
}

fn accept_listen_in_progress() {
    let network = instance_network();
    observe("accept", accept_name(&listen_started(&network)));
}

fn accept_not_listening() {
    with_accepted(|_listener, _client, accepted| {
        observe("listening", accepted.is_listening());
    });
}

fn accept_family_v6() {
    let network = instance_network();
    let listener = listener_at(&network, IpAddressFamily::Ipv6, own_v6(0));
    let client = client(&network, IpAddressFamily::Ipv6);
    let (_input, _output) =
        connect(&network, &client, local(&listener)).expect("connect to the listener");
    let (accepted, _accepted_input, _accepted_output) = accept(&listener);
    observe("family", family_name(accepted.address_family()));
}

// ---- local-address, remote-address ----

fn address_local_unbound() {
    observe("local", error_name(&v4().local_address()));
}

fn address_local_bind_in_progress() {
    let network = instance_network();
    observe("local", error_name(&binding(&network).local_address()));
}

fn address_local_bound() {
    let network = instance_network();
    let address = local(&bound_tcp(&network));
    // The port is the one the host picked; the IP is the one bound.
    let IpSocketAddress::Ipv4(Ipv4SocketAddress {
        address: own_ip, ..
    }) = own(0)
    else {
        unreachable!("the own address is IPv4");
    };
    observe("same-ip", same(&address, &ipv4(own_ip, port(address))));
}

fn address_local_port_zero() {
    let network = instance_network();
    observe("port-assigned", port(local(&bound_tcp(&network))) != 0);
}

fn address_local_listen_in_progress() {
    let network = instance_network();
    observe(
        "local",
        error_name(&listen_started(&network).local_address()),
    );
}

fn address_local_connect_in_progress() {
    let network = instance_network();
    let listener = listener(&network);
    let client = connect_started(&network, &listener);
    observe("local", error_name(&client.local_address()));
}

fn address_remote_listening() {
    let network = instance_network();
    observe("remote", error_name(&listener(&network).remote_address()));
}

fn address_remote_connect_in_progress() {
    let network = instance_network();
    let listener = listener(&network);
    let client = connect_started(&network, &listener);
    observe("remote", error_name(&client.remote_address()));
}

fn address_remote_connected() {
    let network = instance_network();
    let listener = listener(&network);
    let (client, _input, _output) = client_of(&network, &listener);
    let remote = client.remote_address().expect("a connected socket's peer");
    observe("is-listener", same(&remote, &local(&listener)));
}

fn address_accepted_local() {
    with_accepted(|listener, _client, accepted| {
        let address = accepted
            .local_address()
            .expect("an accepted socket's address");
        observe("is-listener", same(&address, &local(listener)));
    });
}

fn address_accepted_remote() {
    with_accepted(|_listener, client, accepted| {
        let remote = accepted
            .remote_address()
            .expect("an accepted socket's peer");
        observe("is-client", same(&remote, &local(client)));
    });
}

// ---- subscribe ----

fn subscribe_unbound_ready() {
    observe("ready", v4().subscribe().ready());
}

fn subscribe_listening_idle() {
    let network = instance_network();
    observe("ready", listener(&network).subscribe().ready());
}

fn subscribe_listening_client() {
    let network = instance_network();
    let listener = listener(&network);
    let ready = listener.subscribe();
    observe("before", accept_name(&listener));
    let (_client, _input, _output) = client_of(&network, &listener);
    ready.block();
    observe("after", accept_name(&listener));
}

fn subscribe_bind_in_progress() {
    let network = instance_network();
    let socket = binding(&network);
    socket.subscribe().block();
    let result = socket.finish_bind();
    observe(
        "still-in-progress",
        matches!(result, Err(ErrorCode::WouldBlock)),
    );
}

fn subscribe_closed_ready() {
    let network = instance_network();
    let (client, connect) = refused(&network);
    observe("connect", connect);
    observe("ready", client.subscribe().ready());
}

// ---- is-listening, and the state a wrong call leaves ----

fn state_listening() {
    let network = instance_network();
    observe("listening", listener(&network).is_listening());
}

fn state_listen_in_progress() {
    let network = instance_network();
    observe("listening", listen_started(&network).is_listening());
}

fn state_wrong_call_keeps_state() {
    let network = instance_network();
    let socket = bound_tcp(&network);
    observe("accept", accept_name(&socket));
    observe("listen", error_name(&socket.start_listen()));
}
