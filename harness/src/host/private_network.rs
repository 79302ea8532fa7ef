//! The private network every out-of-process host runs in: a Linux network
//! namespace of this harness process's own, made once, whose only
//! interface is loopback. A guest in it may bind, listen, connect and send
//! anywhere it likes — nothing it does can leave the namespace, which is
//! the confinement of hosts that have none of their own (the wasmtime
//! CLIs, preview2-shim). A peer the harness runs for a guest is bound inside
//! it ([`PrivateNetwork::inside`]: the reserved HTTP authority's
//! [`super::responder`], the self-tests' listeners), so a guest meets the
//! same world on every host. Runs side by side share it,
//! each on a loopback address of its own
//! ([`super::world::sockets::fresh_address`]).
//!
//! Name lookups must not leave it either, and a host's resolver can reach
//! past a network namespace through local daemons it talks to over Unix
//! sockets (nscd, systemd-resolved, avahi's mDNS, as `/etc/nsswitch.conf`
//! says). So each host process also gets a mount namespace of its own in
//! which the resolver's files are witness's ([`RESOLVER_FILES`]): names
//! come from a hosts file of `localhost` alone and from DNS, whose name
//! servers the private network cannot reach; nscd's socket is hidden.
//!
//! Making the namespaces takes `CAP_SYS_ADMIN` (root, as in CI). Without it
//! the guests that import wasi:sockets or wasi:http are not applicable on
//! those hosts, and the reason says why.

use std::ffi::CString;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;

/// The hosts file of a process in the private network: `localhost` alone,
/// unless the run names a peer of its own ([`PrivateNetwork::hosts_file`]).
pub const HOSTS: &str = "127.0.0.1 localhost\n::1 localhost\n";

/// The resolver's files as a host process in the private network sees
/// them: `/etc/<name>` and witness's contents.
const RESOLVER_FILES: [(&str, &str); 3] = [
    ("nsswitch.conf", "hosts: files dns\n"),
    ("hosts", HOSTS),
    // No name server line: glibc then asks 127.0.0.1, where nothing
    // listens in the private network.
    ("resolv.conf", "options attempts:1 timeout:1\n"),
];

/// Where nscd listens, which glibc asks before it reads nsswitch.conf.
const NSCD_DIRECTORIES: [&str; 2] = ["/run/nscd", "/var/run/nscd"];

/// The namespace, open as a file: it lives as long as this process. The
/// resolver's files and the mounts that put them in place, made ready
/// before any host process starts.
pub struct PrivateNetwork {
    namespace: OwnedFd,
    /// Holds the files [`RESOLVER_FILES`] names, and each run's [`HostsFile`].
    resolver: tempfile::TempDir,
    /// (source, target) of each bind mount, and an empty directory to hide
    /// each of [`NSCD_DIRECTORIES`] that exists.
    mounts: Vec<(CString, CString)>,
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
    // SAFETY: `fd` was just opened and nothing else owns it.
    let namespace = unsafe { OwnedFd::from_raw_fd(fd) };
    let (resolver, mounts) =
        resolver_files().map_err(|e| format!("cannot write the resolver's files: {e}"))?;
    Ok(PrivateNetwork {
        namespace,
        resolver,
        mounts,
    })
}

/// Writes [`RESOLVER_FILES`] and an empty directory: the bind mounts a
/// host process makes before it runs.
fn resolver_files() -> std::io::Result<(tempfile::TempDir, Vec<(CString, CString)>)> {
    let directory = tempfile::Builder::new()
        .prefix("witness-resolver")
        .tempdir()?;
    let c_string = |path: &std::path::Path| {
        CString::new(path.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)
    };
    let mut mounts = Vec::new();
    for (name, contents) in RESOLVER_FILES {
        let file = directory.path().join(name);
        std::fs::write(&file, contents)?;
        let target = std::path::Path::new("/etc").join(name);
        if target.exists() {
            mounts.push((c_string(&file)?, c_string(&target)?));
        }
    }
    let empty = directory.path().join("empty");
    std::fs::create_dir(&empty)?;
    for nscd in NSCD_DIRECTORIES {
        if std::path::Path::new(nscd).is_dir() {
            mounts.push((
                c_string(&empty)?,
                CString::new(nscd).map_err(std::io::Error::other)?,
            ));
        }
    }
    Ok((directory, mounts))
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

/// A hosts file of one process's own: [`HOSTS`] and the names of the
/// peers its run has. The file may go once the process has started (its
/// mount holds it).
pub struct HostsFile {
    path: CString,
    _file: tempfile::TempPath,
}

/// Where a process's hosts file is mounted.
const ETC_HOSTS: &std::ffi::CStr = c"/etc/hosts";

impl PrivateNetwork {
    /// Writes a hosts file that also gives each `(name, address)` of
    /// `peers`; `Err` too where the machine has no `/etc/hosts` to mount it
    /// on.
    pub fn hosts_file(&self, peers: &[(&str, Ipv4Addr)]) -> std::io::Result<HostsFile> {
        if !self
            .mounts
            .iter()
            .any(|(_, target)| target.as_c_str() == ETC_HOSTS)
        {
            return Err(std::io::Error::other(
                "this machine has no /etc/hosts to mount a run's names on",
            ));
        }
        let mut file = tempfile::Builder::new()
            .prefix("hosts")
            // Readable by all, as /etc/hosts is: a host may drop root.
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(self.resolver.path())?;
        let mut text = HOSTS.to_string();
        for (name, address) in peers {
            text.push_str(&format!("{address} {name}\n"));
        }
        file.write_all(text.as_bytes())?;
        let file = file.into_temp_path();
        Ok(HostsFile {
            path: CString::new(file.as_os_str().as_encoded_bytes())
                .map_err(std::io::Error::other)?,
            _file: file,
        })
    }

    /// Makes `command`'s process start inside the namespace, with a mount
    /// namespace of its own in which the resolver's files are witness's,
    /// its hosts file `hosts_file` where given.
    pub fn confine(&'static self, command: &mut Command, hosts_file: Option<&HostsFile>) {
        let namespace = self.namespace.as_raw_fd();
        // Made here: the child may not allocate between fork and exec.
        let mounts: Vec<(CString, CString)> = (self.mounts.iter())
            .map(|(source, target)| match hosts_file {
                Some(hosts_file) if target.as_c_str() == ETC_HOSTS => {
                    (hosts_file.path.clone(), target.clone())
                }
                _ => (source.clone(), target.clone()),
            })
            .collect();
        let check = |result: libc::c_int| match result {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        };
        // SAFETY: setns(2), unshare(2) and mount(2) are system calls, safe
        // between fork and exec; the closure reads only the descriptor,
        // which lives until this process ends, and the paths it owns.
        unsafe {
            command.pre_exec(move || {
                check(libc::setns(namespace, libc::CLONE_NEWNET))?;
                check(libc::unshare(libc::CLONE_NEWNS))?;
                // Private, so that the mounts below stay in this process.
                check(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                for (source, target) in &mounts {
                    check(libc::mount(
                        source.as_ptr(),
                        target.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    ))?;
                }
                Ok(())
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
