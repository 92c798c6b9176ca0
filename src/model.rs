//! The interface model: what the module offers, in the types and names Python will see.
//! Built once from the parsed module and annotations, checked, and then rendered by every
//! backend. Backends add only their own lowering details.

use crate::error::Error;
use crate::sig::{Annotations, Num, Ty};
use crate::wasm::{CoreSig, CoreType, ExportKind, OtherKind, WasmModule};
use heck::{ToSnakeCase, ToUpperCamelCase};

/// Names of the memory protocol's exports (see docs/guest-protocol.md).
pub const MEMORY: &str = "memory";
pub const BUMP_ALLOC: &str = "bump_alloc";
pub const BUMP_RESET: &str = "bump_reset";
/// The per-thread-arena marker: a guest whose native build keeps one arena per thread
/// exports this function (never called); the native backend then does not serialise the
/// calls that use the arena.
pub const ARENA_PER_THREAD: &str = "wasm2py_arena_per_thread";
/// The guest's error record: `wasm2py_error() -> ptr` returns the calling thread's
/// `{status, ptr, len}` (docs/guest-protocol.md, "Guest errors"). Never wrapped.
pub const ERROR_RECORD: &str = "wasm2py_error";
/// The arena record of protocol version 2: `wasm2py_arena() -> ptr` returns the address of
/// `{base, top, limit, busy}`, with which the host allocates inputs and resets the arena
/// without calling the guest (see docs/guest-protocol.md).
pub const ARENA_RECORD: &str = "wasm2py_arena";
/// A WASI reactor's initialiser: run once per instance, never wrapped.
pub const INITIALIZE: &str = "_initialize";
/// A WASI command's entry point: such a module is not a library.
pub const START: &str = "_start";

/// Where the annotations came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnotationSource {
    None,
    /// A sidecar file; the name shown in docs and headers (a file name, never a full path).
    File(String),
    CustomSection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The Python parameter name.
    pub name: String,
    pub ty: Ty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returns {
    Nothing,
    One(Ty),
    /// Only for unannotated multi-value functions.
    Tuple(Vec<Ty>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The export name in the module.
    pub export: String,
    /// The Python method and module-level function name.
    pub py_name: String,
    pub docs: Vec<String>,
    pub params: Vec<Param>,
    pub returns: Returns,
    pub annotated: bool,
    /// Annotated `raises`: the guest may fail with a message in its error record.
    pub raises: bool,
    pub core: CoreSig,
}

impl Function {
    /// `(a: u32, b: u32) -> u32`: the typed parameter list and result, as annotated.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty))
            .collect();
        let ret = match &self.returns {
            Returns::One(t) => format!(" -> {t}"),
            _ => String::new(),
        };
        let raises = if self.raises { " raises" } else { "" };
        format!("({}){ret}{raises}", params.join(", "))
    }

    pub fn uses_arena(&self) -> bool {
        self.params.iter().any(|p| p.ty.uses_arena())
            || matches!(self.returns, Returns::One(t) if t.uses_arena())
    }
}

/// `(msg: str) -> u32` of a host import, as annotated (or its core types).
pub fn import_signature(i: &crate::imports::HostImport) -> String {
    let params: Vec<String> = i
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, p.ty))
        .collect();
    let ret = i.result.map(|t| format!(" -> {t}")).unwrap_or_default();
    format!("({}){ret}", params.join(", "))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Python package (import) name.
    pub package: String,
    /// The class wrapping one instance.
    pub class: String,
    /// File name of the module inside the package, e.g. `fib.wasm`.
    pub wasm_file: String,
    /// The name of the module file given to wasm2py (for headers; no directories).
    pub source_name: String,
    pub sha256: String,
    pub annotations: AnnotationSource,
    pub functions: Vec<Function>,
    /// Exported functions that cannot be wrapped, with the reason.
    pub skipped: Vec<(String, String)>,
    /// True when some function passes bytes, str or lists through the guest arena.
    pub uses_arena: bool,
    /// Host imports (functions the guest calls, written in Python), in import order.
    pub imports: Vec<crate::imports::HostImport>,
    /// True when the module imports WASI (`wasi_snapshot_preview1`).
    pub wasi: bool,
    /// True for a reactor: `_initialize` runs once per instance before its first call.
    pub initialize: bool,
    /// True when the module exports the error record (`wasm2py_error`): `raises` functions
    /// read it after each call, and a null bytes/str/list result reads it to tell why.
    pub error_record: bool,
    /// True when the module exports the arena record (`wasm2py_arena`, arena protocol
    /// version 2) and some function uses the arena.
    pub arena_record: bool,
}

