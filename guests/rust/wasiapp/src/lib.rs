//! wasm2py example guest: a WASI module, built the way the article builds it
//! (`cargo build --target wasm32-wasip1`) and natively, written with the real std: stdout
//! and stderr, the environment, arguments, files, stdin, `process::exit`, clocks, random
//! numbers, a `HashMap` and `format!`. The annotations are in the sidecar `wasiapp.wasm2py`.
//!
//! On wasm32-wasip1 the module imports `wasi_snapshot_preview1` and is a reactor: it exports
//! `_initialize` (wasi-libc's constructors), which the host runs once before the first call.
//! `bytes`/`str` go through the arena of the memory protocol (`wasm2py-arena`), as in
//! textkit; a `bytes`/`str` result is a pointer to a `{ptr, len}` pair, null = refused.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::Read;
use std::ptr;
use std::time::{SystemTime, UNIX_EPOCH};

use wasm2py_arena::{Pair, return_bytes, slice};

wasm2py_arena::export_arena!();

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

/// A `str` parameter, or `None` when it is not UTF-8.
///
/// # Safety
/// As [`wasm2py_arena::slice`].
unsafe fn text<'a>(ptr: *const u8, len: usize) -> Option<&'a str> {
    std::str::from_utf8(unsafe { slice(ptr, len) }).ok()
}

/// The n-th Fibonacci number by naive recursion (slow on purpose), modulo 2^64.
#[unsafe(no_mangle)]
pub extern "C" fn fibonacci(n: u64) -> u64 {
    if n <= 1 {
        n
    } else {
        fibonacci(n - 1).wrapping_add(fibonacci(n - 2))
    }
}

/// One `"word count"` line per distinct whitespace-separated word of `text`, sorted by
/// word (so the output does not depend on the `HashMap`'s random order); refuses (null)
/// invalid UTF-8.
///
/// # Safety
/// `(ptr, len)` is readable memory (any `ptr` when `len` is 0); the same holds for every
/// `(ptr, len)` parameter below.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn word_counts(ptr: *const u8, len: usize) -> *mut Pair {
    let Some(text) = (unsafe { text(ptr, len) }) else {
        return ptr::null_mut();
    };
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    let mut words: Vec<(&str, u32)> = counts.into_iter().collect();
    words.sort_unstable();
    let out: String = words
        .iter()
        .map(|(word, count)| format!("{word} {count}\n"))
        .collect();
    return_bytes(out.as_bytes())
}

/// Prints `hello, {name}` to stdout and `greeted {name}` to stderr (one line each) and
/// returns `Hello, {name}!`; refuses (null) invalid UTF-8.
///
/// # Safety
/// See [`word_counts`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn greet(ptr: *const u8, len: usize) -> *mut Pair {
    let Some(name) = (unsafe { text(ptr, len) }) else {
        return ptr::null_mut();
    };
    println!("hello, {name}");
    eprintln!("greeted {name}");
    return_bytes(format!("Hello, {name}!").as_bytes())
}

/// The value of the environment variable `name` (`std::env::var`); null when it is unset,
/// not UTF-8, or `name` is not UTF-8.
///
/// # Safety
/// See [`word_counts`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn env_var(ptr: *const u8, len: usize) -> *mut Pair {
    // An empty name or one with '=' or NUL: std::env::var would panic natively on NUL.
    match unsafe { text(ptr, len) } {
        Some(name) if !name.is_empty() && !name.contains(['=', '\0']) => {
            match std::env::var(name) {
                Ok(value) => return_bytes(value.as_bytes()),
                Err(_) => ptr::null_mut(),
            }
        }
        _ => ptr::null_mut(),
    }
}

/// The number of command-line arguments (`std::env::args`, argv\[0\] included).
#[unsafe(no_mangle)]
pub extern "C" fn arg_count() -> u32 {
    u32::try_from(std::env::args_os().len()).unwrap_or(u32::MAX)
}

/// The `i`-th command-line argument; null when there is none (or it is not UTF-8).
#[unsafe(no_mangle)]
pub extern "C" fn arg(i: u32) -> *mut Pair {
    let arg = usize::try_from(i)
        .ok()
        .and_then(|i| std::env::args_os().nth(i));
    match arg.map(|a| a.into_string()) {
        Some(Ok(a)) => return_bytes(a.as_bytes()),
        _ => ptr::null_mut(),
    }
}

