//! The shims written by `#[export]`, called natively as the generated code calls them:
//! arguments as `(ptr, len)`, results as pairs in the arena, failures in the error record.

use wasm2py_guest::{
    ErrorRecord, MAX_TOTAL, Pair, STATUS_MESSAGE, STATUS_NO_ROOM, clear_error, export, last_error,
    last_message, reset, slice, typed_slice,
};

/// Adds.
#[export]
fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

#[export]
#[allow(clippy::too_many_arguments)]
fn all_scalars(
    a: i8,
    b: i16,
    c: i32,
    d: i64,
    e: u8,
    f: u16,
    g: u64,
    h: f32,
    i: f64,
    j: bool,
    k: usize,
) -> f64 {
    let ints = f64::from(a) + f64::from(b) + f64::from(c) + d as f64 + f64::from(e);
    ints + f64::from(f) + g as f64 + f64::from(h) + i + f64::from(u8::from(j)) + k as f64
}

/// Upper case.
///
/// Unicode-aware.
#[export]
fn upper(text: &str) -> String {
    text.to_uppercase()
}

#[export]
fn reverse(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

#[export]
fn scale(xs: &[f64], k: f64) -> Vec<f64> {
    xs.iter().map(|x| x * k).collect()
}

#[export]
fn count(text: &str) -> u32 {
    text.chars().count() as u32
}

#[export]
fn nothing() {}

#[export]
fn parse_port(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|e| format!("not a port: {text:?} ({e})"))
}

#[export]
fn check(data: &[u8]) -> Result<(), std::fmt::Error> {
    if data.is_empty() {
        Err(std::fmt::Error)
    } else {
        Ok(())
    }
}

#[export]
fn pretty(xs: &[i32]) -> Result<String, &'static str> {
    match xs {
        [] => Err("empty"),
        _ => Ok(format!("{xs:?}")),
    }
}

#[export]
fn zeros(n: u32) -> Vec<u8> {
    vec![0; n as usize]
}

#[export]
fn huge(n: u32) -> Result<Vec<u8>, String> {
    Ok(vec![1; n as usize])
}

#[export]
fn bounded(n: u32) -> Result<Vec<u8>, wasm2py_guest::NoRoom> {
    if n > 100 {
        return Err(wasm2py_guest::NoRoom);
    }
    Ok(vec![7; n as usize])
}

/// Named like the shim's locals: they must not shadow it.
#[export]
fn arg0(arg0_ptr: u32, arg1: &[u8]) -> u32 {
    arg0_ptr + arg1.len() as u32
}

#[export]
fn r#type(r#in: u8) -> u8 {
    r#in
}

/// Reads a pair result as bytes (`None` for null), then resets the arena.
fn bytes(pair: *mut Pair) -> Option<Vec<u8>> {
    let out =
        unsafe { pair.as_ref() }.map(|p| unsafe { slice(p.ptr as *const u8, p.len) }.to_vec());
    reset();
    out
}

#[test]
fn scalars_pass_as_themselves() {
    assert_eq!(unsafe { __wasm2py_export_add(u32::MAX, 2) }, 1);
    assert_eq!(add(2, 3), 5); // the function itself is still there
    let sum = unsafe { __wasm2py_export_all_scalars(1, 2, 3, 4, 5, 6, 7, 0.5, 0.25, true, 9) };
    assert_eq!(sum, 38.75);
    unsafe { __wasm2py_export_nothing() };
    assert_eq!(unsafe { __wasm2py_export_type(7) }, 7);
    assert_eq!(unsafe { __wasm2py_export_arg0(1, b"ab".as_ptr(), 2) }, 3);
}

#[test]
fn slices_in_pairs_out() {
    let text = "straße";
    let out = bytes(unsafe { __wasm2py_export_upper(text.as_ptr(), text.len()) });
    assert_eq!(out.unwrap(), "STRASSE".as_bytes());
    let out = bytes(unsafe { __wasm2py_export_reverse(b"abc".as_ptr(), 3) });
    assert_eq!(out.unwrap(), b"cba");
    let out = bytes(unsafe { __wasm2py_export_reverse(std::ptr::null(), 0) });
    assert_eq!(out.unwrap(), b"");

    let xs = [1.0, -2.5];
    let pair = unsafe { __wasm2py_export_scale(xs.as_ptr(), 2, 2.0) };
    let p = unsafe { *pair };
    assert_eq!(
        unsafe { typed_slice(p.ptr as *const f64, p.len) },
        [2.0, -5.0]
    );
    reset();
    assert_eq!(last_error(), ErrorRecord::default());
}

#[test]
fn not_utf8_is_a_refusal_with_a_message() {
    let out = bytes(unsafe { __wasm2py_export_upper(b"\xff".as_ptr(), 1) });
    assert_eq!(out, None);
    assert_eq!(last_error().status, STATUS_MESSAGE);
    assert_eq!(
        last_message().as_deref(),
        Some("upper: argument `text` is not valid UTF-8")
    );
    clear_error();
    assert_eq!(
        unsafe { __wasm2py_export_parse_port(b"\xff".as_ptr(), 1) },
        0
    );
    assert_eq!(
        last_message().as_deref(),
        Some("parse_port: argument `text` is not valid UTF-8")
    );
    clear_error();
}