/// How the wasm backend's fast bodies allocate their first input and reset the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArenaPath {
    /// Through the thread's state (`put_bytes`, `reset`): modules with host imports (a
    /// guest that calls back into Python may re-enter: the state keeps count), and
    /// modules without the arena.
    State,
    /// Arena protocol version 2: written at the block of the state's window and reset by
    /// zeroing it, with no guest call.
    Record,
    /// Version 1: the raw `bump_alloc`/`bump_reset` calls made in the body itself.
    Protocol,
}

impl Interface {
    /// The fast bodies' arena path (see [`ArenaPath`]).
    pub fn arena_path(&self) -> ArenaPath {
        if !self.uses_arena || !self.imports.is_empty() {
            ArenaPath::State
        } else if self.arena_record {
            ArenaPath::Record
        } else {
            ArenaPath::Protocol
        }
    }
}

/// Python keywords, plus the builtins that generated annotations and module code use.
/// A name in this list gets a trailing underscore.
const RESERVED: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "match",
    "case",
    "type",
    "_",
    "int",
    "float",
    "bool",
    "bytes",
    "bytearray",
    "memoryview",
    "str",
    "list",
    "tuple",
    "object",
];

/// A Python identifier for `name`: snake_case, keyword-escaped. `None` when nothing usable
/// is left (e.g. a name made only of punctuation or non-ASCII letters).
pub fn python_name(name: &str) -> Option<String> {
    let snake = name.to_snake_case();
    if snake.is_empty() || !snake.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let snake = if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("f{snake}")
    } else {
        snake
    };
    Some(fixup_keyword(snake))
}

pub fn fixup_keyword(name: String) -> String {
    if RESERVED.contains(&name.as_str()) {
        name + "_"
    } else {
        name
    }
}

/// Names a method may not take because the class or module already uses them.
const TAKEN: &[&str] = &["backend", "library"];

/// Names a parameter may not keep: besides the reserved names, the method's own `self`
/// and the builtin the range checks raise. They get a trailing underscore.
const PARAM_RESERVED: &[&str] = &["self", "OverflowError"];

/// The Python name of an annotated parameter.
pub fn param_name(name: &str) -> String {
    if PARAM_RESERVED.contains(&name) {
        format!("{name}_")
    } else {
        fixup_keyword(name.to_string())
    }
}

/// The core signature an annotation lowers to on wasm32.
pub fn lower(params: &[Ty], result: Option<Ty>) -> CoreSig {
    let scalar = |t: Ty| match t {
        Ty::Num(Num::I64 | Num::U64) => CoreType::I64,
        Ty::Num(Num::F32) => CoreType::F32,
        Ty::Num(Num::F64) => CoreType::F64,
        _ => CoreType::I32,
    };
    let mut core_params = Vec::new();
    for t in params {
        if t.uses_arena() {
            core_params.extend([CoreType::I32, CoreType::I32]);
        } else {
            core_params.push(scalar(*t));
        }
    }
    // An arena result is a pointer to a {ptr, len} pair.
    CoreSig::new(core_params, result.map(scalar).into_iter().collect())
}

pub(crate) fn unannotated_ty(t: CoreType) -> Ty {
    match t {
        CoreType::I64 => Ty::Num(Num::I64),
        CoreType::F32 => Ty::Num(Num::F32),
        CoreType::F64 => Ty::Num(Num::F64),
        _ => Ty::Num(Num::I32),
    }
}

/// Options that shape names.
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// `--name`: the package name; else derived from the module's file name.
    pub name: Option<String>,
}

