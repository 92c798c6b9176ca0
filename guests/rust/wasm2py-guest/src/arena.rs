//! The bump arena of the memory protocol (`bump_alloc`/`bump_reset`), taken over from
//! `wasm2py-arena`: a list of chunks from the global allocator, 16-byte aligned blocks,
//! everything handed out zeroed again on reset, at most `MAX_TOTAL` bytes. Per thread on
//! native builds (`thread_local!`); on wasm32 (no threads) it is one global.
//!
//! The arena also publishes its [`ArenaRecord`] (protocol version 2, `wasm2py_arena`,
//! docs/guest-protocol.md "Arena protocol version 2"), four words `{base, top, limit,
//! busy}` at an address that never changes:
//!
//! - On wasm32 the record describes the current (last) chunk: `base` its start, `top` its
//!   first free byte, `limit` its end, and `busy` is 1 when `bump_reset` must do more than
//!   zero `[base, top)` (more than one chunk, or `Vec` results kept until the reset), else
//!   0. The host allocates inputs there itself (at `top` rounded up to 16, leaving `top`
//!   unaligned) and resets by zeroing `[base, top)` when `busy` is 0; so every allocation
//!   and reset first takes `top` back from the record ([`Arena::sync`]: only when `base` is
//!   the chunk's start and `top` lies inside the chunk; any other record counts the chunk
//!   as full) and writes the record again afterwards ([`Arena::publish`]).
//! - Natively (inputs are passed in place, the host never allocates) there is one record
//!   for the whole library: `base = top = limit = 0` and `busy` counts, atomically, the
//!   threads whose arena holds anything (a block handed out or a kept `Vec`). A thread is
//!   counted from its first allocation after a reset until its next reset, or its exit.
//!
//! The error message of a failure (see `error`) lives outside the arena and `bump_reset`
//! does not touch it, so it never makes the arena busy.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicUsize;

/// Alignment of every block handed out.
pub const ALIGN: usize = 16;
/// Most bytes the arena holds at once; a request beyond it gets null rather than an abort.
pub const MAX_TOTAL: usize = 256 << 20;
/// Size of the first chunk (one wasm page).
const MIN_CHUNK: usize = 64 << 10;
/// `Vec` results of at most this many bytes are copied into the current chunk when they fit
/// there, rather than kept: a copy of 64 KiB costs less than the guest call (`bump_reset`)
/// a kept buffer needs, and a result in the chunk leaves the arena for the host to reset.
pub const COPY_MAX: usize = 64 << 10;

/// A bytes, str or list result: a pointer to this pair is returned, both in the arena.
/// `len` counts bytes for bytes and str, elements for lists.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub ptr: usize,
    pub len: usize,
}

/// The arena record of protocol version 2 (`wasm2py_arena`): four pointer-sized words, 16
/// bytes on wasm32. See the module documentation for what each target puts in it.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ArenaRecord {
    /// wasm32: start of the current chunk (0 before the first allocation). Native: 0.
    pub base: usize,
    /// wasm32: its first free byte, `base <= top <= limit`; the host may leave it
    /// unaligned. Native: 0.
    pub top: usize,
    /// wasm32: the chunk's end. Native: 0.
    pub limit: usize,
    /// wasm32: 1 when `bump_reset` has more to release than `[base, top)`, else 0.
    /// Native: the number of threads whose arena holds anything. (Same layout as `usize`.)
    pub busy: AtomicUsize,
}

const _: () = assert!(size_of::<ArenaRecord>() == 4 * size_of::<usize>());

impl ArenaRecord {
    /// An empty record: no chunk yet, not busy.
    pub const fn new() -> ArenaRecord {
        ArenaRecord {
            base: 0,
            top: 0,
            limit: 0,
            busy: AtomicUsize::new(0),
        }
    }
}

struct Chunk {
    ptr: NonNull<u8>,
    /// Always a multiple of `ALIGN`.
    cap: usize,
    /// Bytes in use from the start, at most `cap`; unaligned after the host's allocations.
    used: usize,
}

impl Chunk {
    fn new(cap: usize) -> Option<Chunk> {
        debug_assert!(cap > 0 && cap.is_multiple_of(ALIGN));
        let layout = Layout::from_size_align(cap, ALIGN).ok()?;
        // Zeroed, and zeroed again on reset: every block handed out reads as zeros.
        // SAFETY: `cap` is never 0 (at least MIN_CHUNK or a rounded-up request).
        let ptr = NonNull::new(unsafe { alloc::alloc_zeroed(layout) })?;
        Some(Chunk { ptr, cap, used: 0 })
    }

