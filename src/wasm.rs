//! Reading a core wasm module: validation, exported functions, the memory, imports and the
//! `wasm2py` custom section. Nothing here knows about annotations or Python.

use crate::error::Error;
use wasmparser::{
    CompositeInnerType, Parser, Payload, ValType, Validator, WasmFeatures,
    types::{CoreTypeId, EntityType},
};

/// A core value type as far as wasm2py is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreType {
    I32,
    I64,
    F32,
    F64,
    /// v128, funcref, externref and the like: not callable from the generated code.
    Other,
}

impl CoreType {
    fn from_val(v: ValType) -> Self {
        match v {
            ValType::I32 => CoreType::I32,
            ValType::I64 => CoreType::I64,
            ValType::F32 => CoreType::F32,
            ValType::F64 => CoreType::F64,
            _ => CoreType::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CoreType::I32 => "i32",
            CoreType::I64 => "i64",
            CoreType::F32 => "f32",
            CoreType::F64 => "f64",
            CoreType::Other => "(reference or vector)",
        }
    }
}

/// The core signature of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSig {
    pub params: Vec<CoreType>,
    pub results: Vec<CoreType>,
}

impl CoreSig {
    pub fn new(params: Vec<CoreType>, results: Vec<CoreType>) -> Self {
        CoreSig { params, results }
    }

    /// True when every parameter and result is a number the generated code can pass.
    pub fn is_numeric(&self) -> bool {
        self.params
            .iter()
            .chain(&self.results)
            .all(|t| *t != CoreType::Other)
    }
}

impl std::fmt::Display for CoreSig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |ts: &[CoreType]| ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
        write!(f, "({}) -> ({})", list(&self.params), list(&self.results))
    }
}

/// What kind of non-function export this is (reported by `inspect`, otherwise ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherKind {
    Memory { min_pages: u64, memory64: bool },
    Global,
    Table,
    Tag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportKind {
    Func(CoreSig),
    Other(OtherKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExportKind,
}

/// What an import asks the host for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportKind {
    Func(CoreSig),
    Memory,
    Table,
    Global,
    Tag,
}

