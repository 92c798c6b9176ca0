//! Per-function call bodies and ctypes prototypes for the native backend
//! (`templates/_native.py`): the same checks and results as the wasm backend, on the
//! native build of the same source.

use super::python::{array_code, guarded_checks, py_str};
use crate::model::{Function, Returns};
use crate::sig::{Num, Ty};

/// The largest address of a 64-bit host.
const PTR_MAX: u64 = u64::MAX;

fn ctype(n: Num) -> &'static str {
    match n {
        Num::I8 => "_ctypes.c_int8",
        Num::I16 => "_ctypes.c_int16",
        Num::I32 => "_ctypes.c_int32",
        Num::I64 => "_ctypes.c_int64",
        Num::U8 => "_ctypes.c_uint8",
        Num::U16 => "_ctypes.c_uint16",
        Num::U32 => "_ctypes.c_uint32",
        Num::U64 => "_ctypes.c_uint64",
        Num::F32 => "_ctypes.c_float",
        Num::F64 => "_ctypes.c_double",
    }
}

fn scalar_ctype(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(n) => ctype(n),
        Ty::Bool => "_ctypes.c_bool",
        // Pointers, and the {ptr, len} pair a bytes/str/list result points to.
        Ty::Ptr | Ty::Bytes | Ty::Str | Ty::List(_) | Ty::Array(_) => "_ctypes.c_void_p",
    }
}

/// Functions whose parameters are all integers of at most 32 bits (or bools) are called
/// without `argtypes`: ctypes then passes a Python int as a C int (masked to 32 bits),
/// which is the right bit pattern for every such type once the range is checked, and the
/// call costs about half as much. Wider or float parameters keep their prototype.
pub fn untyped(f: &Function) -> bool {
    !f.params.is_empty()
        && !f.uses_arena()
        && !matches!(f.returns, Returns::Tuple(_))
        && f.params.iter().all(|p| match p.ty {
            Ty::Num(n) => !n.is_float() && n.size() <= 4,
            Ty::Bool => true,
            _ => false,
        })
}

pub fn argtypes(f: &Function) -> String {
    if untyped(f) {
        return "None".into();
    }
    let mut ts = Vec::new();
    for p in &f.params {
        if matches!(p.ty, Ty::Bytes | Ty::Str) {
            // c_char_p takes bytes (and the c_char arrays `_bytes_arg` makes) at about
            // half the cost of c_void_p's conversion.
            ts.extend(["_ctypes.c_char_p", "_ctypes.c_size_t"]);
        } else if p.ty.uses_arena() {
            ts.extend(["_ctypes.c_void_p", "_ctypes.c_size_t"]);
        } else {
            ts.push(scalar_ctype(p.ty));
        }
    }
    format!("[{}]", ts.join(", "))
}

pub fn restype(f: &Function) -> String {
    match &f.returns {
        Returns::Nothing => "None".into(),
        Returns::One(t) => scalar_ctype(*t).into(),
        // Multi-value results have no C ABI; `model` only produces them unannotated,
        // and the native build of such a module cannot export them either.
        Returns::Tuple(_) => "None".into(),
    }
}

