//! Every bad input the library refuses, with the exact message it renders, and the edge
//! cases it accepts (skipped exports, ignored globals, names, annotation sources).
//!
//! Modules are built from WAT here; each case writes `m.wasm` (and `m.wasm2py` when it has
//! annotations) into a fresh temporary directory and runs the real pipeline on it.
//! Messages are compared with the temporary directory removed, so they read `m.wasm: ...`.

use std::path::{MAIN_SEPARATOR, Path};
use wasm2py::imports::{HostImport, Imports};
use wasm2py::model::{AnnotationSource, ArenaPath, Interface, Param, Returns};
use wasm2py::sig::{Num, Ty};
use wasm2py::{Files, Options};

/// The memory protocol, for modules that pass bytes, str or lists.
const ARENA: &str = r#"
  (memory (export "memory") 1)
  (func (export "bump_alloc") (param i32) (result i32) i32.const 16)
  (func (export "bump_reset"))
"#;

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{text}"))
}

/// A module made of `body` (module fields in WAT).
fn module(body: &str) -> Vec<u8> {
    wat(&format!("(module {body})"))
}

/// Writes `m.wasm` (and the sidecar `m.wasm2py` when `sig` is given) into a temporary
/// directory and calls `f` with the options for it; errors come back rendered, with the
/// directory removed from paths.
fn with_module<T>(
    bytes: &[u8],
    sig: Option<&str>,
    f: impl FnOnce(&Options) -> Result<T, wasm2py::Error>,
) -> Result<T, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.wasm");
    std::fs::write(&path, bytes).unwrap();
    if let Some(sig) = sig {
        std::fs::write(dir.path().join("m.wasm2py"), sig).unwrap();
    }
    let opts = Options {
        module: path,
        ..Options::default()
    };
    f(&opts).map_err(|e| strip(&e.to_string(), dir.path()))
}

fn strip(message: &str, dir: &Path) -> String {
    message.replace(&format!("{}{MAIN_SEPARATOR}", dir.display()), "")
}

/// Generates the package for `bytes` (+ sidecar), or the rendered error.
fn generate(bytes: &[u8], sig: Option<&str>) -> Result<Files, String> {
    with_module(bytes, sig, wasm2py::generate)
}

fn interface(bytes: &[u8], sig: Option<&str>) -> Interface {
    with_module(bytes, sig, wasm2py::load)
        .unwrap_or_else(|e| panic!("load failed: {e}"))
        .interface
}

/// The error for a module that must be refused.
fn error(bytes: &[u8], sig: Option<&str>) -> String {
    match generate(bytes, sig) {
        Ok(files) => panic!(
            "expected an error, but generation succeeded with files {:?}",
            files.files.keys().collect::<Vec<_>>()
        ),
        Err(e) => e,
    }
}

fn init_py(files: &Files, pkg: &str) -> String {
    String::from_utf8(files.get(&format!("{pkg}/__init__.py")).unwrap().to_vec()).unwrap()
}

// ---------------------------------------------------------------------------------------
// The module itself
// ---------------------------------------------------------------------------------------

#[test]
fn not_wasm() {
    let magic =
        r#"not a WebAssembly module: expected the magic bytes 00 61 73 6d ("\0asm"), found"#;
    let cases: &[(&[u8], &str)] = &[
        (&[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc], "12 34 56 78"),
        (b"hello, world\n", "68 65 6c 6c"),
        (b"\x7fELF\x02\x01\x01\0\0\0\0\0", "7f 45 4c 46"),
        // Shorter than the magic: what there is.
        (b"\x01", "01"),
    ];
    for (bytes, found) in cases {
        assert_eq!(
            error(bytes, None),
            format!("m.wasm: {magic} {found}"),
            "input {bytes:?}"
        );
    }
}

#[test]
fn empty_file() {
    assert_eq!(
        error(b"", None),
        "m.wasm: the file is empty; expected a WebAssembly module"
    );
}

#[test]
fn text_that_is_not_wat() {
    // Starts like WAT, so it is parsed as text and the text error is reported.
    let e = error(b"(module (func (export \"f\") (param i32) oops))", None);
    assert!(
        e.starts_with("m.wasm: invalid WebAssembly text: "),
        "unexpected: {e}"
    );
    assert!(e.contains("oops") || e.contains("expected"), "{e}");
}

#[test]
fn truncated_header() {
    assert_eq!(
        error(b"\0asm\x01\0", None),
        "m.wasm: truncated module: 6 bytes, a header alone is 8"
    );
    assert_eq!(
        error(b"\0asm", None),
        "m.wasm: truncated module: 4 bytes, a header alone is 8"
    );
}

