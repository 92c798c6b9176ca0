//! `rust_wasi_user`: a WASI guest written from `SPEC.md` alone ("Memory protocol", "WASI
//! modules"), built the article's way (`cargo build --target wasm32-wasip1`) and natively.
//!
//! It uses the standard library for real: `HashMap`, `format!`, `println!`/`eprintln!`,
//! `std::env`, `std::fs`, `std::io::stdin`, `std::process::exit` and a panic. The memory
//! protocol is served by a plain global bump arena of its own (1 MiB, 16-byte aligned
//! blocks, zeroed on reset), as a reader of the SPEC would write it: one arena for the whole
//! module, not one per thread. The annotations are in the sidecar `rust_wasi_user.wasm2py`.

use std::collections::HashMap;
use std::io::Read;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};

// ---- the memory protocol ------------------------------------------------------------

const ARENA_SIZE: usize = 1 << 20;
const ARENA_ALIGN: usize = 16;

#[repr(C, align(16))]
struct Arena {
    bytes: [u8; ARENA_SIZE],
    /// Bytes handed out since the last reset: `bytes[..top]`.
    top: usize,
}

static mut ARENA: Arena = Arena {
    bytes: [0; ARENA_SIZE],
    top: 0,
};

/// The global arena.
///
/// # Safety
/// One caller at a time: a wasm instance runs one call at a time, and the SPEC has native
/// calls that use the arena serialised per library for a guest with a global arena.
unsafe fn arena() -> &'static mut Arena {
    // A raw pointer first: no reference to the `static mut` itself is made.
    let arena = &raw mut ARENA;
    // SAFETY: see above.
    unsafe { &mut *arena }
}

/// `void *bump_alloc(size_t size)`: a zeroed, 16-byte aligned block; null when full.
#[unsafe(no_mangle)]
pub extern "C" fn bump_alloc(size: usize) -> *mut u8 {
    // SAFETY: one caller at a time (see `arena`).
    let arena = unsafe { arena() };
    // At least one block, so that every allocation is distinct.
    let Some(n) = size.max(1).checked_next_multiple_of(ARENA_ALIGN) else {
        return ptr::null_mut();
    };
    if n > ARENA_SIZE - arena.top {
        return ptr::null_mut();
    }
    let p = arena.bytes[arena.top..].as_mut_ptr();
    arena.top += n;
    p
}

/// `void bump_reset(void)`: zero everything handed out since the last reset and free it.
#[unsafe(no_mangle)]
pub extern "C" fn bump_reset() {
    // SAFETY: one caller at a time (see `arena`).
    let arena = unsafe { arena() };
    arena.bytes[..arena.top].fill(0);
    arena.top = 0;
}

/// A bytes/str result: `{data pointer, length}`, both in the arena.
#[repr(C)]
pub struct Slice {
    ptr: *mut u8,
    len: usize,
}

/// A `(ptr, len)` parameter as bytes (empty for a null pointer).
///
/// # Safety
/// A non-null `ptr` points to `len` readable bytes that outlive the call.
unsafe fn bytes_in<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller passes `len` readable bytes.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// A `(ptr, len)` parameter as UTF-8 text; None when it is not UTF-8.
///
/// # Safety
/// As for [`bytes_in`].
unsafe fn str_in<'a>(ptr: *const u8, len: usize) -> Option<&'a str> {
    std::str::from_utf8(unsafe { bytes_in(ptr, len) }).ok()
}

/// A copy of `data` in the arena as a result; null when the arena is full.
fn give(data: &[u8]) -> *mut Slice {
    // Arena blocks are 16-byte aligned: enough for a Slice.
    #[allow(clippy::cast_ptr_alignment)]
    let pair = bump_alloc(size_of::<Slice>()).cast::<Slice>();
    let bytes = bump_alloc(data.len());
    if pair.is_null() || bytes.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `bytes` is a fresh block of `data.len()` bytes, `pair` one for a Slice.
    unsafe {
        ptr::copy_nonoverlapping(data.as_ptr(), bytes, data.len());
        pair.write(Slice {
            ptr: bytes,
            len: data.len(),
        });
    }
    pair
}

// ---- state that a fresh instance starts again ---------------------------------------

static COUNTER: AtomicU32 = AtomicU32::new(0);

static SEEN: LazyLock<Mutex<HashMap<String, u32>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// `counter_next() -> u32`: 1, 2, 3, ... on one instance.
#[unsafe(no_mangle)]
pub extern "C" fn counter_next() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

