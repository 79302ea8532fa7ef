//! Which WIT functions a scenario's code path calls, read from the guest's
//! Rust source by the names wit-bindgen gives them: a path
//! (`create_tcp_socket(..)`, `monotonic_clock::now()`, `Fields::new()`,
//! `OutgoingBody::finish(..)`), resolved through the file's `use`s, names a
//! freestanding, static or constructor function; a method call
//! (`socket.start_bind(..)`) names every WIT method of that name on a
//! resource in play — one the code path names, or one a call it makes hands
//! out — since syn knows no types. `common::raw`'s unchecked imports count
//! as the functions they import.
//!
//! So "calls" over-approximates where one method name fits two resources in
//! play (a `get` on a `Vec` beside `Fields`), and never counts what the
//! shared guest plumbing calls (argv, stdout, environment): a function is
//! called when the scenario's own code calls it.

use crate::code_path::CodePath;
use crate::spec::functions::{Function, Kind};
use heck::{ToSnakeCase, ToUpperCamelCase};
use std::collections::{BTreeMap, BTreeSet};
use syn::visit::Visit;

/// The WIT functions under their Rust names.
pub struct Bindings<'s> {
    /// `wasi::io::poll::poll`, `wasi::http::types::Fields::new`.
    by_path: BTreeMap<String, &'s Function>,
    /// `start_bind` → every method of that name.
    methods: BTreeMap<String, Vec<&'s Function>>,
    /// `wasi::sockets::tcp::TcpSocket` → `wasi:sockets/tcp#tcp-socket`.
    resources: BTreeMap<String, String>,
    /// `poll` (a function of `common::raw`) → the function it imports.
    raw: BTreeMap<String, &'s Function>,
}

