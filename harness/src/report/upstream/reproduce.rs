//! How a maintainer sees a case on one host without witness: the host's
//! own CLI where one can set the case up (`wasmtime run`, `wasmtime serve`,
//! `jco run`), else the smallest embedding that does.

use super::embedding::{self, Configuration, EMBEDDED_WASMTIME};
use crate::case::Case;
use crate::host::RunSettings;
use crate::host::registry::{Entry, Kind, Runtime};
use crate::host::wasmtime_cli;
use crate::host::world::files::Files;
use std::net::Ipv4Addr;

/// The steps that reproduce a case, in order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reproduction {
    pub steps: Vec<Step>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// A sentence.
    Say(String),
    /// Shell lines, run in the directory that holds the guest component.
    Shell(String),
    /// A file to write beside the component.
    File {
        name: String,
        language: &'static str,
        text: String,
    },
}

/// What a reproduction may rely on besides the case.
pub struct Host<'a> {
    pub name: &'a str,
    pub entry: &'a Entry,
    /// The case's guest exports wasi:http's incoming handler.
    pub proxy: bool,
    /// A wasmtime CLI was recorded doing what this host did on the case:
    /// the CLI's command then shows it too.
    pub cli_shows_it: bool,
}

pub fn of(host: &Host<'_>, case: &Case) -> Reproduction {
    let component = format!("{}.wasm", case.guest);
    let settings = &case.run;
    let steps = match host.entry.kind {
        Kind::WasmtimeCli if host.proxy => serve(
            "`wasmtime serve` of the CLI above serves the guest.",
            &wasmtime_serve(&component),
            case,
        ),
        Kind::WasmtimeCli => wasmtime_run(&component, case),
        Kind::Embedded if host.proxy => serve(
            &format!(
                "witness's embedding hands the guest its request itself; `wasmtime serve` of the same release ({EMBEDDED_WASMTIME}) sets the case up."
            ),
            &wasmtime_serve(&component),
            case,
        ),
        Kind::Jco if host.proxy => {
            // jco's `serve` runs the server it writes on `JCO_RUN_PATH`.
            let program = match host.entry.runtime {
                Runtime::Deno => "$(command -v deno)",
                _ => "$(command -v bun)",
            };
            let runtime: String = (host.entry.runtime.jco_serve_variables(program).into_iter())
                .map(|(variable, value)| format!("{variable}=\"{value}\" "))
                .collect();
            let version = host.entry.version.as_deref().unwrap_or("latest");
            let server = format!(
                "{runtime}npx --yes @bytecodealliance/jco@{version} serve {} --host 127.0.0.1 --port 8080",
                quote(&component)
            );
            serve("`jco serve` serves the guest.", &server, case)
        }
        Kind::Embedded if host.cli_shows_it => {
            let mut steps = vec![Step::Say(
                "A wasmtime CLI was recorded doing the same (see the records above):".into(),
            )];
            steps.extend(wasmtime_run(&component, case));
            steps
        }
        Kind::Embedded => {
            let why = cli_cannot(settings).unwrap_or(
                "No wasmtime CLI was recorded doing what this embedding did (see the records above)",
            );
            wasmtime_embedding(host.name, case, why)
        }
        Kind::Jco if host.entry.runtime == Runtime::Chromium => {
            jco_browser_page(host.entry, &component, case)
        }
        Kind::Jco
            if settings.files.is_some()
                || settings.http_response.is_some()
                || reads_environment(settings)
                || host.entry.runtime != Runtime::Node =>
        {
            jco_embedding(host.entry, &component, case)
        }
        Kind::Jco => vec![Step::Shell(format!(
            "{}{}npx --yes @bytecodealliance/jco@{} run {}{}",
            stdin_pipe(settings),
            environment_prefix(settings),
            host.entry.version.as_deref().unwrap_or("latest"),
            quote_all(
                [component.as_str(), &case.scenario]
                    .into_iter()
                    .chain(settings.invocation.arguments.iter().map(String::as_str))
            ),
            stdio_redirections(settings),
        ))],
    };
    let mut steps = steps;
    if !stdio_redirections(settings).is_empty() {
        steps.insert(0, Step::Say("Run it in bash, from a terminal: the redirections make pipes of the streams the case does not make terminals, as witness's run has them.".into()));
    }
    Reproduction { steps }
}

