//! wasm2py example guest: the `regex` crate behind two functions. With its default
//! features (Unicode tables, the literal and DFA optimisations) the module is well over
//! 1 MB, which makes it the large guest of the start-up benchmark (`bench/`): compiling it
//! takes long enough for the compile cache to matter. The annotations are in the sidecar
//! `regexkit.wasm2py`.
//!
//! Each call compiles its pattern (no cache kept between calls).

use regex::Regex;
use wasm2py_arena::{Pair, return_bytes, slice};

wasm2py_arena::export_arena!();

/// `(ptr, len)` as UTF-8 text, or `None`.
///
/// # Safety
/// See [`is_match`].
unsafe fn text<'a>(ptr: *const u8, len: usize) -> Option<&'a str> {
    std::str::from_utf8(unsafe { slice(ptr, len) }).ok()
}

/// The compiled pattern, or `None` when it is not UTF-8 or not a valid regex.
///
/// # Safety
/// See [`is_match`].
unsafe fn pattern(ptr: *const u8, len: usize) -> Option<Regex> {
    Regex::new(unsafe { text(ptr, len) }?).ok()
}

/// Whether the pattern matches somewhere in the text; `false` for an invalid pattern
/// (or input that is not UTF-8).
///
/// # Safety
/// Each `(ptr, len)` pair is readable memory (any `ptr` when `len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn is_match(
    pattern_ptr: *const u8,
    pattern_len: usize,
    text_ptr: *const u8,
    text_len: usize,
) -> bool {
    match unsafe { (pattern(pattern_ptr, pattern_len), text(text_ptr, text_len)) } {
        (Some(re), Some(text)) => re.is_match(text),
        _ => false,
    }
}

/// Every non-overlapping match, left to right, joined by `"\n"`; refuses (null) an
/// invalid pattern (or input that is not UTF-8).
///
/// # Safety
/// See [`is_match`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn find_all(
    pattern_ptr: *const u8,
    pattern_len: usize,
    text_ptr: *const u8,
    text_len: usize,
) -> *mut Pair {
    match unsafe { (pattern(pattern_ptr, pattern_len), text(text_ptr, text_len)) } {
        (Some(re), Some(text)) => {
            let found: Vec<&str> = re.find_iter(text).map(|m| m.as_str()).collect();
            return_bytes(found.join("\n").as_bytes())
        }
        _ => std::ptr::null_mut(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(p: &str, t: &str) -> bool {
        unsafe { is_match(p.as_ptr(), p.len(), t.as_ptr(), t.len()) }
    }

    fn all(p: &str, t: &str) -> Option<String> {
        let pair = unsafe { find_all(p.as_ptr(), p.len(), t.as_ptr(), t.len()) };
        // SAFETY: a result of this crate: null or a pair of arena pointers.
        let out = unsafe { pair.as_ref() }
            .map(|p| String::from_utf8(unsafe { slice(p.ptr as *const u8, p.len) }.to_vec()));
        wasm2py_arena::reset();
        out.map(|s| s.unwrap())
    }

    #[test]
    fn is_match_values() {
        assert!(matches("a+", "caat"));
        assert!(!matches("^a+$", "caat"));
        assert!(matches(r"\p{Greek}", "abc λ"));
        assert!(!matches("(", "(")); // invalid pattern: false
    }

    #[test]
    fn find_all_values() {
        assert_eq!(all("[0-9]+", "a1b22c333").unwrap(), "1\n22\n333");
        assert_eq!(all("x", "abc").unwrap(), "");
        assert_eq!(all(r"\w+", "héllo wörld").unwrap(), "héllo\nwörld");
        assert_eq!(all("(", "abc"), None);
    }
}