/// Builds and checks the interface of `module`.
///
/// `module_file` is the module's path as given (for messages); `anns` are the annotations
/// from a sidecar or the custom section.
pub fn build(
    module_file: &str,
    module: &WasmModule,
    anns: Option<&Annotations>,
    source: AnnotationSource,
    naming: &Naming,
    sha256: String,
) -> Result<Interface, Error> {
    let stem = std::path::Path::new(module_file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("module")
        .to_string();
    let raw_name = naming.name.clone().unwrap_or(stem);
    let package = python_name(&raw_name).ok_or_else(|| {
            Error::module(
                module_file,
                format!(
                    "cannot derive a Python package name from `{raw_name}`; pass --name NAME (a Python identifier)"
                ),
            )
        })?;
    let class = package.to_upper_camel_case();

    let imports = crate::imports::check(module_file, module, anns)?;
    let initialize = module.func(INITIALIZE).is_some();
    if module.func(START).is_some() && !initialize {
        return Err(Error::module(
            module_file,
            "the module is a WASI command (it exports `_start`, the entry point of a program), \
             not a library: wasm2py wraps libraries. Build a reactor instead: for Rust, a \
             `[lib] crate-type = [\"cdylib\"]` crate (cargo build --target wasm32-wasip1); for C, \
             clang --target=wasm32-wasi -mexec-model=reactor, exporting your functions",
        ));
    }
    if let Some(core) = module.func(INITIALIZE)
        && (!core.params.is_empty() || !core.results.is_empty())
    {
        return Err(Error::module(
            module_file,
            format!(
                "`_initialize` has type {core}; a reactor's initialiser takes and returns nothing"
            ),
        ));
    }

    // Every annotation must name an exported function and match its type.
    if let Some(anns) = anns {
        for a in &anns.items {
            let Some(core) = module.func(&a.name) else {
                let funcs: Vec<&str> = module
                    .exports
                    .iter()
                    .filter(|e| matches!(e.kind, ExportKind::Func(_)))
                    .map(|e| e.name.as_str())
                    .collect();
                return Err(anns.error_at(
                    a.pos,
                    format!(
                        "`{}` is annotated but the module exports no function of that name",
                        a.name
                    ),
                    Some(if funcs.is_empty() {
                        "the module exports no functions".to_string()
                    } else {
                        format!("exported functions: {}", funcs.join(", "))
                    }),
                ));
            };
            if a.name == ERROR_RECORD {
                return Err(anns.error_at(
                    a.pos,
                    format!("`{ERROR_RECORD}` is the guest's error record (see docs/guest-protocol.md) and is not wrapped; remove its annotation"),
                    None,
                ));
            }
            if a.name == ARENA_RECORD {
                return Err(anns.error_at(
                    a.pos,
                    format!("`{ARENA_RECORD}` is the guest's arena record (see docs/guest-protocol.md) and is not wrapped; remove its annotation"),
                    None,
                ));
            }
            if [BUMP_ALLOC, BUMP_RESET, ARENA_PER_THREAD].contains(&a.name.as_str()) {
                return Err(anns.error_at(
                    a.pos,
                    format!("`{}` is part of the memory protocol and is not wrapped; remove its annotation", a.name),
                    None,
                ));
            }
            if a.name == INITIALIZE || a.name == START {
                return Err(anns.error_at(
                    a.pos,
                    format!(
                        "`{}` is a WASI entry point and is not wrapped (a reactor's `_initialize` runs by itself); remove its annotation",
                        a.name
                    ),
                    None,
                ));
            }
            // Generated method bodies use `_`-prefixed locals, and escaped names must stay distinct.
            for (i, p) in a.params.iter().enumerate() {
                if p.name.starts_with('_') {
                    return Err(anns.error_at(
                        p.pos,
                        format!(
                            "parameter `{}` of `{}` starts with `_`, which the generated code reserves for its own names",
                            p.name, a.name
                        ),
                        Some("rename the parameter".to_string()),
                    ));
                }
                let py = param_name(&p.name);
                if let Some(other) = a.params[..i].iter().find(|o| param_name(&o.name) == py) {
                    return Err(anns.error_at(
                        p.pos,
                        format!(
                            "parameters `{}` and `{}` of `{}` both become the Python name `{py}`",
                            other.name, p.name, a.name
                        ),
                        Some("rename one of them".to_string()),
                    ));
                }
            }
            let tys: Vec<Ty> = a.params.iter().map(|p| p.ty).collect();
            let lowered = lower(&tys, a.result.map(|(t, _)| t));
            if &lowered != core {
                return Err(anns.error_at(
                    a.pos,
                    format!(
                        "`{a}` does not match the export: the annotation lowers to {lowered}, the module's `{}` has type {core}",
                        a.name
                    ),
                    Some(lowering_hint(&lowered, core)),
                ));
            }
        }
    }

    let mut functions: Vec<Function> = Vec::new();
    let mut skipped = Vec::new();
    for e in &module.exports {
        let ExportKind::Func(core) = &e.kind else {
            continue;
        };
        if [
            BUMP_ALLOC,
            BUMP_RESET,
            ARENA_PER_THREAD,
            ERROR_RECORD,
            ARENA_RECORD,
            INITIALIZE,
            START,
        ]
        .contains(&e.name.as_str())
        {
            continue;
        }
        if !core.is_numeric() {
            skipped.push((
                e.name.clone(),
                format!("its type {core} has values Python cannot pass"),
            ));
            continue;
        }
        let Some(py_name) = python_name(&e.name) else {
            return Err(Error::module(
                module_file,
                format!(
                    "cannot derive a Python name from the export `{}`; rename the export (e.g. with #[export_name])",
                    e.name.escape_debug()
                ),
            ));
        };
        let ann = anns.and_then(|a| a.get(&e.name));
        if TAKEN.contains(&py_name.as_str()) {
            return Err(Error::module(
                module_file,
                format!(
                    "the export `{}` would be named `{py_name}`, which the generated class reserves; rename the export",
                    e.name
                ),
            ));
        }
        if let Some(other) = functions.iter().find(|f| f.py_name == py_name) {
            return Err(Error::module(
                module_file,
                format!(
                    "the exports `{}` and `{}` both become the Python name `{py_name}`; rename one of them",
                    other.export, e.name
                ),
            ));
        }
        let (params, returns, docs) = match ann {
            Some(a) => (
                a.params
                    .iter()
                    .map(|p| Param {
                        name: param_name(&p.name),
                        ty: p.ty,
                    })
                    .collect(),
                a.result.map_or(Returns::Nothing, |(t, _)| Returns::One(t)),
                a.docs.clone(),
            ),
            None => (
                core.params
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Param {
                        name: format!("arg{i}"),
                        ty: unannotated_ty(*t),
                    })
                    .collect(),
                match core.results.as_slice() {
                    [] => Returns::Nothing,
                    [t] => Returns::One(unannotated_ty(*t)),
                    ts => Returns::Tuple(ts.iter().map(|t| unannotated_ty(*t)).collect()),
                },
                Vec::new(),
            ),
        };
        functions.push(Function {
            export: e.name.clone(),
            py_name,
            docs,
            params,
            returns,
            annotated: ann.is_some(),
            raises: ann.is_some_and(|a| a.raises.is_some()),
            core: core.clone(),
        });
    }
    let error_record = check_error_record(module_file, module, &functions, anns)?;

    let uses_arena = functions.iter().any(Function::uses_arena);
    if uses_arena {
        check_protocol(module_file, module, &functions, anns)?;
    }
    let arena_record = uses_arena && check_arena_record(module_file, module)?;
    if let Some(i) = imports
        .host
        .iter()
        .find(|i| i.params.iter().any(|p| p.ty.uses_arena()))
        && !matches!(
            module.memory(MEMORY),
            Some(OtherKind::Memory {
                memory64: false,
                ..
            })
        )
    {
        return Err(Error::module(
            module_file,
            format!(
                "the host import `{}.{}` takes bytes, str or lists, which the host reads from the guest's memory: \
                 the module must export a 32-bit memory named `memory`",
                i.module, i.name
            ),
        ));
    }

    Ok(Interface {
        wasm_file: format!("{package}.wasm"),
        package,
        class,
        source_name: std::path::Path::new(module_file)
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or(module_file)
            .to_string(),
        sha256,
        annotations: source,
        functions,
        skipped,
        uses_arena,
        wasi: imports.wasi,
        imports: imports.host,
        initialize,
        error_record,
        arena_record,
    })
}

