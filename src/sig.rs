//! The annotation language: a typed, positioned parse of
//!
//! ```text
//! # comment
//! /// doc line for the next function
//! name(param: type, ...) -> type
//! import module.name(param: type, ...) -> type
//! ```
//!
//! A line starting with the word `import` followed by an identifier declares a host import
//! (a function the module imports, written in Python); its `///` lines document it, and its
//! result, if any, is a number, `bool` or `ptr`. `import` followed by `(` is an ordinary
//! annotation of an export named `import`, so `import(n: u32)` keeps working.
//! Exports and imports are separate namespaces: `log()` and `import env.log()` may both appear.
//!
//! Checking annotations against the module happens in `model` (exports) and `imports`
//! (host imports); this module only parses.

use crate::error::{Error, Pos};

/// A numeric type, usable as a scalar and as a list element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Num {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
}

impl Num {
    pub const ALL: [Num; 10] = [
        Num::I8,
        Num::I16,
        Num::I32,
        Num::I64,
        Num::U8,
        Num::U16,
        Num::U32,
        Num::U64,
        Num::F32,
        Num::F64,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Num::I8 => "i8",
            Num::I16 => "i16",
            Num::I32 => "i32",
            Num::I64 => "i64",
            Num::U8 => "u8",
            Num::U16 => "u16",
            Num::U32 => "u32",
            Num::U64 => "u64",
            Num::F32 => "f32",
            Num::F64 => "f64",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Num::F32 | Num::F64)
    }

    pub fn is_signed(self) -> bool {
        matches!(self, Num::I8 | Num::I16 | Num::I32 | Num::I64)
    }

    /// Width in bytes.
    pub fn size(self) -> u32 {
        match self {
            Num::I8 | Num::U8 => 1,
            Num::I16 | Num::U16 => 2,
            Num::I32 | Num::U32 | Num::F32 => 4,
            Num::I64 | Num::U64 | Num::F64 => 8,
        }
    }

    /// The inclusive integer range, for integer types.
    pub fn range(self) -> Option<(i128, i128)> {
        if self.is_float() {
            return None;
        }
        let bits = self.size() * 8;
        Some(if self.is_signed() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        })
    }
}

/// A type in an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Num(Num),
    Bool,
    Ptr,
    Bytes,
    Str,
    List(Num),
    /// Lowered as a list; a result is an `array.array` (no per-element Python objects).
    Array(Num),
}

impl Ty {
    /// True for the types that travel through the guest arena.
    pub fn uses_arena(self) -> bool {
        matches!(self, Ty::Bytes | Ty::Str | Ty::List(_) | Ty::Array(_))
    }

    /// The element type of a list or array.
    pub fn items(self) -> Option<Num> {
        match self {
            Ty::List(n) | Ty::Array(n) => Some(n),
            _ => None,
        }
    }
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Num(n) => f.write_str(n.name()),
            Ty::Bool => f.write_str("bool"),
            Ty::Ptr => f.write_str("ptr"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Str => f.write_str("str"),
            Ty::List(n) => write!(f, "list[{}]", n.name()),
            Ty::Array(n) => write!(f, "array[{}]", n.name()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ty: Ty,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub name: String,
    /// Where the function name starts.
    pub pos: Pos,
    pub params: Vec<Param>,
    pub result: Option<(Ty, Pos)>,
    /// Where `raises` is: the function may fail with a message (docs/guest-protocol.md,
    /// "Guest errors").
    pub raises: Option<Pos>,
    pub docs: Vec<String>,
}

impl std::fmt::Display for Annotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        write_signature(f, &self.params, &self.result)?;
        if self.raises.is_some() {
            f.write_str(" raises")?;
        }
        Ok(())
    }
}

/// `import module.name(params) -> result`: the types of a host function the module imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAnnotation {
    pub module: String,
    pub name: String,
    /// Where the module name starts.
    pub pos: Pos,
    pub params: Vec<Param>,
    /// Never bytes, str or a list (the parser refuses them).
    pub result: Option<(Ty, Pos)>,
    pub docs: Vec<String>,
}

