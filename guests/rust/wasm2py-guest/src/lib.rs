//! Write wasm2py guests in safe Rust.
//!
//! ```ignore
//! /// The port number in `text`.
//! #[wasm2py_guest::export]
//! fn parse_port(text: &str) -> Result<u16, String> {
//!     text.trim().parse().map_err(|e| format!("not a port: {e}"))
//! }
//! ```
//!
//! `#[export]` keeps the function as written (callable from Rust, tests included) and adds
//!
//! - the C-ABI shim, exported under the function's name, that lowers and lifts the
//!   arguments and the result as `docs/guest-protocol.md` says: `&[u8]`, `&str` and `&[T]`
//!   arrive as `(ptr, len)`, `Vec<u8>`, `String` and `Vec<T>` leave as a pointer to a
//!   `{ptr, len}` pair in the arena, pointing at a copy in the arena when the result is
//!   at most 64 KiB and fits in the current chunk (the host can then reset the arena
//!   itself), else at the `Vec`'s own buffer (not copied; kept until `bump_reset`, which
//!   zeroes and frees it);
//! - the annotation line, preceded by the doc comment as `///` lines, in the module's
//!   `wasm2py` custom section (wasm builds only): no sidecar file is needed.
//!
//! An `Err(e)` result records `e.to_string()` in the thread's error record (exported as
//! `wasm2py_error`) and the annotation ends with `raises`: Python raises
//! `{Class}InputError` with that message. A result that does not fit in the arena records
//! "no room" (status 2): Python raises `MemoryError`.
//!
//! This crate itself exports the protocol's `bump_alloc`, `bump_reset`, `wasm2py_error`,
//! the per-thread-arena marker `wasm2py_arena_per_thread` and `wasm2py_arena` (arena
//! protocol version 2): a guest crate only depends on it (with `crate-type = ["cdylib"]`)
//! and writes `#[wasm2py_guest::export]` on its functions; no other line is needed. On
//! native builds the arena and the error record are per thread.
//!
//! `wasm2py_arena` returns the address of the [`ArenaRecord`], four pointer-sized words
//! `{base, top, limit, busy}`, so that the host can allocate inputs and reset without
//! calling the guest:
//!
//! - on wasm32, the arena's current chunk: `base` its start, `top` its first free byte
//!   (which the host moves when it writes inputs, and which the arena reads back before
//!   each of its own allocations and resets), `limit` its end; `busy` is 1 when
//!   `bump_reset` has more to release than `[base, top)` (other chunks, or `Vec` results
//!   kept until the reset), when the host must call it rather than zero `[base, top)`;
//! - natively, one record for the library with `base = top = limit = 0` and `busy` the
//!   number of threads whose arena holds anything: the host calls `bump_reset` after a
//!   call only when it is nonzero.

mod arena;
mod error;

pub use arena::{
    ALIGN, Arena, ArenaRecord, MAX_TOTAL, Pair, alloc, arena_record, reset, return_bytes,
    return_slice, return_vec, slice, typed_slice,
};
pub use error::{
    ErrorRecord, STATUS_MESSAGE, STATUS_NO_ROOM, STATUS_OK, clear_error, error_record, fail,
    fail_no_room, last_error, last_message,
};
/// Exports a safe function to Python: see the crate documentation.
pub use wasm2py_guest_macros::export;

/// The error of a function that has no room for its result: `Err(NoRoom)` records status
/// 2 ("no room for the result"), which Python raises as `MemoryError`, where any other
/// `Err(e)` is a refusal with the message `e.to_string()`.
///
/// ```ignore
/// #[wasm2py_guest::export]
/// fn zeros(n: u32) -> Result<Vec<u8>, wasm2py_guest::NoRoom> {
///     if n as usize > wasm2py_guest::MAX_TOTAL {
///         return Err(wasm2py_guest::NoRoom); // the arena could never hold them
///     }
///     Ok(vec![0; n as usize])
/// }
/// ```
// Not `Display` on purpose: that keeps its `Return` impl apart from the one of every
// `Result<T, E: Display>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom;

/// wasm2py protocol: a zeroed, 16-byte aligned block of `size` bytes from this thread's
/// arena, null when out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn bump_alloc(size: usize) -> *mut u8 {
    arena::alloc(size)
}

/// wasm2py protocol: zeroes and frees everything `bump_alloc` handed out on this thread
/// (and the kept `Vec` results), and clears the arena record's `busy` (wasm32) or uncounts
/// this thread from it (native).
#[unsafe(no_mangle)]
pub extern "C" fn bump_reset() {
    arena::reset()
}

/// wasm2py arena protocol version 2: the address of the [`ArenaRecord`], the same on every
/// call (see the crate documentation).
#[unsafe(no_mangle)]
pub extern "C" fn wasm2py_arena() -> *mut ArenaRecord {
    arena::arena_record()
}

