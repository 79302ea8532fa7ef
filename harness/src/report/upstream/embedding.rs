//! The smallest Rust program that runs a case as an embedded wasmtime
//! host does: wasmtime and wasmtime-wasi of the release the records are
//! from, in that host's configuration, with only the parts the case needs
//! (a stderr capacity, stdin, a tree of files and its preopens, loopback sockets, an
//! outgoing wasi:http request sent to the responder).

use super::reproduce::{RESPONDER_ADDRESS, RESPONDER_PORT};
use crate::case::Case;
use crate::host::RunSettings;
use crate::host::world::files::Files;
use crate::host::world::http::{HttpResponse, RESERVED_AUTHORITY};
use crate::host::world::sockets::ADDRESS_VARIABLE;
use std::fmt::Write;

/// The wasmtime-wasi release the embedded hosts are built on.
pub const EMBEDDED_WASMTIME: &str = "48.0.8";

/// How an embedded host drives wasmtime-wasi.
#[derive(Clone, Copy)]
pub enum Configuration {
    MultiThread,
    CurrentThread,
    Sync,
}

impl Configuration {
    /// The configuration of the embedded host `name`.
    pub fn of(name: &str) -> Configuration {
        match name {
            "wasmtime-sync" => Configuration::Sync,
            "wasmtime-current-thread" => Configuration::CurrentThread,
            _ => Configuration::MultiThread,
        }
    }
}

/// `Cargo.toml` and `src/main.rs`.
pub fn files(
    configuration: Configuration,
    case: &Case,
) -> [(&'static str, &'static str, String); 2] {
    let settings = &case.run;
    let http = settings.needs.imports.contains("wasi:http");
    let sync = matches!(configuration, Configuration::Sync);
    let mut dependencies =
        format!("wasmtime = \"={EMBEDDED_WASMTIME}\"\nwasmtime-wasi = \"={EMBEDDED_WASMTIME}\"\n");
    if http {
        let _ = write!(
            dependencies,
            "wasmtime-wasi-http = {{ version = \"={EMBEDDED_WASMTIME}\", default-features = false, features = [\"p2\", \"default-send-request\"] }}\nhyper = \"1\"\nhttp-body-util = \"0.1\"\n"
        );
    }
    if !sync {
        dependencies.push_str(
            "tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }\n",
        );
    }
    let manifest = format!(
        "[package]\nname = \"reproduce\"\nedition = \"2024\"\n\n[dependencies]\n{dependencies}"
    );
    [
        ("Cargo.toml", "toml", manifest),
        ("src/main.rs", "rust", main_rs(configuration, case, http)),
    ]
}

