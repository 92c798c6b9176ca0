//! wasm2py example guest: `bytes`, `str` and `list` parameters and results through the
//! arena of the memory protocol. The annotations are in the sidecar `textkit.wasm2py`.
//!
//! Every export taking a pointer is `unsafe`: the caller (the generated code) passes
//! `(ptr, len)` pairs that describe readable memory, allocated with `bump_alloc`.

use sha2::{Digest, Sha256};
use wasm2py_arena::{Pair, return_bytes, return_slice, slice, typed_slice};

wasm2py_arena::export_arena!();

/// SHA-256 digest of `data` (32 bytes).
///
/// # Safety
/// `(ptr, len)` is readable memory (any `ptr` when `len` is 0); the same holds for every
/// `(ptr, len)` parameter below.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sha256(ptr: *const u8, len: usize) -> *mut Pair {
    let data = unsafe { slice(ptr, len) };
    return_bytes(&Sha256::digest(data))
}

/// Sum of the bytes.
///
/// # Safety
/// See [`sha256`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sum_bytes(ptr: *const u8, len: usize) -> u64 {
    let data = unsafe { slice(ptr, len) };
    data.iter().map(|&b| u64::from(b)).sum()
}

/// Unicode upper case ("straße" → "STRASSE"); refuses (null) invalid UTF-8.
///
/// # Safety
/// See [`sha256`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn upper(ptr: *const u8, len: usize) -> *mut Pair {
    match std::str::from_utf8(unsafe { slice(ptr, len) }) {
        Ok(text) => return_bytes(text.to_uppercase().as_bytes()),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The bytes in reverse order.
///
/// # Safety
/// See [`sha256`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reverse(ptr: *const u8, len: usize) -> *mut Pair {
    let mut data = unsafe { slice(ptr, len) }.to_vec();
    data.reverse();
    return_bytes(&data)
}

/// Every element multiplied by `k`.
///
/// # Safety
/// `(ptr, count)` is `count` readable, aligned `f64`s (any `ptr` when `count` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn scale(ptr: *const f64, count: usize, k: f64) -> *mut Pair {
    let xs = unsafe { typed_slice(ptr, count) };
    let scaled: Vec<f64> = xs.iter().map(|x| x * k).collect();
    return_slice(&scaled)
}

/// The 16 bytes xor 0x5a; refuses (null) any other length.
///
/// # Safety
/// See [`sha256`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fixed16(ptr: *const u8, len: usize) -> *mut Pair {
    let Ok(block) = <[u8; 16]>::try_from(unsafe { slice(ptr, len) }) else {
        return std::ptr::null_mut();
    };
    return_bytes(&block.map(|b| b ^ 0x5a))
}

/// The decimal number in `text`. Traps (panics) when it is not one: a trap while the
/// arena holds the input, so callers can check the arena is reset after a trap.
///
/// # Safety
/// See [`sha256`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn parse_u32(ptr: *const u8, len: usize) -> u32 {
    let text = std::str::from_utf8(unsafe { slice(ptr, len) }).ok();
    match text.and_then(|t| t.parse().ok()) {
        Some(n) => n,
        None => panic!("parse_u32: not a decimal u32"),
    }
}

/// How many times the character with code point `c` occurs in `text` (0 when `c` is not
/// a Unicode scalar value or `text` is not UTF-8).
///
/// # Safety
/// See [`sha256`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn count_char(ptr: *const u8, len: usize, c: u32) -> u32 {
    let text = std::str::from_utf8(unsafe { slice(ptr, len) }).unwrap_or("");
    let Some(c) = char::from_u32(c) else { return 0 };
    // At most 4 GiB of text on wasm32; saturate natively rather than wrap.
    u32::try_from(text.chars().filter(|&x| x == c).count()).unwrap_or(u32::MAX)
}