/// Why no wasmtime CLI can set up a case with these settings, if none can.
fn cli_cannot(settings: &RunSettings) -> Option<&'static str> {
    if settings.stderr_capacity != RunSettings::default().stderr_capacity {
        Some("No wasmtime CLI can give stderr a capacity (its stderr is the process's own)")
    } else {
        None
    }
}

fn wasmtime_run(component: &str, case: &Case) -> Vec<Step> {
    let settings = &case.run;
    let shell = settings.files.as_ref().map_or(String::new(), Files::shell);
    let preopens = settings
        .files
        .as_ref()
        .map_or(Vec::new(), Files::granted_here);
    let mut options = wasmtime_cli::network_options(settings, Ipv4Addr::LOCALHOST);
    options.extend(wasmtime_cli::invocation_options(settings, true));
    let arguments = wasmtime_cli::run_arguments(
        component,
        &case.scenario,
        &preopens,
        &options,
        &settings.invocation.arguments,
    );
    let peer = responder(settings, false);
    let mut shell = shell;
    shell.push_str(&format!(
        "{}{}wasmtime {}{}",
        stdin_pipe(settings),
        peer.prefix,
        quote_all(arguments.iter().map(String::as_str)),
        stdio_redirections(settings),
    ));
    let mut steps = peer.steps;
    steps.extend(peer.responder);
    steps.push(Step::Shell(shell));
    steps
}

/// The loopback address the reproduction's responder answers at.
pub(super) const RESPONDER_ADDRESS: &str = "127.0.0.2";
/// The port an embedding's responder answers at, for `witness.invalid`'s
/// port 80: one a user may bind.
pub(super) const RESPONDER_PORT: u16 = 8080;

/// The peer a reproduction sets up for a case with `[run.http-response]`.
#[derive(Default)]
struct Peer {
    /// What the peer is, and the `hosts` file naming it.
    steps: Vec<Step>,
    /// `responder.py`, which stands for witness's responder
    /// (`harness/src/host/responder.rs`) at `witness.invalid`: none where
    /// nothing may listen.
    responder: Option<Step>,
    /// What runs a command inside a network of its own that has only
    /// loopback, with `hosts` for /etc/hosts and, unless nothing may
    /// listen, `responder.py` answering (ended with the command: it is the
    /// namespace's first process).
    prefix: &'static str,
}