/// `remember(word: str) -> u32`: how many times `word` was passed, this one included.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn remember(ptr: *const u8, len: usize) -> u32 {
    let Some(word) = (unsafe { str_in(ptr, len) }) else {
        return 0;
    };
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    let n = seen.entry(word.to_owned()).or_insert(0);
    *n += 1;
    *n
}

// ---- std: collections and formatting ------------------------------------------------

/// `word_counts(text: str) -> str`: "word=count\n" for each whitespace-separated word,
/// sorted by word.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn word_counts(ptr: *const u8, len: usize) -> *mut Slice {
    let Some(text) = (unsafe { str_in(ptr, len) }) else {
        return ptr::null_mut();
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    let mut words: Vec<_> = counts.into_iter().collect();
    words.sort_unstable();
    let out: String = words.iter().map(|(w, n)| format!("{w}={n}\n")).collect();
    give(out.as_bytes())
}

// ---- std: environment, arguments, files, stdin --------------------------------------

/// `env_count() -> u32`: how many environment variables the guest sees.
#[unsafe(no_mangle)]
pub extern "C" fn env_count() -> u32 {
    u32::try_from(std::env::vars_os().count()).unwrap_or(u32::MAX)
}

/// `env_get(name: str) -> str`: the variable's value; null (refused) when it is not set.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn env_get(ptr: *const u8, len: usize) -> *mut Slice {
    let Some(name) = (unsafe { str_in(ptr, len) }) else {
        return ptr::null_mut();
    };
    match std::env::var(name) {
        Ok(value) => give(value.as_bytes()),
        Err(_) => ptr::null_mut(),
    }
}

/// `args_joined() -> str`: the guest's arguments, joined by newlines.
#[unsafe(no_mangle)]
pub extern "C" fn args_joined() -> *mut Slice {
    let args: Vec<String> = std::env::args().collect();
    give(args.join("\n").as_bytes())
}

/// `read_file(path: str) -> bytes`: the file's contents; null (refused) on any error.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read_file(ptr: *const u8, len: usize) -> *mut Slice {
    let Some(path) = (unsafe { str_in(ptr, len) }) else {
        return ptr::null_mut();
    };
    match std::fs::read(path) {
        Ok(data) => give(&data),
        Err(_) => ptr::null_mut(),
    }
}

/// `write_file(path: str, data: bytes) -> i32`: 0 when written, else the OS error number
/// (-1 when there is none).
///
/// # Safety
/// Both `(ptr, len)` pairs are readable byte buffers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write_file(
    path_ptr: *const u8,
    path_len: usize,
    data_ptr: *const u8,
    data_len: usize,
) -> i32 {
    let Some(path) = (unsafe { str_in(path_ptr, path_len) }) else {
        return -1;
    };
    let data = unsafe { bytes_in(data_ptr, data_len) };
    match std::fs::write(path, data) {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// `read_stdin() -> bytes`: everything left on stdin; null (refused) on an error.
#[unsafe(no_mangle)]
pub extern "C" fn read_stdin() -> *mut Slice {
    let mut data = Vec::new();
    match std::io::stdin().read_to_end(&mut data) {
        Ok(_) => give(&data),
        Err(_) => ptr::null_mut(),
    }
}

// ---- std: output, exit and panics ---------------------------------------------------

/// `say(text: str)`: `println!` it.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn say(ptr: *const u8, len: usize) {
    if let Some(text) = unsafe { str_in(ptr, len) } {
        println!("{text}");
    }
}

/// `complain(text: str)`: `eprintln!` it.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn complain(ptr: *const u8, len: usize) {
    if let Some(text) = unsafe { str_in(ptr, len) } {
        eprintln!("{text}");
    }
}

/// `exit_with(code: i32)`: `std::process::exit(code)`.
#[unsafe(no_mangle)]
pub extern "C" fn exit_with(code: i32) {
    std::process::exit(code)
}

/// `farewell(text: str, code: i32)`: `print!` the text (no newline, so it is still in
/// stdout's buffer) and exit with `code` (which flushes stdout).
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn farewell(ptr: *const u8, len: usize, code: i32) {
    if let Some(text) = unsafe { str_in(ptr, len) } {
        print!("{text}");
    }
    std::process::exit(code)
}

/// `checked_div(a: i32, b: i32) -> i32`: a / b, panicking when b is 0.
#[unsafe(no_mangle)]
pub extern "C" fn checked_div(a: i32, b: i32) -> i32 {
    if b == 0 {
        panic!("division by zero: {a} / 0");
    }
    a.wrapping_div(b)
}