    fn start(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Where the next block starts: `used` rounded up to `ALIGN`, at most `cap` (a
    /// multiple of `ALIGN`).
    fn next(&self) -> usize {
        self.used.next_multiple_of(ALIGN)
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

/// A bump arena. Guests use the per-thread one through [`alloc`] and [`reset`].
#[derive(Default)]
pub struct Arena {
    chunks: Vec<Chunk>,
    /// Sum of the chunks' capacities, at most `MAX_TOTAL`.
    total: usize,
    /// The buffers of `Vec` results ([`Arena::return_vec`]), freed at the reset.
    kept: Vec<Kept>,
    /// The current chunk replaced an empty one since the last reset: the block moved, which
    /// a host that keeps the block it last reset must learn from `busy`.
    moved: bool,
}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            chunks: Vec::new(),
            total: 0,
            kept: Vec::new(),
            moved: false,
        }
    }

    /// A zeroed, `ALIGN`-aligned block of `size` bytes, or `None` when out of memory.
    pub fn alloc(&mut self, size: usize) -> Option<NonNull<u8>> {
        // Rounded up so the next block stays aligned; 0 bytes still get a distinct block.
        let size = size.max(1).checked_next_multiple_of(ALIGN)?;
        let fits = self.chunks.last().is_some_and(|c| c.cap - c.next() >= size);
        if !fits {
            self.grow(size)?;
        }
        let chunk = self.chunks.last_mut()?;
        let start = chunk.next();
        // SAFETY: `start + size <= cap`, inside the chunk.
        let block = unsafe { chunk.ptr.add(start) };
        chunk.used = start + size;
        Some(block)
    }

    /// Adds a chunk of at least `size` bytes, twice the last one's size when allowed.
    fn grow(&mut self, size: usize) -> Option<()> {
        let last = self.chunks.last().map_or(0, |c| c.cap);
        // An empty last chunk (right after a reset) is simply replaced by the bigger one.
        if self.chunks.last().is_some_and(|c| c.used == 0) {
            self.total -= last;
            self.chunks.pop();
            self.moved = true;
        }
        let budget = MAX_TOTAL - self.total;
        if size > budget {
            return None;
        }
        // A multiple of ALIGN: so are MIN_CHUNK, `size`, every cap and so `budget`.
        let cap = last.saturating_mul(2).max(MIN_CHUNK).max(size).min(budget);
        self.chunks.try_reserve(1).ok()?;
        self.chunks.push(Chunk::new(cap)?);
        self.total += cap;
        Some(())
    }

    /// Zeroes everything handed out since the last reset and frees all chunks but the
    /// largest, which is kept for the next call; zeroes and frees the kept `Vec` buffers.
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
        // `Kept::drop` zeroes and frees them.
        drop(std::mem::take(&mut self.kept));
        self.moved = false;
    }

    /// Bytes handed out since the last reset (rounded up to `ALIGN` each, plus the host's
    /// bytes taken from the record).
    pub fn used(&self) -> usize {
        self.chunks.iter().map(|c| c.used).sum()
    }

    /// Bytes held from the global allocator.
    pub fn capacity(&self) -> usize {
        self.total
    }

