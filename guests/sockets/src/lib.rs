//! wasi:sockets' taken resources: UDP streams asked for again, sockets
//! dropped before the streams they handed out, and a TCP socket connected
//! twice. Everything happens on the run's own loopback address, which the
//! harness passes in `WITNESS_LOOPBACK`.

use common::observe;
use wasi::sockets::instance_network::instance_network;

wit_bindgen::generate!({ path: "../../wit", world: "sockets", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
mod loopback;

use loopback::{bound_udp, connected, error_name, finish, read_result, write_result};

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
