//! Snapshots of every generated text file for every example guest, in `snapshots/`.
//!
//! The inputs are committed files (the modules inside `generated/`, and the sidecars in
//! `guests/`), so this runs on a fresh clone without building any guest. Update with
//! `INSTA_UPDATE=always cargo test --test snapshots` and review the `.snap` diffs.

use std::path::{Path, PathBuf};
use wasm2py::{Files, Options};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The example guests: package name and, when annotated by a sidecar, its path.
const GUESTS: &[(&str, Option<&str>)] = &[
    ("fib", Some("guests/rust/fib/fib.wasm2py")),
    ("textkit", None),
    ("numkit", None),
    ("cfib", None),
    ("wasiapp", None),
    ("cwasi", None),
    ("hostcalls", Some("guests/wat/hostcalls.wasm2py")),
];

fn root() -> &'static Path {
    Path::new(ROOT)
}

/// The committed module of `pkg`.
fn module(pkg: &str) -> PathBuf {
    root().join(format!("generated/{pkg}/{pkg}/{pkg}.wasm"))
}

fn options(pkg: &str, sig: Option<&str>) -> Options {
    Options {
        module: module(pkg),
        sig: sig.map(|s| root().join(s)),
        name: None,
    }
}

fn generate(pkg: &str, sig: Option<&str>) -> Files {
    wasm2py::generate(&options(pkg, sig)).unwrap_or_else(|e| panic!("{pkg}: {e}"))
}

/// The generated text files (everything but the module and the runtime), by path.
fn texts(files: &Files) -> Vec<(&str, String)> {
    files
        .files
        .iter()
        .filter(|(path, _)| !path.ends_with(".wasm") && !path.ends_with("/_runtime.py"))
        .map(|(path, bytes)| {
            let text =
                String::from_utf8(bytes.clone()).unwrap_or_else(|_| panic!("{path} is not UTF-8"));
            (path.as_str(), text)
        })
        .collect()
}

/// `fib/__init__.py` → `fib__init.py`; `pyproject.toml` → `fib__pyproject.toml`.
fn snapshot_name(pkg: &str, path: &str) -> String {
    let file = path.rsplit('/').next().unwrap();
    format!("{pkg}__{}", file.trim_start_matches('_').replace("__", ""))
}

#[test]
fn generated_files_match_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (pkg, sig) in GUESTS {
            let files = generate(pkg, *sig);
            // The runtime is the same bytes in every package: the repository's file.
            let runtime = std::fs::read(root().join("runtime/_runtime.py")).unwrap();
            assert!(
                files.get(&format!("{pkg}/_runtime.py")) == Some(runtime.as_slice()),
                "{pkg}/_runtime.py differs from runtime/_runtime.py"
            );
            let texts = texts(&files);
            let paths: Vec<&str> = texts.iter().map(|(p, _)| *p).collect();
            let mut expected = [
                format!("{pkg}/__init__.py"),
                format!("{pkg}/_errors.py"),
                format!("{pkg}/_native.py"),
                format!("{pkg}/_wasm.py"),
                format!("{pkg}/py.typed"),
                "pyproject.toml".to_string(),
            ];
            expected.sort();
            assert_eq!(paths, expected);
            for (path, text) in texts {
                if path.ends_with("py.typed") {
                    assert_eq!(text, "", "{path} is an empty marker");
                    continue;
                }

                insta::assert_snapshot!(snapshot_name(pkg, path), text);
            }
        }
    });
}

/// Regenerating from the committed modules reproduces `generated/` exactly, as
/// `wasm2py gen --check` (and `scripts/regen.sh --check`) would require.
#[test]
fn committed_packages_are_up_to_date() {
    for (pkg, sig) in GUESTS {
        let files = generate(pkg, *sig);
        let out = root().join("generated").join(pkg);
        let differ = files.check(&out);
        assert!(
            differ.is_empty(),
            "generated/{pkg} differs from a fresh generation in {differ:?}; run scripts/regen.sh"
        );
        // Byte for byte, file by file (check already compares; this names the first diff).
        for (rel, bytes) in &files.files {
            let on_disk = std::fs::read(out.join(rel)).unwrap();
            assert!(on_disk == *bytes, "generated/{pkg}/{rel} differs");
        }
        // The module inside the package is the module given.
        assert_eq!(
            files.get(&format!("{pkg}/{pkg}.wasm")).unwrap(),
            std::fs::read(module(pkg)).unwrap().as_slice()
        );
    }
}

#[test]
fn output_has_no_absolute_paths() {
    for (pkg, sig) in GUESTS {
        for (path, text) in texts(&generate(pkg, *sig)) {
            for needle in ["/work", "/root", "/tmp", "/home", "/Users", "C:\\", ROOT] {
                assert!(!text.contains(needle), "{pkg}: {path} contains {needle:?}");
            }
        }
    }
}