/// For a case with `[run.http-response]`: the responder, with the same
/// bytes on the wire as witness's; its CORS fields too, for a page's
/// requests, if `cross_origin`. No peer otherwise.
fn responder(settings: &RunSettings, cross_origin: bool) -> Peer {
    use crate::host::responder::{PREFLIGHT_ANSWER, Step as Played, script};
    use crate::host::world::http::{HttpError, RESERVED_AUTHORITY};
    let Some(response) = &settings.http_response else {
        return Peer::default();
    };
    let named = match response.error {
        Some(HttpError::DnsError) => String::new(),
        _ => format!("{RESPONDER_ADDRESS} {RESERVED_AUTHORITY}\n"),
    };
    let hosts = Step::File {
        name: "hosts".into(),
        language: "text",
        text: format!("{}{named}", crate::host::private_network::HOSTS),
    };
    let needs = "util-linux's `unshare`, as any user where the kernel allows user namespaces (Ubuntu 23.10 and later restrict them: run it as root there), and iproute2's `ip`";
    let mut close = false;
    let answer = match response.error {
        Some(error @ (HttpError::ConnectionRefused | HttpError::DnsError)) => {
            let there = match error {
                HttpError::DnsError => {
                    "a name that resolves to nothing there (the hosts file leaves it out, and no name server is in reach)"
                }
                _ => "where nothing listens",
            };
            return Peer {
                steps: vec![
                    Step::Say(format!(
                        "The guest asks `http://{RESERVED_AUTHORITY}/`, {there}, in a network of its own, as witness runs it ({needs})."
                    )),
                    hosts,
                ],
                responder: None,
                prefix: "unshare --map-root-user --net --mount sh -c 'ip link set lo up && mount --bind hosts /etc/hosts && exec \"$@\"' sh ",
            };
        }
        Some(HttpError::ConnectionTerminated) => "None".to_string(),
        Some(HttpError::HttpResponseTimeout) => "[]".to_string(),
        None => {
            let played = script(response, cross_origin);
            let steps: Vec<String> = (played.steps.iter())
                .map(|step| match step {
                    Played::Write(bytes) => python_bytes(bytes),
                    Played::Pause(pause) => format!("{:?}", pause.as_secs_f64()),
                })
                .collect();
            close = played.then_close;
            format!("[{}]", steps.join(", "))
        }
    };
    let close = if close { "True" } else { "False" };
    let preflight = match cross_origin {
        true => python_bytes(PREFLIGHT_ANSWER.as_bytes()),
        false => "None".into(),
    };
    let steps = vec![
        Step::Say(format!(
            "The guest asks `http://{RESERVED_AUTHORITY}/`, which this responder answers with the case's response, in a network of its own, as witness runs it ({needs}, and Python 3)."
        )),
        hosts,
    ];
    let responder = Step::File {
        name: "responder.py".into(),
        language: "python",
        text: format!(
            r#"# Answers each request at {RESERVED_AUTHORITY}:80 once its head is in: with PREFLIGHT
# if it is a CORS preflight and PREFLIGHT is set, else by playing ANSWER (bytes to send
# and seconds to wait; None closes the connection instead, [] never answers); then reads
# past the request's body, and closes the connection if CLOSE. It closes a connection whose
# first byte cannot begin a request line (a TLS handshake's). Its port: the argument, or 80.
import socket, sys, threading, time

ANSWER = {answer}
PREFLIGHT = {preflight}
CLOSE = {close}

def serve(connection):
    with connection:
        stream = connection.makefile('rb')
        while True:
            first = stream.peek(1)[:1]
            if first and not (first.isupper() or first in b'\r\n'):
                return
            head = []
            while (line := stream.readline()) not in (b'\r\n', b''):
                head.append(line.lower())
            if not line:
                return
            if not head:
                continue
            fields = dict(field.split(b':', 1) for field in head[1:] if b':' in field)
            if PREFLIGHT and head[0].startswith(b'options') and b'access-control-request-method' in fields:
                connection.sendall(PREFLIGHT)
            elif ANSWER is None:
                return
            else:
                for step in ANSWER:
                    if isinstance(step, float):
                        time.sleep(step)
                    else:
                        connection.sendall(step)
            if b'chunked' in fields.get(b'transfer-encoding', b''):
                while (size := int(stream.readline().split(b';')[0], 16)) > 0:
                    stream.read(size + 2)
                while stream.readline() not in (b'\r\n', b''):
                    pass
            else:
                stream.read(int(fields.get(b'content-length', b'0')))
            if CLOSE:
                return

listener = socket.create_server(('{RESPONDER_ADDRESS}', int(sys.argv[1]) if len(sys.argv) > 1 else 80))
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
"#
        ),
    };
    Peer {
        steps,
        responder: Some(responder),
        prefix: "unshare --map-root-user --net --mount --pid --fork sh -c 'ip link set lo up && mount --bind hosts /etc/hosts && { python3 responder.py & sleep 1; kill -0 $!; } && exec \"$@\"' sh ",
    }
}

/// `bytes` as a Python bytes literal.
fn python_bytes(bytes: &[u8]) -> String {
    let mut literal = String::from("b'");
    for &byte in bytes {
        match byte {
            b'\r' => literal.push_str("\\r"),
            b'\n' => literal.push_str("\\n"),
            b'\\' | b'\'' => literal.push_str(&format!("\\{}", byte as char)),
            b' '..=b'~' => literal.push(byte as char),
            _ => literal.push_str(&format!("\\x{byte:02x}")),
        }
    }
    literal.push('\'');
    literal
}

/// `wasmtime serve` of `component` as witness runs it, on port 8080.
fn wasmtime_serve(component: &str) -> String {
    let arguments = crate::host::serve::wasmtime::arguments(
        component,
        "127.0.0.1:8080",
        &crate::host::serve::wasmtime::ServeOptions::NEWEST,
    );
    format!(
        "wasmtime {}",
        quote_all(arguments.iter().map(String::as_str))
    )
}

