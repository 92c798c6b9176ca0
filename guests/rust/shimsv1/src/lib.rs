//! wasm2py bench guest: the work of `shimssdk`, written by hand against the raw memory
//! protocol version 1 (only `bump_alloc`/`bump_reset`, no arena record), the way the
//! article writes guests: a plain bump arena over a static buffer, no SDK. Annotated in
//! `shimsv1.wasm2py`. bench/bench.py measures its 64-byte call against its scalar call
//! (issue 11), next to the SDK's (protocol version 2).

use std::cell::{Cell, UnsafeCell};

/// The arena: 64 KiB, 16-byte aligned blocks, zeroed again at each reset.
const ARENA_SIZE: usize = 64 << 10;

#[repr(C, align(16))]
struct Buffer(UnsafeCell<[u8; ARENA_SIZE]>);

/// A bytes result: a pointer to this pair is returned, both in the arena.
#[repr(C)]
pub struct Pair {
    ptr: *const u8,
    len: usize,
}

thread_local! {
    // Natively one arena per thread (announced by `wasm2py_arena_per_thread`); on wasm32,
    // which has no threads, a plain global.
    static BUFFER: Buffer = const { Buffer(UnsafeCell::new([0; ARENA_SIZE])) };
    static TOP: Cell<usize> = const { Cell::new(0) };
}

/// wasm2py protocol: a zeroed, 16-byte aligned block of `size` bytes, or null.
#[unsafe(no_mangle)]
pub extern "C" fn bump_alloc(size: usize) -> *mut u8 {
    let top = TOP.get();
    let Some(end) = size
        .max(1)
        .checked_next_multiple_of(16)
        .and_then(|n| top.checked_add(n))
    else {
        return std::ptr::null_mut();
    };
    if end > ARENA_SIZE {
        return std::ptr::null_mut();
    }
    TOP.set(end);
    // SAFETY: `top < end <= ARENA_SIZE`: inside this thread's buffer.
    BUFFER.with(|b| unsafe { b.0.get().cast::<u8>().add(top) })
}

/// wasm2py protocol: zeroes what was handed out and starts again.
#[unsafe(no_mangle)]
pub extern "C" fn bump_reset() {
    let used = TOP.replace(0);
    // SAFETY: the first `used <= ARENA_SIZE` bytes of this thread's buffer, no block of
    // which is used any more.
    BUFFER.with(|b| unsafe { b.0.get().cast::<u8>().write_bytes(0, used) });
}

/// wasm2py protocol: the arena is per thread in the native build.
#[unsafe(no_mangle)]
pub extern "C" fn wasm2py_arena_per_thread() {}

/// The input `(ptr, len)` as a slice.
///
/// # Safety
/// `(ptr, len)` is readable memory (any `ptr` when `len` is 0), as the generated code
/// passes it.
unsafe fn input<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: forwarded to the caller.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// a + b, wrapping.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

/// Sum of the bytes.
///
/// # Safety
/// As [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn byte_sum(ptr: *const u8, len: usize) -> u64 {
    let data = unsafe { input(ptr, len) };
    data.iter().map(|&b| u64::from(b)).sum()
}

/// The bytes back, copied into the arena; null when it is full.
///
/// # Safety
/// As [`input`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn echo(ptr: *const u8, len: usize) -> *mut Pair {
    let data = unsafe { input(ptr, len) };
    let (buf, pair) = (
        bump_alloc(len),
        bump_alloc(size_of::<Pair>()).cast::<Pair>(),
    );
    if buf.is_null() || pair.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: two fresh, aligned, distinct arena blocks of the right sizes.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, len);
        pair.write(Pair { ptr: buf, len });
    }
    pair
}