/// The output depends on the module's contents and name, not on where it is.
#[test]
fn output_does_not_depend_on_the_input_location() {
    for (pkg, sig) in GUESTS {
        let here = generate(pkg, *sig);
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("some/where/else");
        std::fs::create_dir_all(&nested).unwrap();
        let copy = nested.join(format!("{pkg}.wasm"));
        std::fs::copy(module(pkg), &copy).unwrap();
        let sig_copy = sig.map(|s| {
            let to = nested.join(Path::new(s).file_name().unwrap());
            std::fs::copy(root().join(s), &to).unwrap();
            to
        });
        let there = wasm2py::generate(&Options {
            module: copy,
            sig: sig_copy,
            name: None,
        })
        .unwrap();
        assert_eq!(here, there, "{pkg}: output differs when the input moves");
    }
}

/// Each guest's annotations come from where the snapshots say.
#[test]
fn annotation_sources() {
    use wasm2py::model::AnnotationSource;
    for (pkg, sig) in GUESTS {
        let loaded = wasm2py::load(&options(pkg, *sig)).unwrap();
        let expected = match sig {
            Some(s) => AnnotationSource::File(
                Path::new(s)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            ),
            None => AnnotationSource::CustomSection,
        };
        assert_eq!(loaded.interface.annotations, expected, "{pkg}");
        // Only fib's `mix` is left unannotated, on purpose (see its sidecar).
        let unannotated: Vec<&str> = loaded
            .interface
            .functions
            .iter()
            .filter(|f| !f.annotated)
            .map(|f| f.export.as_str())
            .collect();
        let expected: &[&str] = if *pkg == "fib" { &["mix"] } else { &[] };
        assert_eq!(unannotated, expected, "{pkg}");
        assert!(loaded.interface.skipped.is_empty(), "{pkg}");
    }
}

/// A synthetic module with every annotation type, as parameter and result, multi-line and
/// awkward docstrings, keyword names, an unannotated multi-value function, a skipped
/// export and `raises` functions with the error record: what the example guests do not
/// cover. Built from WAT, so nothing to commit.
const KITCHEN_SINK: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "bump_alloc") (param i32) (result i32) i32.const 16)
  (func (export "bump_reset"))
  (func (export "ints") (param i32 i32 i32 i64 i32 i32 i32 i64) (result i32) i32.const 0)
  (func (export "r_i8") (result i32) i32.const 0)
  (func (export "r_i16") (result i32) i32.const 0)
  (func (export "r_u16") (result i32) i32.const 0)
  (func (export "r_i64") (result i64) i64.const 0)
  (func (export "floats") (param f32 f64) (result f32) f32.const 0)
  (func (export "flag") (param i32) (result i32) i32.const 0)
  (func (export "address") (param i32) (result i32) i32.const 0)
  (func (export "blob") (param i32 i32 i32 i32) (result i32) i32.const 0)
  (func (export "lists") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) i32.const 0)
  (func (export "lists2") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32) i32.const 0)
  (func (export "lambda") (param i32) (result i32) i32.const 0)
  (func (export "getValue") (result i32 i64) i32.const 0 i64.const 0)
  (func (export "simd") (param v128))
  (func (export "wasm2py_error") (result i32) i32.const 64)
  (func (export "parse") (param i32 i32) (result i32) i32.const 0)
  (func (export "validate") (param i32 i32))
  (func (export "checked") (param i32) (result i32) i32.const 0)
  (func (export "arrays") (param i32 i32 i32 i32) (result i32) i32.const 0)
  (global (export "__heap_base") i32 (i32.const 1024)))"#;

const KITCHEN_SINK_SIG: &str = r#"# every type
/// Integer parameters of every width.
///
/// The result is a u8.
ints(a: i8, b: i16, c: i32, d: i64, e: u8, f: u16, g: u32, h: u64) -> u8
r_i8() -> i8
r_i16() -> i16
r_u16() -> u16
r_i64() -> i64
/// Ends with a quote: "x"
floats(x: f32, y: f64) -> f32
/// Backslashes \ and triple quotes """ are escaped.
flag(on: bool) -> bool
address(p: ptr) -> ptr
blob(data: bytes, text: str) -> str
lists(a: list[i8], b: list[i16], c: list[i32], d: list[i64], e: list[u8]) -> list[u64]
lists2(a: list[u16], b: list[u32], c: list[u64], d: list[f32], e: list[f64]) -> list[f32]
lambda(self: u32) -> u32
/// Fails with the guest's message.
parse(text: str) -> str raises
validate(data: bytes) raises
checked(n: u16) -> u16 raises
/// array[T]: list inputs, an array.array result.
arrays(a: array[f64], b: array[u8]) -> array[i16]
"#;

#[test]
fn kitchen_sink_matches_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("kitchen_sink.wasm");
    std::fs::write(&module, wat::parse_str(KITCHEN_SINK).unwrap()).unwrap();
    std::fs::write(dir.path().join("kitchen_sink.wasm2py"), KITCHEN_SINK_SIG).unwrap();
    let files = wasm2py::generate(&Options {
        module,
        sig: None,
        name: None,
    })
    .unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (path, text) in texts(&files) {
            if path.ends_with("py.typed") {
                continue;
            }
            insta::assert_snapshot!(snapshot_name("kitchen_sink", path), text);
        }
    });
}
