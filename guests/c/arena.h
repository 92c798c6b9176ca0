/*
 * A bump arena implementing the wasm2py memory protocol (docs/guest-protocol.md).
 *
 * The generated Python code allocates every input with bump_alloc(), calls a function,
 * reads the result and calls bump_reset() in a `finally` block. Functions returning
 * bytes, str or a list return a w2p_slice allocated in the same arena.
 *
 * wasm32: the arena is the linear memory after __heap_base, grown with memory.grow.
 * native: each thread has its own arena, a list of malloc'd chunks (Python calls the
 *         shared library from many threads at once; the marker below tells the generated
 *         code not to serialise those calls).
 * wasm32-wasi (with wasi-libc): one arena of malloc'd chunks, as natively (libc's malloc
 *         owns the memory after __heap_base).
 */
#ifndef CFIB_ARENA_H
#define CFIB_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Symbols with this mark are exported from the .wasm and from the .so; everything else
 * is compiled with -fvisibility=hidden. */
#define W2P_EXPORT __attribute__((visibility("default")))

/* Alignment of every block handed out by bump_alloc. */
#define W2P_ALIGN 16

/* A bytes/str/list result: a pointer to this pair, both allocated in the arena.
 * len counts bytes for bytes/str and elements for lists. */
typedef struct {
    void *ptr;
    size_t len;
} w2p_slice;

/* A 16-byte aligned, zeroed block of `size` bytes (distinct even for size 0);
 * NULL when out of memory. */
W2P_EXPORT void *bump_alloc(size_t size);

/* Zero everything handed out since the last reset and free it. */
W2P_EXPORT void bump_reset(void);

/* The per-thread-arena marker (docs/guest-protocol.md): never called; exported because
 * this arena is per thread natively, so the native backend does not serialise the calls
 * that use it. Exported from the .wasm too, so both builds export the same functions. */
W2P_EXPORT void wasm2py_arena_per_thread(void);

/* A result pair whose data block holds `nbytes` bytes and whose len is `len`
 * (elements for lists). NULL when out of memory. */
w2p_slice *w2p_slice_new(size_t nbytes, size_t len);

#if defined(__wasm__) && !defined(__wasi__)
/* No libc on wasm32: clang may emit calls to these, arena.c defines them. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
#else
#include <string.h>
#endif

#endif /* CFIB_ARENA_H */
