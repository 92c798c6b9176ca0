/*
 * The bump arena of the wasm2py memory protocol; see arena.h.
 *
 * Every block handed out is zeroed: wasm memory starts zeroed and new native chunks come
 * from calloc, and bump_reset zeroes everything used since the last reset (so inputs and
 * results, possibly secrets, do not stay in memory after a call).
 */
#include "arena.h"

/* size rounded up to W2P_ALIGN (at least W2P_ALIGN, so every block is distinct);
 * 0 when that overflows. */
static size_t block_size(size_t size)
{
    if (size > SIZE_MAX - (W2P_ALIGN - 1)) {
        return 0;
    }
    size_t n = (size + (W2P_ALIGN - 1)) & ~(size_t)(W2P_ALIGN - 1);
    return n == 0 ? W2P_ALIGN : n;
}

void wasm2py_arena_per_thread(void)
{
}

w2p_slice *w2p_slice_new(size_t nbytes, size_t len)
{
    w2p_slice *s = bump_alloc(sizeof *s);
    void *data = bump_alloc(nbytes);
    if (s == NULL || data == NULL) {
        return NULL;
    }
    s->ptr = data;
    s->len = len;
    return s;
}

#if defined(__wasm__) && !defined(__wasi__)
/* ---- wasm32 without libc: linear memory after __heap_base, single-threaded --------- */

#define WASM_PAGE 65536u

/* Set by wasm-ld: the first byte after the data segments and the stack. */
extern unsigned char __heap_base;

static uintptr_t arena_start; /* 0 until the first allocation */
static uintptr_t arena_top;   /* next free byte; [arena_start, arena_top) is in use */

/* Grow the memory so that [0, end) is inside it. */
static int reserve(uintptr_t end)
{
    /* 64-bit arithmetic: 65536 pages * 65536 bytes does not fit in 32 bits. */
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * WASM_PAGE;
    if ((uint64_t)end <= have) {
        return 1;
    }
    uint64_t pages = ((uint64_t)end - have + WASM_PAGE - 1) / WASM_PAGE;
    return __builtin_wasm_memory_grow(0, (size_t)pages) != (size_t)-1;
}

void *bump_alloc(size_t size)
{
    if (arena_start == 0) {
        uintptr_t base = (uintptr_t)&__heap_base;
        arena_start = (base + (W2P_ALIGN - 1)) & ~(uintptr_t)(W2P_ALIGN - 1);
        arena_top = arena_start;
    }
    size_t n = block_size(size);
    if (n == 0 || n > UINTPTR_MAX - arena_top) {
        return NULL;
    }
    uintptr_t end = arena_top + n;
    if (!reserve(end)) {
        return NULL;
    }
    void *p = (void *)arena_top;
    arena_top = end;
    return p;
}

void bump_reset(void)
{
    if (arena_top > arena_start) {
        memset((void *)arena_start, 0, arena_top - arena_start);
    }
    arena_top = arena_start;
}

/* No libc: clang lowers struct copies and loops to calls to these. With -mbulk-memory
 * (build.sh) the builtins become memory.fill / memory.copy; without it, byte loops (LLVM
 * does not turn the loop of a function named memset/memcpy back into a call to itself). */
void *memset(void *dst, int c, size_t n)
{
#ifdef __wasm_bulk_memory__
    __builtin_memset(dst, c, n);
#else
    unsigned char *d = dst;
    while (n--) {
        *d++ = (unsigned char)c;
    }
#endif
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
#ifdef __wasm_bulk_memory__
    __builtin_memcpy(dst, src, n);
#else
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) {
        *d++ = *s++;
    }
#endif
    return dst;
}

#else
/* ---- native: one arena per thread, a list of malloc'd chunks ----------------------- */
/* ---- WASI (wasi-libc): the same chunks, from libc's malloc, which owns the memory
 *      after __heap_base; one thread, so one arena and no thread-exit hook. ---------- */

#include <stdlib.h>
#ifndef __wasi__
#include <pthread.h>
#endif

#define CHUNK_MIN ((size_t)64 * 1024) /* first chunk of a thread */
#define CHUNK_KEEP ((size_t)1 << 20)  /* largest chunk kept across resets */

typedef struct chunk {
    struct chunk *prev; /* older chunks, still in use until the next reset */
    unsigned char *data; /* W2P_ALIGN-aligned, cap bytes */
    size_t cap;
    size_t used;
} chunk;

typedef struct {
    chunk *cur;     /* newest (largest) chunk, or NULL */
    int registered; /* freed at thread exit through exit_key */
} arena;

#ifdef __wasi__
static arena tls_arena; /* wasm32-wasi has one thread */
#else
static _Thread_local arena tls_arena;

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;
#endif

/* memset through a volatile pointer: not removed as a dead store before free(). */
static void *(*volatile wipe)(void *, int, size_t) = memset;

static void chunk_free(chunk *c)
{
    wipe(c->data, 0, c->used);
    free(c);
}

static void free_older(chunk *c)
{
    while (c != NULL) {
        chunk *prev = c->prev;
        chunk_free(c);
        c = prev;
    }
}

#ifndef __wasi__
/* Runs when a thread that used the arena exits (Python servers start many threads). */
static void on_thread_exit(void *p)
{
    arena *a = p;
    free_older(a->cur);
    a->cur = NULL;
    a->registered = 0;
}

static void make_exit_key(void)
{
    exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
}
#endif

static chunk *chunk_new(size_t cap)
{
    size_t head = sizeof(chunk) + (W2P_ALIGN - 1);
    if (cap > SIZE_MAX - head) {
        return NULL;
    }
    chunk *c = calloc(1, head + cap);
    if (c == NULL) {
        return NULL;
    }
    uintptr_t data = ((uintptr_t)(c + 1) + (W2P_ALIGN - 1)) & ~(uintptr_t)(W2P_ALIGN - 1);
    c->data = (unsigned char *)data;
    c->cap = cap;
    return c;
}

void *bump_alloc(size_t size)
{
    arena *a = &tls_arena;
    size_t n = block_size(size);
    if (n == 0) {
        return NULL;
    }
    chunk *c = a->cur;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = CHUNK_MIN;
        if (c != NULL && c->cap <= SIZE_MAX / 2 && c->cap * 2 > cap) {
            cap = c->cap * 2;
        }
        if (cap < n) {
            cap = n;
        }
        chunk *fresh = chunk_new(cap);
        if (fresh == NULL) {
            return NULL;
        }
#ifndef __wasi__
        if (!a->registered) {
            pthread_once(&exit_once, make_exit_key);
            a->registered = exit_key_ok && pthread_setspecific(exit_key, a) == 0;
        }
#endif
        fresh->prev = c; /* old chunks stay valid until the next reset */
        a->cur = c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void bump_reset(void)
{
    arena *a = &tls_arena;
    chunk *c = a->cur;
    if (c == NULL) {
        return;
    }
    free_older(c->prev);
    c->prev = NULL;
    if (c->cap > CHUNK_KEEP) {
        chunk_free(c); /* do not keep a huge chunk per thread */
        a->cur = NULL;
    } else {
        memset(c->data, 0, c->used);
        c->used = 0;
    }
}

#endif