/// Whether the module exports the arena record, checked: `wasm2py_arena: () -> (i32)`.
/// Only asked of modules that use the arena (and so export `memory` and the protocol).
fn check_arena_record(module_file: &str, module: &WasmModule) -> Result<bool, Error> {
    let sig = CoreSig::new(vec![], vec![CoreType::I32]);
    match module.func(ARENA_RECORD) {
        None => Ok(false),
        Some(found) if *found == sig => Ok(true),
        Some(found) => Err(Error::module(
            module_file,
            format!(
                "`{ARENA_RECORD}` has type {found}, expected {sig}: it returns the address of the \
                 guest's arena record (see docs/guest-protocol.md, \"Arena protocol version 2\")"
            ),
        )),
    }
}

/// Whether the module exports the error record, checked: `wasm2py_error: () -> (i32)` and a
/// 32-bit `memory` to read it from. A module with `raises` functions must export both.
fn check_error_record(
    module_file: &str,
    module: &WasmModule,
    functions: &[Function],
    anns: Option<&Annotations>,
) -> Result<bool, Error> {
    let raising = functions.iter().find(|f| f.raises);
    let sig = CoreSig::new(vec![], vec![CoreType::I32]);
    let problem = match (module.func(ERROR_RECORD), module.memory(MEMORY)) {
        (None, _) => raising.map(|_| format!("the module does not export `{ERROR_RECORD}`")),
        (Some(found), _) if *found != sig => {
            Some(format!("`{ERROR_RECORD}` has type {found}, expected {sig}"))
        }
        (
            Some(_),
            Some(OtherKind::Memory {
                memory64: false, ..
            }),
        ) => None,
        (Some(_), _) => Some(format!(
            "the module exports `{ERROR_RECORD}` but no 32-bit memory named `memory` to read its record from"
        )),
    };
    let Some(problem) = problem else {
        return Ok(module.func(ERROR_RECORD).is_some());
    };
    let message = format!(
        "{problem}; a module with `raises` functions exports `{ERROR_RECORD}: () -> (i32)`, the \
         address of its error record, and `memory` (see docs/guest-protocol.md, \"Guest errors\")"
    );
    let ann = raising.and_then(|f| anns.and_then(|a| a.get(&f.export).map(|ann| (a, ann))));
    Err(match ann {
        Some((a, ann)) => a.error_at(
            ann.raises.unwrap_or(ann.pos),
            format!("`{}` raises: {message}", ann.name),
            None,
        ),
        None => Error::module(module_file, message),
    })
}