fn main_rs(configuration: Configuration, case: &Case, http: bool) -> String {
    let settings = &case.run;
    let small_stderr = settings.stderr_capacity != RunSettings::default().stderr_capacity;
    let sync = matches!(configuration, Configuration::Sync);
    let (suffix, wait) = if sync {
        ("sync", "")
    } else {
        ("async", ".await")
    };
    let mut out = String::new();
    out.push_str("use wasmtime::component::{Component, Linker, ResourceTable};\nuse wasmtime::{Engine, Store};\n");
    let _ = writeln!(
        out,
        "use wasmtime_wasi::p2::bindings::{}Command;",
        if sync { "sync::" } else { "" }
    );
    let pipes: Vec<&str> = [
        (!settings.stdin.is_empty()).then_some("MemoryInputPipe"),
        small_stderr.then_some("MemoryOutputPipe"),
    ]
    .into_iter()
    .flatten()
    .collect();
    match pipes.as_slice() {
        [] => {}
        [pipe] => {
            let _ = writeln!(out, "use wasmtime_wasi::p2::pipe::{pipe};");
        }
        pipes => {
            let _ = writeln!(
                out,
                "use wasmtime_wasi::p2::pipe::{{{}}};",
                pipes.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "use wasmtime_wasi::{{{}WasiCtx, WasiCtxView, WasiView}};",
        if settings.files.is_some() {
            "FsPerms, "
        } else {
            ""
        }
    );
    if http {
        out.push_str(HTTP_IMPORTS);
    }
    out.push_str("\nstruct Host {\n    wasi: WasiCtx,\n");
    if http {
        out.push_str("    http: WasiHttpCtx,\n    answer: ToResponder,\n");
    }
    out.push_str("    table: ResourceTable,\n}\n\nimpl WasiView for Host {\n    fn ctx(&mut self) -> WasiCtxView<'_> {\n        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }\n    }\n}\n");
    if http {
        out.push_str(HTTP_VIEW);
        out.push_str(&answer(settings.http_response.as_ref()));
    }
    out.push('\n');
    out.push_str(match configuration {
        Configuration::Sync => "fn main() -> wasmtime::Result<()> {\n",
        Configuration::CurrentThread => {
            "#[tokio::main(flavor = \"current_thread\")]\nasync fn main() -> wasmtime::Result<()> {\n"
        }
        Configuration::MultiThread => "#[tokio::main]\nasync fn main() -> wasmtime::Result<()> {\n",
    });
    let _ = writeln!(
        out,
        "    let engine = Engine::default();\n    let component = Component::from_file(&engine, \"{}.wasm\")?;\n    let mut linker = Linker::new(&engine);\n    wasmtime_wasi::p2::add_to_linker_{suffix}(&mut linker)?;",
        case.guest
    );
    if http {
        let _ = writeln!(
            out,
            "    wasmtime_wasi_http::p2::add_only_http_to_linker_{suffix}(&mut linker)?;"
        );
    }
    let _ = writeln!(
        out,
        "    let mut wasi = WasiCtx::builder();\n    wasi.args(&[{:?}, {:?}]).inherit_stdout();",
        case.guest, case.scenario
    );
    if !settings.stdin.is_empty() {
        let _ = writeln!(
            out,
            "    wasi.stdin(MemoryInputPipe::new({:?}));",
            String::from_utf8_lossy(&settings.stdin)
        );
    }
    if small_stderr {
        let capacity = settings.stderr_capacity;
        let _ = writeln!(
            out,
            "    // A stderr that holds {capacity} bytes, then reports `closed`.\n    let stderr = MemoryOutputPipe::new({capacity});\n    wasi.stderr(stderr.clone());"
        );
    } else {
        out.push_str("    wasi.inherit_stderr();\n");
    }
    if settings.sockets.is_some() {
        let _ = writeln!(
            out,
            "    // TCP and UDP on loopback only; the guest binds the address in {ADDRESS_VARIABLE}.\n    wasi.allow_tcp(true).allow_udp(true).env({ADDRESS_VARIABLE:?}, \"127.0.0.1\");\n    wasi.socket_addr_check(|address, _| {{\n        let loopback = address.ip().is_loopback();\n        Box::pin(async move {{ loopback }})\n    }});"
        );
    }
    for preopen in settings.files.iter().flat_map(Files::granted_here) {
        let perms = if preopen.read_only {
            "ReadOnly"
        } else {
            "ReadWrite"
        };
        let _ = writeln!(
            out,
            "    wasi.preopened_dir({:?}, {:?}, FsPerms::{perms})?;",
            preopen.host.display().to_string(),
            preopen.guest
        );
    }
    let http_fields = if http {
        " http: WasiHttpCtx::new(), answer: ToResponder,"
    } else {
        ""
    };
    let instantiate = if sync {
        "instantiate"
    } else {
        "instantiate_async"
    };
    let _ = writeln!(
        out,
        "    let host = Host {{ wasi: wasi.build(),{http_fields} table: ResourceTable::new() }};\n    let mut store = Store::new(&engine, host);\n    let command = Command::{instantiate}(&mut store, &component, &linker){wait}?;\n    let ended = command.wasi_cli_run().call_run(&mut store){wait};"
    );
    if small_stderr {
        out.push_str("    eprintln!(\"stderr held {} bytes\", stderr.contents().len());\n");
    }
    out.push_str("    match ended {\n        Ok(Ok(())) => println!(\"run returned: exit 0\"),\n        Ok(Err(())) => println!(\"run returned an error: exit 1\"),\n        Err(trap) => println!(\"run trapped: {trap:#}\"),\n    }\n    Ok(())\n}\n");
    out
}

const HTTP_IMPORTS: &str = "use http_body_util::BodyExt;
use std::future::Future;
use wasmtime_wasi_http::{
    Error, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};
";

const HTTP_VIEW: &str = "
impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.answer }
    }
}
";

/// The outgoing handler: a request for `http://witness.invalid/...` goes,
/// with wasmtime-wasi-http's own client, to the responder the
/// reproduction starts (the name is its address, port 80 its port, as in
/// witness, but for its port); every other request, and every request of a case without a
/// response, is refused.
fn answer(response: Option<&HttpResponse>) -> String {
    let send = match response {
        None => "            Err(Error::HttpRequestDenied)\n".to_string(),
        Some(_) => format!(
            "            if request.uri().host() != Some({RESERVED_AUTHORITY:?}) {{
                return Err(Error::HttpRequestDenied);
            }}
            let uri = request.uri();
            let scheme = uri.scheme_str().unwrap_or(\"http\").to_string();
            let port = match uri.port_u16().unwrap_or(if scheme == \"https\" {{ 443 }} else {{ 80 }}) {{
                80 => {RESPONDER_PORT},
                other => other,
            }};
            let path = uri.path_and_query().map_or(\"/\", |path| path.as_str()).to_string();
            *request.uri_mut() = format!(\"{{scheme}}://{RESPONDER_ADDRESS}:{{port}}{{path}}\")
                .parse()
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
"
        ),
    };
    format!(
        "
/// Sends the guest's request to http://{RESERVED_AUTHORITY}/ to the responder; refuses any other.
struct ToResponder;

type Sent = Result<(hyper::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>;

impl WasiHttpHooks for ToResponder {{
    fn send_request(
        &mut self,
        mut request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        _sent: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {{
        Box::new(async move {{
{send}        }})
    }}
}}
"
    )
}