    /// Whether a reset would release nothing: no byte handed out, no `Vec` kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.chunks.iter().all(|c| c.used == 0)
    }

    /// Whether a reset must do more than zero the current chunk's used bytes: the
    /// record's `busy` on wasm32.
    pub fn is_busy(&self) -> bool {
        self.chunks.len() > 1 || !self.kept.is_empty() || self.moved
    }

    /// Bytes free in the current chunk, from the next aligned block on.
    fn room(&self) -> usize {
        self.chunks.last().map_or(0, |c| c.cap - c.next())
    }

    /// Takes the host's allocations and resets from `record` (protocol version 2): when
    /// `record.base` is the current chunk's start and `base <= top <=` the chunk's end, the
    /// chunk's used bytes become `top - base`. Any other record (a hostile or confused
    /// host) counts the chunk as full, so nothing is ever written where the record alone
    /// says; `record.limit` is not read. Without a chunk the record is ignored.
    pub fn sync(&mut self, record: &ArenaRecord) {
        let Some(chunk) = self.chunks.last_mut() else {
            return;
        };
        let base = chunk.start();
        chunk.used = if record.base == base && record.top >= base && record.top - base <= chunk.cap
        {
            record.top - base
        } else {
            chunk.cap
        };
    }

    /// Writes the current chunk and [`Arena::is_busy`] into `record`: all zeros without a
    /// chunk.
    pub fn publish(&self, record: &mut ArenaRecord) {
        let (base, top, limit) = self.chunks.last().map_or((0, 0, 0), |c| {
            (c.start(), c.start() + c.used, c.start() + c.cap)
        });
        record.base = base;
        record.top = top;
        record.limit = limit;
        *record.busy.get_mut() = usize::from(self.is_busy());
    }

    /// Runs `f` on this arena shared with a host through `record`: [`Arena::sync`] before,
    /// [`Arena::publish`] after. What every wasm32 allocation and reset goes through.
    pub fn with_record<R>(
        &mut self,
        record: &mut ArenaRecord,
        f: impl FnOnce(&mut Arena) -> R,
    ) -> R {
        self.sync(record);
        let result = f(self);
        self.publish(record);
        result
    }

    /// [`return_vec`] on this arena.
    pub fn return_vec<T: Copy>(&mut self, mut data: Vec<T>) -> *mut Pair {
        if data.capacity() == 0 || size_of::<T>() == 0 {
            return self.return_slice(&data); // no allocation to keep: a dangling pointer
        }
        // Small enough and room in the chunk: copied (the buffer and the pair), then the
        // buffer zeroed and freed now.
        let bytes = size_of_val(data.as_slice());
        if bytes <= COPY_MAX
            && self.room()
                >= bytes.max(1).next_multiple_of(ALIGN) + size_of::<Pair>().next_multiple_of(ALIGN)
        {
            let pair = self.return_slice(&data);
            let size = data.capacity() * size_of::<T>();
            // SAFETY: the Vec's own allocation of `capacity` elements, written as bytes.
            unsafe { ptr::write_bytes(data.as_mut_ptr().cast::<u8>(), 0, size) };
            std::hint::black_box(data.as_ptr());
            return pair;
        }
        let Ok(layout) = Layout::array::<T>(data.capacity()) else {
            return self.return_slice(&data);
        };
        let Some(pair) = self.alloc(size_of::<Pair>()) else {
            return ptr::null_mut(); // `data` is dropped
        };
        if self.kept.try_reserve(1).is_err() {
            return ptr::null_mut(); // `data` is dropped, the pair freed at the reset
        }
        let mut data = std::mem::ManuallyDrop::new(data);
        let (buf, len) = (data.as_mut_ptr(), data.len());
        // SAFETY: a `Vec`'s buffer is never null (capacity > 0).
        let kept = Kept {
            ptr: unsafe { NonNull::new_unchecked(buf.cast::<u8>()) },
            layout,
        };
        self.kept.push(kept); // reserved above: cannot allocate
        let pair = pair.as_ptr().cast::<Pair>();
        // SAFETY: a fresh, aligned arena block of the size of a `Pair`.
        unsafe {
            pair.write(Pair {
                ptr: buf as usize,
                len,
            })
        };
        pair
    }

    /// [`return_slice`] on this arena.
    pub fn return_slice<T: Copy>(&mut self, data: &[T]) -> *mut Pair {
        const { assert!(align_of::<T>() <= ALIGN) };
        let bytes = size_of_val(data);
        let (Some(buf), Some(pair)) = (self.alloc(bytes), self.alloc(size_of::<Pair>())) else {
            return ptr::null_mut();
        };
        let pair = pair.as_ptr().cast::<Pair>();
        // SAFETY: two fresh, aligned, distinct arena blocks of the right sizes; `T: Copy`.
        unsafe {
            ptr::copy_nonoverlapping(data.as_ptr().cast::<u8>(), buf.as_ptr(), bytes);
            pair.write(Pair {
                ptr: buf.as_ptr() as usize,
                len: data.len(),
            });
        }
        pair
    }
}

thread_local! {
    // Per thread on native builds; on wasm32 (no threads) a plain global.
    static ARENA: RefCell<Arena> = const { RefCell::new(Arena::new()) };
}

#[cfg(target_arch = "wasm32")]
mod shared {
    use super::{ARENA, Arena, ArenaRecord};
    use std::cell::UnsafeCell;

    thread_local! {
        // wasm32 has no threads: a plain global in the linear memory, at a fixed address.
        static RECORD: UnsafeCell<ArenaRecord> = const { UnsafeCell::new(ArenaRecord::new()) };
    }

    pub fn arena_record() -> *mut ArenaRecord {
        RECORD.with(UnsafeCell::get)
    }

