//! wasm2py example guest: the `regex` crate behind two functions, written in safe Rust with
//! `wasm2py-guest`. With its default features (Unicode tables, the literal and DFA
//! optimisations) the module is well over 1 MB, which makes it the large guest of the
//! start-up benchmark (`bench/`): compiling it takes long enough for the compile cache to
//! matter. The annotations are in its `wasm2py` custom section.
//!
//! Each call compiles its pattern (no cache kept between calls).

use regex::Regex;
use wasm2py_guest::export;

/// Whether pattern matches somewhere in text. An invalid pattern matches nothing: the
/// result is False (find_all reports why the pattern is invalid).
#[export]
pub fn is_match(pattern: &str, text: &str) -> bool {
    Regex::new(pattern).is_ok_and(|re| re.is_match(text))
}

/// Every non-overlapping match of pattern in text, left to right, joined by "\n" (""
/// when there is none); refuses an invalid pattern, saying why.
#[export]
pub fn find_all(pattern: &str, text: &str) -> Result<String, regex::Error> {
    let re = Regex::new(pattern)?;
    let found: Vec<&str> = re.find_iter(text).map(|m| m.as_str()).collect();
    Ok(found.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_match_values() {
        assert!(is_match("a+", "caat"));
        assert!(!is_match("^a+$", "caat"));
        assert!(is_match(r"\p{Greek}", "abc λ"));
        assert!(!is_match("(", "(")); // invalid pattern: false
    }

    #[test]
    fn find_all_values() {
        assert_eq!(find_all("[0-9]+", "a1b22c333").unwrap(), "1\n22\n333");
        assert_eq!(find_all("x", "abc").unwrap(), "");
        assert_eq!(find_all(r"\w+", "héllo wörld").unwrap(), "héllo\nwörld");
        assert!(find_all("(", "abc").is_err());
    }

    #[test]
    fn the_shim_records_the_regex_error() {
        let (p, t) = ("(", "abc");
        let pair = unsafe { __wasm2py_export_find_all(p.as_ptr(), p.len(), t.as_ptr(), t.len()) };
        assert!(pair.is_null());
        let message = wasm2py_guest::last_message().unwrap();
        assert!(message.contains("unclosed group"), "{message}");
        wasm2py_guest::clear_error();
    }
}