/// A proxy guest served by the command `server` on port 8080, and the
/// case's request sent with curl; `intro` says whose server it is.
fn serve(intro: &str, server: &str, case: &Case) -> Vec<Step> {
    let request = &case.run.http_request;
    let mut curl = format!(
        "curl -sS -i -H 'te: trailers' -X {}",
        quote(&request.method)
    );
    for (name, value) in &request.headers {
        curl.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    if !request.body.is_empty() {
        curl.push_str(&format!(" --data-binary {}", quote(&request.body)));
    }
    curl.push_str(&format!(" http://127.0.0.1:8080/{}", case.scenario));
    let mut steps = vec![
        Step::Say(format!(
            "{intro} In one shell, start the server; once it says where it listens, send the request from another, then stop the server with Ctrl-C. The guest's observations are the `@witness` lines the server prints; the response is curl's."
        )),
        Step::Shell(server.to_string()),
        Step::Shell(curl),
    ];
    if let Some(trailers) = &request.trailers {
        steps.push(Step::Say(format!(
            "The case's request also ends with trailers ({}), which curl does not send: the guest reads none.",
            trailers
                .iter()
                .map(|(name, value)| format!("`{name}: {value}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    steps
}

/// The smallest Rust program that runs the case as the embedded host
/// `name` does.
fn wasmtime_embedding(name: &str, case: &Case, why: &str) -> Vec<Step> {
    let mut steps = vec![Step::Say(format!(
        "{why}: the smallest embedding that sets the case up is this program, on the crates of the release the records are from."
    ))];
    for (name, language, text) in embedding::files(Configuration::of(name), case) {
        steps.push(Step::File {
            name: name.into(),
            language,
            text,
        });
    }
    // The responder alone: the program sends witness.invalid's requests to
    // its address, on the machine's network.
    let (start, stop) = match responder(&case.run, false).responder {
        Some(file) => {
            steps.push(Step::Say(format!(
                "The program sends the guest's requests for `http://witness.invalid/` (port 80) to this responder, which answers at {RESPONDER_ADDRESS}:{RESPONDER_PORT} as witness's does."
            )));
            steps.push(file);
            (
                format!("python3 responder.py {RESPONDER_PORT} & sleep 1\n"),
                "\nkill $!",
            )
        }
        None => (String::new(), ""),
    };
    let tree = case.run.files.as_ref().map_or(String::new(), Files::shell);
    steps.push(Step::Shell(format!("{tree}{start}cargo run --quiet{stop}")));
    steps
}

/// jco's `run` cannot preopen a directory: transpile, and run the
/// component's JavaScript with preview2-shim's preopens set.
/// jco's transpiled JavaScript run by a script of ours: where `jco run`
/// cannot set the case up (it preopens no directory) or runs on another
/// runtime than the host's (it runs on Node).
fn jco_embedding(entry: &Entry, component: &str, case: &Case) -> Vec<Step> {
    let version = entry.version.as_deref().unwrap_or("latest");
    let (why, runtime, run) = match entry.runtime {
        Runtime::Node if case.run.files.is_some() => (
            "`jco run` preopens no directory, which the guest needs",
            "",
            "node",
        ),
        Runtime::Node if reads_environment(&case.run) => (
            "`jco run` gives the guest the shell's whole environment, where the case gives it its own",
            "",
            "node",
        ),
        Runtime::Node => (
            "`npx jco run` would fetch jco inside the guest's network, which reaches no registry",
            "",
            "node",
        ),
        Runtime::Deno => ("`jco run` runs on Node", " deno", "npx deno run -A"),
        Runtime::Bun => ("`jco run` runs on Node", " bun", "npx bun"),
        Runtime::Chromium => unreachable!("a browser's reproduction is a page: jco_browser_page"),
    };
    let files = case.run.files.as_ref();
    let preopen = match files {
        Some(files) => format!(
            "import {{ resolve }} from 'node:path';\nimport {{ _setPreopens }} from '@bytecodealliance/preview2-shim/filesystem';\n_setPreopens({{ {} }});\n",
            (files.granted_here().iter())
                .map(|preopen| format!(
                    "{:?}: resolve({:?})",
                    preopen.guest,
                    preopen.host.display().to_string()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    let (import, invocation) = shim_invocation(case, false);
    let mut steps = vec![Step::Say(format!(
        "{why}: transpile the guest and run its JavaScript with preview2-shim{}.",
        if files.is_some() {
            "'s preopens set"
        } else {
            ""
        }
    ))];
    let peer = responder(&case.run, false);
    steps.extend(peer.steps);
    steps.extend(peer.responder);
    steps.extend([
        Step::Shell(format!(
            "npm install @bytecodealliance/jco@{version} @bytecodealliance/preview2-shim{runtime}\nnpx jco transpile {} -o {}\n{}{}{}{}{run} reproduce.mjs{}",
            quote(component),
            quote(&case.guest),
            files.map_or(String::new(), Files::shell),
            stdin_pipe(&case.run),
            environment_prefix(&case.run),
            peer.prefix,
            stdio_redirections(&case.run),
        )),
        Step::File {
            name: "reproduce.mjs".into(),
            language: "js",
            text: format!(
                "{import}
{preopen}
{invocation}
const {{ run }} = await import('./{guest}/{guest}.js');
run.run();
",
                guest = case.guest,
            ),
        },
    ]);
    steps
}

/// `NAME=VALUE ` before the command for each variable the case sets, and
/// `WITNESS_LOOPBACK=127.0.0.1 ` for a case with `[run.sockets]`:
/// preview2-shim gives the guest the process's environment.
fn environment_prefix(settings: &RunSettings) -> String {
    let loopback = (settings.sockets.iter())
        .map(|_| (crate::host::world::sockets::ADDRESS_VARIABLE, "127.0.0.1"));
    (settings.invocation.environment.iter())
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain(loopback)
        .map(|(name, value)| format!("{name}={} ", quote(value)))
        .collect()
}

/// The guest's world asks for its invocation (`wasi:cli/environment`):
/// what it sees of its environment is then the case's, not a shell's.
fn reads_environment(settings: &RunSettings) -> bool {
    settings.needs.interfaces.contains("wasi:cli/environment")
}

/// Redirections that make the case's standard streams what they are in
/// witness's run, for a guest that asks whether they are terminals: the
/// reproduction runs from a terminal, whose streams the case's pipes
/// replace. Nothing for other guests.
fn stdio_redirections(settings: &RunSettings) -> String {
    use crate::host::world::cli::Stream;
    let asks = ["stdin", "stdout", "stderr"]
        .iter()
        .any(|stream| (settings.needs.interfaces).contains(&format!("wasi:cli/terminal-{stream}")));
    if !asks {
        return String::new();
    }
    let terminal = &settings.invocation.terminal;
    let mut redirections = String::new();
    if !terminal.contains(&Stream::Stdin) && settings.stdin.is_empty() {
        redirections.push_str(" < /dev/null");
    }
    if !terminal.contains(&Stream::Stderr) {
        redirections.push_str(" 2> >(cat >&2)");
    }
    if !terminal.contains(&Stream::Stdout) {
        redirections.push_str(" | cat");
    }
    redirections
}

/// The import and the lines of a script that set up preview2-shim's
/// invocation for the case: its arguments, and its initial working
/// directory and, in a page (`in_page`, where no process environment
/// is) or for a guest that reads its environment, its environment: the
/// case's, with `WITNESS_LOOPBACK` for a sockets case.
fn shim_invocation(case: &Case, in_page: bool) -> (String, String) {
    let invocation = &case.run.invocation;
    let arguments = [case.guest.as_str(), case.scenario.as_str()]
        .into_iter()
        .chain(invocation.arguments.iter().map(String::as_str));
    let mut setters = vec!["_setArgs"];
    let mut lines = vec![format!("_setArgs({:?});", arguments.collect::<Vec<_>>())];
    if (in_page && !invocation.environment.is_empty()) || reads_environment(&case.run) {
        setters.push("_setEnv");
        let loopback = (case.run.sockets.iter())
            .map(|_| (crate::host::world::sockets::ADDRESS_VARIABLE, "127.0.0.1"));
        let pairs: Vec<String> = (invocation.environment.iter())
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain(loopback)
            .map(|(name, value)| format!("{name:?}: {value:?}"))
            .collect();
        lines.push(match pairs.is_empty() {
            true => "_setEnv({});".to_string(),
            false => format!("_setEnv({{ {} }});", pairs.join(", ")),
        });
    }
    if let Some(cwd) = &invocation.initial_cwd {
        setters.push("_setCwd");
        lines.push(format!("_setCwd({cwd:?});"));
    }
    (
        format!(
            "import {{ {} }} from '@bytecodealliance/preview2-shim/cli';",
            setters.join(", ")
        ),
        lines.join("\n"),
    )
}

/// jco's JSPI transpilation in a page of chromium, preview2-shim's browser
/// build resolved by an import map: what the run wrote goes to the console.
fn jco_browser_page(entry: &Entry, component: &str, case: &Case) -> Vec<Step> {
    let version = entry.version.as_deref().unwrap_or("latest");
    let (import, invocation) = shim_invocation(case, true);
    let preopen = match &case.run.files {
        Some(files) => {
            let links = files.hard_links();
            let imported = if links.is_empty() { "" } else { ", preopens" };
            let mut text = format!(
                "\nimport {{ _setPreopens{imported} }} from '@bytecodealliance/preview2-shim/filesystem';\n_setPreopens({{ {} }});",
                (files.preopens.iter())
                    .map(|preopen| format!(
                        "{:?}: {}",
                        preopen.guest,
                        files.in_memory(&preopen.host)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !links.is_empty() {
                text.push_str("\n// A file's further names, made as a guest's link-at makes them (so the shim counts them).\nconst dirs = preopens.getDirectories().map(([dir]) => dir);");
                for ((from, old), (to, new)) in links {
                    text.push_str(&format!(
                        "\ndirs[{from}].linkAt({{ symlinkFollow: false }}, {old:?}, dirs[{to}], {new:?});"
                    ));
                }
            }
            text
        }
        None => String::new(),
    };
    let stdin = if case.run.stdin.is_empty() {
        String::new()
    } else {
        format!(
            "\n// The guest's stdin.\nimport {{ _setStdin }} from '@bytecodealliance/preview2-shim/cli';\nlet stdin = new TextEncoder().encode({:?});\n_setStdin({{\n  blockingRead(len) {{\n    if (stdin.length === 0) throw {{ tag: 'closed' }};\n    const taken = stdin.slice(0, Number(len));\n    stdin = stdin.slice(taken.length);\n    return taken;\n  }},\n}});",
            String::from_utf8_lossy(&case.run.stdin)
        )
    };
    let peer = responder(&case.run, true);
    let mut steps = peer.steps;
    steps.extend(peer.responder);
    if !steps.is_empty() {
        steps.push(Step::Say(format!(
            "In a browser, start it with `sudo python3 responder.py` (port 80) and add `--host-resolver-rules=\"MAP witness.invalid {RESPONDER_ADDRESS}\"` to chromium's options below: the `hosts` file is not needed."
        )));
    }
    steps.extend([
        Step::Say("Transpile the guest for the browser (JSPI suspends its blocking calls), then open this page in chromium (as `chromium --headless --enable-logging=stderr --v=0 http://localhost:8000/`, or with its console open): what the guest writes, and how it ended, go to the console.".into()),
        Step::Shell(format!(
            "npm install @bytecodealliance/jco@{version} @bytecodealliance/preview2-shim\nnpx jco transpile {} -o {} --async-mode jspi --async-wasi-imports --async-wasi-exports\npython3 -m http.server 8000",
            quote(component),
            quote(&case.guest),
        )),
        Step::File {
            name: "index.html".into(),
            language: "html",
            text: format!(
                r#"<!doctype html>
<script type="importmap">
{{ "imports": {{ {imports} }} }}
</script>
<script type="module">
{import}{preopen}{stdin}
{invocation}
const {{ run }} = await import('./{guest}/{guest}.js');
try {{
  await run.run();
  console.log('completed');
}} catch (error) {{
  console.log('ended by', error);
}}
</script>
"#,
                guest = case.guest,
                imports = ["cli", "clocks", "filesystem", "http", "io", "random", "sockets"]
                    .map(|name| format!("\"@bytecodealliance/preview2-shim/{name}\": \"./node_modules/@bytecodealliance/preview2-shim/dist/browser/{name}.js\""))
                    .join(", "),
            ),
        },
    ]);
    steps
}

fn stdin_pipe(settings: &RunSettings) -> String {
    if settings.stdin.is_empty() {
        return String::new();
    }
    format!(
        "printf '%s' {} | ",
        quote(&String::from_utf8_lossy(&settings.stdin))
    )
}

fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| format!("{word:?}"), |quoted| quoted.into_owned())
}

fn quote_all<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(quote).collect::<Vec<_>>().join(" ")
}