impl<'s> Bindings<'s> {
    /// The bindings of `functions`; `raw_source` is `common::raw`'s source,
    /// whose `#[link_name = ".."] pub fn name` declarations it reads.
    pub fn new(functions: &'s [Function], raw_source: &str) -> Bindings<'s> {
        let mut bindings = Bindings {
            by_path: BTreeMap::new(),
            methods: BTreeMap::new(),
            resources: BTreeMap::new(),
            raw: BTreeMap::new(),
        };
        for function in functions {
            let module = rust_module(&function.interface);
            let rust_name = function.name.to_snake_case();
            match (function.kind, &function.resource) {
                (Kind::Method, Some(resource)) => {
                    // `socket.start_bind(..)`, or `TcpSocket::start_bind(&socket, ..)`.
                    let path = format!("{module}::{}", resource.to_upper_camel_case());
                    bindings
                        .by_path
                        .insert(format!("{path}::{rust_name}"), function);
                    bindings
                        .methods
                        .entry(rust_name)
                        .or_default()
                        .push(function);
                }
                (Kind::Freestanding, _) | (_, None) => {
                    bindings
                        .by_path
                        .insert(format!("{module}::{rust_name}"), function);
                }
                (Kind::Static | Kind::Constructor, Some(resource)) => {
                    let name = if function.kind == Kind::Constructor {
                        "new".to_string()
                    } else {
                        rust_name
                    };
                    let path = format!("{module}::{}", resource.to_upper_camel_case());
                    bindings.by_path.insert(format!("{path}::{name}"), function);
                }
            }
            if let Some(resource) = &function.resource {
                bindings.resources.insert(
                    format!("{module}::{}", resource.to_upper_camel_case()),
                    format!("{}#{resource}", function.interface),
                );
            }
        }
        for (rust_name, import_name) in raw_imports(raw_source) {
            let mut importing = functions.iter().filter(|f| f.import_name == import_name);
            if let (Some(function), None) = (importing.next(), importing.next()) {
                bindings.raw.insert(rust_name, function);
            }
        }
        bindings
    }

    /// The items of the WIT functions `path` calls; `file` is the guest's
    /// source it was found in, whose `use`s name what the code path names.
    pub fn calls(&self, file: &syn::File, path: &CodePath) -> BTreeSet<String> {
        let mut seen = Seen {
            uses: uses(file),
            paths: BTreeSet::new(),
            methods: BTreeSet::new(),
            variables: BTreeMap::new(),
            returns: BTreeMap::new(),
            callables: BTreeMap::new(),
        };
        for item in &file.items {
            if let syn::Item::Fn(function) = item
                && let syn::ReturnType::Type(_, ty) = &function.sig.output
                && let Some(returned) = seen.type_path(ty)
            {
                seen.returns
                    .insert(function.sig.ident.to_string(), returned);
            }
        }
        path.visit(&mut seen);
        let mut called: BTreeMap<&str, &Function> = BTreeMap::new();
        let mut in_play = BTreeSet::new();
        for full in &seen.paths {
            if let Some(&function) = self.by_path.get(full) {
                called.insert(&function.item, function);
            } else if let Some(resource) = self.resources.get(full) {
                in_play.insert(resource.clone());
            } else if let Some(&function) =
                (full.strip_prefix("common::raw::")).and_then(|name| self.raw.get(name))
            {
                called.insert(&function.item, function);
            }
        }
        // What is called hands out resources whose methods may then be called.
        loop {
            in_play.extend(called.values().flat_map(|f| f.hands_out.iter().cloned()));
            let before = called.len();
            for method in &seen.methods {
                let candidates = self.methods.get(&method.name).into_iter().flatten();
                let receiver = method
                    .receiver
                    .as_deref()
                    .map(|receiver| self.receiver(receiver));
                match receiver {
                    // The receiver's resource is known: its method, if it has one.
                    Some(Receiver::Resource(resource)) => candidates
                        .filter(|function| resource_item(function) == resource)
                        .for_each(|&function| {
                            called.insert(&function.item, function);
                        }),
                    // Not a WIT resource (a `Vec`, a `String`): no WIT call.
                    Some(Receiver::NotWit) => {}
                    None | Some(Receiver::OneOfSeveral) => candidates
                        .filter(|function| in_play.contains(&resource_item(function)))
                        .for_each(|&function| {
                            called.insert(&function.item, function);
                        }),
                }
            }
            if called.len() == before {
                break;
            }
        }
        called.into_keys().map(str::to_string).collect()
    }
}

/// What a method call's receiver is, as far as its written type or the
/// function it came from says.
enum Receiver {
    Resource(String),
    /// The result of a WIT function that hands out several resources.
    OneOfSeveral,
    NotWit,
}

impl Bindings<'_> {
    /// What a receiver known by `path` is: a resource type, a WIT function's
    /// result, or anything else.
    fn receiver(&self, path: &str) -> Receiver {
        if let Some(resource) = self.resources.get(path) {
            return Receiver::Resource(resource.clone());
        }
        let Some(function) = self.by_path.get(path) else {
            return Receiver::NotWit;
        };
        let mut handed = function.hands_out.iter();
        match (handed.next(), handed.next()) {
            (Some(resource), None) => Receiver::Resource(resource.clone()),
            (Some(_), Some(_)) => Receiver::OneOfSeveral,
            _ => Receiver::NotWit,
        }
    }
}

/// `wasi:io/poll#pollable` for a method of `pollable` in `wasi:io/poll`.
fn resource_item(function: &Function) -> String {
    format!(
        "{}#{}",
        function.interface,
        function.resource.as_deref().unwrap_or_default()
    )
}

/// `wasi:sockets/tcp-create-socket` → `wasi::sockets::tcp_create_socket`,
/// as wit-bindgen's `generate!` at the crate's root names it.
fn rust_module(interface: &str) -> String {
    interface
        .split([':', '/'])
        .map(|part| part.to_snake_case())
        .collect::<Vec<_>>()
        .join("::")
}

/// `(rust name, import name)` of each `#[link_name = "<import>"] pub fn
/// <name>` in `source`, macro bodies included (read as text: syn does not
/// parse a `macro_rules!` body). `common::raw`'s wrappers are named as the
/// declarations they call; the import's module is a macro's argument, so
/// an import name two interfaces share is left unresolved.
fn raw_imports(source: &str) -> Vec<(String, String)> {
    let mut imports = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("#[link_name = \"") {
        rest = &rest[at + "#[link_name = \"".len()..];
        let Some((import, after)) = rest.split_once('"') else {
            break;
        };
        // The declaration the attribute is on: `"]`, then `pub fn <name>`.
        if let Some(declared) =
            (after.strip_prefix(']')).and_then(|rest| rest.trim_start().strip_prefix("pub fn "))
        {
            let name: String = declared
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            imports.push((name, import.to_string()));
        }
        rest = after;
    }
    imports
}