    /// Runs `f` on the arena synced with the record, which is published again after.
    pub fn with_arena<R>(f: impl FnOnce(&mut Arena) -> R) -> R {
        ARENA.with_borrow_mut(|arena| {
            // SAFETY: one thread; the host reads and writes the record only between the
            // guest's calls, and `f` does not call out of the guest.
            let record = unsafe { &mut *arena_record() };
            arena.with_record(record, f)
        })
    }

    pub fn reset() {
        with_arena(Arena::reset);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod shared {
    use super::{ARENA, Arena, ArenaRecord};
    use std::cell::Cell;
    use std::ptr;
    use std::sync::atomic::Ordering;

    /// The library's one record: only `busy` ever changes.
    pub(super) static RECORD: ArenaRecord = ArenaRecord::new();

    pub fn arena_record() -> *mut ArenaRecord {
        // Only `busy`, an atomic, is ever written (through `&RECORD`): the host reads.
        ptr::from_ref(&RECORD).cast_mut()
    }

    /// Whether this thread is counted in `RECORD.busy`; a thread that exits while counted
    /// is uncounted by the drop.
    struct Counted(Cell<bool>);

    impl Drop for Counted {
        fn drop(&mut self) {
            if self.0.replace(false) {
                RECORD.busy.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    thread_local! {
        static COUNTED: Counted = const { Counted(Cell::new(false)) };
    }

    fn count() {
        // Fails only while the thread exits, its arena going with it.
        let _ = COUNTED.try_with(|c| {
            if !c.0.replace(true) {
                RECORD.busy.fetch_add(1, Ordering::SeqCst);
            }
        });
    }

    fn uncount() {
        let _ = COUNTED.try_with(|c| {
            if c.0.replace(false) {
                RECORD.busy.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }

    /// Runs `f` on this thread's arena; counts the thread if the arena then holds anything
    /// (before the call returns to the host, which reads `busy` after it).
    pub fn with_arena<R>(f: impl FnOnce(&mut Arena) -> R) -> R {
        ARENA.with_borrow_mut(|arena| {
            let result = f(arena);
            if !arena.is_empty() {
                count();
            }
            result
        })
    }

    pub fn reset() {
        ARENA.with_borrow_mut(Arena::reset);
        uncount();
    }

    /// Whether this thread is counted in `busy` (tests).
    #[cfg(test)]
    pub fn counted() -> bool {
        COUNTED.with(|c| c.0.get())
    }
}

use shared::with_arena;

/// The address of the arena record (`wasm2py_arena`): the same on every call. On wasm32
/// the record of the one arena; natively one record for the whole library, whose `busy`
/// counts the threads whose arena holds anything.
pub fn arena_record() -> *mut ArenaRecord {
    shared::arena_record()
}

/// `bump_alloc` of the protocol: a zeroed, 16-byte aligned block of `size` bytes from this
/// thread's arena, or null when out of memory.
pub fn alloc(size: usize) -> *mut u8 {
    with_arena(|arena| arena.alloc(size)).map_or(ptr::null_mut(), NonNull::as_ptr)
}

/// `bump_reset` of the protocol: zeroes and frees everything handed out on this thread,
/// and the buffers of the results returned by [`return_vec`]; clears `busy` on wasm32 and
/// uncounts the thread natively.
pub fn reset() {
    shared::reset();
}

/// Returns a `bytes`/`str`/`list[T]` result without copying it: the pair (in the arena)
/// points at the `Vec`'s own buffer, which is kept until the next reset (then zeroed and
/// freed, as arena blocks are). An empty `Vec` is returned from the arena. Null when the
/// pair cannot be allocated.
pub fn return_vec<T: Copy>(data: Vec<T>) -> *mut Pair {
    with_arena(|arena| arena.return_vec(data))
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
    with_arena(|arena| arena.return_slice(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, MutexGuard};

    /// Held by the tests that use this thread's arena ([`alloc`], [`reset`]...): natively
    /// its record's `busy` counts every thread of the process, and some tests read it.
    static GLOBAL: Mutex<()> = Mutex::new(());

    fn global() -> MutexGuard<'static, ()> {
        GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn kept() -> usize {
        ARENA.with_borrow(|arena| arena.kept.len())
    }

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
        let _global = global();
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
        let _global = global();
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
    fn big_vec_results_are_kept_not_copied_until_reset() {
        let _global = global();
        let mut data: Vec<f64> = vec![0.0; COPY_MAX / 8 + 1];
        data[..3].copy_from_slice(&[1.5, -2.0, 3.25]);
        let buf = data.as_ptr() as usize;
        let pair = unsafe { *return_vec(data) };
        assert_eq!(
            pair,
            Pair {
                ptr: buf,
                len: COPY_MAX / 8 + 1
            }
        );
        let mut text = String::from("héllo").into_bytes();
        text.resize(COPY_MAX + 1, b'!');
        let pair = unsafe { *return_vec(text) };
        assert_eq!(
            unsafe { slice(pair.ptr as *const u8, 6) },
            "héllo".as_bytes()
        );
        assert_eq!(kept(), 2);
        let empty = unsafe { *return_vec(Vec::<u32>::new()) };
        assert_eq!(empty.len, 0);
        assert_ne!(empty.ptr, 0);
        reset();
        assert_eq!(kept(), 0);
        // No room for the pair: null, and the vector is freed.
        let full = alloc(MAX_TOTAL);
        assert!(!full.is_null());
        assert!(return_vec(vec![1u8; 10]).is_null());
        assert_eq!(kept(), 0);
        reset();
    }

    #[test]
    fn small_vec_results_are_copied_into_the_chunk() {
        let mut arena = Arena::new();
        arena.alloc(16).unwrap(); // the chunk
        let data = vec![1.5f64, -2.0, 3.25];
        let buf = data.as_ptr() as usize;
        let pair = unsafe { *arena.return_vec(data) };
        assert_ne!(pair.ptr, buf, "copied");
        let chunk = &arena.chunks[0];
        assert!(pair.ptr >= chunk.start() && pair.ptr + 24 <= chunk.start() + chunk.used);
        assert_eq!(
            unsafe { typed_slice(pair.ptr as *const f64, pair.len) },
            [1.5, -2.0, 3.25]
        );
        assert!(arena.kept.is_empty() && !arena.is_busy());
        // No room left in the chunk: kept instead, even when small.
        let rest = arena.room();
        arena.alloc(rest).unwrap();
        let data = vec![9u8; 100];
        let buf = data.as_ptr() as usize;
        assert_eq!(unsafe { *arena.return_vec(data) }.ptr, buf);
        assert!(arena.is_busy());
        arena.reset();
        assert!(!arena.is_busy());
    }

    #[test]
    fn a_replaced_empty_chunk_is_busy_until_the_reset() {
        let mut arena = Arena::new();
        arena.alloc(16).unwrap();
        arena.reset();
        assert!(!arena.is_busy());
        arena.alloc(4 * MIN_CHUNK).unwrap(); // replaces the empty chunk: the block moved
        assert_eq!(arena.chunks.len(), 1);
        assert!(arena.is_busy());
        arena.reset();
        assert!(!arena.is_busy());
    }

    #[test]
    #[should_panic(expected = "misaligned")]
    fn misaligned_list_input_panics() {
        let xs = [0u64; 2];
        let p = unsafe { xs.as_ptr().cast::<u8>().add(1) }.cast::<u64>();
        unsafe { typed_slice(p, 1) };
    }

    // Arena protocol version 2 as on wasm32, on a record of the test's own: `Host` does what
    // the generated code does with it.

    /// A host of arena protocol version 2 sharing `record` with an arena.
    struct Host {
        record: ArenaRecord,
    }

    impl Host {
        fn new() -> Host {
            Host {
                record: ArenaRecord::new(),
            }
        }

        fn busy(&mut self) -> usize {
            *self.record.busy.get_mut()
        }

        /// Writes an input at `top` rounded up to 16 when it fits, leaving `top` unaligned.
        fn try_input(&mut self, data: &[u8]) -> Option<usize> {
            let r = &mut self.record;
            let p = r.top.checked_next_multiple_of(16)?;
            if data.is_empty() || r.base > p || p.checked_add(data.len())? > r.limit {
                return None;
            }
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len()) };
            r.top = p + data.len();
            Some(p)
        }

        /// An input written by the host, or through `bump_alloc` when it does not fit.
        fn input(&mut self, arena: &mut Arena, data: &[u8]) -> usize {
            self.try_input(data).unwrap_or_else(|| {
                let p = self.call(arena, |a| a.alloc(data.len())).unwrap().as_ptr();
                unsafe { ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
                p as usize
            })
        }

        /// A guest call, as the wasm32 build makes it: synced with the record.
        fn call<R>(&mut self, arena: &mut Arena, f: impl FnOnce(&mut Arena) -> R) -> R {
            arena.with_record(&mut self.record, f)
        }

        /// The reset after a call: by the host when `busy` is 0 (true), else `bump_reset`.
        fn reset(&mut self, arena: &mut Arena) -> bool {
            let r = &mut self.record;
            if *r.busy.get_mut() == 0 && r.base <= r.top {
                if r.top > r.base {
                    unsafe { ptr::write_bytes(r.base as *mut u8, 0, r.top - r.base) };
                }
                r.top = r.base;
                true
            } else {
                self.call(arena, Arena::reset);
                false
            }
        }

        fn words(&self) -> [usize; 3] {
            [self.record.base, self.record.top, self.record.limit]
        }
    }

    fn bytes_at(address: usize, len: usize) -> Vec<u8> {
        read(NonNull::new(address as *mut u8).unwrap(), len)
    }

    #[test]
    fn record_is_four_words_and_the_first_input_sets_it_up() {
        assert_eq!(size_of::<ArenaRecord>(), 4 * size_of::<usize>());
        let (mut arena, mut host) = (Arena::new(), Host::new());
        assert_eq!(host.words(), [0, 0, 0]);
        host.call(&mut arena, |_| ()); // no chunk yet: the record stays empty
        assert_eq!((host.words(), host.busy()), ([0, 0, 0], 0));
        assert_eq!(host.try_input(b"hello"), None); // an empty record: bump_alloc
        let p = host.input(&mut arena, b"hello");
        let base = arena.chunks[0].start();
        assert_eq!(p, base);
        assert_eq!(host.words(), [base, base + 16, base + MIN_CHUNK]);
        assert_eq!(host.busy(), 0);
        assert_eq!(bytes_at(p, 5), b"hello");
    }

    #[test]
    fn guest_blocks_follow_host_inputs_aligned() {
        let (mut arena, mut host) = (Arena::new(), Host::new());
        let a = host.input(&mut arena, b"abcde"); // bump_alloc: top = base + 16
        let base = host.record.base;
        let b = host.try_input(b"1234567").unwrap();
        assert_eq!(b, base + 16);
        assert_eq!(host.record.top, base + 23, "the host leaves top unaligned");
        let pair = host.call(&mut arena, |a| a.return_slice(b"xyz"));
        let pair = unsafe { *pair };
        assert_eq!(pair.ptr, base + 32, "after the host's input, rounded up");
        assert_eq!(pair.len, 3);
        assert_eq!(host.record.top, base + 64); // the data's block and the pair's
        let c = host.try_input(b"!").unwrap();
        assert_eq!(c, base + 64);
        let d = host.call(&mut arena, |a| a.alloc(1)).unwrap().as_ptr() as usize;
        assert_eq!(d, base + 80);
        assert_eq!(host.words(), [base, base + 96, base + MIN_CHUNK]);
        assert_eq!(bytes_at(a, 5), b"abcde");
        assert_eq!(bytes_at(b, 7), b"1234567");
        assert_eq!(bytes_at(pair.ptr, 3), b"xyz");
        assert_eq!(bytes_at(c, 1), b"!");
        assert_eq!(host.busy(), 0);
        assert!(host.reset(&mut arena));
        assert_eq!(bytes_at(base, 96), [0; 96]);
    }

    #[test]
    fn host_reset_then_guest_alloc_reuses_the_chunk_start() {
        let (mut arena, mut host) = (Arena::new(), Host::new());
        host.input(&mut arena, &[0xee; 40]);
        host.try_input(&[0xdd; 9]).unwrap();
        let base = host.record.base;
        assert!(
            host.reset(&mut arena),
            "one chunk, nothing kept: the host resets"
        );
        assert_eq!(host.words(), [base, base, base + MIN_CHUNK]);
        assert_eq!(bytes_at(base, 64), [0; 64]);
        // The guest has not run since: its next block starts at base again.
        let p = host.call(&mut arena, |a| a.alloc(24)).unwrap().as_ptr() as usize;
        assert_eq!(p, base);
        assert_eq!(arena.used(), 32);
        assert_eq!(bytes_at(p, 24), [0; 24]);
        // bump_reset after a host reset: nothing left to zero, the chunk stays.
        host.call(&mut arena, Arena::reset);
        assert_eq!(host.words(), [base, base, base + MIN_CHUNK]);
        assert_eq!(arena.capacity(), MIN_CHUNK);
    }

    #[test]
    fn busy_with_several_chunks_until_bump_reset() {
        let (mut arena, mut host) = (Arena::new(), Host::new());
        let first = host.input(&mut arena, &[1; MIN_CHUNK - 8]);
        assert_eq!(host.busy(), 0);
        assert_eq!(host.try_input(&[2; 9]), None, "the chunk is full");
        // The guest's result needs a second chunk, which the record describes then.
        let pair = host.call(&mut arena, |a| a.return_slice(&[3u8; 100]));
        assert!(!pair.is_null());
        assert_eq!(arena.chunks.len(), 2);
        assert_eq!(host.busy(), 1);
        let base = arena.chunks[1].start();
        assert_eq!(host.words(), [base, base + 128, base + 2 * MIN_CHUNK]);
        assert_ne!(first, base);
        let input = host.try_input(&[4; 50]).unwrap(); // in the second chunk
        assert_eq!(input, base + 128);
        assert!(!host.reset(&mut arena), "busy: bump_reset");
        assert_eq!(arena.chunks.len(), 1);
        assert_eq!(host.busy(), 0);
        assert_eq!(host.words(), [base, base, base + 2 * MIN_CHUNK]);
        assert_eq!(bytes_at(base, 178), [0; 178]);
        // The next call: an input by the host, then a reset by the host.
        assert_eq!(host.try_input(b"next"), Some(base));
        assert!(host.reset(&mut arena));
    }

    #[test]
    fn busy_while_vecs_are_kept() {
        let (mut arena, mut host) = (Arena::new(), Host::new());
        host.input(&mut arena, b"input");
        // A small Vec is copied into the chunk: the host resets it.
        let pair = host.call(&mut arena, |a| a.return_vec(vec![7u8; 10]));
        assert!(!pair.is_null() && arena.kept.is_empty());
        assert_eq!(host.busy(), 0, "a copied Vec leaves the host to reset");
        assert!(host.reset(&mut arena));
        host.input(&mut arena, b"input");
        let pair = host.call(&mut arena, |a| a.return_vec(vec![7u8; COPY_MAX + 1]));
        assert!(!pair.is_null());
        assert_eq!(arena.chunks.len(), 1);
        assert_eq!(host.busy(), 1, "a kept Vec is released by bump_reset only");
        host.try_input(b"more").unwrap(); // still allowed while busy
        assert!(!host.reset(&mut arena));
        assert_eq!((host.busy(), arena.kept.len()), (0, 0));
        let base = host.record.base;
        assert_eq!(host.words(), [base, base, base + MIN_CHUNK]);
        assert_eq!(bytes_at(base, 64), [0; 64]);
        // An empty Vec keeps nothing.
        host.call(&mut arena, |a| a.return_vec(Vec::<u32>::new()));
        assert_eq!(host.busy(), 0);
        assert!(host.reset(&mut arena));
    }

    #[test]
    fn hostile_records_never_move_writes_out_of_the_chunk() {
        type Spoil = fn(&mut ArenaRecord);
        let spoils: [(&str, Spoil); 9] = [
            ("base + 16", |r| r.base += 16),
            ("base - 16", |r| r.base -= 16),
            ("top < base", |r| r.top = r.base - 1),
            ("top > limit", |r| r.top = r.limit + 16),
            ("top = MAX", |r| r.top = usize::MAX),
            ("top and limit far", |r| {
                r.top = r.base + 4 * MIN_CHUNK;
                r.limit = usize::MAX;
            }),
            ("all zeros", |r| *r = ArenaRecord::new()),
            ("all MAX", |r| {
                r.base = usize::MAX;
                r.top = usize::MAX;
                r.limit = usize::MAX;
            }),
            ("busy garbage", |r| {
                r.base = 0;
                *r.busy.get_mut() = 12345;
            }),
        ];
        for (what, spoil) in spoils {
            let (mut arena, mut host) = (Arena::new(), Host::new());
            let first = host.input(&mut arena, &[0x5a; 100]);
            let (start, end) = (host.record.base, host.record.limit);
            assert_eq!(first, start);
            spoil(&mut host.record);
            let p = host.call(&mut arena, |a| a.alloc(64)).unwrap().as_ptr() as usize;
            assert!(p.is_multiple_of(ALIGN), "{what}");
            assert!(
                p >= end || p + 64 <= start,
                "{what}: not in the untrusted chunk"
            );
            let [base, top, limit] = host.words();
            assert!(base <= p && p + 64 <= top && top <= limit, "{what}: {p:x}");
            assert_eq!(limit - base, arena.chunks.last().unwrap().cap, "{what}");
            assert_eq!(host.busy(), 1, "{what}: two chunks");
            unsafe { (p as *mut u8).write_bytes(0xff, 64) };
            // The reset wipes all of the untrusted chunk, whatever the record said.
            spoil(&mut host.record);
            host.call(&mut arena, Arena::reset);
            assert_eq!((arena.chunks.len(), host.busy()), (1, 0), "{what}");
            let [base, top, limit] = host.words();
            assert_eq!((top, limit - base), (base, 2 * MIN_CHUNK), "{what}");
        }
    }

    #[test]
    fn an_inconsistent_record_counts_the_chunk_as_full_and_wipes_it() {
        let (mut arena, mut host) = (Arena::new(), Host::new());
        host.input(&mut arena, b"x");
        let (base, limit) = (host.record.base, host.record.limit);
        let secret = host.try_input(&[0x77; 1000]).unwrap();
        host.record.top = base - 1; // then loses track of it
        host.call(&mut arena, |a| a.reset());
        assert_eq!(host.words(), [base, base, limit]);
        assert!(bytes_at(secret, 1000).iter().all(|&x| x == 0));
        // A record naming memory that is not the chunk is ignored, not written to.
        let mut elsewhere = [0u8; 256];
        let fake = elsewhere.as_mut_ptr() as usize;
        host.record.base = fake;
        host.record.top = fake;
        host.record.limit = fake + 256;
        let p = host.call(&mut arena, |a| a.alloc(16)).unwrap().as_ptr() as usize;
        assert!(p < fake || p >= fake + 256);
        assert_eq!(elsewhere, [0; 256]);
        assert_eq!(host.busy(), 1); // the chunk counted as full, so a second one
        // No chunk yet: the record is overwritten, never used.
        let (mut arena, mut host) = (Arena::new(), Host::new());
        host.record.base = fake;
        host.record.top = fake + 16;
        host.record.limit = fake + 256;
        let p = host.call(&mut arena, |a| a.alloc(16)).unwrap().as_ptr() as usize;
        assert!(p < fake || p >= fake + 256);
        assert_eq!(host.words(), [p, p + 16, p + MIN_CHUNK]);
        assert_eq!(elsewhere, [0; 256]);
    }

    // Natively: one record, `busy` counting the threads whose arena holds anything.

    #[cfg(not(target_arch = "wasm32"))]
    fn busy() -> usize {
        unsafe {
            (*arena_record())
                .busy
                .load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn native_record_counts_this_thread_while_its_arena_holds_anything() {
        let _global = global();
        let record = arena_record();
        assert_eq!(record, arena_record());
        let words = unsafe { [(*record).base, (*record).top, (*record).limit] };
        assert_eq!(words, [0, 0, 0]);
        assert_eq!(busy(), 0);
        assert!(alloc(MAX_TOTAL + 1).is_null());
        crate::error::fail("a message lives outside the arena");
        assert_eq!(busy(), 0, "a failed alloc or a message holds nothing");
        crate::error::clear_error();
        assert!(!alloc(0).is_null());
        assert!(shared::counted());
        assert!(!alloc(100).is_null());
        assert_eq!(busy(), 1, "counted once");
        reset();
        assert!(!shared::counted());
        assert_eq!(busy(), 0);
        reset(); // not counted: stays 0
        assert_eq!(busy(), 0);
        // A kept Vec counts (its pair too), an empty result as well.
        assert!(!return_vec(vec![1u8; 3]).is_null());
        assert_eq!(busy(), 1);
        reset();
        assert!(!return_bytes(b"").is_null());
        assert_eq!(busy(), 1);
        reset();
        assert_eq!(busy(), 0);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn native_busy_counts_threads_and_thread_exit_uncounts() {
        let _global = global();
        assert_eq!(busy(), 0);
        const THREADS: usize = 6;
        let (held, checked) = (
            std::sync::Barrier::new(THREADS + 1),
            std::sync::Barrier::new(THREADS + 1),
        );
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (held, checked) = (&held, &checked);
                    s.spawn(move || {
                        assert!(!return_bytes(b"data").is_null());
                        held.wait();
                        checked.wait();
                        if i % 2 == 0 {
                            reset(); // the others exit holding their arena
                        }
                    })
                })
                .collect();
            held.wait();
            assert_eq!(busy(), THREADS);
            assert!(!alloc(8).is_null());
            assert_eq!(busy(), THREADS + 1);
            checked.wait();
            // Joined one by one: the end of `scope` does not wait for the threads'
            // thread-local destructors, `join` does.
            for thread in threads {
                thread.join().unwrap();
            }
        });
        assert_eq!(busy(), 1);
        reset();
        assert_eq!(busy(), 0);
        // A thread that allocates and exits at once.
        std::thread::spawn(|| assert!(!alloc(1).is_null()))
            .join()
            .unwrap();
        assert_eq!(busy(), 0);
    }
}