impl ImportKind {
    /// `function`, `memory`, `table`, `global` or `tag`, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            ImportKind::Func(_) => "function",
            ImportKind::Memory => "memory",
            ImportKind::Table => "table",
            ImportKind::Global => "global",
            ImportKind::Tag => "tag",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

impl Import {
    /// `module.name`: how messages and the generated `imports={...}` mapping name it.
    pub fn key(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// The facts about a module that the generator uses.
#[derive(Debug, Clone)]
pub struct WasmModule {
    pub exports: Vec<Export>,
    /// Every import, in the module's order (a repeated `module.name` comes right after
    /// its first occurrence).
    pub imports: Vec<Import>,
    /// The text of the `wasm2py` custom section, if there is one.
    pub annotations: Option<String>,
}

impl WasmModule {
    pub fn func(&self, name: &str) -> Option<&CoreSig> {
        self.exports.iter().find_map(|e| match &e.kind {
            ExportKind::Func(sig) if e.name == name => Some(sig),
            _ => None,
        })
    }

    pub fn memory(&self, name: &str) -> Option<&OtherKind> {
        self.exports.iter().find_map(|e| match &e.kind {
            ExportKind::Other(m @ OtherKind::Memory { .. }) if e.name == name => Some(m),
            _ => None,
        })
    }
}

const MAGIC: &[u8; 4] = b"\0asm";

/// Turns the bytes of a `.wasm` or `.wat` file into binary wasm.
/// `file` is only used in messages.
pub fn to_binary(file: &str, bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    if bytes.is_empty() {
        return Err(Error::wasm(
            file,
            "the file is empty; expected a WebAssembly module",
        ));
    }
    if bytes.starts_with(MAGIC) {
        return Ok(bytes);
    }
    let looks_textual = file.ends_with(".wat")
        || std::str::from_utf8(&bytes)
            .map(|s| s.trim_start().starts_with('(') || s.trim_start().starts_with(";;"))
            .unwrap_or(false);
    if looks_textual {
        return wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .map_err(|mut e| {
                // The excerpt names the file rather than `<anon>`.
                e.set_path(file);
                Error::wasm(file, format!("invalid WebAssembly text: {e}"))
            });
    }
    let shown: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Err(Error::wasm(
        file,
        format!(
            "not a WebAssembly module: expected the magic bytes 00 61 73 6d (\"\\0asm\"), found {}",
            shown.join(" ")
        ),
    ))
}

/// Validates `bytes` and extracts what the generator needs.
pub fn parse(file: &str, bytes: &[u8]) -> Result<WasmModule, Error> {
    if bytes.len() < 8 {
        return Err(Error::wasm(
            file,
            format!(
                "truncated module: {} bytes, a header alone is 8",
                bytes.len()
            ),
        ));
    }
    let version = &bytes[4..8];
    if version == [0x0d, 0x00, 0x01, 0x00] {
        return Err(Error::wasm(
            file,
            "this is a WebAssembly component; wasm2py wraps core modules (build for wasm32-unknown-unknown)",
        ));
    }
    if version != [0x01, 0x00, 0x00, 0x00] {
        return Err(Error::wasm(
            file,
            format!(
                "unsupported WebAssembly version {:02x} {:02x} {:02x} {:02x}; expected 01 00 00 00",
                version[0], version[1], version[2], version[3]
            ),
        ));
    }

    let mut validator = Validator::new_with_features(WasmFeatures::default());
    let types = validator.validate_all(bytes).map_err(|e| {
        Error::wasm(
            file,
            format!(
                "invalid module at byte offset {:#x}: {}",
                e.offset(),
                e.message()
            ),
        )
    })?;
    let types = types.as_ref();

    let mut annotations = None;
    for payload in Parser::new(0).parse_all(bytes) {
        // The validator accepted the module, so the parser does too.
        let payload = payload.map_err(|e| Error::wasm(file, e.message().to_string()))?;
        if let Payload::CustomSection(reader) = payload
            && reader.name() == "wasm2py"
        {
            let data = reader.data();
            let end = data.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
            let text = std::str::from_utf8(&data[..end]).map_err(|e| {
                Error::wasm(
                    file,
                    format!("the `wasm2py` custom section is not UTF-8: {e}"),
                )
            })?;
            match &mut annotations {
                None => annotations = Some(text.to_string()),
                // Several sections (e.g. from several object files) are concatenated.
                Some(prev) => {
                    prev.push('\n');
                    prev.push_str(text);
                }
            }
        }
    }

    let func_sig = |id: CoreTypeId| match &types[id].composite_type.inner {
        CompositeInnerType::Func(f) => Some(CoreSig::new(
            f.params().iter().copied().map(CoreType::from_val).collect(),
            f.results()
                .iter()
                .copied()
                .map(CoreType::from_val)
                .collect(),
        )),
        _ => None,
    };

    let imports = types
        .core_imports()
        .into_iter()
        .flatten()
        .map(|(module, name, ty)| Import {
            module: module.to_string(),
            name: name.to_string(),
            kind: match ty {
                EntityType::Func(id) | EntityType::FuncExact(id) => match func_sig(id) {
                    Some(sig) => ImportKind::Func(sig),
                    // A validated function import always has a function type.
                    None => ImportKind::Tag,
                },
                EntityType::Memory(_) => ImportKind::Memory,
                EntityType::Table(_) => ImportKind::Table,
                EntityType::Global(_) => ImportKind::Global,
                EntityType::Tag(_) => ImportKind::Tag,
            },
        })
        .collect();

    let exports = types
        .core_exports()
        .into_iter()
        .flatten()
        .map(|(name, ty)| {
            let kind = match ty {
                EntityType::Func(id) | EntityType::FuncExact(id) => match func_sig(id) {
                    Some(sig) => ExportKind::Func(sig),
                    // A validated function export always has a function type.
                    None => ExportKind::Other(OtherKind::Tag),
                },
                EntityType::Memory(m) => ExportKind::Other(OtherKind::Memory {
                    min_pages: m.initial,
                    memory64: m.memory64,
                }),
                EntityType::Global(_) => ExportKind::Other(OtherKind::Global),
                EntityType::Table(_) => ExportKind::Other(OtherKind::Table),
                EntityType::Tag(_) => ExportKind::Other(OtherKind::Tag),
            };
            Export {
                name: name.to_string(),
                kind,
            }
        })
        .collect();

    Ok(WasmModule {
        exports,
        imports,
        annotations,
    })
}
