//! The bump arena of the memory protocol (`bump_alloc`/`bump_reset`), taken over from
//! `wasm2py-arena`: a list of chunks from the global allocator, 16-byte aligned blocks,
//! everything handed out zeroed again on reset, at most `MAX_TOTAL` bytes. Per thread on
//! native builds (`thread_local!`); on wasm32 (no threads) it is one global.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::{self, NonNull};

/// Alignment of every block handed out.
pub const ALIGN: usize = 16;
/// Most bytes the arena holds at once; a request beyond it gets null rather than an abort.
pub const MAX_TOTAL: usize = 256 << 20;
/// Size of the first chunk (one wasm page).
const MIN_CHUNK: usize = 64 << 10;

/// A bytes, str or list result: a pointer to this pair is returned, both in the arena.
/// `len` counts bytes for bytes and str, elements for lists.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub ptr: usize,
    pub len: usize,
}

struct Chunk {
    ptr: NonNull<u8>,
    cap: usize,
    used: usize,
}

impl Chunk {
    fn new(cap: usize) -> Option<Chunk> {
        let layout = Layout::from_size_align(cap, ALIGN).ok()?;
        // Zeroed, and zeroed again on reset: every block handed out reads as zeros.
        // SAFETY: `cap` is never 0 (at least MIN_CHUNK or a rounded-up request).
        let ptr = NonNull::new(unsafe { alloc::alloc_zeroed(layout) })?;
        Some(Chunk { ptr, cap, used: 0 })
    }

    /// Zeroes the bytes handed out, so no secret outlives the call.
    fn wipe(&mut self) {
        // SAFETY: `used <= cap` bytes of our own allocation.
        unsafe { ptr::write_bytes(self.ptr.as_ptr(), 0, self.used) };
        // The pointer escapes, so the zeroing cannot be dropped as a dead store before a
        // dealloc (on wasm freed memory stays readable in the linear memory).
        std::hint::black_box(self.ptr);
        self.used = 0;
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.wipe();
        // SAFETY: allocated in `Chunk::new` with this very layout.
        unsafe {
            alloc::dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.cap, ALIGN),
            )
        };
    }
}

/// A bump arena. Guests use the per-thread one through [`alloc`] and [`reset`].
#[derive(Default)]
pub struct Arena {
    chunks: Vec<Chunk>,
    /// Sum of the chunks' capacities, at most `MAX_TOTAL`.
    total: usize,
}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            chunks: Vec::new(),
            total: 0,
        }
    }

    /// A zeroed, `ALIGN`-aligned block of `size` bytes, or `None` when out of memory.
    pub fn alloc(&mut self, size: usize) -> Option<NonNull<u8>> {
        // Rounded up so the next block stays aligned; 0 bytes still get a distinct block.
        let size = size.max(1).checked_next_multiple_of(ALIGN)?;
        let fits = self.chunks.last().is_some_and(|c| c.cap - c.used >= size);
        if !fits {
            self.grow(size)?;
        }
        let chunk = self.chunks.last_mut()?;
        // SAFETY: `used + size <= cap`, inside the chunk.
        let block = unsafe { chunk.ptr.add(chunk.used) };
        chunk.used += size;
        Some(block)
    }

    /// Adds a chunk of at least `size` bytes, twice the last one's size when allowed.
    fn grow(&mut self, size: usize) -> Option<()> {
        let last = self.chunks.last().map_or(0, |c| c.cap);
        // An empty last chunk (right after a reset) is simply replaced by the bigger one.
        if self.chunks.last().is_some_and(|c| c.used == 0) {
            self.total -= last;
            self.chunks.pop();
        }
        let budget = MAX_TOTAL - self.total;
        if size > budget {
            return None;
        }
        let cap = last.saturating_mul(2).max(MIN_CHUNK).max(size).min(budget);
        self.chunks.try_reserve(1).ok()?;
        self.chunks.push(Chunk::new(cap)?);
        self.total += cap;
        Some(())
    }

    /// Zeroes everything handed out since the last reset and frees all chunks but the
    /// largest, which is kept for the next call.
    pub fn reset(&mut self) {
        if self.chunks.len() > 1 {
            let largest = (0..self.chunks.len()).max_by_key(|&i| self.chunks[i].cap);
            self.chunks.swap(0, largest.unwrap_or(0));
            self.chunks.truncate(1); // `Chunk::drop` wipes and frees the others
            self.total = self.chunks[0].cap;
        }
        if let Some(chunk) = self.chunks.first_mut() {
            chunk.wipe();
        }
    }

    /// Bytes handed out since the last reset (rounded up to `ALIGN` each).
    pub fn used(&self) -> usize {
        self.chunks.iter().map(|c| c.used).sum()
    }

    /// Bytes held from the global allocator.
    pub fn capacity(&self) -> usize {
        self.total
    }
}

