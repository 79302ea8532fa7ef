//! (to be written)

wit_bindgen::generate!({ path: "../../wit", world: "sockets", generate_all });

#[allow(dead_code, reason = "each sockets guest uses a part of it")]
#[path = "../../sockets/src/loopback.rs"]
mod loopback;

common::command![];