/// wasm2py protocol: the per-thread-arena marker. Never called: its presence says that
/// this library's arena (and error record) is per thread natively.
#[unsafe(no_mangle)]
pub extern "C" fn wasm2py_arena_per_thread() {}

/// wasm2py protocol: the address of the calling thread's error record.
#[unsafe(no_mangle)]
pub extern "C" fn wasm2py_error() -> *mut ErrorRecord {
    error::error_record()
}

/// What the code written by `#[export]` calls; not an API.
#[doc(hidden)]
pub mod __private {
    use std::fmt::Display;

    pub use crate::arena::{Pair, slice, typed_slice};

    /// A `str` parameter, or `None` when it is not UTF-8.
    ///
    /// # Safety
    /// As [`slice`].
    pub unsafe fn str_arg<'a>(ptr: *const u8, len: usize) -> Option<&'a str> {
        // SAFETY: forwarded to the caller.
        std::str::from_utf8(unsafe { slice(ptr, len) }).ok()
    }

    /// A result type of an exported function, lowered to its C-ABI value.
    pub trait Return {
        /// The shim's C result type.
        type Abi;
        /// The C value of a result.
        fn lower(self) -> Self::Abi;
        /// Refuses the call with `message`: recorded (status 1) and 0/null returned when
        /// Python will read the record (a `Result` or a pointer result); a panic (a trap)
        /// otherwise, when the result has no room for a refusal.
        fn refuse(message: &str) -> Self::Abi;
    }

    /// An element type of `&[T]` parameters and `Vec<T>` results.
    pub trait Element: Copy {}

    macro_rules! scalars {
        ($($t:ty = $zero:expr),*) => {$(
            impl Return for $t {
                type Abi = $t;
                #[inline(always)]
                fn lower(self) -> $t {
                    self
                }
                fn refuse(message: &str) -> $t {
                    panic!("{message}")
                }
            }
            impl Failed for $t {
                #[inline(always)]
                fn failed() -> $t {
                    $zero
                }
            }
        )*};
    }
    scalars!(
        i8 = 0,
        i16 = 0,
        i32 = 0,
        i64 = 0,
        u8 = 0,
        u16 = 0,
        u32 = 0,
        u64 = 0,
        usize = 0,
        f32 = 0.0,
        f64 = 0.0,
        bool = false,
        () = ()
    );

    macro_rules! elements {
        ($($t:ty),*) => {$( impl Element for $t {} )*};
    }
    elements!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

    /// The C value a failed call returns (0, null).
    pub trait Failed {
        fn failed() -> Self;
    }

    impl Failed for *mut Pair {
        fn failed() -> *mut Pair {
            std::ptr::null_mut()
        }
    }

    /// The pair of a `Vec` result (copied into the arena when small, else its buffer kept
    /// until the reset), or null with "no room" recorded.
    fn pair<T: Copy>(data: Vec<T>) -> *mut Pair {
        let pair = crate::arena::return_vec(data);
        if pair.is_null() {
            crate::error::fail_no_room();
        }
        pair
    }

    impl<T: Element> Return for Vec<T> {
        type Abi = *mut Pair;
        fn lower(self) -> *mut Pair {
            pair(self)
        }
        fn refuse(message: &str) -> *mut Pair {
            crate::error::fail(message);
            std::ptr::null_mut()
        }
    }

    impl Return for String {
        type Abi = *mut Pair;
        fn lower(self) -> *mut Pair {
            pair(self.into_bytes())
        }
        fn refuse(message: &str) -> *mut Pair {
            crate::error::fail(message);
            std::ptr::null_mut()
        }
    }

    impl<T: Return, E: Display> Return for Result<T, E>
    where
        T::Abi: Failed,
    {
        type Abi = T::Abi;
        fn lower(self) -> T::Abi {
            match self {
                Ok(value) => value.lower(),
                Err(error) => {
                    crate::error::fail(error);
                    T::Abi::failed()
                }
            }
        }
        fn refuse(message: &str) -> T::Abi {
            crate::error::fail(message);
            T::Abi::failed()
        }
    }

    impl<T: Return> Return for Result<T, crate::NoRoom>
    where
        T::Abi: Failed,
    {
        type Abi = T::Abi;
        fn lower(self) -> T::Abi {
            match self {
                Ok(value) => value.lower(),
                Err(crate::NoRoom) => {
                    crate::error::fail_no_room();
                    T::Abi::failed()
                }
            }
        }
        fn refuse(message: &str) -> T::Abi {
            crate::error::fail(message);
            T::Abi::failed()
        }
    }

    /// Refuses a call whose `&str` argument `param` is not UTF-8.
    #[cold]
    pub fn not_utf8<R: Return>(function: &str, param: &str) -> R::Abi {
        R::refuse(&format!(
            "{function}: argument `{param}` is not valid UTF-8"
        ))
    }
}