impl ImportAnnotation {
    /// `module.name`, as messages and the generated `imports={...}` mapping spell it.
    pub fn key(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

impl std::fmt::Display for ImportAnnotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "import {}.{}", self.module, self.name)?;
        write_signature(f, &self.params, &self.result)
    }
}

/// `(a: u32, b: u32) -> u32`
fn write_signature(
    f: &mut std::fmt::Formatter<'_>,
    params: &[Param],
    result: &Option<(Ty, Pos)>,
) -> std::fmt::Result {
    let params: Vec<String> = params
        .iter()
        .map(|p| format!("{}: {}", p.name, p.ty))
        .collect();
    write!(f, "({})", params.join(", "))?;
    if let Some((ty, _)) = result {
        write!(f, " -> {ty}")?;
    }
    Ok(())
}

/// Parsed annotations plus the text they came from, so later checks can point into it.
#[derive(Debug, Clone)]
pub struct Annotations {
    /// How the source is named in messages: a path, or `MODULE.wasm[wasm2py section]`.
    pub file: String,
    pub text: String,
    /// Exports, in the order written.
    pub items: Vec<Annotation>,
    /// Host imports (`import module.name(...)`), in the order written.
    pub imports: Vec<ImportAnnotation>,
}

impl Annotations {
    /// An error pointing at `pos` in this source.
    pub fn error_at(&self, pos: Pos, message: impl Into<String>, hint: Option<String>) -> Error {
        error_at(&self.file, &self.text, pos, message.into(), hint)
    }

    pub fn get(&self, name: &str) -> Option<&Annotation> {
        self.items.iter().find(|a| a.name == name)
    }

    /// The annotation of the host import `module.name`.
    pub fn import(&self, module: &str, name: &str) -> Option<&ImportAnnotation> {
        self.imports
            .iter()
            .find(|a| a.module == module && a.name == name)
    }
}

fn error_at(file: &str, text: &str, pos: Pos, message: String, hint: Option<String>) -> Error {
    Error::Annotation {
        file: file.to_string(),
        pos,
        message,
        source_line: text
            .lines()
            .nth(pos.line - 1)
            .unwrap_or_default()
            .to_string(),
        hint,
    }
}

const TYPE_NAMES: &str = "i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 bool ptr bytes str list[T]";

/// What an import line looks like, for hints.
const IMPORT_EXAMPLE: &str =
    "an import line names the module and the function: `import env.log(msg: str)`";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    Ident(&'a str),
    Punct(&'static str),
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Punct(p) => format!("`{p}`"),
        }
    }
}

/// Parameters and result of one function.
/// The parameters, the result and where `raises` is.
type Signature = (Vec<Param>, Option<(Ty, Pos)>, Option<Pos>);