/// The file's `use` declarations: each name brought in → its full path.
fn uses(file: &syn::File) -> BTreeMap<String, String> {
    fn flatten(tree: &syn::UseTree, prefix: &str, out: &mut BTreeMap<String, String>) {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}::{name}")
            }
        };
        match tree {
            // An included module names the guest's bindings from the crate root.
            syn::UseTree::Path(path) if prefix.is_empty() && path.ident == "crate" => {
                flatten(&path.tree, prefix, out)
            }
            syn::UseTree::Path(path) => flatten(&path.tree, &join(&path.ident.to_string()), out),
            syn::UseTree::Name(name) => {
                out.insert(name.ident.to_string(), join(&name.ident.to_string()));
            }
            syn::UseTree::Rename(rename) => {
                out.insert(rename.rename.to_string(), join(&rename.ident.to_string()));
            }
            syn::UseTree::Group(group) => group
                .items
                .iter()
                .for_each(|tree| flatten(tree, prefix, out)),
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut out = BTreeMap::new();
    for item in &file.items {
        if let syn::Item::Use(declaration) = item {
            flatten(&declaration.tree, "", &mut out);
        }
    }
    out
}

/// The full paths and the method calls a code path mentions.
struct Seen {
    uses: BTreeMap<String, String>,
    paths: BTreeSet<String>,
    methods: BTreeSet<MethodCall>,
    /// The variables of the function being read whose type is written
    /// (`stream: OutputStream`, `let s: TcpSocket`) or is what a path call
    /// returned (`let stderr = get_stderr();`): name → the full path.
    variables: BTreeMap<String, String>,
    /// The file's own functions' return types: name → the full path.
    returns: BTreeMap<String, String>,
    /// The parameters of the function being read that are closures
    /// (`headers: impl FnOnce(&P) -> Fields`): name → what a call returns.
    callables: BTreeMap<String, String>,
}

/// A method call, and what its receiver is known to be: the full path of
/// its type, or of the function whose result it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct MethodCall {
    name: String,
    receiver: Option<String>,
}

impl Seen {
    /// `segments` as a full path, its first segment resolved through the `use`s.
    fn full(&self, path: &syn::Path) -> String {
        let mut segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.first().is_some_and(|first| first == "crate") {
            segments.remove(0);
        }
        if let Some(full) = segments.first().and_then(|first| self.uses.get(first)) {
            segments[0] = full.clone();
        }
        segments.join("::")
    }

    /// The full path of a type written `T`, `&T` or `&mut T`; of `T` for
    /// `Option<T>` and `Result<T, E>`, which a guest unwraps.
    fn type_path(&self, ty: &syn::Type) -> Option<String> {
        match ty {
            syn::Type::Path(path) => {
                let last = path.path.segments.last()?;
                if ["Option", "Result"].contains(&last.ident.to_string().as_str())
                    && let syn::PathArguments::AngleBracketed(arguments) = &last.arguments
                    && let Some(syn::GenericArgument::Type(inner)) = arguments.args.first()
                {
                    return self.type_path(inner);
                }
                Some(self.full(&path.path))
            }
            syn::Type::Reference(reference) => self.type_path(&reference.elem),
            _ => None,
        }
    }

    /// What a closure of type `impl Fn(..) -> R` (or `FnMut`, `FnOnce`)
    /// returns: `R`'s full path.
    fn closure_returns(&self, ty: &syn::Type) -> Option<String> {
        let syn::Type::ImplTrait(bounds) = ty else {
            return None;
        };
        bounds.bounds.iter().find_map(|bound| match bound {
            syn::TypeParamBound::Trait(bound) => {
                let last = bound.path.segments.last()?;
                match &last.arguments {
                    syn::PathArguments::Parenthesized(arguments)
                        if ["Fn", "FnMut", "FnOnce"].contains(&last.ident.to_string().as_str()) =>
                    {
                        match &arguments.output {
                            syn::ReturnType::Type(_, returned) => self.type_path(returned),
                            syn::ReturnType::Default => None,
                        }
                    }
                    _ => None,
                }
            }
            _ => None,
        })
    }

