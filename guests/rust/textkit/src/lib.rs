//! wasm2py example guest: `bytes`, `str` and `list` parameters and results, written in
//! safe Rust with `wasm2py-guest`: `#[wasm2py_guest::export]` writes each C-ABI shim and
//! puts each annotation, with the doc comment as its docstring, in the module's `wasm2py`
//! custom section (no sidecar).

use sha2::{Digest, Sha256};
use wasm2py_guest::{MAX_TOTAL, NoRoom, export};

/// SHA-256 digest of data (32 bytes).
#[export]
pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Sum of the bytes of data.
#[export]
pub fn sum_bytes(data: &[u8]) -> u64 {
    data.iter().map(|&b| u64::from(b)).sum()
}

/// Unicode upper case of text ("straße" -> "STRASSE").
#[export]
pub fn upper(text: &str) -> String {
    text.to_uppercase()
}

/// The bytes of data in reverse order.
#[export]
pub fn reverse(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

/// Every element of xs multiplied by k.
#[export]
pub fn scale(xs: &[f64], k: f64) -> Vec<f64> {
    xs.iter().map(|x| x * k).collect()
}

/// The 16 bytes of data xor 0x5a; refuses any other length.
#[export]
pub fn fixed16(data: &[u8]) -> Result<Vec<u8>, String> {
    let block =
        <[u8; 16]>::try_from(data).map_err(|_| format!("expected 16 bytes, got {}", data.len()))?;
    Ok(block.map(|b| b ^ 0x5a).to_vec())
}

/// The decimal number in text; traps when text is not one.
#[export]
pub fn parse_u32(text: &str) -> u32 {
    // A trap while the arena holds the input, so callers can check the arena is reset
    // after a trap.
    match text.parse() {
        Ok(n) => n,
        Err(_) => panic!("parse_u32: not a decimal u32"),
    }
}

/// How many times the character with code point c occurs in text.
#[export]
pub fn count_char(text: &str, c: u32) -> u32 {
    let Some(c) = char::from_u32(c) else { return 0 };
    // At most 4 GiB of text on wasm32; saturate natively rather than wrap.
    u32::try_from(text.chars().filter(|&x| x == c).count()).unwrap_or(u32::MAX)
}

/// The length of data, without reading it (a benchmark of passing bytes in).
#[export]
pub fn byte_len(data: &[u8]) -> u32 {
    // At most 4 GiB on wasm32; saturate natively rather than wrap.
    u32::try_from(data.len()).unwrap_or(u32::MAX)
}

/// n zero bytes (a benchmark of copying a result out); MemoryError when the guest arena
/// cannot hold them.
#[export]
pub fn zeros(n: u32) -> Result<Vec<u8>, NoRoom> {
    // Beyond the arena's cap: said before allocating (on wasm32 a vector of 4 GiB cannot
    // even be allocated, and that would be a trap).
    match usize::try_from(n) {
        Ok(n) if n <= MAX_TOTAL => Ok(vec![0; n]),
        _ => Err(NoRoom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm2py_guest::{Pair, last_error, slice};

    /// Reads a result pair as bytes (`None` for null), then resets the arena.
    fn bytes(pair: *mut Pair) -> Option<Vec<u8>> {
        // SAFETY: a result of a shim: null or a pair of arena pointers.
        let out =
            unsafe { pair.as_ref() }.map(|p| unsafe { slice(p.ptr as *const u8, p.len) }.to_vec());
        wasm2py_guest::reset();
        out
    }

    #[test]
    fn sha256_known_digest() {
        assert_eq!(sha256(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(sha256(b"")[..2], [0xe3, 0xb0]);
        let out = bytes(unsafe { __wasm2py_export_sha256(b"abc".as_ptr(), 3) }).unwrap();
        assert_eq!(out[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn sum_and_reverse() {
        assert_eq!(sum_bytes(&[255u8; 1000]), 255_000);
        assert_eq!(
            unsafe { __wasm2py_export_sum_bytes(std::ptr::null(), 0) },
            0
        );
        assert_eq!(reverse(b"abc"), b"cba");
        assert_eq!(reverse(b""), b"");
    }

    #[test]
    fn upper_is_unicode_aware() {
        assert_eq!(upper("straße"), "STRASSE");
        assert_eq!(upper("héllo wörld"), "HÉLLO WÖRLD");
        assert_eq!(
            bytes(unsafe { __wasm2py_export_upper(b"\xff".as_ptr(), 1) }),
            None
        );
        assert_eq!(last_error().status, wasm2py_guest::STATUS_MESSAGE);
        wasm2py_guest::clear_error();
    }

    #[test]
    fn scale_list() {
        assert_eq!(scale(&[1.0, -2.5, 4.0], 2.0), [2.0, -5.0, 8.0]);
    }

    #[test]
    fn fixed16_refuses_other_lengths() {
        assert!(fixed16(&[0; 15]).is_err());
        assert_eq!(fixed16(&[0; 17]).unwrap_err(), "expected 16 bytes, got 17");
        assert_eq!(fixed16(&[0x5a; 16]).unwrap(), [0; 16]);
    }

    #[test]
    fn parse_and_count() {
        assert_eq!(parse_u32("4294967295"), u32::MAX);
        assert_eq!(count_char("añaña", 'ñ' as u32), 2);
        assert_eq!(count_char("añaña", 0xD800), 0);
    }

    #[test]
    fn byte_len_and_zeros() {
        assert_eq!(byte_len(&[7u8; 100]), 100);
        assert_eq!(zeros(1000).unwrap(), vec![0; 1000]);
        assert_eq!(zeros(u32::MAX), Err(NoRoom));
        assert_eq!(bytes(unsafe { __wasm2py_export_zeros(0) }).unwrap(), b"");
        let too_big = (MAX_TOTAL + 1) as u32;
        assert_eq!(bytes(unsafe { __wasm2py_export_zeros(too_big) }), None);
        assert_eq!(last_error().status, wasm2py_guest::STATUS_NO_ROOM);
        wasm2py_guest::clear_error();
    }
}
