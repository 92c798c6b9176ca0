//! The error record of the protocol (`wasm2py_error`, docs/guest-protocol.md, "Guest
//! errors"): three pointer-sized words `{status, ptr, len}`, per thread natively.
//!
//! A message is written into a buffer of this thread that is reused from one failure to
//! the next (not into the arena): it stays valid until the thread's next failure, which
//! comes after Python has read it, and a function that fails without using the arena
//! (scalar arguments, so no `bump_reset` follows) does not make the arena grow.

use std::cell::{RefCell, UnsafeCell};
use std::fmt::{self, Display, Write};

/// Status: no error.
pub const STATUS_OK: usize = 0;
/// Status: the call was refused; `ptr`/`len` hold the message (UTF-8).
pub const STATUS_MESSAGE: usize = 1;
/// Status: the result did not fit in the arena.
pub const STATUS_NO_ROOM: usize = 2;

/// Longest message recorded, in bytes (Python cuts at 64 KiB as well).
const MAX_MESSAGE: usize = 64 << 10;
/// Recorded when the message itself cannot be stored.
const NO_ROOM_FOR_MESSAGE: &str = "the guest failed, and had no memory left for its message";

/// The error record: `status`, then the message's address and length in bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorRecord {
    pub status: usize,
    pub ptr: usize,
    pub len: usize,
}

thread_local! {
    // Per thread on native builds; on wasm32 (no threads) plain globals.
    static RECORD: UnsafeCell<ErrorRecord> = const {
        UnsafeCell::new(ErrorRecord { status: 0, ptr: 0, len: 0 })
    };
    static MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The address of this thread's error record (`wasm2py_error`): the same on every call.
pub fn error_record() -> *mut ErrorRecord {
    RECORD.with(UnsafeCell::get)
}

fn set(record: ErrorRecord) {
    // SAFETY: this thread's record; Python reads and writes it only between calls.
    unsafe { error_record().write(record) }
}

/// A copy of this thread's error record (for tests and for Rust callers of the shims).
pub fn last_error() -> ErrorRecord {
    // SAFETY: as in `set`.
    unsafe { error_record().read() }
}

/// The message of this thread's record when its status is [`STATUS_MESSAGE`].
pub fn last_message() -> Option<String> {
    let record = last_error();
    if record.status != STATUS_MESSAGE {
        return None;
    }
    // SAFETY: status 1 points at `len` bytes of UTF-8 that live until the next failure on
    // this thread (the message buffer or a static string).
    let bytes = unsafe { std::slice::from_raw_parts(record.ptr as *const u8, record.len) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Sets this thread's status back to 0 (Python does it after reading a failure).
pub fn clear_error() {
    set(ErrorRecord::default());
}

/// A `fmt::Write` into a reused `String` that never aborts: it stops at `MAX_MESSAGE`
/// bytes (on a character boundary) and when memory runs out (`oom`).
struct Bounded<'a> {
    buffer: &'a mut String,
    oom: bool,
}

impl Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MAX_MESSAGE - self.buffer.len();
        let mut end = s.len().min(room);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        if self.buffer.try_reserve(end).is_err() {
            self.oom = true;
            return Err(fmt::Error);
        }
        self.buffer.push_str(&s[..end]);
        if end < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Records a refusal with `message` (status 1). The next failure on this thread reuses
/// the message's memory.
pub fn fail(message: impl Display) {
    let record = MESSAGE.with_borrow_mut(|buffer| {
        buffer.clear();
        let mut writer = Bounded { buffer, oom: false };
        // An error means cut (kept) or out of memory; a Display impl failing is ignored.
        let _ = write!(writer, "{message}");
        if writer.oom && writer.buffer.is_empty() {
            (NO_ROOM_FOR_MESSAGE.as_ptr(), NO_ROOM_FOR_MESSAGE.len())
        } else {
            (writer.buffer.as_ptr(), writer.buffer.len())
        }
    });
    set(ErrorRecord {
        status: STATUS_MESSAGE,
        ptr: record.0 as usize,
        len: record.1,
    });
}

/// Records "no room for the result" (status 2).
pub fn fail_no_room() {
    set(ErrorRecord {
        status: STATUS_NO_ROOM,
        ptr: 0,
        len: 0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_three_words_at_a_stable_address() {
        assert_eq!(size_of::<ErrorRecord>(), 3 * size_of::<usize>());
        assert_eq!(error_record(), error_record());
        let other = std::thread::spawn(|| error_record() as usize)
            .join()
            .unwrap();
        assert_ne!(other, error_record() as usize);
    }

    #[test]
    fn fail_records_the_message_and_clear_resets() {
        fail(format_args!("bad {}", 42));
        assert_eq!(last_error().status, STATUS_MESSAGE);
        assert_eq!(last_message().as_deref(), Some("bad 42"));
        fail("");
        assert_eq!(last_message().as_deref(), Some(""));
        fail_no_room();
        assert_eq!(
            last_error(),
            ErrorRecord {
                status: 2,
                ptr: 0,
                len: 0
            }
        );
        assert_eq!(last_message(), None);
        clear_error();
        assert_eq!(last_error(), ErrorRecord::default());
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        fail("é".repeat(MAX_MESSAGE));
        let message = last_message().unwrap();
        assert_eq!(message.len(), MAX_MESSAGE);
        assert!(message.chars().all(|c| c == 'é'));
        fail("x".repeat(MAX_MESSAGE + 1));
        assert_eq!(last_message().unwrap().len(), MAX_MESSAGE);
        clear_error();
    }

    #[test]
    fn threads_have_their_own_records() {
        fail("main");
        let seen = std::thread::spawn(|| {
            let before = last_error();
            fail("other");
            (before, last_message())
        })
        .join()
        .unwrap();
        assert_eq!(seen.0, ErrorRecord::default());
        assert_eq!(seen.1.as_deref(), Some("other"));
        assert_eq!(last_message().as_deref(), Some("main"));
        clear_error();
    }
}