/// One line's tokens with their 1-based columns.
struct Line<'a> {
    no: usize,
    toks: Vec<(Tok<'a>, usize)>,
    /// The column just past the last token (where "end of line" errors point).
    end_col: usize,
    i: usize,
}

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> Parser<'a> {
    fn err(&self, line: usize, col: usize, message: String) -> Error {
        error_at(self.file, self.text, Pos { line, col }, message, None)
    }

    fn err_hint(&self, line: usize, col: usize, message: String, hint: &str) -> Error {
        error_at(
            self.file,
            self.text,
            Pos { line, col },
            message,
            Some(hint.to_string()),
        )
    }

    fn tokenize(&self, no: usize, code: &'a str) -> Result<Line<'a>, Error> {
        let mut toks = Vec::new();
        let bytes = code.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let col = code[..i].chars().count() + 1;
            if c.is_ascii_whitespace() {
                i += 1;
            } else if c.is_ascii_alphabetic() || c == b'_' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                toks.push((Tok::Ident(&code[start..i]), col));
            } else if code[i..].starts_with("->") {
                toks.push((Tok::Punct("->"), col));
                i += 2;
            } else {
                let p = match c {
                    b'(' => "(",
                    b')' => ")",
                    b':' => ":",
                    b',' => ",",
                    b'[' => "[",
                    b']' => "]",
                    b'.' => ".",
                    _ => {
                        let ch = code[i..].chars().next().unwrap_or('?');
                        return Err(if code[i..].starts_with("//") {
                            self.err_hint(
                                no,
                                col,
                                "unexpected `//`".into(),
                                "comments start with `#`; doc lines start with `///` at the beginning of a line",
                            )
                        } else {
                            self.err(no, col, format!("unexpected character `{ch}`"))
                        });
                    }
                };
                toks.push((Tok::Punct(p), col));
                i += 1;
            }
        }
        Ok(Line {
            no,
            toks,
            end_col: code.trim_end().chars().count() + 1,
            i: 0,
        })
    }

    fn peek<'l>(&self, line: &'l Line<'a>) -> Option<&'l (Tok<'a>, usize)> {
        line.toks.get(line.i)
    }

    fn found(&self, line: &Line<'a>) -> (String, usize) {
        match line.toks.get(line.i) {
            Some((t, col)) => (t.describe(), *col),
            None => ("end of line".to_string(), line.end_col),
        }
    }

    fn expect_punct(&self, line: &mut Line<'a>, p: &'static str, what: &str) -> Result<(), Error> {
        match line.toks.get(line.i) {
            Some((Tok::Punct(q), _)) if *q == p => {
                line.i += 1;
                Ok(())
            }
            _ => {
                let (found, col) = self.found(line);
                Err(self.err(line.no, col, format!("expected {what}, found {found}")))
            }
        }
    }

    fn expect_ident(&self, line: &mut Line<'a>, what: &str) -> Result<(&'a str, usize), Error> {
        match line.toks.get(line.i) {
            Some((Tok::Ident(s), col)) => {
                line.i += 1;
                Ok((s, *col))
            }
            _ => {
                let (found, col) = self.found(line);
                Err(self.err(line.no, col, format!("expected {what}, found {found}")))
            }
        }
    }

    fn num(&self, line: usize, col: usize, name: &str, in_list: bool) -> Result<Num, Error> {
        Num::ALL
            .into_iter()
            .find(|n| n.name() == name)
            .ok_or_else(|| {
                if in_list {
                    self.err_hint(
                        line,
                        col,
                        format!("`{name}` is not a numeric type; list elements must be numbers"),
                        "use one of i8 i16 i32 i64 u8 u16 u32 u64 f32 f64",
                    )
                } else {
                    self.unknown_type(line, col, name)
                }
            })
    }

    fn unknown_type(&self, line: usize, col: usize, name: &str) -> Error {
        let hint = match name {
            "int" | "usize" | "isize" => "pick a width: i32, u32, i64 or u64 (wasm32 has no usize)",
            "float" | "double" => "use f32 or f64",
            "string" | "String" => "use str",
            "u128" | "i128" => "wasm has no 128-bit numbers; pass two u64 or bytes",
            _ => "",
        };
        let hint = if hint.is_empty() {
            format!("known types: {TYPE_NAMES}")
        } else {
            hint.to_string()
        };
        error_at(
            self.file,
            self.text,
            Pos { line, col },
            format!("unknown type `{name}`"),
            Some(hint),
        )
    }

    fn ty(&self, line: &mut Line<'a>) -> Result<(Ty, Pos), Error> {
        let (name, col) = self.expect_ident(line, "a type")?;
        let pos = Pos { line: line.no, col };
        let ty = match name {
            "bool" => Ty::Bool,
            "ptr" => Ty::Ptr,
            "bytes" => Ty::Bytes,
            "str" => Ty::Str,
            "list" | "array" => {
                self.expect_punct(line, "[", &format!("`[` after `{name}`"))?;
                let (elem, ecol) = self.expect_ident(line, "an element type")?;
                let n = self.num(line.no, ecol, elem, true)?;
                self.expect_punct(line, "]", "`]`")?;
                if name == "list" {
                    Ty::List(n)
                } else {
                    Ty::Array(n)
                }
            }
            other => Ty::Num(self.num(line.no, col, other, false)?),
        };
        Ok((ty, pos))
    }

    fn function(&self, line: &mut Line<'a>, docs: Vec<String>) -> Result<Annotation, Error> {
        let (name, col) = self.expect_ident(line, "a function name")?;
        let pos = Pos { line: line.no, col };
        self.expect_punct(line, "(", "`(` after the function name")?;
        let (params, result, raises) = self.signature(line, name, true)?;
        Ok(Annotation {
            name: name.to_string(),
            pos,
            params,
            result,
            raises,
            docs,
        })
    }

    /// `import module.name(...) -> type`, from the word `import` on.
    fn import(&self, line: &mut Line<'a>, docs: Vec<String>) -> Result<ImportAnnotation, Error> {
        line.i += 1; // `import`
        let (module, col) = match line.toks.get(line.i) {
            Some((Tok::Ident(s), col)) => {
                line.i += 1;
                (*s, *col)
            }
            _ => {
                let (found, col) = self.found(line);
                return Err(self.err_hint(
                    line.no,
                    col,
                    format!("expected the import's module name after `import`, found {found}"),
                    IMPORT_EXAMPLE,
                ));
            }
        };
        let pos = Pos { line: line.no, col };
        if !matches!(self.peek(line), Some((Tok::Punct("."), _))) {
            let (found, col) = self.found(line);
            return Err(self.err_hint(
                line.no,
                col,
                format!("expected `.` after the import's module name, found {found}"),
                IMPORT_EXAMPLE,
            ));
        }
        line.i += 1;
        let (name, _) = self.expect_ident(line, "the import's function name after `.`")?;
        self.expect_punct(line, "(", "`(` after the import's name")?;
        let key = format!("{module}.{name}");
        let (params, result, _) = self.signature(line, &key, false)?;
        if let Some((ty, tpos)) = result
            && ty.uses_arena()
        {
            return Err(self.err(
                tpos.line,
                tpos.col,
                format!(
                    "the import `{key}` cannot return `{ty}`: host functions return numbers, bool or ptr"
                ),
            ));
        }
        Ok(ImportAnnotation {
            module: module.to_string(),
            name: name.to_string(),
            pos,
            params,
            result,
            docs,
        })
    }

    /// The parameters after `(`, the optional `-> type`, `raises` (for an export), and the
    /// end of the line. `name` is the function's name in messages.
    fn signature(&self, line: &mut Line<'a>, name: &str, export: bool) -> Result<Signature, Error> {
        let mut params: Vec<Param> = Vec::new();
        loop {
            if let Some((Tok::Punct(")"), _)) = self.peek(line) {
                line.i += 1;
                break;
            }
            let (pname, pcol) = self.expect_ident(line, "a parameter name or `)`")?;
            if params.iter().any(|p| p.name == pname) {
                return Err(self.err(
                    line.no,
                    pcol,
                    format!("parameter `{pname}` appears twice in `{name}`"),
                ));
            }
            if let Some((Tok::Punct(","), _) | (Tok::Punct(")"), _)) | None = self.peek(line) {
                return Err(self.err_hint(
                    line.no,
                    pcol + pname.len(),
                    format!("parameter `{pname}` has no type"),
                    "write `name: type`, e.g. `n: u64`",
                ));
            }
            self.expect_punct(line, ":", "`:` after the parameter name")?;
            let (ty, _) = self.ty(line)?;
            params.push(Param {
                name: pname.to_string(),
                ty,
                pos: Pos {
                    line: line.no,
                    col: pcol,
                },
            });
            match self.peek(line) {
                Some((Tok::Punct(","), _)) => line.i += 1,
                Some((Tok::Punct(")"), _)) => {}
                _ => {
                    let (found, col) = self.found(line);
                    return Err(self.err(
                        line.no,
                        col,
                        format!("expected `,` or `)`, found {found}"),
                    ));
                }
            }
        }
        let mut result = None;
        if let Some((Tok::Punct("->"), _)) = self.peek(line) {
            line.i += 1;
            result = Some(self.ty(line)?);
        }
        let mut raises = None;
        if let Some((Tok::Ident("raises"), col)) = self.peek(line) {
            if !export {
                return Err(self.err_hint(
                    line.no,
                    *col,
                    format!("the import `{name}` cannot be marked `raises`"),
                    "a host function fails by raising a Python exception, which reaches the caller as it is",
                ));
            }
            raises = Some(Pos {
                line: line.no,
                col: *col,
            });
            line.i += 1;
        }
        if line.i < line.toks.len() {
            let (found, col) = self.found(line);
            let what = match (raises.is_some(), export, result.is_none()) {
                (true, _, _) => "end of line",
                (false, true, true) => "`->`, `raises` or end of line",
                (false, true, false) => "`raises` or end of line",
                (false, false, true) => "`->` or end of line",
                (false, false, false) => "end of line",
            };
            return Err(self.err_hint(
                line.no,
                col,
                format!("expected {what}, found {found}"),
                "one function per line; a function returns at most one value",
            ));
        }
        Ok((params, result, raises))
    }
}

