//! Pseudo-terminals for a host process's standard streams, where a case
//! asks for one (`terminal` in `[run]`): the host's stream is a real
//! terminal, so `get-terminal-std*` has one to find. Raw mode, so that
//! what the guest writes reaches the harness byte for byte (no `\n` made
//! `\r\n`), and what the harness writes reaches the guest the same.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

/// A pseudo-terminal: the side the harness holds, and the side a host
/// process gets as a standard stream.
pub struct Terminal {
    pub controller: Controller,
    pub stream: OwnedFd,
}

/// The harness's side of a pseudo-terminal: reads what the host wrote to
/// its stream, writes what the host reads there. Once every holder of the
/// stream closed it, a read ends (Linux says EIO, which this reads as the
/// end, as a pipe's reader sees one).
pub struct Controller(File);

impl Controller {
    /// A second handle of the same terminal.
    pub fn try_clone(&self) -> io::Result<Controller> {
        self.0.try_clone().map(Controller)
    }
}

impl io::Read for Controller {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Err(error) if error.raw_os_error() == Some(libc::EIO) => Ok(0),
            read => read,
        }
    }
}

impl io::Write for Controller {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Terminal {
    /// A fresh pseudo-terminal in raw mode. Both sides are close-on-exec,
    /// so no other process the harness starts meanwhile holds one: the
    /// host gets `stream` as a standard stream, which `exec` keeps.
    pub fn open() -> io::Result<Terminal> {
        let last_error = || Err(io::Error::last_os_error());
        // SAFETY: posix_openpt(3) returns a new descriptor we then own.
        let controller =
            unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
        if controller < 0 {
            return last_error();
        }
        // SAFETY: `controller` is a descriptor no one else owns.
        let controller = unsafe { File::from_raw_fd(controller) };
        let fd = controller.as_raw_fd();
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: grantpt(3), unlockpt(3) and ptsname_r(3) on an open
        // controller, the last with a buffer of the length it is told.
        unsafe {
            if libc::grantpt(fd) != 0 || libc::unlockpt(fd) != 0 {
                return last_error();
            }
            let failed = libc::ptsname_r(fd, name.as_mut_ptr(), name.len());
            if failed != 0 {
                return Err(io::Error::from_raw_os_error(failed));
            }
        }
        // SAFETY: ptsname_r wrote a NUL-terminated path into `name`.
        let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        // Rust opens with O_CLOEXEC; O_NOCTTY keeps the harness from
        // taking it as its controlling terminal.
        let stream = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)?;
        // SAFETY: termios is plain data; tcgetattr fills it from an open
        // terminal, cfmakeraw edits it, tcsetattr applies it.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            let stream_fd = stream.as_raw_fd();
            if libc::tcgetattr(stream_fd, &mut settings) != 0 {
                return last_error();
            }
            libc::cfmakeraw(&mut settings);
            if libc::tcsetattr(stream_fd, libc::TCSANOW, &settings) != 0 {
                return last_error();
            }
        }
        Ok(Terminal {
            controller: Controller(controller),
            stream: stream.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Terminal;
    use std::io::Read;
    use std::process::{Command, Stdio};

    /// What a child writes to a terminal stream arrives unchanged, the
    /// child sees a terminal, and the controller reads to its end once the
    /// child is gone.
    #[test]
    fn a_child_writes_to_its_terminal_byte_for_byte() {
        let terminal = Terminal::open().expect("a pseudo-terminal");
        let mut child = Command::new("sh")
            .args(["-c", "test -t 1 && printf 'a\\nb'"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(terminal.stream))
            .spawn()
            .expect("sh");
        let mut controller = terminal.controller;
        let _ = child.wait();
        let mut bytes = Vec::new();
        controller
            .read_to_end(&mut bytes)
            .expect("a read to the end");
        assert_eq!(bytes, b"a\nb");
    }
}
