//! `rust_sdk_user`: a guest written from `SPEC.md` ("Guest SDKs and guest errors") alone,
//! with `#[wasm2py_guest::export]` on safe functions: no `unsafe`, no arena of its own, no
//! sidecar (doc comments become the docstrings).

#![forbid(unsafe_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The SHA-256 digest of data, as 64 lowercase hex digits.
#[wasm2py_guest::export]
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// data in standard base64, with padding.
#[wasm2py_guest::export]
pub fn b64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// The bytes encoded by text (standard base64); fails on anything else.
#[wasm2py_guest::export]
pub fn b64_decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))
}

/// text, a JSON document, pretty-printed with two-space indents.
///
/// Fails when text is not JSON.
#[wasm2py_guest::export]
pub fn pretty_json(text: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
}

/// The "port" member of the JSON object text, a number from 1 to 65535.
#[wasm2py_guest::export]
pub fn json_port(text: &str) -> Result<u16, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let port = value
        .get("port")
        .ok_or_else(|| "no \"port\" member".to_string())?;
    match port.as_u64() {
        Some(p @ 1..=65535) => Ok(p as u16),
        _ => Err(format!("port out of range: {port}")),
    }
}

/// The sum of the numbers in the JSON array text.
#[wasm2py_guest::export]
pub fn json_sum(text: &str) -> Result<f64, serde_json::Error> {
    let numbers: Vec<f64> = serde_json::from_str(text)?;
    Ok(numbers.iter().sum())
}

/// Fails unless data is non-empty ASCII.
#[wasm2py_guest::export]
pub fn check_ascii(data: &[u8]) -> Result<(), String> {
    match data.iter().position(|b| !b.is_ascii()) {
        _ if data.is_empty() => Err("empty input".to_string()),
        Some(at) => Err(format!("byte {at} is not ASCII")),
        None => Ok(()),
    }
}

/// a + b, wrapping.
#[wasm2py_guest::export]
pub fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// The mean of xs (NaN for none).
#[wasm2py_guest::export]
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// How many whitespace-separated words text has.
#[wasm2py_guest::export]
pub fn word_count(text: &str) -> u32 {
    text.split_whitespace().count() as u32
}

/// How often each byte value occurs in data: 256 counts.
#[wasm2py_guest::export]
pub fn histogram(data: &[u8]) -> Vec<u32> {
    let mut counts = vec![0u32; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    counts
}

/// Whether n is even.
#[wasm2py_guest::export]
pub fn is_even(n: u64) -> bool {
    n % 2 == 0
}

/// text with its words in reverse order, joined by single spaces.
#[wasm2py_guest::export]
pub fn reverse_words(text: &str) -> String {
    text.split_whitespace().rev().collect::<Vec<_>>().join(" ")
}
