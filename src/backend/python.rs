//! What both backends print the same way: Python types, argument checks, docstrings.

use crate::model::{Function, Interface, Returns};
use crate::sig::{Num, Ty};

/// One function as the templates see it: every string is ready to print.
#[derive(Debug, Clone)]
pub struct FnView {
    /// Python name.
    pub name: String,
    /// The export name as a Python string literal.
    pub export_literal: String,
    /// `, a: int, b: int` (after `self`).
    pub params_sig: String,
    /// `a: int, b: int` (module-level function).
    pub params_sig_free: String,
    /// `a, b`
    pub args: String,
    /// The return annotation.
    pub ret: String,
    /// Docstring body for a method (continuation lines indented for a method).
    pub doc: String,
    /// Docstring body for a module-level function.
    pub doc_free: String,
    /// The wasm backend's method body, one line each, relative to the body's indentation.
    pub body: Vec<String>,
    /// The native backend's method body.
    pub native_body: Vec<String>,
    /// Fast path: the specialised body, if the function has one.
    pub fast_body: Option<Vec<String>>,
    /// The runtime's description of the export, a Python expression.
    pub export_spec: String,
    /// The native backend's `argtypes` list and `restype`, as Python expressions.
    pub argtypes: String,
    pub restype: String,
}

impl FnView {
    /// `iface`: the module's protocol (error record, arena record, host imports) decides
    /// parts of the bodies.
    pub fn new(f: &Function, iface: &Interface) -> Self {
        let typed: Vec<String> = f
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, param_type(p.ty)))
            .collect();
        let docs = doc_lines(f);
        FnView {
            name: f.py_name.clone(),
            export_literal: py_str(&f.export),
            params_sig: typed.iter().map(|t| format!(", {t}")).collect(),
            params_sig_free: typed.join(", "),
            args: f
                .params
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            ret: return_type(&f.returns),
            doc: docstring(&docs, 8),
            doc_free: docstring(&docs, 4),
            body: super::wasm::body(f),
            fast_body: super::wasm::fast_body(f, iface.arena_path()),
            export_spec: super::wasm::export_spec(f, iface.arena_path()),
            native_body: super::native::body(f, iface.error_record, iface.arena_record),
            argtypes: super::native::argtypes(f),
            restype: super::native::restype(f),
        }
    }
}

/// A Python string literal for `s` (double-quoted, escaped).
pub fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn param_type(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(n) if n.is_float() => "float",
        Ty::Num(_) | Ty::Ptr => "int",
        Ty::Bool => "bool",
        Ty::Bytes => "bytes | bytearray | memoryview",
        Ty::Str => "str",
        Ty::List(n) | Ty::Array(n) if n.is_float() => "_Iterable[float]",
        Ty::List(_) | Ty::Array(_) => "_Iterable[int]",
    }
}

pub fn result_type(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(n) if n.is_float() => "float",
        Ty::Num(_) | Ty::Ptr => "int",
        Ty::Bool => "bool",
        Ty::Bytes => "bytes",
        Ty::Str => "str",
        Ty::List(n) if n.is_float() => "list[float]",
        Ty::List(_) => "list[int]",
        Ty::Array(n) if n.is_float() => "_array[float]",
        Ty::Array(_) => "_array[int]",
    }
}