/// Parses annotation text. `file` names the source in messages.
pub fn parse(file: &str, text: &str) -> Result<Annotations, Error> {
    // A byte-order mark (some Windows editors write one) is not part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let p = Parser { file, text };
    let mut items: Vec<Annotation> = Vec::new();
    let mut imports: Vec<ImportAnnotation> = Vec::new();
    let mut docs: Vec<String> = Vec::new();
    let mut doc_start: Option<Pos> = None;
    for (idx, raw) in text.lines().enumerate() {
        let no = idx + 1;
        let trimmed = raw.trim_start();
        if let Some(doc) = trimmed.strip_prefix("///") {
            let doc = doc.strip_prefix(' ').unwrap_or(doc).trim_end();
            doc_start.get_or_insert(Pos {
                line: no,
                col: raw[..raw.len() - trimmed.len()].chars().count() + 1,
            });
            docs.push(doc.to_string());
            continue;
        }
        let code = match raw.find('#') {
            Some(i) => &raw[..i],
            None => raw,
        };
        if code.trim().is_empty() {
            continue;
        }
        let mut line = p.tokenize(no, code)?;
        let docs = std::mem::take(&mut docs);
        doc_start = None;
        // `import` then `(` is an export named `import`; anything else after it is an import.
        if let [(Tok::Ident("import"), _), next @ ..] = line.toks.as_slice()
            && !matches!(next.first(), Some((Tok::Punct("("), _)))
        {
            let imp = p.import(&mut line, docs)?;
            if let Some(prev) = imports
                .iter()
                .find(|a| a.module == imp.module && a.name == imp.name)
            {
                return Err(p.err(
                    no,
                    imp.pos.col,
                    format!(
                        "`{}` is annotated twice (first on line {})",
                        imp.key(),
                        prev.pos.line
                    ),
                ));
            }
            imports.push(imp);
            continue;
        }
        let ann = p.function(&mut line, docs)?;
        if let Some(prev) = items.iter().find(|a| a.name == ann.name) {
            return Err(p.err(
                no,
                ann.pos.col,
                format!(
                    "`{}` is annotated twice (first on line {})",
                    ann.name, prev.pos.line
                ),
            ));
        }
        items.push(ann);
    }
    if let Some(pos) = doc_start {
        return Err(p.err_hint(
            pos.line,
            pos.col,
            "doc lines at the end are not followed by a function".into(),
            "`///` lines document the function on the next annotation line",
        ));
    }
    Ok(Annotations {
        file: file.to_string(),
        text: text.to_string(),
        items,
        imports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Annotations {
        parse("s.wasm2py", text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        match parse("s.wasm2py", text) {
            Ok(a) => panic!("{text:?} parsed: {:?} {:?}", a.items, a.imports),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn import_lines() {
        let a = ok(
            "# host\n/// Writes a line.\n/// Twice.\nimport env.log(msg: str)\n\
                    import env.host_add(a: u32, b: u32) -> u32  # sum\n  import\tm_2._f() -> ptr\n\
                    f(n: u8) -> bool\n",
        );
        assert_eq!(a.items.len(), 1);
        assert_eq!(a.items[0].name, "f");
        let keys: Vec<String> = a.imports.iter().map(ImportAnnotation::key).collect();
        assert_eq!(keys, ["env.log", "env.host_add", "m_2._f"]);
        let log = a.import("env", "log").unwrap();
        assert_eq!((log.module.as_str(), log.name.as_str()), ("env", "log"));
        assert_eq!(log.pos, Pos { line: 4, col: 8 });
        assert_eq!(log.docs, ["Writes a line.", "Twice."]);
        assert_eq!(log.params.len(), 1);
        assert_eq!(log.params[0].name, "msg");
        assert_eq!(log.params[0].ty, Ty::Str);
        assert_eq!(log.params[0].pos, Pos { line: 4, col: 16 });
        assert_eq!(log.result, None);
        let add = a.import("env", "host_add").unwrap();
        assert_eq!(
            add.result,
            Some((Ty::Num(Num::U32), Pos { line: 5, col: 40 }))
        );
        assert!(add.docs.is_empty());
        assert_eq!(a.import("m_2", "_f").unwrap().pos, Pos { line: 6, col: 10 });
        assert!(a.import("env", "nothing").is_none());
        assert!(a.import("log", "env").is_none());
        assert_eq!(log.to_string(), "import env.log(msg: str)");
        assert_eq!(
            add.to_string(),
            "import env.host_add(a: u32, b: u32) -> u32"
        );
        assert_eq!(a.items[0].to_string(), "f(n: u8) -> bool");
    }

    #[test]
    fn import_parameters_take_every_type() {
        let a = ok("import env.f(a: bytes, b: str, c: list[f64], d: bool, e: ptr, g: i64) -> f64");
        let tys: Vec<Ty> = a.imports[0].params.iter().map(|p| p.ty).collect();
        assert_eq!(
            tys,
            [
                Ty::Bytes,
                Ty::Str,
                Ty::List(Num::F64),
                Ty::Bool,
                Ty::Ptr,
                Ty::Num(Num::I64)
            ]
        );
        for result in ["bool", "ptr", "u8", "i64", "f32"] {
            ok(&format!("import env.f() -> {result}"));
        }
    }

    #[test]
    fn an_export_named_import() {
        // `import` then `(` annotates an export named `import`.
        let a = ok("import(n: u32) -> u32");
        assert!(a.imports.is_empty());
        assert_eq!(a.items.len(), 1);
        assert_eq!(a.items[0].name, "import");
        // With a blank before `(` too; so twice is the export's "annotated twice".
        assert!(
            err("import(n: u32) -> u32\nimport ()")
                .starts_with("s.wasm2py:2:1: `import` is annotated twice (first on line 1)\n")
        );
        let a = ok("import()\nimport env.import(import: i32)");
        assert_eq!(a.items[0].name, "import");
        assert_eq!(a.imports[0].key(), "env.import");
        assert_eq!(a.imports[0].params[0].name, "import");
    }

    #[test]
    fn exports_and_imports_are_separate_namespaces() {
        let a = ok("log(n: u32)\nimport env.log(n: u32)\nimport other.log()\n");
        assert_eq!(a.get("log").unwrap().params.len(), 1);
        assert_eq!(a.imports.len(), 2);
        assert!(a.import("other", "log").unwrap().params.is_empty());
    }

    #[test]
    fn import_syntax_errors() {
        let example = "\n  = hint: an import line names the module and the function: `import env.log(msg: str)`";
        assert_eq!(
            err("import log(msg: str)"),
            format!(
                "s.wasm2py:1:11: expected `.` after the import's module name, found `(`\n  |\n1 | import log(msg: str)\n  |           ^{example}"
            )
        );
        assert_eq!(
            err("import"),
            format!(
                "s.wasm2py:1:7: expected the import's module name after `import`, found end of line\n  |\n1 | import\n  |       ^{example}"
            )
        );
        assert!(err("import   # nothing").starts_with(
            "s.wasm2py:1:7: expected the import's module name after `import`, found end of line"
        ));
        assert!(err("import -> u32").starts_with(
            "s.wasm2py:1:8: expected the import's module name after `import`, found `->`"
        ));
        assert!(err("import .log()").starts_with(
            "s.wasm2py:1:8: expected the import's module name after `import`, found `.`"
        ));
        assert!(err("import env").starts_with(
            "s.wasm2py:1:11: expected `.` after the import's module name, found end of line"
        ));
        assert!(
            err("import env:log()").starts_with(
                "s.wasm2py:1:11: expected `.` after the import's module name, found `:`"
            )
        );
        assert_eq!(
            err("import env.(x: u8)"),
            "s.wasm2py:1:12: expected the import's function name after `.`, found `(`\n  |\n1 | import env.(x: u8)\n  |            ^"
        );
        assert!(err("import env.").starts_with(
            "s.wasm2py:1:12: expected the import's function name after `.`, found end of line"
        ));
        assert_eq!(
            err("import env.log"),
            "s.wasm2py:1:15: expected `(` after the import's name, found end of line\n  |\n1 | import env.log\n  |               ^"
        );
        assert!(
            err("import env.log.x()")
                .starts_with("s.wasm2py:1:15: expected `(` after the import's name, found `.`")
        );
        assert!(
            err("import env.log msg: str")
                .starts_with("s.wasm2py:1:16: expected `(` after the import's name, found `msg`")
        );
        // Parameters and results: the export paths.
        assert_eq!(
            err("import env.log(a: u8, a: u8)"),
            "s.wasm2py:1:23: parameter `a` appears twice in `env.log`\n  |\n1 | import env.log(a: u8, a: u8)\n  |                       ^"
        );
        assert!(err("import env.log(n: int)").starts_with("s.wasm2py:1:19: unknown type `int`\n"));
        assert!(
            err("import env.f() -> usize").starts_with("s.wasm2py:1:19: unknown type `usize`\n")
        );
        assert!(
            err("import env.f() -> u32 x")
                .starts_with("s.wasm2py:1:23: expected end of line, found `x`\n")
        );
        assert!(err("import env.f(a)").starts_with("s.wasm2py:1:15: parameter `a` has no type\n"));
        assert!(
            err("import env.f(a: u8")
                .starts_with("s.wasm2py:1:19: expected `,` or `)`, found end of line\n")
        );
        // A dot anywhere else is a token out of place, not an unknown character.
        assert!(
            err("f.g()")
                .starts_with("s.wasm2py:1:2: expected `(` after the function name, found `.`\n")
        );
        assert!(err("f(a: u8.)").starts_with("s.wasm2py:1:8: expected `,` or `)`, found `.`\n"));
    }

    #[test]
    fn imports_return_no_arena_types() {
        for ty in ["bytes", "str", "list[u8]", "list[f64]"] {
            let text = format!("import env.read(n: u32) -> {ty}");
            let caret = " ".repeat(27);
            assert_eq!(
                err(&text),
                format!(
                    "s.wasm2py:1:28: the import `env.read` cannot return `{ty}`: host functions return numbers, bool or ptr\n  |\n1 | {text}\n  | {caret}^"
                )
            );
        }
    }

    #[test]
    fn an_import_annotated_twice() {
        assert_eq!(
            err("import env.log(msg: str)\nf()\n# again\n  import env.log(msg: bytes)"),
            "s.wasm2py:4:10: `env.log` is annotated twice (first on line 1)\n  |\n4 |   import env.log(msg: bytes)\n  |          ^"
        );
        // The same name in another module is another import.
        ok("import env.log(msg: str)\nimport env2.log(msg: str)\nimport log.env()");
    }

    #[test]
    fn doc_lines_attach_to_imports() {
        let a = ok("/// For f.\nf()\n/// For the import.\nimport env.g()\ng()");
        assert_eq!(a.get("f").unwrap().docs, ["For f."]);
        assert_eq!(a.import("env", "g").unwrap().docs, ["For the import."]);
        assert!(a.get("g").unwrap().docs.is_empty());
        assert!(
            err("import env.g()\n/// dangling")
                .starts_with("s.wasm2py:2:1: doc lines at the end are not followed by a function")
        );
    }
}
