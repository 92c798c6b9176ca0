//! `rust_user`: a wasm2py guest written from `SPEC.md` and `docs/guest-protocol.md` alone.
//!
//! It brings its own bump arena (no support crate): `bump_alloc` hands out 16-byte aligned,
//! zeroed blocks from a 1 MiB buffer and returns null when it is exhausted; `bump_reset`
//! zeroes what was used. Each thread has its own arena (on wasm32 there is one thread; on
//! the native build Python calls from many threads at once). The annotations are in the
//! sidecar `rust_user.wasm2py`.

use std::ptr;

mod arena {
    use std::alloc::{Layout, alloc_zeroed, dealloc};
    use std::cell::RefCell;
    use std::ptr;

    const SIZE: usize = 1 << 20;
    const ALIGN: usize = 16;

    struct Arena {
        /// SIZE bytes aligned to ALIGN, allocated on first use; null before.
        base: *mut u8,
        /// Bytes in use: `base[..top]`.
        top: usize,
    }

    impl Arena {
        const fn new() -> Self {
            Arena {
                base: ptr::null_mut(),
                top: 0,
            }
        }

        fn layout() -> Layout {
            // SIZE and ALIGN are valid constants, so this never fails.
            Layout::from_size_align(SIZE, ALIGN).unwrap_or(Layout::new::<u8>())
        }

        fn alloc(&mut self, size: usize) -> *mut u8 {
            // At least one block, so that every allocation is distinct.
            let Some(n) = size.max(1).checked_next_multiple_of(ALIGN) else {
                return ptr::null_mut();
            };
            if n > SIZE - self.top {
                return ptr::null_mut();
            }
            if self.base.is_null() {
                // SAFETY: the layout has a non-zero size.
                self.base = unsafe { alloc_zeroed(Self::layout()) };
                if self.base.is_null() {
                    return ptr::null_mut();
                }
            }
            // SAFETY: top + n <= SIZE, inside the buffer.
            let p = unsafe { self.base.add(self.top) };
            self.top += n;
            p
        }

        fn reset(&mut self) {
            if !self.base.is_null() {
                // SAFETY: base[..top] is inside the buffer.
                unsafe { ptr::write_bytes(self.base, 0, self.top) };
            }
            self.top = 0;
        }
    }

    impl Drop for Arena {
        fn drop(&mut self) {
            if !self.base.is_null() {
                self.reset();
                // SAFETY: base was allocated with this layout.
                unsafe { dealloc(self.base, Self::layout()) };
            }
        }
    }

    thread_local! {
        static ARENA: RefCell<Arena> = const { RefCell::new(Arena::new()) };
    }

    /// A zeroed block of `size` bytes, or null when the arena is exhausted.
    pub fn alloc(size: usize) -> *mut u8 {
        ARENA
            .try_with(|a| {
                a.try_borrow_mut()
                    .map_or(ptr::null_mut(), |mut a| a.alloc(size))
            })
            .unwrap_or(ptr::null_mut())
    }

    pub fn reset() {
        let _ = ARENA.try_with(|a| {
            if let Ok(mut a) = a.try_borrow_mut() {
                a.reset();
            }
        });
    }
}

/// `void *bump_alloc(size_t size)`: 16-byte aligned, null when out of memory.
#[unsafe(no_mangle)]
pub extern "C" fn bump_alloc(size: usize) -> *mut u8 {
    arena::alloc(size)
}

/// `void bump_reset(void)`: zero everything handed out since the last reset and free it.
#[unsafe(no_mangle)]
pub extern "C" fn bump_reset() {
    arena::reset();
}

/// A bytes/str/list result: `{data pointer, length}`, both in the arena.
#[repr(C)]
pub struct Slice {
    ptr: *mut u8,
    len: usize,
}

/// A `(ptr, len)` parameter as a slice; empty for a null pointer, refused (None) when the
/// pointer is not aligned for T.
///
/// # Safety
/// A non-null `ptr` must point to `len` readable elements.
unsafe fn input<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if ptr.is_null() || len == 0 {
        return Some(&[]);
    }
    if !ptr.is_aligned() {
        return None;
    }
    // SAFETY: the caller passes `len` readable, aligned elements.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A result of `len` elements of T allocated in the arena, filled by `fill`; null when the
/// arena is exhausted.
fn output<T: Copy>(len: usize, fill: impl FnOnce(&mut [T])) -> *mut Slice {
    let Some(nbytes) = len.checked_mul(size_of::<T>()) else {
        return ptr::null_mut();
    };
    // Arena blocks are 16-byte aligned: enough for a Slice and for any numeric T.
    #[allow(clippy::cast_ptr_alignment)]
    let pair = arena::alloc(size_of::<Slice>()).cast::<Slice>();
    #[allow(clippy::cast_ptr_alignment)]
    let data = arena::alloc(nbytes).cast::<T>();
    if pair.is_null() || data.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `data` is a fresh, zeroed, 16-byte aligned block of `len` elements of a
    // plain numeric T; `pair` a fresh block for a Slice.
    unsafe {
        fill(std::slice::from_raw_parts_mut(data, len));
        pair.write(Slice {
            ptr: data.cast(),
            len,
        });
    }
    pair
}

/// `checksum(data: bytes) -> u64`: sum of `data[i] * (i + 1)`, wrapping.
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn checksum(ptr: *const u8, len: usize) -> u64 {
    let data = unsafe { input(ptr, len) }.unwrap_or_default();
    data.iter().zip(1u64..).fold(0u64, |acc, (&b, i)| {
        acc.wrapping_add(u64::from(b).wrapping_mul(i))
    })
}

/// `shout(text: str) -> str`: ASCII upper case plus "!".
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shout(ptr: *const u8, len: usize) -> *mut Slice {
    let Some(text) = (unsafe { input(ptr, len) }) else {
        return ptr::null_mut();
    };
    let Some(n) = text.len().checked_add(1) else {
        return ptr::null_mut();
    };
    output::<u8>(n, |out| {
        for (o, &c) in out.iter_mut().zip(text) {
            *o = c.to_ascii_uppercase();
        }
        out[text.len()] = b'!';
    })
}

/// `evens(xs: list[u32]) -> list[u32]`: the even elements, in order.
///
/// # Safety
/// `(ptr, count)` is a readable array of u32.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evens(ptr: *const u32, count: usize) -> *mut Slice {
    let Some(xs) = (unsafe { input(ptr, count) }) else {
        return ptr::null_mut();
    };
    let n = xs.iter().filter(|&&x| x % 2 == 0).count();
    output::<u32>(n, |out| {
        for (o, &x) in out.iter_mut().zip(xs.iter().filter(|&&x| x % 2 == 0)) {
            *o = x;
        }
    })
}

/// `popcount(x: u64) -> u32`
#[unsafe(no_mangle)]
pub extern "C" fn popcount(x: u64) -> u32 {
    x.count_ones()
}

/// `is_ascii(text: str) -> bool`
///
/// # Safety
/// `(ptr, len)` is a readable byte buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn is_ascii(ptr: *const u8, len: usize) -> bool {
    unsafe { input(ptr, len) }.unwrap_or_default().is_ascii()
}

/// `max_u32(a: u32, b: u32) -> u32`
#[unsafe(no_mangle)]
pub extern "C" fn max_u32(a: u32, b: u32) -> u32 {
    a.max(b)
}
