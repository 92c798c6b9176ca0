//! Per-function call bodies for the wasmtime-py backend (`templates/_wasm.py`).

use super::python::{array_code, mask, py_str, range_checks};
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
    let mut out = range_checks(f, PTR_MAX);
    let name = py_str(&f.py_name);
    let mut puts = Vec::new();
    let mut args = Vec::new();
    for (i, p) in f.params.iter().enumerate() {
        let v = &p.name;
        match p.ty {
            Ty::Num(Num::F32 | Num::F64) => args.push(format!("float({v})")),
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
