//! wasi:sockets on the embedded hosts, confined to loopback: each run that
//! asks for sockets (`[run.sockets]`) gets TCP and UDP on a loopback
//! address of its own (see [`fresh_address`]). The guest may bind and
//! connect there, and connect, send to or receive from only the further
//! loopback addresses the case grants. It finds its address in
//! the environment variable [`ADDRESS_VARIABLE`].

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};

/// The environment variable that tells a guest its loopback address.
pub const ADDRESS_VARIABLE: &str = "WITNESS_LOOPBACK";

/// `[run.sockets]`: TCP and UDP on the run's own loopback address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sockets {
    /// Addresses beyond the run's own that the guest may connect or send
    /// to, on a host that confines it in-process; in the private network
    /// every address is the network's own.
    #[serde(default)]
    pub grant: Vec<SocketAddr>,
    /// The case runs only in the private network: its guest aims at
    /// addresses an in-process host's check refuses before the host itself
    /// answers (a connect or send to IPv6's `::1`, the unspecified address,
    /// multicast, broadcast, a documentation address).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private_network: bool,
    /// The guest looks names up (wasi:sockets/ip-name-lookup): only a host
    /// in the private network runs the case, where no resolver answers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub name_lookup: bool,
}

/// A loopback address no earlier run of this process used:
/// 127.<128 + the low 7 bits of the pid>.<a counter's two bytes>, so that
/// processes running at once (nextest runs a trial per process) differ
/// too unless their pids agree in those 7 bits, and none is 127.0.0.1.
/// Linux routes all of 127.0.0.0/8 to the loopback interface; other
/// systems may not, and there sockets cases fail to bind.
pub fn fresh_address() -> Ipv4Addr {
    static NEXT: AtomicU16 = AtomicU16::new(1);
    let process = 128 | (std::process::id() & 0x7f) as u8;
    let [high, low] = NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    Ipv4Addr::new(127, process, high, low)
}

/// Gives the context TCP and UDP, bound to `own` and to what `sockets`
/// grants: a bind anywhere else, and a connect or datagram to any other
/// address, is refused (`access-denied`).
#[cfg(feature = "embedded")]
pub fn confine(wasi: &mut wasmtime_wasi::WasiCtxBuilder, sockets: &Sockets, own: Ipv4Addr) {
    use wasmtime_wasi::sockets::SocketAddrUse;
    let grants = sockets.grant.clone();
    wasi.allow_tcp(true)
        .allow_udp(true)
        .env(ADDRESS_VARIABLE, own.to_string())
        .socket_addr_check(move |address, usage| {
            // A granted peer may be reached and answer; nothing may bind
            // or listen anywhere but `own`.
            // The run's own address may also be reached as IPv6 maps it.
            // IPv6's loopback is the machine's, shared with every process:
            // a guest may bind and listen there (each bind takes a port of
            // its own), never connect or send there.
            let ip = address.ip().to_canonical();
            let allowed = ip == own
                || (ip == std::net::Ipv6Addr::LOCALHOST
                    && matches!(
                        usage,
                        SocketAddrUse::TcpBind | SocketAddrUse::TcpListen | SocketAddrUse::UdpBind
                    ))
                || (matches!(
                    usage,
                    SocketAddrUse::TcpConnect
                        | SocketAddrUse::TcpAccept
                        | SocketAddrUse::UdpSend
                        | SocketAddrUse::UdpReceive
                ) && grants.contains(&address));
            Box::pin(async move { allowed })
        });
}
