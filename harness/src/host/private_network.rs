//! The private network every out-of-process host runs in: a Linux network
//! namespace of this harness process's own, made once, whose only
//! interface is loopback. A guest in it may bind, listen, connect and send
//! anywhere it likes — nothing it does can leave the namespace, which is
//! the confinement of hosts that have none of their own (the wasmtime
//! CLIs, preview2-shim). The peers a case needs are bound inside it
//! ([`PrivateNetwork::inside`]), so a guest meets the same world on every
//! host. Runs side by side share it, each on a loopback address of its own
//! ([`super::world::sockets::fresh_address`]).
//!
//! Making a namespace takes `CAP_SYS_ADMIN` (root, as in CI). Without it
//! the guests that import wasi:sockets or wasi:http are not applicable on
//! those hosts, and the reason says why.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;

/// The namespace, open as a file: it lives as long as this process.
pub struct PrivateNetwork {
    namespace: OwnedFd,
}

/// This process's private network, made on first use; `Err` says why
/// there is none.
pub fn get() -> Result<&'static PrivateNetwork, &'static str> {
    static NETWORK: OnceLock<Result<PrivateNetwork, String>> = OnceLock::new();
    NETWORK
        .get_or_init(|| {
            // A network namespace is a thread's: a thread of its own takes
            // it, and leaves it open as a file before it ends.
            std::thread::spawn(make)
                .join()
                .unwrap_or_else(|_| Err("the thread making it panicked".into()))
                .map_err(|problem| {
                    format!(
                        "the harness cannot make a private network for out-of-process hosts ({problem}): run it as root (as CI does), where Linux lets a process unshare(CLONE_NEWNET)"
                    )
                })
        })
        .as_ref()
        .map_err(String::as_str)
}

/// On the calling thread, which it moves for good: a new network
/// namespace with its loopback interface up.
fn make() -> Result<PrivateNetwork, String> {
    let failed = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: unshare(2) with a flag; it changes only this thread.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(failed("unshare(CLONE_NEWNET)"));
    }
    bring_loopback_up().map_err(|e| format!("cannot bring its loopback interface up: {e}"))?;
    let path = c"/proc/thread-self/ns/net";
    // SAFETY: open(2) of a NUL-terminated path; the descriptor is owned below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(failed("open /proc/thread-self/ns/net"));
    }
    Ok(PrivateNetwork {
        // SAFETY: `fd` was just opened and nothing else owns it.
        namespace: unsafe { OwnedFd::from_raw_fd(fd) },
    })
}

/// `ip link set lo up`, without `ip`: a new namespace's loopback is down,
/// where a bind works and every connect is refused as unreachable.
fn bring_loopback_up() -> std::io::Result<()> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").or_else(|_| {
        // With lo down 127.0.0.1 may not be bindable yet; any IPv4 socket
        // will do for the ioctls.
        std::net::UdpSocket::bind("0.0.0.0:0")
    })?;
    // SAFETY: ifreq is plain data, for which all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (at, byte) in request.ifr_name.iter_mut().zip(b"lo") {
        *at = *byte as libc::c_char;
    }
    let ioctl = |op, request: &mut libc::ifreq| {
        // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS on a socket, with an ifreq
        // that outlives the call.
        match unsafe { libc::ioctl(socket.as_raw_fd(), op, request as *mut libc::ifreq) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    };
    ioctl(libc::SIOCGIFFLAGS, &mut request)?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    ioctl(libc::SIOCSIFFLAGS, &mut request)
}

impl PrivateNetwork {
    /// Makes `command`'s process start inside the namespace.
    pub fn confine(&'static self, command: &mut Command) {
        let namespace = self.namespace.as_raw_fd();
        // SAFETY: setns(2) is async-signal-safe, and the closure touches
        // nothing but the descriptor, open until this process ends.
        unsafe {
            command.pre_exec(move || match libc::setns(namespace, libc::CLONE_NEWNET) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            });
        }
    }

    /// `work`'s value, computed on a thread inside the namespace: a socket
    /// it makes there stays there wherever it is used afterwards.
    pub fn inside<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T, String> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: setns(2) moves only this scoped thread.
                    match unsafe { libc::setns(self.namespace.as_raw_fd(), libc::CLONE_NEWNET) } {
                        0 => Ok(work()),
                        _ => Err(format!(
                            "cannot enter the private network: {}",
                            std::io::Error::last_os_error()
                        )),
                    }
                })
                .join()
                .unwrap_or_else(|_| Err("the work inside the private network panicked".into()))
        })
    }
}
