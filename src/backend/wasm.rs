//! Per-function call bodies for the wasmtime-py backend (`templates/_wasm.py`).

use super::python::{array_code, mask, py_str, range_checks, type_checks};
use crate::model::{Function, Returns};
use crate::sig::{Num, Ty};

/// The largest wasm32 address.
const PTR_MAX: u64 = 0xFFFF_FFFF;

/// How the raw result `_r` becomes the Python value (`st` holds the thread's state).
fn lift(ty: Ty, name: &str) -> String {
    match ty {
        Ty::Num(n) => mask(n, "_r"),
        Ty::Bool => "_r != 0".into(),
        Ty::Ptr => "_r & 0xFFFFFFFF".into(),
        Ty::Bytes => format!("_st.get_bytes({name}, _r)"),
        Ty::Str => format!("_st.get_str({name}, _r)"),
        Ty::List(n) => format!("_st.get_list({name}, _r, {:?})", array_code(n)),
    }
}

/// The Python type of the raw value wasmtime-py returns for `ty`.
fn raw_type(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(n) if n.is_float() => "float",
        _ => "int",
    }
}

pub fn body(f: &Function) -> Vec<String> {
    // wasmtime-py takes only int and float objects: convert first, then check ranges.
    let mut out = type_checks(f);
    out.extend(range_checks(f, PTR_MAX));
    let name = py_str(&f.py_name);
    let mut puts = Vec::new();
    let mut args = Vec::new();
    for (i, p) in f.params.iter().enumerate() {
        let v = &p.name;
        match p.ty {
            Ty::Num(_) | Ty::Ptr => args.push(v.clone()),
            Ty::Bool => args.push(format!("1 if {v} else 0")),
            Ty::Bytes | Ty::Str | Ty::List(_) => {
                let put = match p.ty {
                    Ty::Bytes => format!("_st.put_bytes({name}, {v})"),
                    Ty::Str => format!("_st.put_str({name}, {v})"),
                    Ty::List(n) => format!("_st.put_list({name}, {v}, {:?})", array_code(n)),
                    _ => unreachable!("arena types only"),
                };
                puts.push(format!("_p{i}, _n{i} = {put}"));
                args.push(format!("_p{i}, _n{i}"));
            }
        }
    }
    let call = format!("_st.f_{}({})", f.py_name, args.join(", "));
    let (assign, ret) = match &f.returns {
        Returns::Nothing => (call, None),
        Returns::One(t) => (
            format!("_r: {} = {call}", raw_type(*t)),
            Some(lift(*t, &name)),
        ),
        Returns::Tuple(ts) => (
            format!("_r: list[{}] = {call}", "_Any"),
            Some(format!(
                "({})",
                (0..ts.len())
                    .map(|i| format!("_r[{i}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ),
    };
    out.push("_st = self._state()".into());
    out.push("try:".into());
    out.extend(puts.iter().map(|l| format!("    {l}")));
    out.push(format!("    {assign}"));
    if f.uses_arena() {
        if let Some(r) = &ret {
            out.push(format!("    return {r}"));
        }
        out.push("except _TRAPS as _e:".into());
        out.push(format!("    _trap({name}, _e)"));
        out.push("finally:".into());
        out.push("    _st.reset()".into());
    } else {
        out.push("except _TRAPS as _e:".into());
        out.push(format!("    _trap({name}, _e)"));
        if let Some(r) = &ret {
            out.push(format!("return {r}"));
        }
    }
    out
}

/// The memoryview format a parameter of type `ty` is written through on the fast path.
/// Formats with a range (`I i Q q`) make the write itself the range check; narrow integer
/// types are checked explicitly and written as i32.
fn param_format(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(Num::U32) | Ty::Ptr | Ty::Bool => "I",
        Ty::Num(Num::U64) => "Q",
        Ty::Num(Num::I64) => "q",
        Ty::Num(Num::F32) => "f",
        Ty::Num(Num::F64) => "d",
        _ => "i",
    }
}

/// The format a result of type `ty` is read through: the low bytes of slot 0 (wasm is
/// little-endian), so narrow and unsigned results come out masked.
fn result_format(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(Num::U8) => "B",
        Ty::Num(Num::I8) => "b",
        Ty::Num(Num::U16) => "H",
        Ty::Num(Num::I16) => "h",
        Ty::Num(Num::U32) | Ty::Ptr => "I",
        Ty::Num(Num::U64) => "Q",
        Ty::Num(Num::I64) => "q",
        Ty::Num(Num::F32) => "f",
        Ty::Num(Num::F64) => "d",
        _ => "i",
    }
}

fn format_size(fmt: &str) -> usize {
    match fmt {
        "B" | "b" => 1,
        "H" | "h" => 2,
        "I" | "i" | "f" => 4,
        _ => 8,
    }
}

/// Whether a function gets a specialised fast-path body: scalars in, at most one out.
fn fast_eligible(f: &Function) -> bool {
    !f.uses_arena() && !matches!(f.returns, Returns::Tuple(_))
}

/// The view formats the fast body unpacks, in order (`None`: no fast body).
pub fn fast_views(f: &Function) -> Option<Vec<String>> {
    if !fast_eligible(f) {
        return None;
    }
    let mut views: Vec<String> = Vec::new();
    let used = f
        .params
        .iter()
        .map(|p| param_format(p.ty))
        .chain(match f.returns {
            Returns::One(t) => Some(result_format(t)),
            _ => None,
        });
    for fmt in used {
        if !views.iter().any(|v| v == fmt) {
            views.push(fmt.to_string());
        }
    }
    Some(views)
}

/// The fast path's method body: values written through typed views of the export's slot
/// buffer, one prebuilt raw call, the trap slot checked, the result read in place.
pub fn fast_body(f: &Function) -> Option<Vec<String>> {
    let views = fast_views(f)?;
    let name = py_str(&f.py_name);
    let mut out = Vec::new();
    // Narrow integers share an i32 slot: they need their own range check.
    let narrow: Vec<&crate::model::Param> = f
        .params
        .iter()
        .filter(|p| matches!(p.ty, Ty::Num(Num::I8 | Num::U8 | Num::I16 | Num::U16)))
        .collect();
    if !narrow.is_empty() {
        let only_narrow = Function {
            params: narrow.into_iter().cloned().collect(),
            ..f.clone()
        };
        out.extend(type_checks(&only_narrow));
        out.extend(range_checks(&only_narrow, PTR_MAX));
    }
    let unpack = format!(
        "_call, _trap, {}",
        views
            .iter()
            .map(|v| format!("_v{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push("try:".into());
    out.push(format!("    {unpack} = self._local.x_{}", f.py_name));
    out.push("except AttributeError:".into());
    out.push(format!("    {unpack} = self._state().x_{}", f.py_name));
    let mut stores = Vec::new();
    for (k, p) in f.params.iter().enumerate() {
        let fmt = param_format(p.ty);
        let index = k * 16 / format_size(fmt);
        let value = match p.ty {
            Ty::Bool => format!("1 if {} else 0", p.name),
            _ => p.name.clone(),
        };
        stores.push(format!("_v{fmt}[{index}] = {value}"));
    }
    let checks: Vec<String> = type_checks(f)
        .into_iter()
        .chain(range_checks(f, PTR_MAX))
        .collect();
    if checks.is_empty() {
        // Only booleans: their writes cannot fail.
        out.extend(stores);
    } else {
        out.push("try:".into());
        out.extend(stores.iter().map(|s| format!("    {s}")));
        out.push("except (ValueError, TypeError):".into());
        // The write refused a value: say which, as the public-API path does.
        out.extend(checks.iter().map(|l| format!("    {l}")));
        out.push("    raise".into());
    }
    out.push("_e = _call()".into());
    out.push("if _e or _trap[0]:".into());
    out.push(format!("    _fail({name}, _e, _trap)"));
    if let Returns::One(t) = f.returns {
        let fmt = result_format(t);
        let read = format!("_v{fmt}[0]");
        let raw = if t == Ty::Bool {
            "int"
        } else {
            super::python::result_type(t)
        };
        out.push(format!("_r: {raw} = {read}"));
        out.push(
            if t == Ty::Bool {
                "return _r != 0"
            } else {
                "return _r"
            }
            .into(),
        );
    }
    Some(out)
}