// A scalar result that is not a `Result` has no room for a refusal: bad UTF-8 panics (a
// trap on wasm). Not through the shim here: a panic cannot unwind out of `extern "C"`.
#[test]
#[should_panic(expected = "count: argument `text` is not valid UTF-8")]
fn not_utf8_without_room_for_a_refusal_panics() {
    assert_eq!(unsafe { __wasm2py_export_count("añb".as_ptr(), 4) }, 3);
    wasm2py_guest::__private::not_utf8::<u32>("count", "text");
}

#[test]
fn errors_carry_the_message() {
    assert_eq!(
        unsafe { __wasm2py_export_parse_port(b"8080".as_ptr(), 4) },
        8080
    );
    assert_eq!(last_error().status, 0);
    assert_eq!(unsafe { __wasm2py_export_parse_port(b"x".as_ptr(), 1) }, 0);
    assert_eq!(
        last_message().as_deref(),
        Some("not a port: \"x\" (invalid digit found in string)")
    );
    clear_error();

    unsafe { __wasm2py_export_check(b"x".as_ptr(), 1) };
    assert_eq!(last_error().status, 0);
    unsafe { __wasm2py_export_check(std::ptr::null(), 0) };
    assert_eq!(
        last_message().as_deref(),
        Some("an error occurred when formatting an argument")
    );
    clear_error();

    let out = bytes(unsafe { __wasm2py_export_pretty([1, 2].as_ptr(), 2) });
    assert_eq!(out.unwrap(), b"[1, 2]");
    assert_eq!(
        bytes(unsafe { __wasm2py_export_pretty(std::ptr::null(), 0) }),
        None
    );
    assert_eq!(last_message().as_deref(), Some("empty"));
    clear_error();
}

#[test]
fn no_room_for_the_result_is_status_2() {
    assert_eq!(
        bytes(unsafe { __wasm2py_export_zeros(1000) })
            .unwrap()
            .len(),
        1000
    );
    assert_eq!(last_error().status, 0);
    // A full arena has no room for the result's pair.
    assert!(!wasm2py_guest::alloc(MAX_TOTAL).is_null());
    assert!(unsafe { __wasm2py_export_zeros(10) }.is_null());
    assert_eq!(last_error().status, STATUS_NO_ROOM);
    clear_error();
    assert!(unsafe { __wasm2py_export_huge(10) }.is_null());
    assert_eq!(last_error().status, STATUS_NO_ROOM);
    clear_error();
    reset();
    assert_eq!(
        bytes(unsafe { __wasm2py_export_bounded(3) }).unwrap(),
        [7; 3]
    );
    assert_eq!(last_error().status, 0);
    assert_eq!(bytes(unsafe { __wasm2py_export_bounded(101) }), None);
    assert_eq!(last_error().status, STATUS_NO_ROOM);
    clear_error();
}

#[test]
fn vec_results_are_not_copied() {
    let data = [1u8, 2, 3];
    let pair = unsafe { __wasm2py_export_reverse(data.as_ptr(), 3) };
    let p = unsafe { *pair };
    // The pair is in the arena; the data is the Vec's own buffer, valid until the reset.
    assert_eq!(unsafe { slice(p.ptr as *const u8, p.len) }, [3, 2, 1]);
    reset();
}

#[test]
fn the_protocol_exports_are_there() {
    let record = wasm2py_guest::wasm2py_error();
    assert_eq!(record, wasm2py_guest::error_record());
    let p = wasm2py_guest::bump_alloc(10);
    assert!(!p.is_null() && (p as usize).is_multiple_of(16));
    // Natively one arena record for the library: no block, `busy` counting this thread
    // (and any other test's thread holding arena data).
    let arena = wasm2py_guest::wasm2py_arena();
    assert_eq!(arena, wasm2py_guest::arena_record());
    let arena = unsafe { &*arena };
    assert_eq!([arena.base, arena.top, arena.limit], [0, 0, 0]);
    assert!(arena.busy.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    wasm2py_guest::bump_reset();
    wasm2py_guest::wasm2py_arena_per_thread();
}

#[test]
fn threads_fail_independently() {
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let text = format!("bad{i}");
                    unsafe { __wasm2py_export_parse_port(text.as_ptr(), text.len()) };
                    let message = last_message().unwrap();
                    assert!(message.contains(&format!("\"bad{i}\"")), "{message}");
                    clear_error();
                    let out = bytes(unsafe { __wasm2py_export_reverse(text.as_ptr(), text.len()) });
                    assert_eq!(out.unwrap(), text.bytes().rev().collect::<Vec<u8>>());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
