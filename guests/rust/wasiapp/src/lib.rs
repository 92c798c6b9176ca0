//! wasm2py example guest: a WASI module, built the way the article builds it
//! (`cargo build --target wasm32-wasip1`) and natively, written in safe Rust with
//! `wasm2py-guest` and the real std: stdout and stderr, the environment, arguments, files,
//! stdin, `process::exit`, clocks, random numbers, a `HashMap` and `format!`. The
//! annotations are in its `wasm2py` custom section, written by `#[export]`.
//!
//! On wasm32-wasip1 the module imports `wasi_snapshot_preview1` and is a reactor: it exports
//! `_initialize` (wasi-libc's constructors), which the host runs once before the first call.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use wasm2py_guest::export;

/// The WASI reactor entry point: the host calls it once, right after instantiation and
/// before any other export; it runs the static constructors (wasi-libc's and any crate's).
///
/// rustc (1.95) links a `cdylib` for wasm32-wasip1 with no entry point at all: neither
/// `_start` nor `_initialize` (reactor cdylibs are rust-lang/rust#108097, not merged), and
/// `-Zwasi-exec-model=reactor` is nightly-only and for binaries. So this is wasi-libc's
/// `crt1-reactor.c`, written here. Referring to `__wasm_call_ctors` also tells wasm-ld that
/// the module calls its constructors itself, so it does not wrap every export in
/// constructor/destructor calls (its "command" fallback). Calling it again does nothing.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    unsafe extern "C" {
        /// Synthesised by wasm-ld: calls every static constructor in order.
        fn __wasm_call_ctors();
    }
    if !DONE.swap(true, Ordering::Relaxed) {
        // SAFETY: runs once, before any other export (the reactor contract).
        unsafe { __wasm_call_ctors() };
    }
}

/// The n-th Fibonacci number by naive recursion, modulo 2^64 (the article's function).
#[export]
pub fn fibonacci(n: u64) -> u64 {
    if n <= 1 {
        n
    } else {
        fibonacci(n - 1).wrapping_add(fibonacci(n - 2))
    }
}

/// "word count" lines, one per distinct whitespace-separated word of text, sorted by word.
#[export]
pub fn word_counts(text: &str) -> String {
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    // Sorted, so the output does not depend on the `HashMap`'s random order.
    let mut words: Vec<(&str, u32)> = counts.into_iter().collect();
    words.sort_unstable();
    words
        .iter()
        .map(|(word, count)| format!("{word} {count}\n"))
        .collect()
}

/// Prints "hello, {name}" to stdout and "greeted {name}" to stderr; returns "Hello, {name}!".
#[export]
pub fn greet(name: &str) -> String {
    println!("hello, {name}");
    eprintln!("greeted {name}");
    format!("Hello, {name}!")
}

/// The value of the environment variable name; refuses when it is unset (or not UTF-8).
#[export]
pub fn env_var(name: &str) -> Result<String, String> {
    // An empty name or one with '=' or NUL: std::env::var would panic natively on NUL.
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(format!("{name:?} is not a variable name"));
    }
    std::env::var(name).map_err(|e| format!("{name}: {e}"))
}

/// The number of command-line arguments (argv[0] included).
#[export]
pub fn arg_count() -> u32 {
    u32::try_from(std::env::args_os().len()).unwrap_or(u32::MAX)
}

/// The i-th command-line argument; refuses when there is none.
#[export]
pub fn arg(i: u32) -> Result<String, String> {
    let arg = usize::try_from(i)
        .ok()
        .and_then(|i| std::env::args_os().nth(i));
    match arg.map(|a| a.into_string()) {
        Some(Ok(a)) => Ok(a),
        Some(Err(_)) => Err(format!("argument {i} is not UTF-8")),
        None => Err(format!("there is no argument {i}")),
    }
}

/// The contents of the file at path; refuses when it cannot be read.
#[export]
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

/// Writes data to the file at path (created or truncated); false when that fails.
#[export]
pub fn write_file(path: &str, data: &[u8]) -> bool {
    std::fs::write(path, data).is_ok()
}

/// Everything on stdin, read to the end.
#[export]
pub fn read_stdin() -> Result<Vec<u8>, std::io::Error> {
    let mut data = Vec::new();
    std::io::stdin().lock().read_to_end(&mut data)?;
    Ok(data)
}

/// Ends the process (WASI proc_exit) with the given status code.
#[export]
pub fn exit_with(code: u32) {
    std::process::exit(code as i32)
}

/// Panics with message: printed to stderr, then a trap (the process aborts natively).
#[export]
pub fn fail(message: &str) {
    panic!("{message}");
}

/// Whether the wall clock reads after the Unix epoch.
#[export]
pub fn now_nonzero() -> bool {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|d| !d.is_zero())
}

/// A random number from the system's random source (a new one every call).
#[export]
pub fn random_u64() -> u64 {
    // A fresh `RandomState` is keyed from the system's random source (WASI `random_get`
    // on wasm) and hashes a constant.
    std::collections::hash_map::RandomState::new().hash_one(0u64)
}

/// Wrapping a + b: a scalar call into a WASI module.
#[export]
pub fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(fibonacci(10), 55);
        assert_eq!(fibonacci(30), 832_040);
        assert_eq!(add(u32::MAX, 2), 1);
        assert!(now_nonzero());
        assert_ne!(random_u64(), random_u64());
    }

    #[test]
    fn words_are_counted_and_sorted() {
        assert_eq!(word_counts("b a  b\nc b a"), "a 2\nb 3\nc 1\n");
        assert_eq!(word_counts(" "), "");
        let bad = b"\xff";
        assert!(unsafe { __wasm2py_export_word_counts(bad.as_ptr(), 1) }.is_null());
        wasm2py_guest::clear_error();
    }

    #[test]
    fn greet_and_env() {
        assert_eq!(greet("bob"), "Hello, bob!");
        assert!(env_var("WASIAPP_SURELY_UNSET_VARIABLE").is_err());
        assert!(env_var("").is_err());
        assert!(env_var("A\0B").is_err());
        assert!(env_var("PATH").is_ok());
    }

    #[test]
    fn args() {
        assert!(arg_count() >= 1);
        assert!(arg(0).is_ok());
        assert_eq!(
            arg(u32::MAX).unwrap_err(),
            "there is no argument 4294967295"
        );
    }

    #[test]
    fn files() {
        let dir = std::env::temp_dir().join(format!("wasiapp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        let p = path.to_str().unwrap();
        assert!(write_file(p, b"data"));
        assert_eq!(read_file(p).unwrap(), b"data");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read_file(p).is_err());
        assert!(!write_file(p, b"x"));
    }
}
