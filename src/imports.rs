//! What a module imports, checked against its `import module.name(...)` annotations.
//!
//! Function imports from `wasi_snapshot_preview1` are served by WASI; every other function
//! import is a host import, written in Python and bound by `module.name`. Anything else
//! (imported memories, tables, globals, tags, other WASI versions) is refused here with a
//! message that says how to build the module instead.

use crate::error::Error;
use crate::model::{self, Param};
use crate::sig::{Annotations, Ty};
use crate::wasm::{CoreSig, Import, ImportKind, WasmModule};

/// The WASI version wasm2py serves (what wasm32-wasip1 and wasi-libc import).
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// One host import as both backends see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostImport {
    pub module: String,
    pub name: String,
    /// As annotated (Python names from `model::param_name`), else `arg0`, `arg1`, ... with
    /// the core types read as signed numbers.
    pub params: Vec<Param>,
    /// Never bytes, str or a list.
    pub result: Option<Ty>,
    pub annotated: bool,
    /// The import's type in the module.
    pub core: CoreSig,
    pub docs: Vec<String>,
}

impl HostImport {
    /// `module.name`: the key of the generated `imports={...}` mapping.
    pub fn key(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// The imports of a module that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Imports {
    /// Host functions, in the module's import order, each `module.name` once.
    pub host: Vec<HostImport>,
    /// True when the module imports any `wasi_snapshot_preview1` function.
    pub wasi: bool,
}

/// How to build a module that imports only what wasm2py serves.
const WASI_BUILD: &str = "build for wasm32-wasip1 (Rust: `cargo build --target wasm32-wasip1`; \
                          C: wasi-libc, `clang --target=wasm32-wasip1`)";

/// Checks the imports of `module` and the import annotations in `anns` against each other.
///
/// `module_file` names the module in messages. Errors about the module come first (in
/// import order), then errors about annotations (in the order written).
pub fn check(
    module_file: &str,
    module: &WasmModule,
    anns: Option<&Annotations>,
) -> Result<Imports, Error> {
    let mut wasi = false;
    // Host imports with their core type, each `module.name` once.
    let mut host: Vec<(&Import, &CoreSig)> = Vec::new();
    for import in &module.imports {
        let key = import.key();
        let core = match &import.kind {
            ImportKind::Func(core) => core,
            other => {
                let kind = other.name();
                let advice = match other {
                    ImportKind::Memory => {
                        "export the memory instead (for C, do not pass --import-memory to the linker)"
                    }
                    ImportKind::Table => {
                        "define the table in the module instead (for C, do not pass --import-table to the linker)"
                    }
                    _ => "define it in the module instead",
                };
                return Err(Error::module(
                    module_file,
                    format!(
                        "the module imports the {kind} `{key}`; wasm2py supports function imports only: {advice}"
                    ),
                ));
            }
        };
        if import.module == WASI_MODULE {
            wasi = true;
            continue;
        }
        if let Some(version) = other_wasi(&import.module) {
            return Err(Error::module(
                module_file,
                format!(
                    "the module imports `{key}` from {version}; wasm2py supports WASI preview 1 \
                     (`{WASI_MODULE}`) only: {WASI_BUILD}"
                ),
            ));
        }
        if !core.is_numeric() {
            return Err(Error::module(
                module_file,
                format!(
                    "the module imports `{key}` with type {core}, which has values a Python host \
                     function cannot take or return; import it with numbers only"
                ),
            ));
        }
        if core.results.len() > 1 {
            return Err(Error::module(
                module_file,
                format!(
                    "the module imports `{key}` with type {core}; a host function returns at most one value"
                ),
            ));
        }
        // The same function imported twice (wasm allows it): one host function, one type.
        if let Some((first, first_core)) = host.iter().find(|(i, _)| i.key() == key) {
            if first.module != import.module || first.name != import.name {
                return Err(Error::module(
                    module_file,
                    format!(
                        "the module imports {:?} {:?} and {:?} {:?}, both named `{key}`; host \
                         functions are bound by that name, so rename one of them",
                        first.module, first.name, import.module, import.name
                    ),
                ));
            }
            if *first_core != core {
                return Err(Error::module(
                    module_file,
                    format!(
                        "the module imports `{key}` twice, with types {first_core} and {core}; \
                         a host function has one type"
                    ),
                ));
            }
            continue;
        }
        host.push((import, core));
    }

    if let Some(anns) = anns {
        for a in &anns.imports {
            let key = a.key();
            if a.module == WASI_MODULE {
                return Err(anns.error_at(
                    a.pos,
                    format!("`{key}` is served by WASI, not annotated; remove its annotation"),
                    Some(format!(
                        "`{WASI_MODULE}` functions are provided to every WASI module; only host imports are annotated"
                    )),
                ));
            }
            let Some((_, core)) = host
                .iter()
                .find(|(i, _)| i.module == a.module && i.name == a.name)
            else {
                let names: Vec<String> = host.iter().map(|(i, _)| i.key()).collect();
                return Err(anns.error_at(
                    a.pos,
                    format!("`{key}` is annotated but the module imports no function of that name"),
                    Some(if names.is_empty() {
                        "the module has no host imports".to_string()
                    } else {
                        format!("host imports: {}", names.join(", "))
                    }),
                ));
            };
            for (i, p) in a.params.iter().enumerate() {
                if p.name.starts_with('_') {
                    return Err(anns.error_at(
                        p.pos,
                        format!(
                            "parameter `{}` of `{key}` starts with `_`, which the generated code reserves for its own names",
                            p.name
                        ),
                        Some("rename the parameter".to_string()),
                    ));
                }
                let py = model::param_name(&p.name);
                if let Some(other) = a.params[..i]
                    .iter()
                    .find(|o| model::param_name(&o.name) == py)
                {
                    return Err(anns.error_at(
                        p.pos,
                        format!(
                            "parameters `{}` and `{}` of `{key}` both become the Python name `{py}`",
                            other.name, p.name
                        ),
                        Some("rename one of them".to_string()),
                    ));
                }
            }
            let tys: Vec<Ty> = a.params.iter().map(|p| p.ty).collect();
            let lowered = model::lower(&tys, a.result.map(|(t, _)| t));
            if &lowered != *core {
                return Err(anns.error_at(
                    a.pos,
                    format!(
                        "`{a}` does not match the import: the annotation lowers to {lowered}, the module's `{key}` has type {core}"
                    ),
                    Some(lowering_hint(&lowered, core)),
                ));
            }
        }
    }

    let host = host
        .into_iter()
        .map(
            |(import, core)| match anns.and_then(|a| a.import(&import.module, &import.name)) {
                Some(a) => HostImport {
                    module: import.module.clone(),
                    name: import.name.clone(),
                    params: a
                        .params
                        .iter()
                        .map(|p| Param {
                            name: model::param_name(&p.name),
                            ty: p.ty,
                        })
                        .collect(),
                    result: a.result.map(|(t, _)| t),
                    annotated: true,
                    core: core.clone(),
                    docs: a.docs.clone(),
                },
                None => HostImport {
                    module: import.module.clone(),
                    name: import.name.clone(),
                    params: core
                        .params
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Param {
                            name: format!("arg{i}"),
                            ty: model::unannotated_ty(*t),
                        })
                        .collect(),
                    result: core.results.first().map(|t| model::unannotated_ty(*t)),
                    annotated: false,
                    core: core.clone(),
                    docs: Vec::new(),
                },
            },
        )
        .collect();
    Ok(Imports { host, wasi })
}

/// The WASI version a module name stands for, when it is one wasm2py does not serve.
fn other_wasi(module: &str) -> Option<String> {
    if module == "wasi_unstable" {
        Some("`wasi_unstable`, the WASI version before preview 1".to_string())
    } else if module.starts_with("wasi:") {
        Some(format!(
            "`{module}`, a WASI 0.2 (component model) interface"
        ))
    } else {
        None
    }
}

/// What to look at when an import annotation lowers to another type than the import's.
fn lowering_hint(annotation: &CoreSig, import: &CoreSig) -> String {
    if annotation.params.len() != import.params.len() {
        return "bytes, str and list parameters each take two wasm parameters (pointer, length); \
                i64/u64 lower to i64, f32/f64 to themselves, every other type to i32"
            .to_string();
    }
    if annotation.results.len() != import.results.len() {
        return "an import without `-> type` has no result; with one, it returns one number, \
                bool or ptr"
            .to_string();
    }
    "i64/u64 lower to i64, f32/f64 to themselves, i8..u32, bool and ptr to i32".to_string()
}