/// The buffer of a `Vec` result, kept (not copied into the arena) until the next reset,
/// which zeroes and frees it.
struct Kept {
    ptr: NonNull<u8>,
    /// The `Vec`'s allocation: `capacity * size_of::<T>()` bytes, aligned for `T`.
    layout: Layout,
}

impl Drop for Kept {
    fn drop(&mut self) {
        // SAFETY: the allocation of a `Vec<T>` of the global allocator, with the layout it
        // was allocated with (`Layout::array::<T>(capacity)`), now owned by us alone.
        unsafe {
            ptr::write_bytes(self.ptr.as_ptr(), 0, self.layout.size());
            std::hint::black_box(self.ptr);
            alloc::dealloc(self.ptr.as_ptr(), self.layout);
        }
    }
}

thread_local! {
    // Per thread on native builds; on wasm32 (no threads) these are plain globals.
    static ARENA: RefCell<Arena> = const { RefCell::new(Arena::new()) };
    static KEPT: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// `bump_alloc` of the protocol: a zeroed, 16-byte aligned block of `size` bytes from this
/// thread's arena, or null when out of memory.
pub fn alloc(size: usize) -> *mut u8 {
    ARENA
        .with_borrow_mut(|arena| arena.alloc(size))
        .map_or(ptr::null_mut(), NonNull::as_ptr)
}

/// `bump_reset` of the protocol: zeroes and frees everything handed out on this thread,
/// and the buffers of the results returned by [`return_vec`].
pub fn reset() {
    ARENA.with_borrow_mut(Arena::reset);
    // Taken out first: dropping runs no code of ours that could touch KEPT, but stay safe.
    let kept = KEPT.with_borrow_mut(std::mem::take);
    drop(kept);
}

/// Returns a `bytes`/`str`/`list[T]` result without copying it: the pair (in the arena)
/// points at the `Vec`'s own buffer, which is kept until the next reset (then zeroed and
/// freed, as arena blocks are). An empty `Vec` is returned from the arena. Null when the
/// pair cannot be allocated.
pub fn return_vec<T: Copy>(data: Vec<T>) -> *mut Pair {
    if data.capacity() == 0 || size_of::<T>() == 0 {
        return return_slice(&data); // no allocation to keep: a dangling pointer
    }
    let Ok(layout) = Layout::array::<T>(data.capacity()) else {
        return return_slice(&data);
    };
    let pair = alloc(size_of::<Pair>());
    if pair.is_null() || KEPT.with_borrow_mut(|kept| kept.try_reserve(1)).is_err() {
        return ptr::null_mut(); // `data` is dropped; the pair, if any, freed at reset
    }
    let mut data = std::mem::ManuallyDrop::new(data);
    let (buf, len) = (data.as_mut_ptr(), data.len());
    // SAFETY: a `Vec`'s buffer is never null (capacity > 0).
    let kept = Kept {
        ptr: unsafe { NonNull::new_unchecked(buf.cast::<u8>()) },
        layout,
    };
    KEPT.with_borrow_mut(|k| k.push(kept)); // reserved above: cannot allocate
    let pair = pair.cast::<Pair>();
    // SAFETY: a fresh, aligned arena block of the size of a `Pair`.
    unsafe {
        pair.write(Pair {
            ptr: buf as usize,
            len,
        })
    };
    pair
}

/// A `bytes`/`str` parameter `(ptr, len)` as a slice.
///
/// # Safety
/// Unless `len` is 0 (then `ptr` may be anything), `ptr` must point to `len` readable
/// bytes that stay unchanged for `'a`. Traps (panics) on a null `ptr` with `len > 0`.
pub unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: forwarded to the caller.
    unsafe { typed_slice(ptr, len) }
}