/// `error_record`: the library exports `wasm2py_error` (a `raises` function reads it after
/// each call; a null bytes/str/list result reads it to tell why). `arena_record`: it
/// exports `wasm2py_arena`, whose `busy` word says whether `bump_reset()` has anything to do.
pub fn body(f: &Function, error_record: bool, arena_record: bool) -> Vec<String> {
    let mut out = guarded_checks(f, PTR_MAX);
    let name = py_str(&f.py_name);
    if let Returns::Tuple(_) = f.returns {
        out.push(format!("_no_c_abi({name})"));
        return out;
    }
    let mut puts = Vec::new();
    let mut args = Vec::new();
    for (i, p) in f.params.iter().enumerate() {
        let v = &p.name;
        match p.ty {
            Ty::Bool => args.push(format!("bool({v})")),
            Ty::Num(_) | Ty::Ptr => args.push(v.clone()),
            Ty::Bytes => {
                // `bytes` is passed as it is (ctypes passes its own buffer): tested inline,
                // it costs no helper call.
                // (`a, b = x, y` builds no tuple; a conditional expression would.)
                puts.push(format!(
                    "if type({v}) is bytes:\n    _a{i}, _n{i} = {v}, len({v})\nelse:\n    _a{i}, _n{i} = _bytes_arg({name}, {v})"
                ));
                args.push(format!("_a{i}, _n{i}"));
            }
            Ty::Str => {
                puts.push(format!("_a{i}, _n{i} = _str_arg({name}, {v})"));
                args.push(format!("_a{i}, _n{i}"));
            }
            Ty::List(n) | Ty::Array(n) => {
                // `_k{i}` keeps the items alive for the call.
                puts.push(format!(
                    "_k{i}, _a{i}, _n{i} = _list_arg({v}, {:?})",
                    array_code(n)
                ));
                args.push(format!("_a{i}, _n{i}"));
            }
        }
    }
    // Loading the function into a local first is measurably cheaper than calling
    // `self._f_x(...)` directly (a slot attribute defeats the method-call fast path).
    out.push(format!("_f = self._f_{}", f.py_name));
    let call = format!("_f({})", args.join(", "));
    let ret = match &f.returns {
        Returns::One(t) => Some(*t),
        _ => None,
    };
    // The result's annotation, and how it is lifted.
    let (declared, lift) = match ret {
        None => (None, None),
        Some(Ty::Bytes) => (
            Some("int | None".to_string()),
            Some(format!("_get_bytes({name}, _r)")),
        ),
        Some(Ty::Str) => (
            Some("int | None".to_string()),
            Some(format!("_get_str({name}, _r)")),
        ),
        Some(Ty::List(n)) => (
            Some("int | None".to_string()),
            Some(format!("_get_list({name}, _r, {:?})", array_code(n))),
        ),
        Some(Ty::Array(n)) => (
            Some("int | None".to_string()),
            Some(format!("_get_array({name}, _r, {:?})", array_code(n))),
        ),
        Some(Ty::Ptr) => (Some("int | None".to_string()), Some("_r or 0".into())),
        Some(t) => (
            Some(super::python::result_type(t).to_string()),
            Some("_r".into()),
        ),
    };
    // The second copy of an arena body (under the lock) assigns `_r` without annotating
    // it again (mypy refuses a second annotation of the same name).
    let assign_to = |annotated: bool| match &declared {
        None => call.clone(),
        Some(t) if annotated => format!("_r: {t} = {call}"),
        Some(_) => format!("_r = {call}"),
    };
    let assign = assign_to(true);
    // What the guest's error record says, read after the call: always for `raises`, only
    // on a null result for the other arena results.
    let check = if f.raises {
        Some(format!("self._check({name})"))
    } else if error_record && matches!(ret, Some(t) if t.uses_arena()) {
        Some(format!("if not _r:\n    self._check({name})"))
    } else {
        None
    };
    // ctypes refuses a value of the wrong type with ArgumentError: the same TypeError as
    // on the wasm backend instead. Without argtypes ctypes takes only int and bool, so an
    // integer of another class (numpy, __index__) is converted and the call made again.
    let untyped = untyped(f);
    let refused = if untyped {
        let converted: Vec<String> = f
            .params
            .iter()
            .map(|p| match p.ty {
                Ty::Bool => format!("bool({})", p.name),
                _ => format!("_index_arg({name}, {:?}, {})", p.name, p.name),
            })
            .collect();
        // Untyped functions have scalar results: `_r` is already declared above.
        let target = if ret.is_some() { "_r = " } else { "" };
        format!(
            "except _ctypes.ArgumentError:\n    {target}_f({})",
            converted.join(", ")
        )
    } else {
        format!("except _ctypes.ArgumentError as _e:\n    _bad_argument({name}, _e)")
    };
    if untyped && f.params.iter().all(|p| p.ty == Ty::Bool) {
        // bool() arguments: ctypes cannot refuse them.
        out.push(assign);
        out.extend(check.iter().flat_map(|c| c.lines().map(String::from)));
        if let Some(l) = lift {
            out.push(format!("return {l}"));
        }
        return out;
    }
    if f.uses_arena() {
        // The call, the result's read and `bump_reset()`: under the library's lock unless
        // its arena is per thread (`_arena_lock` is None, decided in `_create`). The body
        // is written twice so that the per-thread case pays one test: measured on textkit's
        // byte_len of 64 bytes, the `if` costs nothing, while a `with` costs ~+30 % even on
        // a no-op context manager (`nullcontext`). The lock is taken by `with`, not
        // acquire()/try: a KeyboardInterrupt raised right after acquire() returns would
        // leave the library locked for good.
        let arena_call = |annotated: bool| {
            let mut lines = vec!["try:".to_string()];
            lines.extend(
                puts.iter()
                    .flat_map(|l| l.lines())
                    .map(|l| format!("    {l}")),
            );
            lines.push(format!("    {}", assign_to(annotated)));
            lines.extend(
                check
                    .iter()
                    .flat_map(|c| c.lines().map(|l| format!("    {l}"))),
            );
            if let Some(l) = &lift {
                lines.push(format!("    return {l}"));
            }
            lines.extend(refused.lines().map(String::from));
            lines.push("finally:".into());
            if arena_record {
                // Version 2: `busy` counts the threads whose arena holds anything.
                lines.push("    if self._arena[3]:".into());
                lines.push("        self._reset()".into());
            } else {
                lines.push("    self._reset()".into());
            }
            lines
        };
        out.push("if self._arena_lock is None:".into());
        out.extend(arena_call(true).iter().map(|l| format!("    {l}")));
        out.push("else:".into());
        out.push("    with self._arena_lock:".into());
        out.extend(arena_call(false).iter().map(|l| format!("        {l}")));
        return out;
    }
    out.push("try:".into());
    out.extend(
        puts.iter()
            .flat_map(|l| l.lines())
            .map(|l| format!("    {l}")),
    );
    out.push(format!("    {assign}"));
    out.extend(refused.lines().map(String::from));
    out.extend(check.iter().flat_map(|c| c.lines().map(String::from)));
    if let Some(l) = lift {
        out.push(format!("return {l}"));
    }
    out
}