/// The contents of the file at `path` (`std::fs::read`); null when it cannot be read.
///
/// # Safety
/// See [`word_counts`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read_file(ptr: *const u8, len: usize) -> *mut Pair {
    let data = unsafe { text(ptr, len) }.and_then(|path| std::fs::read(path).ok());
    match data {
        Some(data) => return_bytes(&data),
        None => ptr::null_mut(),
    }
}

/// Writes `data` to the file at `path` (`std::fs::write`: created or truncated); false when
/// that fails.
///
/// # Safety
/// See [`word_counts`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write_file(
    path_ptr: *const u8,
    path_len: usize,
    data_ptr: *const u8,
    data_len: usize,
) -> bool {
    let Some(path) = (unsafe { text(path_ptr, path_len) }) else {
        return false;
    };
    let data = unsafe { slice(data_ptr, data_len) };
    std::fs::write(path, data).is_ok()
}

/// Everything on stdin, read to the end; null when reading fails.
#[unsafe(no_mangle)]
pub extern "C" fn read_stdin() -> *mut Pair {
    let mut data = Vec::new();
    match std::io::stdin().lock().read_to_end(&mut data) {
        Ok(_) => return_bytes(&data),
        Err(_) => ptr::null_mut(),
    }
}

/// Ends the process with status `code` (`std::process::exit`: WASI `proc_exit` on wasm).
#[unsafe(no_mangle)]
pub extern "C" fn exit_with(code: u32) {
    std::process::exit(code as i32)
}

/// Panics with `message` (invalid UTF-8 is replaced): the panic message goes to stderr,
/// then the panic is a trap on wasm (`panic = "abort"`) and aborts the process natively.
///
/// # Safety
/// See [`word_counts`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fail(ptr: *const u8, len: usize) {
    let message = String::from_utf8_lossy(unsafe { slice(ptr, len) });
    panic!("{message}");
}

/// Whether the wall clock (`SystemTime::now`, WASI `clock_time_get`) reads after the Unix
/// epoch.
#[unsafe(no_mangle)]
pub extern "C" fn now_nonzero() -> bool {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|d| !d.is_zero())
}

/// A random number: a fresh `RandomState` is keyed from the system's random source (WASI
/// `random_get` on wasm) and hashes a constant.
#[unsafe(no_mangle)]
pub extern "C" fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0u64)
}

/// Wrapping `a + b`: a scalar call into a WASI module (for the benchmarks).
#[unsafe(no_mangle)]
pub extern "C" fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a result as text (`None` = refused), then resets the arena.
    fn read(pair: *mut Pair) -> Option<String> {
        // SAFETY: a result of this crate: null or a pair of arena pointers.
        let out = unsafe { pair.as_ref() }.map(|p| {
            let bytes = unsafe { slice(p.ptr as *const u8, p.len) };
            String::from_utf8(bytes.to_vec()).unwrap()
        });
        wasm2py_arena::reset();
        out
    }

    /// Calls `f` on `input` and reads the result.
    fn call(f: unsafe extern "C" fn(*const u8, usize) -> *mut Pair, input: &str) -> Option<String> {
        read(unsafe { f(input.as_ptr(), input.len()) })
    }

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
        assert_eq!(
            call(word_counts, "b a  b\nc b a").as_deref(),
            Some("a 2\nb 3\nc 1\n")
        );
        assert_eq!(call(word_counts, " ").as_deref(), Some(""));
        let bad = b"\xff";
        assert!(unsafe { word_counts(bad.as_ptr(), 1) }.is_null());
    }

    #[test]
    fn greet_and_env() {
        assert_eq!(call(greet, "bob").as_deref(), Some("Hello, bob!"));
        assert_eq!(call(env_var, "WASIAPP_SURELY_UNSET_VARIABLE"), None);
        assert_eq!(call(env_var, ""), None);
        assert_eq!(call(env_var, "A\0B"), None);
        assert!(call(env_var, "PATH").is_some());
    }

    #[test]
    fn args() {
        assert!(arg_count() >= 1);
        assert!(read(arg(0)).is_some());
        assert_eq!(read(arg(u32::MAX)), None);
    }

    #[test]
    fn files() {
        let dir = std::env::temp_dir().join(format!("wasiapp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        let p = path.to_str().unwrap();
        assert!(unsafe { write_file(p.as_ptr(), p.len(), b"data".as_ptr(), 4) });
        assert_eq!(call(read_file, p).as_deref(), Some("data"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(call(read_file, p), None);
        assert!(!unsafe { write_file(p.as_ptr(), p.len(), b"x".as_ptr(), 1) });
    }
}