/// The length of `data`, without reading it: isolates the cost of passing bytes in.
/// Safe: nothing is read, any `(ptr, len)` is accepted.
#[unsafe(no_mangle)]
pub extern "C" fn byte_len(_ptr: *const u8, len: usize) -> u32 {
    // At most 4 GiB on wasm32; saturate natively rather than wrap.
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// `n` zero bytes, handed out by the arena without a copy (its blocks are zeroed):
/// isolates the cost of copying a result out. Refuses (null) when the arena cannot hold
/// them.
#[unsafe(no_mangle)]
pub extern "C" fn zeros(n: u32) -> *mut Pair {
    let Ok(n) = usize::try_from(n) else {
        return std::ptr::null_mut();
    };
    let (buf, pair) = (
        wasm2py_arena::alloc(n),
        wasm2py_arena::alloc(size_of::<Pair>()),
    );
    if buf.is_null() || pair.is_null() {
        return std::ptr::null_mut();
    }
    let pair = pair.cast::<Pair>();
    // SAFETY: a fresh, 16-byte aligned arena block of the size of a `Pair`.
    unsafe {
        pair.write(Pair {
            ptr: buf as usize,
            len: n,
        })
    };
    pair
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a returned pair as bytes (`Some`) or a refusal (`None`), then resets.
    fn bytes(pair: *mut Pair) -> Option<Vec<u8>> {
        // SAFETY: a result of this crate: null or a pair of arena pointers.
        let out =
            unsafe { pair.as_ref() }.map(|p| unsafe { slice(p.ptr as *const u8, p.len) }.to_vec());
        wasm2py_arena::reset();
        out
    }

    fn call(
        f: unsafe extern "C" fn(*const u8, usize) -> *mut Pair,
        data: &[u8],
    ) -> Option<Vec<u8>> {
        bytes(unsafe { f(data.as_ptr(), data.len()) })
    }

    #[test]
    fn sha256_known_digest() {
        let digest = call(sha256, b"abc").unwrap();
        assert_eq!(
            digest[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "sha256(\"abc\") starts with ba7816bf"
        );
        assert_eq!(call(sha256, b"").unwrap()[..2], [0xe3, 0xb0]);
    }

    #[test]
    fn sum_and_reverse() {
        assert_eq!(unsafe { sum_bytes([255u8; 1000].as_ptr(), 1000) }, 255_000);
        assert_eq!(unsafe { sum_bytes(std::ptr::null(), 0) }, 0);
        assert_eq!(call(reverse, b"abc").unwrap(), b"cba");
        assert_eq!(call(reverse, b"").unwrap(), b"");
    }

    #[test]
    fn upper_is_unicode_aware() {
        assert_eq!(
            call(upper, "straße".as_bytes()).unwrap(),
            "STRASSE".as_bytes()
        );
        assert_eq!(
            call(upper, "héllo wörld".as_bytes()).unwrap(),
            "HÉLLO WÖRLD".as_bytes()
        );
        assert_eq!(call(upper, b"\xff"), None);
    }

    #[test]
    fn scale_list() {
        let xs = [1.0, -2.5, 4.0];
        let pair = unsafe { scale(xs.as_ptr(), xs.len(), 2.0) };
        let p = unsafe { *pair };
        assert_eq!(p.len, 3);
        assert_eq!(
            unsafe { typed_slice(p.ptr as *const f64, p.len) },
            [2.0, -5.0, 8.0]
        );
        wasm2py_arena::reset();
    }

    #[test]
    fn fixed16_refuses_other_lengths() {
        assert_eq!(call(fixed16, &[0; 15]), None);
        assert_eq!(call(fixed16, &[0; 17]), None);
        assert_eq!(call(fixed16, &[0x5a; 16]).unwrap(), [0; 16]);
    }

    #[test]
    fn parse_and_count() {
        assert_eq!(unsafe { parse_u32(b"4294967295".as_ptr(), 10) }, u32::MAX);
        let text = "añaña";
        assert_eq!(
            unsafe { count_char(text.as_ptr(), text.len(), 'ñ' as u32) },
            2
        );
        assert_eq!(unsafe { count_char(text.as_ptr(), text.len(), 0xD800) }, 0);
    }

    #[test]
    fn byte_len_and_zeros() {
        assert_eq!(byte_len(std::ptr::null(), 0), 0);
        assert_eq!(byte_len([7u8; 100].as_ptr(), 100), 100);
        let out = bytes(zeros(1000)).unwrap();
        assert_eq!(out.len(), 1000);
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(bytes(zeros(0)).unwrap(), b"");
        assert_eq!(bytes(zeros(u32::MAX)), None); // beyond the arena's cap
    }
}
