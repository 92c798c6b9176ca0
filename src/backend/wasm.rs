//! Per-function call bodies for the wasmtime-py backend (`templates/_wasm.py`).

use super::python::{array_code, mask, py_str, range_checks, type_checks};
use crate::model::{ArenaPath, Function, Param, Returns};
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
        Ty::Array(n) => format!("_st.get_array({name}, _r, {:?})", array_code(n)),
    }
}

/// The Python type of the raw value wasmtime-py returns for `ty`.
fn raw_type(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(n) if n.is_float() => "float",
        _ => "int",
    }
}

/// The call that copies an arena parameter into guest memory, returning `(ptr, len)`
/// (`None` for a scalar parameter). `name` is the function's name as a Python literal.
fn put(p: &Param, name: &str) -> Option<String> {
    let v = &p.name;
    match p.ty {
        Ty::Bytes => Some(format!("_st.put_bytes({name}, {v})")),
        Ty::Str => Some(format!("_st.put_str({name}, {v})")),
        Ty::List(n) | Ty::Array(n) => {
            Some(format!("_st.put_list({name}, {v}, {:?})", array_code(n)))
        }
        Ty::Num(_) | Ty::Ptr | Ty::Bool => None,
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
            Ty::Bytes | Ty::Str | Ty::List(_) | Ty::Array(_) => {
                let put = put(p, &name).expect("an arena type");
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
    if f.raises {
        // The guest's error record: its message, or "no room for the result".
        out.push(format!("    _st.check({name})"));
    }
    if f.uses_arena() {
        if let Some(r) = &ret {
            out.push(format!("    return {r}"));
        }
        out.push("except _TRAPS as _e:".into());
        out.push(format!("    self._trap({name}, _e)"));
        out.push("finally:".into());
        out.push("    _st.reset()".into());
    } else {
        out.push("except _TRAPS as _e:".into());
        out.push(format!("    self._trap({name}, _e)"));
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
/// little-endian), so narrow and unsigned results come out masked. An arena result is the
/// address of its `{ptr, len}` pair.
fn result_format(ty: Ty) -> &'static str {
    match ty {
        Ty::Num(Num::U8) => "B",
        Ty::Num(Num::I8) => "b",
        Ty::Num(Num::U16) => "H",
        Ty::Num(Num::I16) => "h",
        Ty::Num(Num::U32) | Ty::Ptr | Ty::Bytes | Ty::Str | Ty::List(_) | Ty::Array(_) => "I",
        Ty::Num(Num::U64) => "Q",
        Ty::Num(Num::I64) => "q",
        Ty::Num(Num::F32) => "f",
        Ty::Num(Num::F64) => "d",
        Ty::Num(Num::I32) | Ty::Bool => "i",
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

/// Whether a function gets a specialised fast-path body: every function with at most one
/// result (a multi-value result goes through the generic invoker).
fn fast_eligible(f: &Function) -> bool {
    !matches!(f.returns, Returns::Tuple(_))
}

/// Whether the fast body's tuple starts with the thread's state: for the arena, or to read
/// the guest's error record.
fn fast_state(f: &Function) -> bool {
    f.uses_arena() || f.raises
}

/// The fast body's slot writes in call order: `(view format, value)` per core parameter.
/// A bytes, str or list parameter is two slots: the `(ptr, len)` its arena copy returned.
fn fast_stores(f: &Function) -> Vec<(&'static str, String)> {
    let mut stores = Vec::new();
    for (i, p) in f.params.iter().enumerate() {
        match p.ty {
            Ty::Bool => stores.push((param_format(p.ty), format!("1 if {} else 0", p.name))),
            Ty::Bytes | Ty::Str | Ty::List(_) | Ty::Array(_) => {
                stores.push(("I", format!("_p{i}")));
                stores.push(("I", format!("_n{i}")));
            }
            Ty::Num(_) | Ty::Ptr => stores.push((param_format(p.ty), p.name.clone())),
        }
    }
    stores
}

/// The view formats the fast body unpacks, in order (`None`: no fast body).
pub fn fast_views(f: &Function) -> Option<Vec<String>> {
    if !fast_eligible(f) {
        return None;
    }
    let mut views: Vec<String> = Vec::new();
    let used = fast_stores(f)
        .into_iter()
        .map(|(fmt, _)| fmt)
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

/// The arena path of `f`'s fast body: the module's (`Interface::arena_path`) when `f` uses
/// the arena and has a fast body, else `State` (nothing inline).
fn inline_path(f: &Function, path: ArenaPath) -> ArenaPath {
    if f.uses_arena() && fast_eligible(f) {
        path
    } else {
        ArenaPath::State
    }
}

/// What the fast body's tuple carries after its views, per arena path: the state's window
/// (record view, memory view, base, room) for version 2; the raw calls of `bump_alloc`
/// (arguments, slot view) and `bump_reset` for version 1.
fn inline_unpack(path: ArenaPath) -> &'static str {
    match path {
        ArenaPath::State => "",
        ArenaPath::Record => ", _aw, _mv, _b, _room",
        ArenaPath::Protocol => ", _ba, _bv, _br",
    }
}

/// The first bytes or str parameter, written inline (`None`: another type). Version 2:
/// at the window's base, `top` moved past it. Version 1: at the block the raw
/// `bump_alloc` call returned, in the view of the memory when it covers the block (the
/// state checks and copies otherwise). Anything else (another type, too big for the
/// window or for a 32-bit memory) goes through the state.
fn inline_put(i: usize, p: &Param, name: &str, path: ArenaPath) -> Option<Vec<String>> {
    let v = &p.name;
    let (test, data) = match p.ty {
        Ty::Bytes => (
            format!("type({v}) is bytes and (_n{i} := len({v}))"),
            v.clone(),
        ),
        Ty::Str => (
            format!("type({v}) is str and (_n{i} := len(_d{i} := {v}.encode()))"),
            format!("_d{i}"),
        ),
        _ => return None,
    };
    let put = put(p, name).expect("an arena type");
    let lines = match path {
        ArenaPath::State => return None,
        ArenaPath::Record => vec![
            format!("if {test} <= _room:"),
            format!("    _p{i} = _b"),
            format!("    _mv[_b : _b + _n{i}] = {data}"),
            format!("    _aw[1] = _b + _n{i}"),
            "else:".into(),
            format!("    _p{i}, _n{i} = {put}"),
        ],
        ArenaPath::Protocol => vec![
            format!("if {test} <= 0xFFFFFFFF:"),
            format!("    _bv[0] = _n{i}"),
            "    _e = _RAW_CALL(*_ba)".into(),
            "    if _e or _ts[0]:".into(),
            "        self._fail(\"bump_alloc\", _e, _ts)".into(),
            format!("    _p{i} = _bv[0]"),
            format!("    if _p{i} and _p{i} + _n{i} <= _st.stay_bytes:"),
            format!("        _st.memory_view[_p{i} : _p{i} + _n{i}] = {data}"),
            "    else:".into(),
            format!("        _st.copy_in({name}, _p{i}, {data})"),
            "else:".into(),
            format!("    _p{i}, _n{i} = {put}"),
        ],
    };
    Some(lines)
}

/// The inline reset. Version 2: zero `[base, top)` and `top = base` when the record is
/// not busy and `top` lies in the window; otherwise the state's reset (which checks
/// everything, may call `bump_reset` and reopens the window). Version 1: the raw
/// `bump_reset` call.
fn inline_reset(path: ArenaPath) -> &'static [&'static str] {
    match path {
        ArenaPath::State => &["_st.reset()"],
        ArenaPath::Record => &[
            "_t = _aw[1] - _b",
            "if 0 <= _t <= _room and not _aw[3]:",
            "    _mv[_b : _b + _t] = _ZEROS[:_t]",
            "    _aw[1] = _b",
            "else:",
            "    _st.reset()",
        ],
        ArenaPath::Protocol => &[
            "_e = _RAW_CALL(*_br)",
            "if _e or _ts[0]:",
            "    self._fail(\"bump_reset\", _e, _ts)",
        ],
    }
}

/// The fast path's method body: values written through typed views of the export's slot
/// buffer, one prebuilt raw call, the trap slot checked, the result read in place.
/// Functions that pass bytes, str or lists copy them into the arena first and reset it in
/// `finally`, as on the public-API path; `path` says how (see `ArenaPath`): through the
/// state, or inline (version 2: no guest call; version 1: the protocol's raw calls).
pub fn fast_body(f: &Function, path: ArenaPath) -> Option<Vec<String>> {
    let views = fast_views(f)?;
    let name = py_str(&f.py_name);
    let arena = f.uses_arena();
    let path = inline_path(f, path);
    let mut out = Vec::new();
    let checks: Vec<String> = type_checks(f)
        .into_iter()
        .chain(range_checks(f, PTR_MAX))
        .collect();
    if arena {
        // The arena work dominates: check every scalar up front, as the public body does.
        out.extend(checks.iter().cloned());
    } else {
        // Narrow integers share an i32 slot: they need their own range check.
        let narrow: Vec<Param> = f
            .params
            .iter()
            .filter(|p| matches!(p.ty, Ty::Num(Num::I8 | Num::U8 | Num::I16 | Num::U16)))
            .cloned()
            .collect();
        if !narrow.is_empty() {
            let only_narrow = Function {
                params: narrow,
                ..f.clone()
            };
            out.extend(type_checks(&only_narrow));
            out.extend(range_checks(&only_narrow, PTR_MAX));
        }
    }
    let unpack = format!(
        "{}_a, _ts, {}{}",
        if fast_state(f) { "_st, " } else { "" },
        views
            .iter()
            .map(|v| format!("_v{v}"))
            .collect::<Vec<_>>()
            .join(", "),
        inline_unpack(path)
    );
    let tuple = format!("self._local.x_{}", f.py_name);
    out.push("try:".into());
    out.push(format!("    {unpack} = {tuple}"));
    out.push("except AttributeError:".into());
    // The thread's first call of this function: its tuple is made now.
    out.push(format!(
        "    {unpack} = self._fast_call(\"x_{}\")",
        f.py_name
    ));
    let stores: Vec<String> = fast_stores(f)
        .into_iter()
        .scan(0, |slot, (fmt, value)| {
            let index = *slot * 16 / format_size(fmt);
            *slot += 1;
            Some(format!("_v{fmt}[{index}] = {value}"))
        })
        .collect();
    let mut call = Vec::new();
    call.push("_e = _RAW_CALL(*_a)".to_string());
    call.push("if _e or _ts[0]:".into());
    call.push(format!("    self._fail({name}, _e, _ts)"));
    if f.raises {
        call.push(format!("_st.check({name})"));
    }
    if let Returns::One(t) = f.returns {
        let read = format!("_v{}[0]", result_format(t));
        if t.uses_arena() {
            call.push(format!("_r: int = {read}"));
            let ret = super::python::return_type(&f.returns);
            call.push(format!("_out: {ret} = {}", lift(t, &name)));
            call.push("return _out".into());
        } else if t == Ty::Bool {
            call.push(format!("_r: int = {read}"));
            call.push("return _r != 0".into());
        } else {
            call.push(format!("_r: {} = {read}", super::python::result_type(t)));
            call.push("return _r".into());
        }
    }
    if arena {
        out.push("try:".into());
        let mut inlined = false; // only the first input is written inline
        for (i, p) in f.params.iter().enumerate() {
            if let Some(put) = put(p, &name) {
                match inline_put(i, p, &name, path).filter(|_| !inlined) {
                    Some(lines) => out.extend(lines.iter().map(|l| format!("    {l}"))),
                    None => out.push(format!("    _p{i}, _n{i} = {put}")),
                }
                inlined = true;
            }
        }
        out.extend(stores.iter().chain(&call).map(|l| format!("    {l}")));
        out.push("except _TRAPS as _e:".into());
        out.push(format!("    self._trap({name}, _e)"));
        out.push("finally:".into());
        out.extend(inline_reset(path).iter().map(|l| format!("    {l}")));
    } else if checks.is_empty() {
        // Only booleans: their writes cannot fail.
        out.extend(stores);
        out.extend(call);
    } else {
        out.push("try:".into());
        out.extend(stores.iter().map(|s| format!("    {s}")));
        out.push("except (ValueError, TypeError):".into());
        // The write refused a value: say which, as the public-API path does.
        out.extend(checks.iter().map(|l| format!("    {l}")));
        out.push("    raise".into());
        out.extend(call);
    }
    Some(out)
}

/// The runtime's description of one export (`_rt.Export(...)` in `_wasm.py`); `path` as
/// for `fast_body`.
pub fn export_spec(f: &Function, path: ArenaPath) -> String {
    let strs = |v: Vec<String>| match v.len() {
        0 => "()".to_string(),
        1 => format!("({},)", v[0]),
        _ => format!("({})", v.join(", ")),
    };
    let quoted = |ts: &[crate::wasm::CoreType]| strs(ts.iter().map(|t| py_str(t.name())).collect());
    let views = match fast_views(f) {
        Some(v) => strs(v.iter().map(|v| py_str(v)).collect()),
        None => "None".to_string(),
    };
    format!(
        "_rt.Export({}, {}, {}, {}, {}, {views}, {}{})",
        py_str(&f.py_name),
        py_str(&f.export),
        py_str(&f.core.to_string()),
        quoted(&f.core.params),
        quoted(&f.core.results),
        if fast_state(f) && fast_views(f).is_some() {
            "True"
        } else {
            "False"
        },
        match inline_path(f, path) {
            ArenaPath::State => "",
            ArenaPath::Record => ", \"record\"",
            ArenaPath::Protocol => ", \"protocol\"",
        }
    )
}

/// The runtime's kind of a host import's parameter or result (see `_runtime.Import`).
fn import_kind(ty: Ty) -> String {
    match ty {
        Ty::Num(n) => n.name().to_string(),
        Ty::Bool => "bool".into(),
        Ty::Ptr => "ptr".into(),
        Ty::Bytes => "bytes".into(),
        Ty::Str => "str".into(),
        Ty::List(n) => format!("list:{}", array_code(n)),
        Ty::Array(n) => format!("array:{}", array_code(n)),
    }
}

/// The runtime's description of one host import (`_rt.Import(...)` in `_wasm.py`).
pub fn import_spec(i: &crate::imports::HostImport) -> String {
    let tuple = |v: Vec<String>| match v.len() {
        0 => "()".to_string(),
        1 => format!("({},)", v[0]),
        _ => format!("({})", v.join(", ")),
    };
    format!(
        "_rt.Import({}, {}, {}, {}, {}, {})",
        py_str(&i.module),
        py_str(&i.name),
        tuple(
            i.params
                .iter()
                .map(|p| py_str(&import_kind(p.ty)))
                .collect()
        ),
        i.result
            .map_or("None".to_string(), |t| py_str(&import_kind(t))),
        tuple(i.core.params.iter().map(|t| py_str(t.name())).collect()),
        tuple(i.core.results.iter().map(|t| py_str(t.name())).collect()),
    )
}
