//! The annotation language: a typed, positioned parse of
//!
//! ```text
//! # comment
//! /// doc line for the next function
//! name(param: type, ...) -> type
//! ```
//!
//! Checking annotations against the module happens in `model`; this module only parses.

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
}

impl Ty {
    /// True for the types that travel through the guest arena.
    pub fn uses_arena(self) -> bool {
        matches!(self, Ty::Bytes | Ty::Str | Ty::List(_))
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
    pub docs: Vec<String>,
}

impl std::fmt::Display for Annotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty))
            .collect();
        write!(f, "{}({})", self.name, params.join(", "))?;
        if let Some((ty, _)) = &self.result {
            write!(f, " -> {ty}")?;
        }
        Ok(())
    }
}

/// Parsed annotations plus the text they came from, so later checks can point into it.
#[derive(Debug, Clone)]
pub struct Annotations {
    /// How the source is named in messages: a path, or `MODULE.wasm[wasm2py section]`.
    pub file: String,
    pub text: String,
    pub items: Vec<Annotation>,
}

impl Annotations {
    /// An error pointing at `pos` in this source.
    pub fn error_at(&self, pos: Pos, message: impl Into<String>, hint: Option<String>) -> Error {
        error_at(&self.file, &self.text, pos, message.into(), hint)
    }

    pub fn get(&self, name: &str) -> Option<&Annotation> {
        self.items.iter().find(|a| a.name == name)
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
            "list" => {
                self.expect_punct(line, "[", "`[` after `list`")?;
                let (elem, ecol) = self.expect_ident(line, "an element type")?;
                let n = self.num(line.no, ecol, elem, true)?;
                self.expect_punct(line, "]", "`]`")?;
                Ty::List(n)
            }
            other => Ty::Num(self.num(line.no, col, other, false)?),
        };
        Ok((ty, pos))
    }

    fn function(&self, line: &mut Line<'a>, docs: Vec<String>) -> Result<Annotation, Error> {
        let (name, col) = self.expect_ident(line, "a function name")?;
        let pos = Pos { line: line.no, col };
        self.expect_punct(line, "(", "`(` after the function name")?;
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
        if line.i < line.toks.len() {
            let (found, col) = self.found(line);
            let what = if result.is_none() {
                "`->` or end of line"
            } else {
                "end of line"
            };
            return Err(self.err_hint(
                line.no,
                col,
                format!("expected {what}, found {found}"),
                "one function per line; a function returns at most one value",
            ));
        }
        Ok(Annotation {
            name: name.to_string(),
            pos,
            params,
            result,
            docs,
        })
    }
}

/// Parses annotation text. `file` names the source in messages.
pub fn parse(file: &str, text: &str) -> Result<Annotations, Error> {
    // A byte-order mark (some Windows editors write one) is not part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let p = Parser { file, text };
    let mut items: Vec<Annotation> = Vec::new();
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
        let ann = p.function(&mut line, std::mem::take(&mut docs))?;
        doc_start = None;
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
    })
}