#[test]
fn truncated_section() {
    // A type section announcing 5 bytes of which 2 are present.
    let e = error(b"\0asm\x01\0\0\0\x01\x05\x01\x60", None);
    assert_eq!(
        e,
        "m.wasm: invalid module at byte offset 0xa: unexpected end-of-file"
    );

    // A real module cut in the middle of its code section.
    let full =
        module(r#"(func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add)"#);
    let cut = &full[..full.len() - 3];
    let e = error(cut, None);
    assert!(
        e.starts_with("m.wasm: invalid module at byte offset 0x"),
        "unexpected: {e}"
    );
    assert!(e.contains("unexpected end"), "unexpected: {e}");
}

#[test]
fn bad_version() {
    assert_eq!(
        error(b"\0asm\x02\0\0\0", None),
        "m.wasm: unsupported WebAssembly version 02 00 00 00; expected 01 00 00 00"
    );
}

#[test]
fn component() {
    assert_eq!(
        error(b"\0asm\x0d\0\x01\0", None),
        "m.wasm: this is a WebAssembly component; wasm2py wraps core modules (build for wasm32-unknown-unknown)"
    );
    let component = wat("(component)");
    assert!(error(&component, None).starts_with("m.wasm: this is a WebAssembly component"));
}

#[test]
fn invalid_section() {
    // A type section whose one entry has the form byte 0x99 (no such type form).
    let e = error(b"\0asm\x01\0\0\0\x01\x03\x01\x99\x00", None);
    assert_eq!(
        e,
        "m.wasm: invalid module at byte offset 0xb: invalid leading byte (0x99) for type"
    );
    // An unknown section id.
    assert_eq!(
        error(b"\0asm\x01\0\0\0\x7f\x00", None),
        "m.wasm: invalid module at byte offset 0xa: malformed section id: 127"
    );
}

#[test]
fn fails_validation() {
    let bad = module(r#"(func (export "f") (result i32) i64.const 1)"#);
    let e = error(&bad, None);
    assert!(
        e.starts_with("m.wasm: invalid module at byte offset 0x"),
        "unexpected: {e}"
    );
    assert!(e.contains("type mismatch"), "unexpected: {e}");
}

#[test]
fn custom_section_not_utf8() {
    // A custom section `wasm2py` holding the bytes ff fe.
    let mut bytes = module(r#"(func (export "f"))"#);
    bytes.extend_from_slice(b"\x00\x0a\x07wasm2py\xff\xfe");
    let e = error(&bytes, None);
    assert!(
        e.starts_with("m.wasm: the `wasm2py` custom section is not UTF-8: "),
        "unexpected: {e}"
    );
}

// ---------------------------------------------------------------------------------------
// Annotation syntax
// ---------------------------------------------------------------------------------------

/// A module exporting `f` and `g` of every shape the syntax cases need; syntax errors come
/// before any check against the module.
fn syntax_error(sig: &str) -> String {
    error(&module(r#"(func (export "f"))"#), Some(sig))
}

#[test]
fn syntax_errors_first_line_and_position() {
    // (annotation text, first line of the message, hint if any)
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "f(a: i32",
            "m.wasm2py:1:9: expected `,` or `)`, found end of line",
            None,
        ),
        (
            "f(a: i32 b: i32)",
            "m.wasm2py:1:10: expected `,` or `)`, found `b`",
            None,
        ),
        ("f(a: )", "m.wasm2py:1:6: expected a type, found `)`", None),
        ("f(a:)", "m.wasm2py:1:5: expected a type, found `)`", None),
        (
            "f(a)",
            "m.wasm2py:1:4: parameter `a` has no type",
            Some("write `name: type`, e.g. `n: u64`"),
        ),
        (
            "f(abc, d: u8)",
            "m.wasm2py:1:6: parameter `abc` has no type",
            Some("write `name: type`, e.g. `n: u64`"),
        ),
        (
            "f() ->",
            "m.wasm2py:1:7: expected a type, found end of line",
            None,
        ),
        (
            "f() -> ",
            "m.wasm2py:1:7: expected a type, found end of line",
            None,
        ),
        // End of line is just past the last token, not past trailing blanks or a comment.
        (
            "f(a: i32   # the count",
            "m.wasm2py:1:9: expected `,` or `)`, found end of line",
            None,
        ),
        (
            "f() -> i32 x",
            "m.wasm2py:1:12: expected `raises` or end of line, found `x`",
            Some("one function per line; a function returns at most one value"),
        ),
        (
            "f() -> i32, i32",
            "m.wasm2py:1:11: expected `raises` or end of line, found `,`",
            Some("one function per line; a function returns at most one value"),
        ),
        (
            "f() g()",
            "m.wasm2py:1:5: expected `->`, `raises` or end of line, found `g`",
            Some("one function per line; a function returns at most one value"),
        ),
        (
            "f() // returns nothing",
            "m.wasm2py:1:5: unexpected `//`",
            Some("comments start with `#`; doc lines start with `///` at the beginning of a line"),
        ),
        (
            "// a comment",
            "m.wasm2py:1:1: unexpected `//`",
            Some("comments start with `#`; doc lines start with `///` at the beginning of a line"),
        ),
        (
            "f(n: int)",
            "m.wasm2py:1:6: unknown type `int`",
            Some("pick a width: i32, u32, i64 or u64 (wasm32 has no usize)"),
        ),
        (
            "f(n: usize)",
            "m.wasm2py:1:6: unknown type `usize`",
            Some("pick a width: i32, u32, i64 or u64 (wasm32 has no usize)"),
        ),
        (
            "f(x: double)",
            "m.wasm2py:1:6: unknown type `double`",
            Some("use f32 or f64"),
        ),
        (
            "f(s: String)",
            "m.wasm2py:1:6: unknown type `String`",
            Some("use str"),
        ),
        (
            "f() -> u128",
            "m.wasm2py:1:8: unknown type `u128`",
            Some("wasm has no 128-bit numbers; pass two u64 or bytes"),
        ),
        (
            "f(x: u7)",
            "m.wasm2py:1:6: unknown type `u7`",
            Some("known types: i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 bool ptr bytes str list[T]"),
        ),
        (
            "f(xs: list[bool])",
            "m.wasm2py:1:12: `bool` is not a numeric type; list elements must be numbers",
            Some("use one of i8 i16 i32 i64 u8 u16 u32 u64 f32 f64"),
        ),
        (
            "f(xs: list[str])",
            "m.wasm2py:1:12: `str` is not a numeric type; list elements must be numbers",
            Some("use one of i8 i16 i32 i64 u8 u16 u32 u64 f32 f64"),
        ),
        (
            "f(xs: list)",
            "m.wasm2py:1:11: expected `[` after `list`, found `)`",
            None,
        ),
        (
            "f(xs: list[u8)",
            "m.wasm2py:1:14: expected `]`, found `)`",
            None,
        ),
        (
            "f(xs: list[])",
            "m.wasm2py:1:12: expected an element type, found `]`",
            None,
        ),
        (
            "f(a: i32, a: i32)",
            "m.wasm2py:1:11: parameter `a` appears twice in `f`",
            None,
        ),
        (
            "f()\n\ng() -> u32\nf()",
            "m.wasm2py:4:1: `f` is annotated twice (first on line 1)",
            None,
        ),
        (
            "f()\n/// dangling",
            "m.wasm2py:2:1: doc lines at the end are not followed by a function",
            Some("`///` lines document the function on the next annotation line"),
        ),
        (
            "f()\n  /// dangling\n  /// still dangling\n# a comment\n",
            "m.wasm2py:2:3: doc lines at the end are not followed by a function",
            Some("`///` lines document the function on the next annotation line"),
        ),
        (
            "(a: i32)",
            "m.wasm2py:1:1: expected a function name, found `(`",
            None,
        ),
        (
            "f",
            "m.wasm2py:1:2: expected `(` after the function name, found end of line",
            None,
        ),
        ("f(1: u8)", "m.wasm2py:1:3: unexpected character `1`", None),
        (
            "f(a: i32;)",
            "m.wasm2py:1:9: unexpected character `;`",
            None,
        ),
        (
            "f(a: i32,,)",
            "m.wasm2py:1:10: expected a parameter name or `)`, found `,`",
            None,
        ),
        (
            "# header\n\n   f(n: i32) -> bool  # trailing comment\n\tg(x: float)",
            "m.wasm2py:4:7: unknown type `float`",
            Some("use f32 or f64"),
        ),
    ];
    for (sig, first, hint) in cases {
        let e = syntax_error(sig);
        let got_first = e.lines().next().unwrap();
        assert_eq!(got_first, *first, "annotation {sig:?}; full message:\n{e}");
        let got_hint = e.lines().find_map(|l| l.strip_prefix("  = hint: "));
        assert_eq!(got_hint, *hint, "annotation {sig:?}; full message:\n{e}");
    }
}

#[test]
fn syntax_error_renders_the_line_with_a_caret() {
    assert_eq!(
        syntax_error("# numbers\nf(n: int) -> u64\n"),
        "m.wasm2py:2:6: unknown type `int`\n  |\n2 | f(n: int) -> u64\n  |      ^\n  = hint: pick a width: i32, u32, i64 or u64 (wasm32 has no usize)"
    );
    // End of line: the caret goes just past the last character.
    assert_eq!(
        syntax_error("f(a: i32"),
        "m.wasm2py:1:9: expected `,` or `)`, found end of line\n  |\n1 | f(a: i32\n  |         ^"
    );
    // The gutter widens with the line number.
    let sig = format!("{}f(a: i32 b)", "\n".repeat(11));
    assert_eq!(
        syntax_error(&sig),
        "m.wasm2py:12:10: expected `,` or `)`, found `b`\n   |\n12 | f(a: i32 b)\n   |          ^"
    );
}

#[test]
fn columns_count_characters_and_keep_tabs() {
    // A tab is one column, and the caret line keeps it so the caret lines up.
    assert_eq!(
        syntax_error("\tf(n: int)"),
        "m.wasm2py:1:7: unknown type `int`\n  |\n1 | \tf(n: int)\n  | \t     ^\n  = hint: pick a width: i32, u32, i64 or u64 (wasm32 has no usize)"
    );
    // Non-ASCII characters count once each, not per byte.
    let e = syntax_error("f(n: u8) -> u8 # écrit à la main\ng(é: u8)");
    assert!(
        e.starts_with("m.wasm2py:2:3: unexpected character `é`\n"),
        "{e}"
    );
    let e = syntax_error("f(a: ü8)");
    assert!(
        e.starts_with("m.wasm2py:1:6: unexpected character `ü`\n"),
        "{e}"
    );
    let e = syntax_error("f(a: i8, b: i8, ☃)");
    assert!(
        e.starts_with("m.wasm2py:1:17: unexpected character `☃`\n"),
        "{e}"
    );
    // Doc lines after non-ASCII indentation (an ideographic space is 3 bytes).
    let e = syntax_error("f()\n\u{3000}/// dangling");
    assert!(e.starts_with("m.wasm2py:2:2: doc lines at the end"), "{e}");
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let m = module(r#"(func (export "f") (param i32) (result i32) local.get 0)"#);
    let iface = interface(&m, Some("\u{feff}/// Doc.\r\nf(n: u32) -> u32\r\n"));
    assert_eq!(iface.functions[0].params[0].ty, Ty::Num(Num::U32));
    assert_eq!(iface.functions[0].docs, ["Doc."]);
    // Positions after a BOM are those an editor shows.
    let e = syntax_error("\u{feff}f(n: int)");
    assert!(e.starts_with("m.wasm2py:1:6: unknown type `int`\n"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Annotations against the module
// ---------------------------------------------------------------------------------------

#[test]
fn mismatches() {
    let arity_hint = "bytes, str and list parameters each take two wasm parameters (pointer, length); \
                      i64/u64 lower to i64, f32/f64 to themselves, every other type to i32";
    let result_hint = "a function without `-> type` has no result; bytes, str and list results are \
                       one i32 (a pointer to a {ptr, len} pair)";
    let type_hint = "i64/u64 lower to i64, f32/f64 to themselves, i8..u32, bool and ptr to i32";
    // (function in WAT, annotation, first line, hint)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            r#"(func (export "f") (param i32))"#,
            "f(data: bytes)",
            "m.wasm2py:1:1: `f(data: bytes)` does not match the export: the annotation lowers to (i32, i32) -> (), the module's `f` has type (i32) -> ()",
            arity_hint,
        ),
        (
            r#"(func (export "f") (param i32 i32))"#,
            "f(n: u32)",
            "m.wasm2py:1:1: `f(n: u32)` does not match the export: the annotation lowers to (i32) -> (), the module's `f` has type (i32, i32) -> ()",
            arity_hint,
        ),
        (
            r#"(func (export "f") (param i32))"#,
            "f(n: u64)",
            "m.wasm2py:1:1: `f(n: u64)` does not match the export: the annotation lowers to (i64) -> (), the module's `f` has type (i32) -> ()",
            type_hint,
        ),
        (
            r#"(func (export "f") (param i64))"#,
            "f(x: f64)",
            "m.wasm2py:1:1: `f(x: f64)` does not match the export: the annotation lowers to (f64) -> (), the module's `f` has type (i64) -> ()",
            type_hint,
        ),
        (
            r#"(func (export "f") (param f32) (result f32) local.get 0)"#,
            "f(x: f32) -> f64",
            "m.wasm2py:1:1: `f(x: f32) -> f64` does not match the export: the annotation lowers to (f32) -> (f64), the module's `f` has type (f32) -> (f32)",
            type_hint,
        ),
        (
            r#"(func (export "f") (param i32))"#,
            "f(n: i32) -> i32",
            "m.wasm2py:1:1: `f(n: i32) -> i32` does not match the export: the annotation lowers to (i32) -> (i32), the module's `f` has type (i32) -> ()",
            result_hint,
        ),
        (
            r#"(func (export "f") (result i32) i32.const 0)"#,
            "f()",
            "m.wasm2py:1:1: `f()` does not match the export: the annotation lowers to () -> (), the module's `f` has type () -> (i32)",
            result_hint,
        ),
        (
            r#"(func (export "f") (result i32 i32) i32.const 0 i32.const 0)"#,
            "f() -> i32",
            "m.wasm2py:1:1: `f() -> i32` does not match the export: the annotation lowers to () -> (i32), the module's `f` has type () -> (i32, i32)",
            result_hint,
        ),
        (
            r#"(func (export "f") (param v128))"#,
            "f(a: i64, b: i64)",
            "m.wasm2py:1:1: `f(a: i64, b: i64)` does not match the export: the annotation lowers to (i64, i64) -> (), the module's `f` has type ((reference or vector)) -> ()",
            arity_hint,
        ),
    ];
    for (func, sig, first, hint) in cases {
        let e = error(&module(func), Some(sig));
        assert_eq!(e.lines().next().unwrap(), *first, "{func} / {sig}:\n{e}");
        assert!(
            e.ends_with(&format!("\n  = hint: {hint}")),
            "{func} / {sig}:\n{e}"
        );
    }
}

#[test]
fn mismatch_points_at_the_function_name() {
    let m = module(r#"(func (export "f") (param i32)) (func (export "g") (param i32))"#);
    let e = error(
        &m,
        Some("# types\n\n/// Docs.\n  g(n: u32)\n    f(n: u64)\n"),
    );
    assert!(
        e.starts_with("m.wasm2py:5:5: `f(n: u64)` does not match the export"),
        "{e}"
    );
    assert!(e.contains("\n5 |     f(n: u64)\n  |     ^\n"), "{e}");
}

#[test]
fn annotation_for_a_missing_export() {
    let m = module(
        r#"(memory (export "memory") 1)
           (func (export "f")) (func (export "h") (param i32))
           (global (export "g") i32 (i32.const 0))"#,
    );
    assert_eq!(
        error(&m, Some("f()\ng()")),
        "m.wasm2py:2:1: `g` is annotated but the module exports no function of that name\n  |\n2 | g()\n  | ^\n  = hint: exported functions: f, h"
    );
    // A non-function export of that name does not count.
    let e = error(&m, Some("memory()"));
    assert!(
        e.starts_with(
            "m.wasm2py:1:1: `memory` is annotated but the module exports no function of that name"
        ),
        "{e}"
    );
    let empty = module("");
    assert!(
        error(&empty, Some("f()")).ends_with("\n  = hint: the module exports no functions"),
        "{}",
        error(&empty, Some("f()"))
    );
}

#[test]
fn annotating_the_memory_protocol() {
    let m = module(&format!(r#"{ARENA} (func (export "f"))"#));
    assert_eq!(
        error(&m, Some("f()\nbump_alloc(size: u32) -> ptr")),
        "m.wasm2py:2:1: `bump_alloc` is part of the memory protocol and is not wrapped; remove its annotation\n  |\n2 | bump_alloc(size: u32) -> ptr\n  | ^"
    );
    let e = error(&m, Some("bump_reset()"));
    assert!(
        e.starts_with(
            "m.wasm2py:1:1: `bump_reset` is part of the memory protocol and is not wrapped"
        ),
        "{e}"
    );
    // The per-thread-arena marker too.
    let m = module(&format!(
        r#"{ARENA} (func (export "f")) (func (export "wasm2py_arena_per_thread"))"#
    ));
    let e = error(&m, Some("wasm2py_arena_per_thread()"));
    assert!(
        e.starts_with(
            "m.wasm2py:1:1: `wasm2py_arena_per_thread` is part of the memory protocol and is not wrapped"
        ),
        "{e}"
    );
    // Not annotated, it is not wrapped either (nor listed as skipped).
    let iface = interface(&m, None);
    let names: Vec<&str> = iface.functions.iter().map(|f| f.export.as_str()).collect();
    assert_eq!(names, ["f"]);
    assert!(iface.skipped.is_empty());
}

#[test]
fn parameter_names_the_generated_code_cannot_use() {
    let m = module(r#"(func (export "f") (param i32 i32) (result i32) local.get 0)"#);
    // `_` is the generated code's prefix (its locals `_st`, `_r`, ...).
    assert_eq!(
        error(&m, Some("f(a: i32, _st: i32) -> i32"))
            .lines()
            .next()
            .unwrap(),
        "m.wasm2py:1:11: parameter `_st` of `f` starts with `_`, which the generated code reserves for its own names"
    );
    // Two names that escape to the same Python name.
    assert_eq!(
        error(&m, Some("f(int: i32, int_: i32) -> i32"))
            .lines()
            .next()
            .unwrap(),
        "m.wasm2py:1:13: parameters `int` and `int_` of `f` both become the Python name `int_`"
    );
    assert_eq!(
        error(&m, Some("f(self: i32, self_: i32) -> i32"))
            .lines()
            .next()
            .unwrap(),
        "m.wasm2py:1:14: parameters `self` and `self_` of `f` both become the Python name `self_`"
    );
    // Escaped names: keywords, builtins in annotations, `self` and the range check's error.
    let iface = interface(&m, Some("f(self: i32, lambda: i32) -> i32"));
    let names: Vec<&str> = iface.functions[0]
        .params
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["self_", "lambda_"]);
    let iface = interface(&m, Some("f(OverflowError: i32, bytes: i32) -> i32"));
    let names: Vec<&str> = iface.functions[0]
        .params
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["OverflowError_", "bytes_"]);
    let files = generate(&m, Some("f(self: i32, lambda: i32) -> i32")).unwrap();
    assert!(init_py(&files, "m").contains("def f(self, self_: int, lambda_: int) -> int:"));
}

// ---------------------------------------------------------------------------------------
// The memory protocol
// ---------------------------------------------------------------------------------------

const PROTOCOL_NEEDS: &str = "the module must export `memory`, `bump_alloc: (i32) -> (i32)` and `bump_reset: () -> ()` \
                              because it passes bytes, str or lists (see docs/guest-protocol.md)";

#[test]
fn memory_protocol_missing_parts() {
    let memory = r#"(memory (export "memory") 1)"#;
    let alloc = r#"(func (export "bump_alloc") (param i32) (result i32) i32.const 16)"#;
    let reset = r#"(func (export "bump_reset"))"#;
    let f = r#"(func (export "f") (param i32 i32) (result i32) i32.const 0)"#;
    // (module fields, annotations, what is wrong, line:col of `f`)
    let cases: &[(String, &str, &str, &str)] = &[
        (
            format!("{alloc} {reset} {f}"),
            "f(data: bytes) -> u32",
            "the module exports no memory named `memory`",
            "1:1",
        ),
        (
            format!(r#"(memory (export "mem") 1) {alloc} {reset} {f}"#),
            "f(data: bytes) -> u32",
            "the module exports no memory named `memory`",
            "1:1",
        ),
        (
            format!("{memory} {reset} {f}"),
            "f(text: str) -> u32",
            "the module does not export `bump_alloc`",
            "1:1",
        ),
        (
            format!(
                r#"{memory} (func (export "bump_alloc") (param i64) (result i32) i32.const 16) {reset} {f}"#
            ),
            "f(xs: list[u8]) -> u32",
            "`bump_alloc` has type (i64) -> (i32), expected (i32) -> (i32)",
            "1:1",
        ),
        (
            format!(r#"{memory} (func (export "bump_alloc") (param i32)) {reset} {f}"#),
            "f(data: bytes) -> u32",
            "`bump_alloc` has type (i32) -> (), expected (i32) -> (i32)",
            "1:1",
        ),
        (
            format!("{memory} {alloc} {f}"),
            "# only the reset is missing\nf(data: bytes) -> u32",
            "the module does not export `bump_reset`",
            "2:1",
        ),
        (
            format!("{memory} {alloc} {f}"),
            "f(text: str) -> u32",
            "the module does not export `bump_reset`",
            "1:1",
        ),
        (
            format!("{memory} {alloc} {f}"),
            "f(xs: list[f64]) -> u32",
            "the module does not export `bump_reset`",
            "1:1",
        ),
        (
            format!(
                r#"{memory} {alloc} (func (export "bump_reset") (param i32)) (func (export "f") (result i32) i32.const 0)"#
            ),
            "f() -> bytes",
            "`bump_reset` has type (i32) -> (), expected () -> ()",
            "1:1",
        ),
    ];
    for (fields, sig, what, at) in cases {
        let e = error(&module(fields), Some(sig));
        let first = e.lines().next().unwrap();
        assert_eq!(
            first,
            format!("m.wasm2py:{at}: `f` needs the memory protocol: {what}; {PROTOCOL_NEEDS}"),
            "{fields} / {sig}"
        );
    }
}

#[test]
fn memory64_is_refused() {
    let m = wat(r#"(module (memory (export "memory") i64 1)
             (func (export "bump_alloc") (param i32) (result i32) i32.const 16)
             (func (export "bump_reset"))
             (func (export "f") (param i32 i32)))"#);
    let e = error(&m, Some("f(data: bytes)"));
    assert_eq!(
        e.lines().next().unwrap(),
        format!(
            "m.wasm2py:1:1: `f` needs the memory protocol: `memory` is a 64-bit memory, wasm2py supports wasm32; {PROTOCOL_NEEDS}"
        )
    );
}

#[test]
fn memory_protocol_not_needed_for_scalars() {
    // No memory, no bump_* exports: fine when nothing passes through the arena.
    let m = module(r#"(func (export "f") (param i32) (result i32) local.get 0)"#);
    let iface = interface(&m, Some("f(n: u8) -> bool"));
    assert!(!iface.uses_arena);
    let files = generate(&m, Some("f(n: u8) -> bool")).unwrap();
    let wasm_py = String::from_utf8(files.get("m/_wasm.py").unwrap().to_vec()).unwrap();
    assert!(!wasm_py.contains("bump_reset"), "{wasm_py}");
    assert!(!wasm_py.contains("finally:"), "{wasm_py}");
}

#[test]
fn memory_protocol_used_when_needed() {
    let m = module(&format!(
        r#"{ARENA} (func (export "f") (param i32 i32) (result i32) i32.const 0)"#
    ));
    let files = generate(&m, Some("f(data: bytes) -> bytes")).unwrap();
    let wasm_py = String::from_utf8(files.get("m/_wasm.py").unwrap().to_vec()).unwrap();
    assert!(wasm_py.contains("        arena=True,\n"), "{wasm_py}");
    assert!(
        wasm_py.contains("        finally:\n            _st.reset()"),
        "{wasm_py}"
    );
    // The protocol's functions are not methods.
    let init = init_py(&files, "m");
    assert!(!init.contains("def bump_alloc"), "{init}");
    assert!(!init.contains("def bump_reset"), "{init}");
}

// ---------------------------------------------------------------------------------------
// Host imports (`import module.name(...)`), checked by `imports::check`
// ---------------------------------------------------------------------------------------

/// Runs `imports::check` on a module made of `body` with the annotations `sig` (the file
/// `m.wasm2py`); errors come back rendered.
fn check_imports(body: &str, sig: Option<&str>) -> Result<Imports, String> {
    let bytes = module(body);
    let m = wasm2py::wasm::parse("m.wasm", &bytes).map_err(|e| e.to_string())?;
    let anns = sig
        .map(|s| wasm2py::sig::parse("m.wasm2py", s))
        .transpose()
        .map_err(|e| e.to_string())?;
    wasm2py::imports::check("m.wasm", &m, anns.as_ref()).map_err(|e| e.to_string())
}

fn import_error(body: &str, sig: Option<&str>) -> String {
    match check_imports(body, sig) {
        Ok(i) => panic!("expected an error, but the imports passed: {i:?}"),
        Err(e) => e,
    }
}

fn param(name: &str, ty: Ty) -> Param {
    Param {
        name: name.to_string(),
        ty,
    }
}

#[test]
fn host_imports_annotated_and_not() {
    let body = r#"(import "env" "log" (func (param i32 i32)))
                  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                  (import "env" "host_add" (func (param i32 i32) (result i32)))
                  (import "other" "raw" (func (param i64 f32 f64 i32) (result f64)))
                  (import "env" "log" (func (param i32 i32)))
                  (import "env" "tick" (func))
                  (func (export "f"))"#;
    let sig = "f()\n/// Writes a line.\nimport env.log(msg: str)\n\
               import env.host_add(self: u32, lambda: u32) -> u32\nimport env.tick()";
    let imports = check_imports(body, Some(sig)).unwrap();
    assert!(imports.wasi);
    // In the module's order, WASI left out, the repeated `env.log` once.
    let keys: Vec<String> = imports.host.iter().map(HostImport::key).collect();
    assert_eq!(keys, ["env.log", "env.host_add", "other.raw", "env.tick"]);
    let [log, add, raw, tick] = imports.host.as_slice() else {
        unreachable!()
    };
    assert_eq!((log.module.as_str(), log.name.as_str()), ("env", "log"));
    assert!(log.annotated);
    assert_eq!(log.params, [param("msg", Ty::Str)]);
    assert_eq!(log.result, None);
    assert_eq!(log.docs, ["Writes a line."]);
    assert_eq!(log.core.to_string(), "(i32, i32) -> ()");
    // Python parameter names are escaped like an export's.
    assert_eq!(
        add.params,
        [
            param("self_", Ty::Num(Num::U32)),
            param("lambda_", Ty::Num(Num::U32))
        ]
    );
    assert_eq!(add.result, Some(Ty::Num(Num::U32)));
    assert!(add.docs.is_empty());
    // Unannotated: the core types, signed.
    assert!(!raw.annotated);
    assert_eq!(
        raw.params,
        [
            param("arg0", Ty::Num(Num::I64)),
            param("arg1", Ty::Num(Num::F32)),
            param("arg2", Ty::Num(Num::F64)),
            param("arg3", Ty::Num(Num::I32)),
        ]
    );
    assert_eq!(raw.result, Some(Ty::Num(Num::F64)));
    assert_eq!(raw.core.to_string(), "(i64, f32, f64, i32) -> (f64)");
    assert!(tick.annotated && tick.params.is_empty() && tick.result.is_none());

    // No annotations at all, and no imports at all.
    let imports = check_imports(body, None).unwrap();
    assert!(imports.wasi);
    assert!(imports.host.iter().all(|h| !h.annotated));
    assert_eq!(
        imports.host[0].params,
        [
            param("arg0", Ty::Num(Num::I32)),
            param("arg1", Ty::Num(Num::I32))
        ]
    );
    let none = check_imports(r#"(func (export "f"))"#, Some("f()")).unwrap();
    assert_eq!(none, Imports::default());
    // WASI alone: no host imports.
    let wasi = check_imports(
        r#"(import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))"#,
        None,
    )
    .unwrap();
    assert!(wasi.wasi && wasi.host.is_empty());
}

#[test]
fn non_function_imports_are_refused() {
    let cases = [
        (
            r#"(import "env" "memory" (memory 1))"#,
            "m.wasm: the module imports the memory `env.memory`; wasm2py supports function imports only: \
             export the memory instead (for C, do not pass --import-memory to the linker)",
        ),
        (
            r#"(import "env" "__indirect_function_table" (table 1 funcref))"#,
            "m.wasm: the module imports the table `env.__indirect_function_table`; wasm2py supports function imports only: \
             define the table in the module instead (for C, do not pass --import-table to the linker)",
        ),
        (
            r#"(import "env" "__stack_pointer" (global (mut i32)))"#,
            "m.wasm: the module imports the global `env.__stack_pointer`; wasm2py supports function imports only: \
             define it in the module instead",
        ),
        (
            r#"(import "env" "oops" (tag (param i32)))"#,
            "m.wasm: the module imports the tag `env.oops`; wasm2py supports function imports only: \
             define it in the module instead",
        ),
        // After function imports, the first non-function one is named.
        (
            r#"(import "env" "log" (func (param i32)))
               (import "wasi_snapshot_preview1" "memory" (memory 1))"#,
            "m.wasm: the module imports the memory `wasi_snapshot_preview1.memory`; wasm2py supports function imports only: \
             export the memory instead (for C, do not pass --import-memory to the linker)",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(import_error(body, None), message, "{body}");
        // Annotations do not change that.
        assert_eq!(
            import_error(body, Some("import env.log(n: u32)")),
            message,
            "{body}"
        );
    }
}

#[test]
fn wasi_functions_are_not_annotated() {
    let body = r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                  (import "env" "log" (func (param i32 i32)))"#;
    assert_eq!(
        import_error(
            body,
            Some(
                "import env.log(msg: str)\nimport wasi_snapshot_preview1.fd_write(fd: u32, iovs: ptr, n: u32, written: ptr) -> u32"
            )
        ),
        "m.wasm2py:2:8: `wasi_snapshot_preview1.fd_write` is served by WASI, not annotated; remove its annotation\n  \
         |\n2 | import wasi_snapshot_preview1.fd_write(fd: u32, iovs: ptr, n: u32, written: ptr) -> u32\n  |        ^\n  \
         = hint: `wasi_snapshot_preview1` functions are provided to every WASI module; only host imports are annotated"
    );
    // Also when the module does not import that WASI function.
    let e = import_error(
        body,
        Some("import wasi_snapshot_preview1.proc_exit(code: u32)"),
    );
    assert!(
        e.starts_with("m.wasm2py:1:8: `wasi_snapshot_preview1.proc_exit` is served by WASI, not annotated; remove its annotation\n"),
        "{e}"
    );
}

#[test]
fn other_wasi_versions_are_refused() {
    let build = "wasm2py supports WASI preview 1 (`wasi_snapshot_preview1`) only: build for wasm32-wasip1 \
                 (Rust: `cargo build --target wasm32-wasip1`; C: wasi-libc, `clang --target=wasm32-wasip1`)";
    assert_eq!(
        import_error(
            r#"(import "env" "log" (func (param i32)))
               (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
            None
        ),
        format!(
            "m.wasm: the module imports `wasi_unstable.fd_write` from `wasi_unstable`, the WASI version before preview 1; {build}"
        )
    );
    assert_eq!(
        import_error(
            r#"(import "wasi:cli/stdout@0.2.0" "get-stdout" (func (result i32)))"#,
            None
        ),
        format!(
            "m.wasm: the module imports `wasi:cli/stdout@0.2.0.get-stdout` from `wasi:cli/stdout@0.2.0`, \
             a WASI 0.2 (component model) interface; {build}"
        )
    );
    // Mixed with preview 1: still refused.
    let e = import_error(
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
           (import "wasi_unstable" "proc_exit" (func (param i32)))"#,
        None,
    );
    assert!(
        e.starts_with("m.wasm: the module imports `wasi_unstable.proc_exit` from `wasi_unstable`"),
        "{e}"
    );
}

#[test]
fn import_annotation_mismatches() {
    let arity_hint = "bytes, str and list parameters each take two wasm parameters (pointer, length); \
                      i64/u64 lower to i64, f32/f64 to themselves, every other type to i32";
    let result_hint =
        "an import without `-> type` has no result; with one, it returns one number, bool or ptr";
    let type_hint = "i64/u64 lower to i64, f32/f64 to themselves, i8..u32, bool and ptr to i32";
    // (import in WAT, annotation, first line, hint)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            r#"(import "env" "log" (func (param i32)))"#,
            "import env.log(msg: str)",
            "m.wasm2py:1:8: `import env.log(msg: str)` does not match the import: the annotation lowers to (i32, i32) -> (), the module's `env.log` has type (i32) -> ()",
            arity_hint,
        ),
        (
            r#"(import "env" "log" (func (param i32 i32)))"#,
            "import env.log(n: u32)",
            "m.wasm2py:1:8: `import env.log(n: u32)` does not match the import: the annotation lowers to (i32) -> (), the module's `env.log` has type (i32, i32) -> ()",
            arity_hint,
        ),
        (
            r#"(import "env" "f" (func (param i32)))"#,
            "import env.f(n: u64)",
            "m.wasm2py:1:8: `import env.f(n: u64)` does not match the import: the annotation lowers to (i64) -> (), the module's `env.f` has type (i32) -> ()",
            type_hint,
        ),
        (
            r#"(import "env" "f" (func (param f32) (result f32)))"#,
            "import env.f(x: f32) -> f64",
            "m.wasm2py:1:8: `import env.f(x: f32) -> f64` does not match the import: the annotation lowers to (f32) -> (f64), the module's `env.f` has type (f32) -> (f32)",
            type_hint,
        ),
        (
            r#"(import "env" "f" (func (param i32)))"#,
            "import env.f(n: i32) -> bool",
            "m.wasm2py:1:8: `import env.f(n: i32) -> bool` does not match the import: the annotation lowers to (i32) -> (i32), the module's `env.f` has type (i32) -> ()",
            result_hint,
        ),
        (
            r#"(import "env" "f" (func (result i64)))"#,
            "import env.f()",
            "m.wasm2py:1:8: `import env.f()` does not match the import: the annotation lowers to () -> (), the module's `env.f` has type () -> (i64)",
            result_hint,
        ),
    ];
    for (import, sig, first, hint) in cases {
        let e = import_error(import, Some(sig));
        assert_eq!(e.lines().next().unwrap(), *first, "{import} / {sig}:\n{e}");
        assert!(
            e.ends_with(&format!("\n  = hint: {hint}")),
            "{import} / {sig}:\n{e}"
        );
    }
    // The caret is under the module name, on the annotation's own line.
    let e = import_error(
        r#"(import "env" "a" (func (param i32))) (import "env" "b" (func (param i32)))"#,
        Some("# host\n\n/// Docs.\n  import env.a(n: u32)\n    import  env.b(n: u64)\n"),
    );
    assert!(
        e.starts_with("m.wasm2py:5:13: `import env.b(n: u64)` does not match the import"),
        "{e}"
    );
    assert!(
        e.contains("\n5 |     import  env.b(n: u64)\n  |             ^\n"),
        "{e}"
    );
}

#[test]
fn annotation_for_a_missing_import() {
    let body = r#"(import "env" "log" (func (param i32 i32)))
                  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                  (import "host" "now" (func (result f64)))
                  (func (export "f"))"#;
    assert_eq!(
        import_error(
            body,
            Some("import env.log(msg: str)\nimport env.now() -> f64")
        ),
        "m.wasm2py:2:8: `env.now` is annotated but the module imports no function of that name\n  |\n2 | import env.now() -> f64\n  |        ^\n  = hint: host imports: env.log, host.now"
    );
    // An export of that name does not count.
    let e = import_error(body, Some("import env.f()"));
    assert!(
        e.starts_with(
            "m.wasm2py:1:8: `env.f` is annotated but the module imports no function of that name\n"
        ),
        "{e}"
    );
    // Nothing imported, or WASI only.
    for body in [
        r#"(func (export "f"))"#,
        r#"(import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))"#,
    ] {
        assert_eq!(
            import_error(body, Some("import env.log(msg: str)")),
            "m.wasm2py:1:8: `env.log` is annotated but the module imports no function of that name\n  |\n1 | import env.log(msg: str)\n  |        ^\n  = hint: the module has no host imports",
            "{body}"
        );
    }
}

#[test]
fn imports_with_vector_or_reference_types_are_refused() {
    let cases = [
        (
            r#"(import "env" "simd" (func (param v128)))"#,
            "m.wasm: the module imports `env.simd` with type ((reference or vector)) -> (), which has values a Python host function cannot take or return; import it with numbers only",
        ),
        (
            r#"(import "env" "obj" (func (param i32) (result externref)))"#,
            "m.wasm: the module imports `env.obj` with type (i32) -> ((reference or vector)), which has values a Python host function cannot take or return; import it with numbers only",
        ),
        (
            r#"(import "env" "call" (func (param funcref i32)))"#,
            "m.wasm: the module imports `env.call` with type ((reference or vector), i32) -> (), which has values a Python host function cannot take or return; import it with numbers only",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(import_error(body, None), message, "{body}");
        // Also when annotated: the module's type is the problem.
        assert_eq!(
            import_error(body, Some("import env.simd(a: i64, b: i64)")),
            message
        );
    }
}

#[test]
fn imports_with_several_results_are_refused() {
    assert_eq!(
        import_error(r#"(import "env" "pair" (func (result i32 i64)))"#, None),
        "m.wasm: the module imports `env.pair` with type () -> (i32, i64); a host function returns at most one value"
    );
}

#[test]
fn an_import_repeated_in_the_module() {
    // The same type twice is one host function.
    let same = r#"(import "env" "f" (func (param i32))) (import "env" "g" (func)) (import "env" "f" (func (param i32)))"#;
    let keys: Vec<String> = check_imports(same, Some("import env.f(n: u8)"))
        .unwrap()
        .host
        .iter()
        .map(HostImport::key)
        .collect();
    assert_eq!(keys, ["env.f", "env.g"]);
    assert_eq!(
        import_error(
            r#"(import "env" "f" (func (param i32))) (import "env" "f" (func (param i64)))"#,
            None
        ),
        "m.wasm: the module imports `env.f` twice, with types (i32) -> () and (i64) -> (); a host function has one type"
    );
    // Two imports whose `module.name` reads the same.
    assert_eq!(
        import_error(
            r#"(import "a.b" "c" (func)) (import "a" "b.c" (func))"#,
            None
        ),
        "m.wasm: the module imports \"a.b\" \"c\" and \"a\" \"b.c\", both named `a.b.c`; host functions are bound by that name, so rename one of them"
    );
}

#[test]
fn import_parameter_names_the_generated_code_cannot_use() {
    let body = r#"(import "env" "f" (func (param i32 i32) (result i32)))"#;
    assert_eq!(
        import_error(body, Some("import env.f(a: i32, _st: i32) -> i32")),
        "m.wasm2py:1:22: parameter `_st` of `env.f` starts with `_`, which the generated code reserves for its own names\n  |\n1 | import env.f(a: i32, _st: i32) -> i32\n  |                      ^\n  = hint: rename the parameter"
    );
    assert_eq!(
        import_error(body, Some("import env.f(int: i32, int_: i32) -> i32"))
            .lines()
            .next()
            .unwrap(),
        "m.wasm2py:1:24: parameters `int` and `int_` of `env.f` both become the Python name `int_`"
    );
}

#[test]
fn import_syntax_errors() {
    let example = "an import line names the module and the function: `import env.log(msg: str)`";
    // (annotation text, first line of the message, hint if any)
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "import log(msg: str)",
            "m.wasm2py:1:11: expected `.` after the import's module name, found `(`",
            Some(example),
        ),
        (
            "import env log(msg: str)",
            "m.wasm2py:1:12: expected `.` after the import's module name, found `log`",
            Some(example),
        ),
        (
            "f()\nimport",
            "m.wasm2py:2:7: expected the import's module name after `import`, found end of line",
            Some(example),
        ),
        (
            "import env.(msg: str)",
            "m.wasm2py:1:12: expected the import's function name after `.`, found `(`",
            None,
        ),
        (
            "import env.log",
            "m.wasm2py:1:15: expected `(` after the import's name, found end of line",
            None,
        ),
        (
            "import env.read() -> bytes",
            "m.wasm2py:1:22: the import `env.read` cannot return `bytes`: host functions return numbers, bool or ptr",
            None,
        ),
        (
            "import env.name(id: u32) -> str",
            "m.wasm2py:1:29: the import `env.name` cannot return `str`: host functions return numbers, bool or ptr",
            None,
        ),
        (
            "import env.xs() -> list[f64]",
            "m.wasm2py:1:20: the import `env.xs` cannot return `list[f64]`: host functions return numbers, bool or ptr",
            None,
        ),
        (
            "import env.log(msg: str)\nf()\nimport env.log(msg: bytes)",
            "m.wasm2py:3:8: `env.log` is annotated twice (first on line 1)",
            None,
        ),
        (
            "import env.log(msg: str, msg: str)",
            "m.wasm2py:1:26: parameter `msg` appears twice in `env.log`",
            None,
        ),
        (
            "import env.log(msg: string)",
            "m.wasm2py:1:21: unknown type `string`",
            Some("use str"),
        ),
        // `import` then `(` is an export named `import`, checked as one.
        (
            "import(n: u32)\nimport (n: u32)",
            "m.wasm2py:2:1: `import` is annotated twice (first on line 1)",
            None,
        ),
    ];
    for (sig, first, hint) in cases {
        let e = syntax_error(sig);
        let got_first = e.lines().next().unwrap();
        assert_eq!(got_first, *first, "annotation {sig:?}; full message:\n{e}");
        let got_hint = e.lines().find_map(|l| l.strip_prefix("  = hint: "));
        assert_eq!(got_hint, *hint, "annotation {sig:?}; full message:\n{e}");
    }
    assert_eq!(
        syntax_error("import env.read() -> bytes"),
        "m.wasm2py:1:22: the import `env.read` cannot return `bytes`: host functions return numbers, bool or ptr\n  |\n1 | import env.read() -> bytes\n  |                      ^"
    );
    // An export named `import` is annotated like any other.
    let m = module(r#"(func (export "import") (param i32) (result i32) local.get 0)"#);
    assert_eq!(
        interface(&m, Some("import(n: u32) -> u32")).functions[0].params[0].ty,
        Ty::Num(Num::U32)
    );
}

// ---------------------------------------------------------------------------------------
// The module as a whole
// ---------------------------------------------------------------------------------------

#[test]
fn imports_are_modelled_not_refused() {
    let m = module(
        r#"(import "env" "log" (func (param i32)))
           (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
           (func (export "f"))"#,
    );
    let iface = interface(&m, None);
    assert!(iface.wasi);
    assert!(!iface.initialize);
    let keys: Vec<String> = iface.imports.iter().map(|i| i.key()).collect();
    assert_eq!(keys, ["env.log"]);
    assert!(!iface.imports[0].annotated);
    // Imported memories are still refused, with the reason.
    let e = error(&module(r#"(import "env" "memory" (memory 1))"#), None);
    assert!(
        e.starts_with("m.wasm: the module imports the memory `env.memory`; "),
        "{e}"
    );
}

#[test]
fn reactors_initialise_and_commands_are_refused() {
    let reactor = module(r#"(func (export "_initialize")) (func (export "f"))"#);
    let iface = interface(&reactor, None);
    assert!(iface.initialize);
    let names: Vec<&str> = iface.functions.iter().map(|f| f.export.as_str()).collect();
    assert_eq!(names, ["f"], "_initialize is never a method");
    let command = module(r#"(func (export "_start")) (func (export "f"))"#);
    let e = error(&command, None);
    assert!(
        e.starts_with("m.wasm: the module is a WASI command (it exports `_start`"),
        "{e}"
    );
    assert!(e.contains("-mexec-model=reactor"), "{e}");
    assert!(e.contains("crate-type = [\"cdylib\"]"), "{e}");
    let bad = module(r#"(func (export "_initialize") (param i32))"#);
    assert_eq!(
        error(&bad, None),
        "m.wasm: `_initialize` has type (i32) -> (); a reactor's initialiser takes and returns nothing"
    );
    let e = error(&reactor, Some("_initialize()\nf()"));
    assert!(
        e.contains("`_initialize` is a WASI entry point and is not wrapped"),
        "{e}"
    );
}

#[test]
fn names_colliding_after_snake_case() {
    let m = module(r#"(func (export "fooBar")) (func (export "foo_bar"))"#);
    assert_eq!(
        error(&m, None),
        "m.wasm: the exports `fooBar` and `foo_bar` both become the Python name `foo_bar`; rename one of them"
    );
    let m = module(r#"(func (export "import")) (func (export "import_"))"#);
    assert_eq!(
        error(&m, None),
        "m.wasm: the exports `import` and `import_` both become the Python name `import_`; rename one of them"
    );
}

#[test]
fn names_the_class_reserves() {
    for (export, py) in [
        ("backend", "backend"),
        ("Backend", "backend"),
        ("library", "library"),
    ] {
        let m = module(&format!(r#"(func (export "{export}"))"#));
        assert_eq!(
            error(&m, None),
            format!(
                "m.wasm: the export `{export}` would be named `{py}`, which the generated class reserves; rename the export"
            )
        );
    }
}

#[test]
fn export_without_a_python_name() {
    for (export, shown) in [("☃", "☃"), ("-", "-"), ("", ""), ("\u{1}", "\\u{1}")] {
        let m = module(&format!(r#"(func (export "{}"))"#, export.escape_default()));
        assert_eq!(
            error(&m, None),
            format!(
                "m.wasm: cannot derive a Python name from the export `{shown}`; rename the export (e.g. with #[export_name])"
            ),
            "export {export:?}"
        );
    }
}

#[test]
fn export_names_with_punctuation() {
    let m =
        module(r#"(func (export "a\nb")) (func (export "my-func")) (func (export "ns::Item"))"#);
    let iface = interface(&m, None);
    let names: Vec<&str> = iface.functions.iter().map(|f| f.py_name.as_str()).collect();
    assert_eq!(names, ["a_b", "my_func", "ns_item"]);
    let files = generate(&m, None).unwrap();
    let wasm_py = String::from_utf8(files.get("m/_wasm.py").unwrap().to_vec()).unwrap();
    // The export's real name, as an escaped Python string.
    assert!(
        wasm_py.contains(r#"_rt.Export("a_b", "a\x0ab", "() -> ()", (), (), (), False)"#),
        "{wasm_py}"
    );
    assert!(
        wasm_py.contains(r#"_rt.Export("ns_item", "ns::Item", "() -> ()", (), (), (), False)"#),
        "{wasm_py}"
    );
}

#[test]
fn package_name_from_the_file_or_option() {
    let m = module(r#"(func (export "f"))"#);
    let e = with_module(&m, None, |o| {
        wasm2py::load(&Options {
            name: Some("☃".into()),
            ..o.clone()
        })
    })
    .unwrap_err();
    assert_eq!(
        e,
        "m.wasm: cannot derive a Python package name from `☃`; pass --name NAME (a Python identifier)"
    );
    let loaded = with_module(&m, None, |o| {
        wasm2py::load(&Options {
            name: Some("My-Lib".into()),
            ..o.clone()
        })
    })
    .unwrap();
    assert_eq!(loaded.interface.package, "my_lib");
    assert_eq!(loaded.interface.class, "MyLib");
    assert_eq!(loaded.interface.wasm_file, "my_lib.wasm");
    let loaded = with_module(&m, None, |o| {
        wasm2py::load(&Options {
            name: Some("class".into()),
            ..o.clone()
        })
    })
    .unwrap();
    assert_eq!(loaded.interface.package, "class_");
}

#[test]
fn keyword_exports_get_an_underscore() {
    let m = module(
        r#"(func (export "import") (param i32) (result i32) local.get 0)
           (func (export "not"))
           (func (export "lambda"))
           (func (export "None"))
           (func (export "str"))
           (func (export "2fast"))
           (func (export "getHTTPStatus"))
           (func (export "__init__"))"#,
    );
    let iface = interface(&m, None);
    let names: Vec<(&str, &str)> = iface
        .functions
        .iter()
        .map(|f| (f.export.as_str(), f.py_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("import", "import_"),
            ("not", "not_"),
            ("lambda", "lambda_"),
            ("None", "none"),
            ("str", "str_"),
            ("2fast", "f2fast"),
            ("getHTTPStatus", "get_http_status"),
            ("__init__", "init"),
        ]
    );
    let files = generate(&m, None).unwrap();
    let init = init_py(&files, "m");
    assert!(
        init.contains("\n    def import_(self, arg0: int) -> int:\n"),
        "{init}"
    );
    assert!(
        init.contains("\ndef import_(arg0: int) -> int:\n"),
        "{init}"
    );
    assert!(init.contains("\ndef not_() -> None:\n"), "{init}");
    let wasm_py = String::from_utf8(files.get("m/_wasm.py").unwrap().to_vec()).unwrap();
    // The export keeps its real name.
    assert!(
        wasm_py.contains("_rt.Export(\"import_\", \"import\","),
        "{wasm_py}"
    );
    assert!(
        wasm_py.contains("_rt.Export(\"init\", \"__init__\","),
        "{wasm_py}"
    );
}

// ---------------------------------------------------------------------------------------
// Where annotations come from
// ---------------------------------------------------------------------------------------

const SECTION_MODULE: &str = r#"(module
  (func (export "f") (param i32) (result i32) local.get 0)
  (@custom "wasm2py" "/// From the section.\nf(n: u32) -> u32\n"))"#;

#[test]
fn custom_section_is_used_without_a_sidecar() {
    let m = wat(SECTION_MODULE);
    let iface = interface(&m, None);
    assert_eq!(iface.annotations, AnnotationSource::CustomSection);
    let f = &iface.functions[0];
    assert!(f.annotated);
    assert_eq!(f.params[0].ty, Ty::Num(Num::U32));
    assert_eq!(f.returns, Returns::One(Ty::Num(Num::U32)));
    assert_eq!(f.docs, ["From the section."]);
    let init = init_py(&generate(&m, None).unwrap(), "m");
    assert!(
        init.contains("# Annotations: the module's `wasm2py` custom section."),
        "{init}"
    );
}

#[test]
fn sidecar_wins_over_the_custom_section() {
    let m = wat(SECTION_MODULE);
    let iface = interface(&m, Some("f(n: i8) -> bool"));
    assert_eq!(
        iface.annotations,
        AnnotationSource::File("m.wasm2py".into())
    );
    let f = &iface.functions[0];
    assert_eq!(f.params[0].ty, Ty::Num(Num::I8));
    assert_eq!(f.returns, Returns::One(Ty::Bool));
    assert!(f.docs.is_empty());
    // Even an empty sidecar wins: the function is then unannotated.
    let iface = interface(&m, Some("# nothing\n"));
    assert_eq!(
        iface.annotations,
        AnnotationSource::File("m.wasm2py".into())
    );
    assert!(!iface.functions[0].annotated);
    assert_eq!(iface.functions[0].params[0].ty, Ty::Num(Num::I32));
}

#[test]
fn sig_option_wins_over_the_sidecar() {
    let m = wat(SECTION_MODULE);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), &m).unwrap();
    std::fs::write(dir.path().join("m.wasm2py"), "f(n: i8) -> bool").unwrap();
    std::fs::write(dir.path().join("other.sig"), "f(n: u16) -> u16").unwrap();
    let loaded = wasm2py::load(&Options {
        module: dir.path().join("m.wasm"),
        sig: Some(dir.path().join("other.sig")),
        name: None,
    })
    .unwrap();
    assert_eq!(
        loaded.interface.annotations,
        AnnotationSource::File("other.sig".into())
    );
    assert_eq!(
        loaded.interface.functions[0].params[0].ty,
        Ty::Num(Num::U16)
    );
    // A --sig file that does not exist is an error naming it, not a silent fallback.
    let e = wasm2py::load(&Options {
        module: dir.path().join("m.wasm"),
        sig: Some(dir.path().join("missing.sig")),
        name: None,
    })
    .unwrap_err();
    let e = strip(&e.to_string(), dir.path());
    assert!(e.starts_with("missing.sig: "), "{e}");
}

#[test]
fn custom_section_errors_name_the_section() {
    let m =
        wat(r##"(module (func (export "f") (param i32)) (@custom "wasm2py" "# ok\nf(n: int)"))"##);
    let e = error(&m, None);
    assert!(
        e.starts_with("m.wasm[wasm2py section]:2:6: unknown type `int`\n"),
        "{e}"
    );
    let m = wat(r#"(module (func (export "f") (param i32)) (@custom "wasm2py" "f(n: u64)"))"#);
    let e = error(&m, None);
    assert!(
        e.starts_with("m.wasm[wasm2py section]:1:1: `f(n: u64)` does not match the export"),
        "{e}"
    );
}

#[test]
fn several_custom_sections_are_concatenated() {
    let m = wat(r#"(module
             (func (export "f") (param i32) (result i32) local.get 0)
             (func (export "g") (param i64) (result i64) local.get 0)
             (@custom "wasm2py" "f(n: u8) -> u8")
             (@custom "wasm2py" "g(n: u64) -> u64\00\00\00"))"#);
    let iface = interface(&m, None);
    assert_eq!(iface.functions[0].returns, Returns::One(Ty::Num(Num::U8)));
    assert_eq!(iface.functions[1].returns, Returns::One(Ty::Num(Num::U64)));
}

// ---------------------------------------------------------------------------------------
// What is wrapped and what is not
// ---------------------------------------------------------------------------------------

#[test]
fn multi_value_unannotated() {
    let m = module(
        r#"(func (export "pair") (param i64) (result i32 i64 f64)
             i32.const 1 local.get 0 f64.const 2)"#,
    );
    let iface = interface(&m, None);
    let f = &iface.functions[0];
    assert!(!f.annotated);
    assert_eq!(
        f.returns,
        Returns::Tuple(vec![
            Ty::Num(Num::I32),
            Ty::Num(Num::I64),
            Ty::Num(Num::F64)
        ])
    );
    let files = generate(&m, None).unwrap();
    let init = init_py(&files, "m");
    assert!(
        init.contains("def pair(self, arg0: int) -> tuple[int, int, float]:"),
        "{init}"
    );
    let native = String::from_utf8(files.get("m/_native.py").unwrap().to_vec()).unwrap();
    assert!(native.contains("_no_c_abi(\"pair\")"), "{native}");
}

#[test]
fn vector_and_reference_functions_are_skipped() {
    let m = module(
        r#"(func (export "vec") (param v128))
           (func (export "ext") (param externref) (result i32) i32.const 0)
           (func (export "ret_ref") (result funcref) ref.null func)
           (func (export "ok") (param i32) (result i32) local.get 0)"#,
    );
    let iface = interface(&m, None);
    let names: Vec<&str> = iface.functions.iter().map(|f| f.export.as_str()).collect();
    assert_eq!(names, ["ok"]);
    let skipped: Vec<&str> = iface.skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(skipped, ["vec", "ext", "ret_ref"]);
    assert_eq!(
        iface.skipped[0].1,
        "its type ((reference or vector)) -> () has values Python cannot pass"
    );
    let files = generate(&m, None).unwrap();
    let init = init_py(&files, "m");
    assert!(
        init.contains(
            "# Exports not wrapped (their types cannot cross to Python):\n#   vec: its type"
        ),
        "{init}"
    );
    assert!(init.contains("\ndef ok(arg0: int) -> int:"), "{init}");
    assert!(!init.contains("def vec"), "{init}");
    // A skipped function keeps its name: a wrapped export may not collide with it... but
    // it does not reserve it either, so there is nothing to check beyond generation.
}

#[test]
fn globals_tables_and_memories_are_ignored() {
    let m = module(
        r#"(memory (export "memory") 2)
           (global (export "__heap_base") i32 (i32.const 1024))
           (global (export "counter") (mut i64) (i64.const 0))
           (table (export "table") 1 funcref)
           (func (export "f") (result i32) i32.const 7)"#,
    );
    let iface = interface(&m, None);
    let names: Vec<&str> = iface.functions.iter().map(|f| f.export.as_str()).collect();
    assert_eq!(names, ["f"]);
    assert!(iface.skipped.is_empty());
    assert!(!iface.uses_arena);
    let files = generate(&m, None).unwrap();
    let all: String = files
        .files
        .iter()
        .filter(|(k, _)| k.ends_with(".py") && !k.ends_with("/_runtime.py"))
        .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        .collect();
    for absent in ["heap_base", "counter", "def table", "def memory"] {
        assert!(!all.contains(absent), "{absent} appears in the output");
    }
}

#[test]
fn a_module_without_functions_generates() {
    let files = generate(&module(""), None).unwrap();
    let keys: Vec<&str> = files.files.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "m/__init__.py",
            "m/_errors.py",
            "m/_native.py",
            "m/_runtime.py",
            "m/_wasm.py",
            "m/m.wasm",
            "m/py.typed",
            "pyproject.toml"
        ]
    );
}

#[test]
fn wat_input_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calc.wat");
    std::fs::write(
        &path,
        r#";; a comment first
(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("calc.wasm2py"),
        "add(a: u32, b: u32) -> u32",
    )
    .unwrap();
    let opts = Options {
        module: path,
        ..Options::default()
    };
    let loaded = wasm2py::load(&opts).unwrap();
    assert_eq!(loaded.interface.package, "calc");
    assert!(loaded.wasm.starts_with(b"\0asm\x01\0\0\0"));
    let files = wasm2py::generate(&opts).unwrap();
    assert_eq!(files.get("calc/calc.wasm").unwrap(), loaded.wasm.as_slice());
    // A broken .wat file is reported as text.
    std::fs::write(
        dir.path().join("broken.wat"),
        "(module (func (export \"f\") nonsense))",
    )
    .unwrap();
    let e = wasm2py::load(&Options {
        module: dir.path().join("broken.wat"),
        ..Options::default()
    })
    .unwrap_err();
    let e = strip(&e.to_string(), dir.path());
    assert_eq!(
        e,
        "broken.wat: invalid WebAssembly text: unknown operator or unexpected token\n     --> broken.wat:1:28\n      |\n    1 | (module (func (export \"f\") nonsense))\n      |                            ^"
    );
}

#[test]
fn missing_module_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = wasm2py::load(&Options {
        module: dir.path().join("nope.wasm"),
        ..Options::default()
    })
    .unwrap_err();
    let e = strip(&e.to_string(), dir.path());
    assert!(e.starts_with("nope.wasm: "), "{e}");
    assert!(matches!(
        wasm2py::load(&Options {
            module: dir.path().join("nope.wasm"),
            ..Options::default()
        }),
        Err(wasm2py::Error::Io { .. })
    ));
}

#[test]
fn error_kinds() {
    use wasm2py::Error;
    let kind = |bytes: &[u8], sig: Option<&str>| {
        with_module(bytes, sig, |o| match wasm2py::load(o) {
            Ok(_) => panic!("expected an error"),
            Err(e) => Ok::<_, Error>(e),
        })
        .unwrap()
    };
    assert!(matches!(kind(b"junk", None), Error::Wasm { .. }));
    let f = module(r#"(func (export "f") (param i32))"#);
    match kind(&f, Some("f(n: int)")) {
        Error::Annotation { pos, hint, .. } => {
            assert_eq!((pos.line, pos.col), (1, 6));
            assert!(hint.is_some());
        }
        other => panic!("expected an annotation error, got {other:?}"),
    }
    assert!(matches!(
        kind(
            &module(r#"(func (export "a_b")) (func (export "aB"))"#),
            None
        ),
        Error::Module { .. }
    ));
}

/// The guest's error record, for modules with `raises` functions.
const RECORD: &str = r#"
  (memory (export "memory") 1)
  (func (export "wasm2py_error") (result i32) i32.const 64)
"#;

#[test]
fn raises_functions() {
    let m = module(&format!(
        r#"{RECORD} (func (export "port") (param i32 i32) (result i32) i32.const 0)
           (func (export "check") (param i32))
           (func (export "bump_alloc") (param i32) (result i32) i32.const 16)
           (func (export "bump_reset"))"#
    ));
    let iface = interface(
        &m,
        Some("/// A port.\nport(text: str) -> u16 raises\ncheck(n: u32) raises  # no result\n"),
    );
    assert!(iface.error_record);
    let names: Vec<(&str, bool)> = iface
        .functions
        .iter()
        .map(|f| (f.py_name.as_str(), f.raises))
        .collect();
    // wasm2py_error itself is never wrapped.
    assert_eq!(names, [("port", true), ("check", true)]);
    assert_eq!(iface.functions[0].signature(), "(text: str) -> u16 raises");
    // A module exporting the record without `raises` functions reads it for null results.
    let plain = module(&format!(r#"{RECORD} (func (export "f"))"#));
    assert!(interface(&plain, None).error_record);
    assert!(!interface(&module(r#"(func (export "f"))"#), None).error_record);
}

#[test]
fn raises_errors() {
    // No record exported.
    let m = module(
        r#"(memory (export "memory") 1) (func (export "f") (param i32) (result i32) i32.const 0)"#,
    );
    assert_eq!(
        error(&m, Some("f(n: u32) -> u32 raises")),
        "m.wasm2py:1:18: `f` raises: the module does not export `wasm2py_error`; a module with `raises` functions exports `wasm2py_error: () -> (i32)`, the address of its error record, and `memory` (see docs/guest-protocol.md, \"Guest errors\")\n  |\n1 | f(n: u32) -> u32 raises\n  |                  ^"
    );
    // The record with the wrong type.
    let m = module(
        r#"(memory (export "memory") 1) (func (export "wasm2py_error") (result i64) i64.const 0) (func (export "f"))"#,
    );
    let e = error(&m, Some("f() raises"));
    assert!(
        e.starts_with(
            "m.wasm2py:1:5: `f` raises: `wasm2py_error` has type () -> (i64), expected () -> (i32)"
        ),
        "{e}"
    );
    // No memory to read the record from.
    let m =
        module(r#"(func (export "wasm2py_error") (result i32) i32.const 0) (func (export "f"))"#);
    let e = error(&m, Some("f() raises"));
    assert!(
        e.contains("exports `wasm2py_error` but no 32-bit memory named `memory`"),
        "{e}"
    );
    // Annotating the record itself.
    let m = module(&format!(r#"{RECORD} (func (export "f"))"#));
    let e = error(&m, Some("wasm2py_error() -> ptr"));
    assert!(
        e.starts_with("m.wasm2py:1:1: `wasm2py_error` is the guest's error record"),
        "{e}"
    );
    // Syntax: `raises` comes last, once; host imports cannot raise.
    let e = error(&m, Some("f() raises raises"));
    assert!(
        e.starts_with("m.wasm2py:1:12: expected end of line, found `raises`"),
        "{e}"
    );
    let e = error(&m, Some("f() raises -> u32"));
    assert!(
        e.starts_with("m.wasm2py:1:12: expected end of line, found `->`"),
        "{e}"
    );
    let e = error(&m, Some("f() oops"));
    assert!(
        e.starts_with("m.wasm2py:1:5: expected `->`, `raises` or end of line, found `oops`"),
        "{e}"
    );
    let imp = module(r#"(import "env" "log" (func (param i32))) (func (export "f"))"#);
    let e = error(&imp, Some("import env.log(n: u32) raises\nf()"));
    assert!(
        e.starts_with("m.wasm2py:1:24: the import `env.log` cannot be marked `raises`"),
        "{e}"
    );
}

#[test]
fn array_types() {
    let m = module(&format!(
        r#"{ARENA} (func (export "f") (param i32 i32 f64) (result i32) i32.const 0)"#
    ));
    let iface = interface(&m, Some("f(xs: array[f64], k: f64) -> array[i32]"));
    let f = &iface.functions[0];
    assert_eq!(f.params[0].ty, Ty::Array(Num::F64));
    assert_eq!(f.returns, Returns::One(Ty::Array(Num::I32)));
    assert_eq!(f.signature(), "(xs: array[f64], k: f64) -> array[i32]");
    let e = error(&m, Some("f(xs: array[str], k: f64) -> u32"));
    assert!(e.starts_with("m.wasm2py:1:13: "), "{e}");
    let e = error(&m, Some("f(xs: array f64) -> u32"));
    assert!(
        e.starts_with("m.wasm2py:1:13: expected `[` after `array`"),
        "{e}"
    );
}

/// The memory protocol with the arena record of version 2.
const ARENA_V2: &str = r#"
  (memory (export "memory") 1)
  (func (export "bump_alloc") (param i32) (result i32) i32.const 16)
  (func (export "bump_reset"))
  (func (export "wasm2py_arena") (result i32) i32.const 64)
  (func (export "sum") (param i32 i32) (result i32) i32.const 0)
"#;

#[test]
fn arena_record() {
    let sig = Some("sum(data: bytes) -> u32\n");
    let iface = interface(&module(ARENA_V2), sig);
    assert!(iface.arena_record);
    assert_eq!(iface.arena_path(), ArenaPath::Record);
    // wasm2py_arena itself is never wrapped.
    let names: Vec<&str> = iface.functions.iter().map(|f| f.py_name.as_str()).collect();
    assert_eq!(names, ["sum"]);
    let files = generate(&module(ARENA_V2), sig).unwrap();
    let wasm_py = String::from_utf8(files.get("m/_wasm.py").unwrap().to_vec()).unwrap();
    assert!(wasm_py.contains("arena_record=True"));
    assert!(wasm_py.contains("_aw, _mv, _b, _room = self._local.x_sum"));
    // Without functions that use the arena the record plays no part.
    let scalar = module(&ARENA_V2.replace("(param i32 i32)", "(param i32)"));
    assert!(!interface(&scalar, Some("sum(n: u32) -> u32\n")).arena_record);
    // Without the record: version 1, the protocol's raw calls in the fast bodies.
    let v1 = module(&ARENA_V2.replace("wasm2py_arena", "something_else"));
    let iface = interface(&v1, sig);
    assert!(!iface.arena_record);
    assert_eq!(iface.arena_path(), ArenaPath::Protocol);
    let files = generate(&v1, sig).unwrap();
    let wasm_py = String::from_utf8(files.get("m/_wasm.py").unwrap().to_vec()).unwrap();
    assert!(wasm_py.contains("_ba, _bv, _br = self._local.x_sum"));
}

#[test]
fn arena_record_errors() {
    let m = module(&ARENA_V2.replace(
        r#"(func (export "wasm2py_arena") (result i32) i32.const 64)"#,
        r#"(func (export "wasm2py_arena") (param i32) (result i32) i32.const 64)"#,
    ));
    let e = error(&m, Some("sum(data: bytes) -> u32"));
    assert!(
        e.contains("`wasm2py_arena` has type (i32) -> (i32), expected () -> (i32): it returns the address of the guest's arena record"),
        "{e}"
    );
    let e = error(&module(ARENA_V2), Some("wasm2py_arena() -> ptr"));
    assert!(
        e.starts_with("m.wasm2py:1:1: `wasm2py_arena` is the guest's arena record"),
        "{e}"
    );
}