pub fn return_type(r: &Returns) -> String {
    match r {
        Returns::Nothing => "None".into(),
        Returns::One(t) => result_type(*t).into(),
        Returns::Tuple(ts) => format!(
            "tuple[{}]",
            ts.iter()
                .map(|t| result_type(*t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The `array` type code for a list element.
pub fn array_code(n: Num) -> &'static str {
    match n {
        Num::I8 => "b",
        Num::U8 => "B",
        Num::I16 => "h",
        Num::U16 => "H",
        Num::I32 => "i",
        Num::U32 => "I",
        Num::I64 => "q",
        Num::U64 => "Q",
        Num::F32 => "f",
        Num::F64 => "d",
    }
}

fn hex_or_dec(v: i128) -> String {
    if v > 0xFFFF {
        format!("{v:#X}").replace("0X", "0x")
    } else {
        v.to_string()
    }
}

/// Range checks for the integer parameters; `ptr_max` is the largest address.
/// Both backends raise the same `OverflowError` for the same inputs.
pub fn range_checks(f: &Function, ptr_max: u64) -> Vec<String> {
    let mut lines = Vec::new();
    for p in &f.params {
        let (lo, hi, what) = match p.ty {
            Ty::Num(n) => match n.range() {
                Some((lo, hi)) => (lo, hi, n.name()),
                None => continue,
            },
            Ty::Ptr => (0, ptr_max as i128, "ptr"),
            _ => continue,
        };
        // Unsigned bounds read best in hex, signed ones in decimal.
        let hi = if lo == 0 {
            hex_or_dec(hi)
        } else {
            hi.to_string()
        };
        lines.push(format!("if not {lo} <= {} <= {hi}:", p.name));
        lines.push(format!(
            "    raise OverflowError(f\"{}(): {}={{{}!r}} is out of range for {what}\")",
            f.py_name, p.name, p.name
        ));
    }
    lines
}

/// How an integer result of type `n` is brought into range from what the call returned
/// (a signed wasm value, or an already-typed ctypes value).
pub fn mask(n: Num, expr: &str) -> String {
    match n {
        Num::U8 => format!("{expr} & 0xFF"),
        Num::U16 => format!("{expr} & 0xFFFF"),
        Num::U32 => format!("{expr} & 0xFFFFFFFF"),
        Num::U64 => format!("{expr} & 0xFFFFFFFFFFFFFFFF"),
        Num::I8 => format!("(({expr} + 0x80) & 0xFF) - 0x80"),
        Num::I16 => format!("(({expr} + 0x8000) & 0xFFFF) - 0x8000"),
        Num::I32 | Num::I64 | Num::F32 | Num::F64 => expr.to_string(),
    }
}

fn doc_lines(f: &Function) -> Vec<String> {
    if !f.docs.is_empty() {
        return f.docs.clone();
    }
    if f.annotated {
        vec![format!(
            "Calls the export ``{}{}``.",
            f.export,
            f.signature()
        )]
    } else {
        vec![format!(
            "Calls the export ``{}`` (not annotated; core type ``{}``).",
            f.export, f.core
        )]
    }
}

/// A docstring body: lines escaped, continuation lines indented by `indent` spaces, and a
/// closing line break when there are several lines.
fn docstring(lines: &[String], indent: usize) -> String {
    let esc: Vec<String> = lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\""))
        .collect();
    if esc.len() == 1 {
        let mut one = esc[0].clone();
        if one.ends_with('"') {
            one.push(' ');
        }
        return one;
    }
    let pad = " ".repeat(indent);
    let mut out = esc[0].clone();
    for l in &esc[1..] {
        out.push('\n');
        if !l.is_empty() {
            out.push_str(&pad);
            out.push_str(l);
        }
    }
    out.push('\n');
    out.push_str(&pad);
    out
}

/// Argument conversion, the same on every backend and path: an integer parameter takes
/// any object with `__index__` (int, bool, numpy integers), a float parameter any real
/// number except text. Anything else is a `TypeError` naming the parameter.
pub fn type_checks(f: &Function) -> Vec<String> {
    let mut lines = Vec::new();
    for p in &f.params {
        let helper = match p.ty {
            Ty::Num(n) if n.is_float() => "_real_arg",
            Ty::Num(_) | Ty::Ptr => "_index_arg",
            _ => continue,
        };
        lines.push(format!(
            "{} = {helper}({}, {:?}, {})",
            p.name,
            py_str(&f.py_name),
            p.name,
            p.name
        ));
    }
    lines
}

/// The argument checks of a hot path: one expression per call while every argument is in
/// range (the integers of one width are or-ed together and shifted: anything left over,
/// or a negative number, is out of range), and the precise `TypeError` or `OverflowError`
/// of `type_checks` and `range_checks` only when that expression says something is wrong.
pub fn guarded_checks(f: &Function, ptr_max: u64) -> Vec<String> {
    let mut groups: Vec<(u32, Vec<String>)> = Vec::new();
    for p in &f.params {
        let (bits, signed) = match p.ty {
            Ty::Num(n) if !n.is_float() => (n.size() * 8, n.is_signed()),
            Ty::Ptr => (64 - ptr_max.leading_zeros(), false),
            _ => continue,
        };
        let expr = if signed {
            format!("{} + {}", p.name, hex_or_dec(1i128 << (bits - 1)))
        } else {
            p.name.clone()
        };
        match groups.iter_mut().find(|(b, _)| *b == bits) {
            Some((_, exprs)) => exprs.push(expr),
            None => groups.push((bits, vec![expr])),
        }
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let cond = groups
        .iter()
        .map(|(bits, exprs)| match exprs.as_slice() {
            [one] if !one.contains(' ') => format!("{one} >> {bits}"),
            _ => format!("({}) >> {bits}", exprs.join(" | ")),
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let mut lines = vec![
        "try:".to_string(),
        format!("    _bad = {cond}"),
        "except TypeError:".to_string(),
        "    _bad = True".to_string(),
        "if _bad:".to_string(),
    ];
    lines.extend(type_checks(f).iter().map(|l| format!("    {l}")));
    lines.extend(range_checks(f, ptr_max).iter().map(|l| format!("    {l}")));
    lines
}
