//! wasm2py bench guest: the work of `shimsraw`, with the shims and annotations written by
//! `#[wasm2py_guest::export]`; bench/bench.py compares the two calls side by side.

use wasm2py_guest::export;

/// a + b, wrapping.
#[export]
pub fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

/// Sum of the bytes.
#[export]
pub fn byte_sum(data: &[u8]) -> u64 {
    data.iter().map(|&b| u64::from(b)).sum()
}

/// The bytes back.
#[export]
pub fn echo(data: &[u8]) -> Vec<u8> {
    data.to_vec()
}
