//! A deliberately unconfined filesystem, for the self-tests only: wasmtime
//! with two of wasi:filesystem's methods replaced by faulty ones, so that
//! the self-tests can show the harness catches what they do wrong. No host
//! the suite runs links these.
//!
//! - `open-at` resolves its path naively, as the host's own path joined to
//!   the guest's (`..` and symbolic links followed by the OS, out of the
//!   preopen): a sandbox escape.
//! - `create-directory-at` answers ok and creates nothing.

use super::wasmtime::GuestState;
use std::os::fd::AsRawFd;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, File};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, ErrorCode, OpenFlags, PathFlags,
};
use wasmtime_wasi::{FsPerms, OpenMode, WasiView};

/// The interface the faulty methods replace theirs in.
const TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Links the faulty methods over wasmtime-wasi's.
pub fn link(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(TYPES)?;
    types.func_wrap(
        "[method]descriptor.open-at",
        |mut store: StoreContextMut<'_, GuestState>,
         (base, _, path, _, _): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            let table = store.data_mut().ctx().table;
            let Descriptor::Dir(dir) = table.get(&base)? else {
                return Ok((Err(ErrorCode::NotDirectory),));
            };
            let host = std::fs::read_link(format!("/proc/self/fd/{}", dir.dir.as_raw_fd()))?;
            let opened = match std::fs::File::open(host.join(path)) {
                Ok(file) => {
                    let file = File::new(file, FsPerms::ReadWrite, OpenMode::READ, false);
                    Ok(table.push(Descriptor::File(file))?)
                }
                Err(_) => Err(ErrorCode::NoEntry),
            };
            Ok((opened,))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.create-directory-at",
        |_: StoreContextMut<'_, GuestState>, (_, _): (Resource<Descriptor>, String)| {
            Ok((Ok::<(), ErrorCode>(()),))
        },
    )?;
    Ok(())
}
