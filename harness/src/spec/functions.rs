//! The functions of a WIT tree — every freestanding function, method,
//! constructor and static function — with what their results hand out:
//! the resources (so a guest's method call can be told apart by what is in
//! play) and the error types (an enum or variant in a result's error).

use super::without_version;
use std::collections::{BTreeMap, BTreeSet};
use wit_parser::{
    FunctionKind, Handle, InterfaceId, PackageId, Resolve, Type, TypeDefKind, TypeId,
};

/// One function of the WIT.
#[derive(Clone, Debug)]
pub struct Function {
    /// Its item name: `wasi:io/poll#pollable.ready`, `wasi:io/poll#poll`.
    pub item: String,
    /// `wasi:io/poll`.
    pub interface: String,
    pub kind: Kind,
    /// The resource a method, constructor or static function belongs to:
    /// `pollable`.
    pub resource: Option<String>,
    /// Its name in its resource or interface: `ready`, `subscribe-duration`
    /// (`constructor` for a constructor).
    pub name: String,
    /// Its name among the component's imports: `[method]pollable.ready`.
    pub import_name: String,
    /// The resources its result hands out, as items: `wasi:io/poll#pollable`.
    pub hands_out: BTreeSet<String>,
    /// The error types its result can carry, as items:
    /// `wasi:io/streams#stream-error`.
    pub errors: BTreeSet<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Freestanding,
    Method,
    Static,
    Constructor,
}

/// `wasi:io/poll` → `wasi:io`.
pub fn package_of(interface: &str) -> &str {
    interface.split('/').next().unwrap_or(interface)
}

/// Every function of `resolve` but those of package `skip`, and each error
/// type's case names (`wasi:io/streams#stream-error` → `last-operation-failed`,
/// `closed`).
pub fn read(
    resolve: &Resolve,
    skip: Option<PackageId>,
) -> (Vec<Function>, BTreeMap<String, Vec<String>>) {
    let mut functions = Vec::new();
    let mut error_cases = BTreeMap::new();
    for (id, interface) in resolve.interfaces.iter() {
        let Some(name) =
            interface_name(resolve, id).filter(|_| skip.is_none() || interface.package != skip)
        else {
            continue;
        };
        for function in interface.functions.values() {
            let (kind, resource) = match function.kind {
                FunctionKind::Freestanding | FunctionKind::AsyncFreestanding => {
                    (Kind::Freestanding, None)
                }
                FunctionKind::Method(resource) | FunctionKind::AsyncMethod(resource) => {
                    (Kind::Method, Some(resource))
                }
                FunctionKind::Static(resource) | FunctionKind::AsyncStatic(resource) => {
                    (Kind::Static, Some(resource))
                }
                FunctionKind::Constructor(resource) => (Kind::Constructor, Some(resource)),
            };
            let resource =
                resource.map(|resource| resolve.types[resource].name.clone().unwrap_or_default());
            let member = match &resource {
                Some(resource) => format!("{resource}.{}", function.item_name()),
                None => function.name.clone(),
            };
            let mut walked = Walked::default();
            if let Some(result) = &function.result {
                walked.walk(resolve, result, false);
            }
            for &error in &walked.errors {
                error_cases.insert(type_item(resolve, error), cases(resolve, error));
            }
            functions.push(Function {
                item: format!("{name}#{member}"),
                interface: name.clone(),
                kind,
                resource,
                name: function.item_name().to_string(),
                import_name: function.name.clone(),
                hands_out: walked
                    .resources
                    .iter()
                    .map(|&id| type_item(resolve, id))
                    .collect(),
                errors: walked
                    .errors
                    .iter()
                    .map(|&id| type_item(resolve, id))
                    .collect(),
            });
        }
    }
    (functions, error_cases)
}

/// `wasi:io/poll`, the version left out.
fn interface_name(resolve: &Resolve, id: InterfaceId) -> Option<String> {
    resolve.id_of(id).map(|name| without_version(&name).0)
}

/// What a result type holds, aliases followed to their definitions.
#[derive(Default)]
struct Walked {
    resources: BTreeSet<TypeId>,
    errors: BTreeSet<TypeId>,
}

impl Walked {
    fn walk(&mut self, resolve: &Resolve, ty: &Type, in_error: bool) {
        let Type::Id(id) = ty else {
            return;
        };
        let id = definition(resolve, *id);
        match &resolve.types[id].kind {
            TypeDefKind::Handle(Handle::Own(resource) | Handle::Borrow(resource)) => {
                self.resources.insert(definition(resolve, *resource));
            }
            TypeDefKind::Resource => {
                self.resources.insert(id);
            }
            TypeDefKind::Result(result) => {
                if let Some(ok) = &result.ok {
                    self.walk(resolve, ok, in_error);
                }
                if let Some(error) = &result.err {
                    self.walk(resolve, error, true);
                }
            }
            TypeDefKind::Option(inner) | TypeDefKind::List(inner) => {
                self.walk(resolve, inner, in_error)
            }
            TypeDefKind::Tuple(tuple) => tuple
                .types
                .iter()
                .for_each(|inner| self.walk(resolve, inner, in_error)),
            TypeDefKind::Enum(_) | TypeDefKind::Variant(_) if in_error => {
                self.errors.insert(id);
            }
            _ => {}
        }
    }
}

/// The type an alias (`use wasi:io/poll.{pollable}`) stands for.
fn definition(resolve: &Resolve, mut id: TypeId) -> TypeId {
    while let TypeDefKind::Type(Type::Id(aliased)) = resolve.types[id].kind {
        id = aliased;
    }
    id
}

/// `wasi:io/poll#pollable`.
fn type_item(resolve: &Resolve, id: TypeId) -> String {
    let definition = &resolve.types[id];
    let name = definition.name.clone().unwrap_or_default();
    match definition.owner {
        wit_parser::TypeOwner::Interface(interface) => {
            format!(
                "{}#{name}",
                interface_name(resolve, interface).unwrap_or_default()
            )
        }
        _ => name,
    }
}

/// An enum's or variant's case names.
fn cases(resolve: &Resolve, id: TypeId) -> Vec<String> {
    match &resolve.types[id].kind {
        TypeDefKind::Enum(enumeration) => {
            enumeration.cases.iter().map(|c| c.name.clone()).collect()
        }
        TypeDefKind::Variant(variant) => variant.cases.iter().map(|c| c.name.clone()).collect(),
        _ => Vec::new(),
    }
}