/// A `list[T]` parameter `(ptr, count)` as a slice of `count` elements.
///
/// # Safety
/// Unless `count` is 0 (then `ptr` may be anything), `ptr` must point to `count`
/// initialised elements that stay unchanged for `'a`. Traps (panics) on a null or
/// misaligned `ptr` with `count > 0` rather than reading through it.
pub unsafe fn typed_slice<'a, T>(ptr: *const T, count: usize) -> &'a [T] {
    if count == 0 {
        return &[];
    }
    assert!(
        !ptr.is_null() && ptr.is_aligned(),
        "wasm2py: null or misaligned input pointer"
    );
    // SAFETY: non-null and aligned (checked), the rest is forwarded to the caller.
    unsafe { std::slice::from_raw_parts(ptr, count) }
}

/// Returns a `bytes`/`str` result: copies `data` into the arena and returns a pointer to
/// its [`Pair`] (also in the arena), or null when the arena is exhausted.
pub fn return_bytes(data: &[u8]) -> *mut Pair {
    return_slice(data)
}

/// Returns a `list[T]` result: copies `data` into the arena and returns a pointer to its
/// [`Pair`] (`len` is the element count), or null when the arena is exhausted.
pub fn return_slice<T: Copy>(data: &[T]) -> *mut Pair {
    const { assert!(align_of::<T>() <= ALIGN) };
    let bytes = size_of_val(data);
    let (buf, pair) = (alloc(bytes), alloc(size_of::<Pair>()));
    if buf.is_null() || pair.is_null() {
        return ptr::null_mut();
    }
    let pair = pair.cast::<Pair>();
    // SAFETY: two fresh, aligned, distinct arena blocks of the right sizes; `T: Copy`.
    unsafe {
        ptr::copy_nonoverlapping(data.as_ptr().cast::<u8>(), buf, bytes);
        pair.write(Pair {
            ptr: buf as usize,
            len: data.len(),
        });
    }
    pair
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `len` bytes at `p`.
    fn read(p: NonNull<u8>, len: usize) -> Vec<u8> {
        unsafe { std::slice::from_raw_parts(p.as_ptr(), len) }.to_vec()
    }

    #[test]
    fn blocks_are_aligned_and_distinct() {
        let mut arena = Arena::new();
        let mut last = 0;
        for size in [0, 1, 3, 15, 16, 17, 100, 4096] {
            let p = arena.alloc(size).unwrap().as_ptr() as usize;
            assert_eq!(p % ALIGN, 0, "size {size}");
            assert!(p > last, "blocks overlap");
            last = p;
        }
    }

    #[test]
    fn grows_and_keeps_old_blocks() {
        let mut arena = Arena::new();
        let a = arena.alloc(MIN_CHUNK - 16).unwrap();
        unsafe { a.write_bytes(0xaa, MIN_CHUNK - 16) };
        let b = arena.alloc(MIN_CHUNK).unwrap(); // does not fit: a second, bigger chunk
        unsafe { b.write_bytes(0xbb, MIN_CHUNK) };
        let c = arena.alloc(3 * MIN_CHUNK).unwrap(); // bigger than twice the last: third
        unsafe { c.write_bytes(0xcc, 3 * MIN_CHUNK) };
        assert_eq!(arena.chunks.len(), 3);
        assert!(read(a, MIN_CHUNK - 16).iter().all(|&x| x == 0xaa));
        assert!(read(b, MIN_CHUNK).iter().all(|&x| x == 0xbb));
        assert_eq!(arena.used(), 5 * MIN_CHUNK - 16);

        arena.reset();
        assert_eq!(arena.chunks.len(), 1);
        assert_eq!(arena.capacity(), 4 * MIN_CHUNK); // max(2 * 2 * MIN_CHUNK, 3 * MIN_CHUNK)
        assert_eq!(arena.used(), 0);
    }

    #[test]
    fn reset_zeroes_what_was_handed_out() {
        let mut arena = Arena::new();
        let a = arena.alloc(1000).unwrap();
        unsafe { a.write_bytes(0xff, 1000) };
        arena.reset();
        let b = arena.alloc(1000).unwrap();
        assert_eq!(a, b, "the kept chunk is reused from its start");
        assert!(read(b, 1000).iter().all(|&x| x == 0));
    }

    #[test]
    fn empty_chunk_after_reset_is_replaced_by_a_bigger_one() {
        let mut arena = Arena::new();
        arena.alloc(10).unwrap();
        arena.reset();
        arena.alloc(10 * MIN_CHUNK).unwrap();
        assert_eq!(arena.chunks.len(), 1);
        assert_eq!(arena.capacity(), 10 * MIN_CHUNK);
    }

    #[test]
    fn oversize_is_none_and_the_arena_stays_usable() {
        let mut arena = Arena::new();
        assert!(arena.alloc(MAX_TOTAL + 1).is_none());
        assert!(arena.alloc(usize::MAX).is_none()); // rounding up overflows
        assert!(arena.alloc(usize::MAX - 5).is_none());
        let p = arena.alloc(MAX_TOTAL / 2).unwrap();
        assert!(arena.alloc(MAX_TOTAL / 2 + 1).is_none()); // over the total budget
        unsafe { p.write_bytes(1, 16) };
        arena.reset();
        assert!(arena.alloc(64).is_some());
        assert!(arena.capacity() <= MAX_TOTAL);
    }

    #[test]
    fn thread_local_functions() {
        assert!(alloc(MAX_TOTAL + 1).is_null());
        let p = alloc(32);
        assert!(!p.is_null() && (p as usize).is_multiple_of(ALIGN));
        // Another thread has an arena of its own.
        let q = std::thread::spawn(|| alloc(32) as usize).join().unwrap();
        assert_ne!(p as usize, q);
        reset();
        assert_eq!(alloc(32), p);
        reset();
    }

    #[test]
    fn results_and_inputs() {
        let pair = unsafe { *return_bytes(b"hello") };
        assert_eq!(pair.len, 5);
        assert_eq!(unsafe { slice(pair.ptr as *const u8, pair.len) }, b"hello");

        let pair = unsafe { *return_slice(&[1.5f64, -2.0, 3.25]) };
        assert_eq!(pair.len, 3);
        assert_eq!(pair.ptr % ALIGN, 0);
        let xs = unsafe { typed_slice(pair.ptr as *const f64, pair.len) };
        assert_eq!(xs, [1.5, -2.0, 3.25]);

        let empty = unsafe { *return_bytes(&[]) };
        assert_eq!(empty.len, 0);
        assert_ne!(empty.ptr, 0);
        assert_eq!(unsafe { slice(ptr::null(), 0) }, b"");
        assert_eq!(
            unsafe { typed_slice::<u64>(ptr::dangling(), 0) },
            &[] as &[u64]
        );
        reset();
    }

    #[test]
    fn vec_results_are_kept_not_copied_until_reset() {
        let data: Vec<f64> = vec![1.5, -2.0, 3.25];
        let buf = data.as_ptr() as usize;
        let pair = unsafe { *return_vec(data) };
        assert_eq!(pair, Pair { ptr: buf, len: 3 });
        let text = String::from("héllo").into_bytes();
        let pair = unsafe { *return_vec(text) };
        assert_eq!(
            unsafe { slice(pair.ptr as *const u8, pair.len) },
            "héllo".as_bytes()
        );
        assert_eq!(KEPT.with_borrow(Vec::len), 2);
        let empty = unsafe { *return_vec(Vec::<u32>::new()) };
        assert_eq!(empty.len, 0);
        assert_ne!(empty.ptr, 0);
        reset();
        assert_eq!(KEPT.with_borrow(Vec::len), 0);
        // No room for the pair: null, and the vector is freed.
        let full = alloc(MAX_TOTAL);
        assert!(!full.is_null());
        assert!(return_vec(vec![1u8; 10]).is_null());
        assert_eq!(KEPT.with_borrow(Vec::len), 0);
        reset();
    }

    #[test]
    #[should_panic(expected = "misaligned")]
    fn misaligned_list_input_panics() {
        let xs = [0u64; 2];
        let p = unsafe { xs.as_ptr().cast::<u8>().add(1) }.cast::<u64>();
        unsafe { typed_slice(p, 1) };
    }
}
