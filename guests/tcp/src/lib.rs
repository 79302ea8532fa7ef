//! wasi:sockets/tcp's state machine: every method in every state, and the
//! errors the clauses and TcpSocketOperationalSemantics.md give for each.

use common::observe;
use loopback::{error_name, own};
use wasi::sockets::instance_network::instance_network;

wit_bindgen::generate!({ path: "../../wit", world: "sockets", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
#[path = "../../sockets/src/loopback.rs"]
mod loopback;

common::command![("tcp-bind-twice", bind_twice)];

fn bind_twice() {
    let network = instance_network();
    let socket = loopback::bound_tcp(&network);
    observe("again", error_name(&socket.start_bind(&network, own(0))));
}