fn lowering_hint(annotation: &CoreSig, export: &CoreSig) -> String {
    if annotation.params.len() != export.params.len() {
        return "bytes, str and list parameters each take two wasm parameters (pointer, length); \
                i64/u64 lower to i64, f32/f64 to themselves, every other type to i32"
            .to_string();
    }
    if annotation.results.len() != export.results.len() {
        return "a function without `-> type` has no result; bytes, str and list results are \
                one i32 (a pointer to a {ptr, len} pair)"
            .to_string();
    }
    "i64/u64 lower to i64, f32/f64 to themselves, i8..u32, bool and ptr to i32".to_string()
}

/// A module whose functions use the arena must export the memory protocol.
fn check_protocol(
    module_file: &str,
    module: &WasmModule,
    functions: &[Function],
    anns: Option<&Annotations>,
) -> Result<(), Error> {
    let first = functions.iter().find(|f| f.uses_arena()).map(|f| &f.export);
    let needed_by = |what: String| -> Error {
        let message = format!(
            "{what}; the module must export `memory`, `bump_alloc: (i32) -> (i32)` and `bump_reset: () -> ()` \
             because it passes bytes, str or lists (see docs/guest-protocol.md)"
        );
        match (anns, first) {
            (Some(a), Some(name)) => match a.get(name) {
                Some(ann) => a.error_at(
                    ann.pos,
                    format!("`{name}` needs the memory protocol: {message}"),
                    None,
                ),
                None => Error::module(module_file, message),
            },
            _ => Error::module(module_file, message),
        }
    };
    match module.memory(MEMORY) {
        None => {
            return Err(needed_by(
                "the module exports no memory named `memory`".into(),
            ));
        }
        Some(OtherKind::Memory { memory64: true, .. }) => {
            return Err(needed_by(
                "`memory` is a 64-bit memory, wasm2py supports wasm32".into(),
            ));
        }
        Some(_) => {}
    }
    let want = [
        (
            BUMP_ALLOC,
            CoreSig::new(vec![CoreType::I32], vec![CoreType::I32]),
        ),
        (BUMP_RESET, CoreSig::new(vec![], vec![])),
    ];
    for (name, sig) in want {
        match module.func(name) {
            None => return Err(needed_by(format!("the module does not export `{name}`"))),
            Some(found) if *found != sig => {
                return Err(needed_by(format!(
                    "`{name}` has type {found}, expected {sig}"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
