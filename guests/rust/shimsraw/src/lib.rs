//! wasm2py bench guest: the shims written by hand against the raw protocol, over the
//! SDK's arena (its `bump_alloc`/`bump_reset` exports), annotated in `shimsraw.wasm2py`.
//! `shimssdk` does the same work through `#[wasm2py_guest::export]`; bench/bench.py
//! compares the two calls side by side.

use wasm2py_guest::{Pair, return_bytes, slice};

/// a + b, wrapping.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

/// Sum of the bytes.
///
/// # Safety
/// `(ptr, len)` is readable memory (any `ptr` when `len` is 0), as the generated code
/// passes it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn byte_sum(ptr: *const u8, len: usize) -> u64 {
    let data = unsafe { slice(ptr, len) };
    data.iter().map(|&b| u64::from(b)).sum()
}

/// The bytes back.
///
/// # Safety
/// As [`byte_sum`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn echo(ptr: *const u8, len: usize) -> *mut Pair {
    return_bytes(unsafe { slice(ptr, len) })
}