    /// What an expression is known to be: a variable's type, or the full
    /// path of the function a call, unwrapped or not, returned from.
    fn known(&self, expression: &syn::Expr) -> Option<String> {
        match expression {
            syn::Expr::Path(path) => path
                .path
                .get_ident()
                .and_then(|ident| self.variables.get(&ident.to_string()).cloned()),
            syn::Expr::Call(call) => match &*call.func {
                // A closure the function takes, or one of the file's own
                // functions: what it says it returns.
                syn::Expr::Path(path) => (path.path.get_ident())
                    .and_then(|ident| {
                        let name = ident.to_string();
                        (self.callables.get(&name))
                            .or_else(|| self.returns.get(&name))
                            .cloned()
                    })
                    .or_else(|| Some(self.full(&path.path))),
                _ => None,
            },
            syn::Expr::MethodCall(call)
                if ["expect", "unwrap"].contains(&call.method.to_string().as_str()) =>
            {
                self.known(&call.receiver)
            }
            syn::Expr::Try(attempt) => self.known(&attempt.expr),
            syn::Expr::Reference(reference) => self.known(&reference.expr),
            syn::Expr::Paren(inner) => self.known(&inner.expr),
            _ => None,
        }
    }
}

impl Visit<'_> for Seen {
    fn visit_path(&mut self, path: &syn::Path) {
        let full = self.full(path);
        self.paths.insert(full);
        syn::visit::visit_path(self, path);
    }

    fn visit_item_fn(&mut self, function: &syn::ItemFn) {
        self.variables.clear();
        self.callables.clear();
        for input in &function.sig.inputs {
            if let syn::FnArg::Typed(typed) = input
                && let syn::Pat::Ident(name) = &*typed.pat
            {
                let name = name.ident.to_string();
                if let Some(ty) = self.type_path(&typed.ty) {
                    self.variables.insert(name, ty);
                } else if let Some(returned) = self.closure_returns(&typed.ty) {
                    self.callables.insert(name, returned);
                }
            }
        }
        syn::visit::visit_item_fn(self, function);
    }

    fn visit_local(&mut self, local: &syn::Local) {
        let known = match &local.pat {
            syn::Pat::Type(typed) => self.type_path(&typed.ty).map(|ty| (&*typed.pat, ty)),
            pattern => (local.init.as_ref())
                .and_then(|init| self.known(&init.expr))
                .map(|ty| (pattern, ty)),
        };
        match (known, &local.pat) {
            (Some((syn::Pat::Ident(name), ty)), _) => {
                self.variables.insert(name.ident.to_string(), ty);
            }
            // Shadowed by a value of unknown type: what it was no longer holds.
            (None, syn::Pat::Ident(name)) => {
                self.variables.remove(&name.ident.to_string());
            }
            _ => {}
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
        self.methods.insert(MethodCall {
            name: call.method.to_string(),
            receiver: self.known(&call.receiver),
        });
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, invocation: &syn::Macro) {
        for expression in &crate::code_path::macro_arguments(invocation) {
            self.visit_expr(expression);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_path::CodePath;
    use std::path::Path;

    fn calls_of(wit: &str, guest: &str, scenario: &str) -> BTreeSet<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.wit"), wit).unwrap();
        let mut resolve = wit_parser::Resolve::default();
        resolve.push_dir(dir.path()).unwrap();
        let (functions, _) = crate::spec::functions::read(&resolve, None);
        let raw = "#[link_name = \"[method]door.open\"]\n pub fn door_open(h: u32);";
        let bindings = Bindings::new(&functions, raw);
        let file = syn::parse_file(guest).unwrap();
        let path = CodePath::find(&file, scenario, Path::new("lib.rs")).unwrap();
        bindings.calls(&file, &path)
    }

    const WIT: &str = "package t:x;
interface house {
  resource door { open: func(); close: func(); }
  resource window { open: func(); }
  front-door: func() -> door;
}
interface car {
  resource door { open: func(); }
}
";

    #[test]
    fn a_closure_parameter_returns_what_its_type_says() {
        let guest = r#"use t::x::house::{front_door, Door};
common::command![("shut", || shut(front_door(), |door| door))];
fn shut<P>(parent: P, get: impl FnOnce(P) -> Door) {
    let door = get(parent);
    door.close();
}
"#;
        assert_eq!(
            calls_of(WIT, guest, "shut"),
            BTreeSet::from(["t:x/house#front-door".into(), "t:x/house#door.close".into()]),
        );
    }

    #[test]
    fn a_method_call_in_a_macro_is_a_call() {
        let guest = r#"use t::x::house::front_door;
common::command![("check", || assert!(front_door().open() == ()))];
"#;
        assert_eq!(
            calls_of(WIT, guest, "check"),
            BTreeSet::from(["t:x/house#front-door".into(), "t:x/house#door.open".into()]),
        );
    }

    #[test]
    fn a_helper_of_an_included_module_is_on_the_code_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("shared.rs"),
            "use crate::t::x::house::front_door;\npub fn entrance() { front_door().close(); }\n",
        )
        .unwrap();
        let guest = r#"use shared::entrance;
#[path = "shared.rs"]
mod shared;
common::command![("enter", || entrance())];
"#;
        let lib = dir.path().join("lib.rs");
        let file = syn::parse_file(guest).unwrap();
        let file = crate::code_path::with_included_modules(file, &lib).unwrap();
        let wit = tempfile::tempdir().unwrap();
        std::fs::write(wit.path().join("x.wit"), WIT).unwrap();
        let mut resolve = wit_parser::Resolve::default();
        resolve.push_dir(wit.path()).unwrap();
        let (functions, _) = crate::spec::functions::read(&resolve, None);
        let bindings = Bindings::new(&functions, "");
        let path = CodePath::find(&file, "enter", &lib).unwrap();
        assert_eq!(
            bindings.calls(&file, &path),
            BTreeSet::from(["t:x/house#front-door".into(), "t:x/house#door.close".into()]),
        );
    }

    #[test]
    fn a_method_call_names_the_methods_of_resources_in_play() {
        let guest = r#"use t::x::house::front_door;
common::command![("enter", || front_door().open()), ("raw", || common::raw::door_open(0))];
"#;
        assert_eq!(
            calls_of(WIT, guest, "enter"),
            BTreeSet::from(["t:x/house#front-door".into(), "t:x/house#door.open".into()]),
            "window.open and the car's door.open are not in play"
        );
        assert_eq!(
            calls_of(WIT, guest, "raw"),
            BTreeSet::new(),
            "[method]door.open is imported by two interfaces: a raw import of it is not resolved"
        );
    }

    #[test]
    fn a_receiver_of_known_type_names_its_own_resource_alone() {
        let guest = r#"use t::x::house::{front_door, Window};
common::command![("both", both)];
fn both(window: &Window) {
    window.open();
    let door = front_door();
    door.close();
}
"#;
        assert_eq!(
            calls_of(WIT, guest, "both"),
            BTreeSet::from([
                "t:x/house#front-door".into(),
                "t:x/house#door.close".into(),
                "t:x/house#window.open".into()
            ]),
            "door.open is in play but no receiver is a door that opens"
        );
    }

    #[test]
    fn a_receiver_from_a_local_helper_or_a_path_call_is_of_its_type() {
        let guest = r#"use t::x::house::{front_door, Door, Window};
common::command![("helper", helper), ("path", path), ("shadowed", shadowed)];
fn helper() {
    let door = my_door();
    door.open();
    let names: Vec<u8> = Vec::new();
    names.close();
    let _ = front_door();
}
fn my_door() -> Option<Door> { None }
fn path(window: &Window) { Door::close(&front_door()); window.open() }
fn shadowed(window: &Window) { let window = window.inner; window.open(); let _ = front_door(); }
"#;
        assert_eq!(
            calls_of(WIT, guest, "helper"),
            BTreeSet::from(["t:x/house#front-door".into(), "t:x/house#door.open".into()]),
            "a door from a local helper opens; a Vec's close is no door's"
        );
        assert_eq!(
            calls_of(WIT, guest, "path"),
            BTreeSet::from([
                "t:x/house#front-door".into(),
                "t:x/house#door.close".into(),
                "t:x/house#window.open".into()
            ]),
            "a method named by its path"
        );
        assert_eq!(
            calls_of(WIT, guest, "shadowed"),
            BTreeSet::from([
                "t:x/house#front-door".into(),
                "t:x/house#door.open".into(),
                "t:x/house#window.open".into()
            ]),
            "a shadowed window is no longer known to be one: its open is any in play"
        );
    }

    #[test]
    fn a_named_resource_is_in_play_and_reached_functions_count() {
        let guest = r#"use t::x::car::Door;
common::command![("drive", drive)];
fn drive() { open_it(todo!()) }
fn open_it(door: &Door) { door.open() }
fn unrelated(w: &t::x::house::Window) { w.open() }
"#;
        assert_eq!(
            calls_of(WIT, guest, "drive"),
            BTreeSet::from(["t:x/car#door.open".into()])
        );
    }
}
