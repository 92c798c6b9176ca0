/*
 * wasm2py.h: the C guest SDK of wasm2py, a single header (docs/guest-protocol.md).
 *
 * Write plain C functions; the header exports them, writes their annotations into the
 * module's "wasm2py" custom section, and brings the arena, the result pairs and the error
 * record of the memory protocol. In exactly one .c file of the library:
 *
 *     #define WASM2PY_IMPLEMENTATION
 *     #include "wasm2py.h"
 *
 *     W2P_SIG("/// The greatest common divisor of a and b.");
 *     W2P_SIG("gcd(a: u32, b: u32) -> u32");
 *     W2P_EXPORT(gcd) uint32_t gcd(uint32_t a, uint32_t b)
 *     {
 *         while (b != 0) { uint32_t t = a % b; a = b; b = t; }
 *         return a;
 *     }
 *
 *     W2P_SIG("/// text in upper case (ASCII letters only); refuses a NUL byte.");
 *     W2P_SIG("upper(text: str) -> str raises");
 *     W2P_EXPORT(upper) w2p_slice *upper(const uint8_t *text, size_t len)
 *     {
 *         uint8_t *out = w2p_alloc(len);        // zeroed, from the arena
 *         if (out == NULL) {
 *             return NULL;                      // "no room for the result" is recorded
 *         }
 *         for (size_t i = 0; i < len; i++) {
 *             if (text[i] == 0) {
 *                 return w2p_fail("a NUL byte in text");   // {Class}InputError
 *             }
 *             out[i] = (text[i] >= 'a' && text[i] <= 'z') ? text[i] - 32 : text[i];
 *         }
 *         return w2p_return(out, len);          // the {ptr, len} pair, in the arena
 *     }
 *
 * Other .c files of the same library include the header without the define.
 *
 * Builds (C11; -I the directory of this header; no --export-dynamic needed: W2P_EXPORT
 * names every export):
 *   clang --target=wasm32 -nostdlib -mbulk-memory -O2 -Wl,--no-entry -o lib.wasm lib.c
 *   clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -o lib.wasm lib.c
 *   gcc -shared -fPIC -pthread -O2 -o liblib.so lib.c            (or clang, natively)
 *
 * W2P_EXPORT(name)    Put it in front of a function definition (or declaration) whose C
 *                     name is `name`: the function is exported under that name from the
 *                     .wasm (export_name) and from the shared library (default
 *                     visibility). `name` must be the function's own name: the native
 *                     library exports the C name whatever `name` says.
 * W2P_SIG("text");    At file scope, repeatable, in order: one annotation line (`///` doc
 *                     lines and `#` comments too) for the module's "wasm2py" section on
 *                     wasm; nothing in the native build. The argument must be a plain
 *                     string literal (adjacent literals and macros expanding to them are
 *                     fine); its escapes are read by the assembler, which knows \" \\ \n
 *                     \t \r \b \f, octal \NNN and hex \xHH, and rejects the rest (\' \a \v
 *                     \? \u \U) with a build error; u8"", L"" literals fail the same way.
 *                     UTF-8 text may be written as is. A \n inside splits the line.
 * w2p_alloc(size)     A zeroed, 16-byte aligned block of `size` bytes from the arena
 *                     (distinct even for 0), valid until the call returns to Python; NULL
 *                     when there is no room, with "no room for the result" recorded.
 * w2p_return(p, len)  The result pair {p, len} of a bytes/str/list function (len counts
 *                     bytes, or elements for a list), allocated in the arena. `p` is
 *                     usually a w2p_alloc block, or static data. NULL, with "no room for
 *                     the result" recorded, when `p` is NULL or the pair does not fit.
 * w2p_fail(msg)       Records the NUL-terminated message and returns NULL. Python raises
 *                     {Class}InputError naming the function, with the message. In a
 *                     function returning a number: `w2p_fail("..."); return 0;`. The text
 *                     is copied, so a message built on the stack is fine: up to
 *                     W2P_MESSAGE_MAX bytes (default 1024) into a buffer of the thread's,
 *                     reused by every failure (a failing scalar function, whose call does
 *                     not reset the arena, then uses no arena space); a longer one into
 *                     the arena; when that is full, the pointer itself is kept (then only
 *                     text that outlives the call, such as a literal, arrives intact).
 * w2p_fail_len(msg, n)  The same for a message of n bytes, not NUL-terminated.
 *
 * A function that may fail is annotated with `raises` at the end of its line (Python then
 * reads the record after every call); a bytes/str/list function returning NULL is a
 * refusal with or without it.
 *
 * The implementation defines, and exports from both builds, the protocol's bump_alloc,
 * bump_reset (which zeroes what was used), wasm2py_error (the calling thread's error
 * record), the per-thread-arena marker wasm2py_arena_per_thread and wasm2py_arena (the
 * arena record of arena protocol version 2, w2p_arena_record, the same address on every
 * call), with which the host allocates inputs and resets the arena without calling the
 * guest. Natively the arena and the error record are per thread (_Thread_local; a thread's
 * arena is freed when it exits), so the native backend calls the library from many threads
 * at once; on wasm they are plain globals (an instance has one thread).
 *
 * The arena record: on wasm [base, limit) is the block the host may allocate in and top
 * its first free byte; the arena reads top from the record at every allocation (the host
 * moves it, unaligned) and writes it back. Without libc the block is the memory from
 * __heap_base (rounded up to W2P_ALIGN) to the memory's current end (limit follows every
 * memory.grow of bump_alloc); with wasi-libc it is the current chunk, set up by the first
 * wasm2py_arena() call. busy is nonzero while a message waits to be wiped (w2p_fail), and
 * with wasi-libc also while the arena holds more than one chunk or one too large to keep.
 * Natively the record is one for the library, base = top = limit = 0, and busy counts the
 * threads whose arena or message buffer holds anything (atomically: from a thread's first
 * allocation or message to its bump_reset, or its exit).
 *
 * Without libc (--target=wasm32) the arena is the linear memory after __heap_base, and the
 * implementation defines memset, memcpy and memmove as weak symbols (a library may define
 * its own); with wasi-libc and natively it is a list of malloc'd chunks. On wasm, define
 * W2P_FREESTANDING to 1 or 0 to override that choice (1: the arena after __heap_base and
 * the mem* functions; 0: malloc and <string.h>).
 *
 * Functions, types and macros whose names start with w2p__ / W2P__ are private.
 */
#ifndef WASM2PY_H
#define WASM2PY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef W2P_FREESTANDING
#if defined(__wasm__) && !defined(__wasi__)
#define W2P_FREESTANDING 1
#else
#define W2P_FREESTANDING 0
#endif
#endif

#if !W2P_FREESTANDING
#include <string.h>
#endif

#ifdef __cplusplus
#define W2P__EXTERN_C extern "C"
#define W2P__STATIC_ASSERT static_assert
extern "C" {
#else
#define W2P__EXTERN_C
#define W2P__STATIC_ASSERT _Static_assert
#endif

/* ---- exports and annotations -------------------------------------------------------- */

#ifdef __wasm__
#define W2P_EXPORT(name) \
    W2P__EXTERN_C __attribute__((visibility("default"), export_name(#name)))
#else
#define W2P_EXPORT(name) W2P__EXTERN_C __attribute__((visibility("default")))
#endif

#define W2P__STR(x) #x
#define W2P__XSTR(x) W2P__STR(x)
#define W2P__SIG_CHECK(text) \
    W2P__STATIC_ASSERT(sizeof("" text "") > 0, "W2P_SIG takes a string literal")

#ifdef __wasm__
/* clang 14 turns a variable in section ".custom_section.wasm2py" into a data segment
 * (which wasm-ld drops), so the line is written in top-level assembly: the literal,
 * stringised, is the assembler's string, escapes and all. Every use is its own top-level
 * asm statement; they are assembled in order, each appending to the section. */
#define W2P_SIG(text)                                                       \
    W2P__SIG_CHECK(text);                                                   \
    __asm__(".section .custom_section.wasm2py,\"\",@\n.ascii " W2P__XSTR(text) \
            "\n.ascii \"\\n\"\n.text\n")
#else
#define W2P_SIG(text) W2P__SIG_CHECK(text)
#endif

/* ---- the memory protocol and the error record --------------------------------------- */

/* A bytes/str/list result: a pointer to this pair, both in the arena (w2p_return).
 * len counts bytes for bytes/str and elements for lists. */
typedef struct {
    void *ptr;
    size_t len;
} w2p_slice;

/* The error record read by the generated code (status: one of the W2P_STATUS_ values). */
typedef struct {
    size_t status;
    const char *ptr; /* status 1: the message, UTF-8, not NUL-terminated */
    size_t len;      /*           its length in bytes */
} w2p_error;

/* The arena record (arena protocol version 2): what the host needs to allocate inputs and
 * to reset the arena without calling the guest. wasm2py_arena() returns its address, the
 * same on every call. All four words are addresses or counts in the guest's memory. */
typedef struct {
    size_t base;  /* start of the block the host may allocate in */
    size_t top;   /* its first free byte: base <= top <= limit (may be unaligned) */
    size_t limit; /* end of the block */
    size_t busy;  /* nonzero: bump_reset() has more to release than [base, top) */
} w2p_arena_record;

#define W2P_STATUS_OK 0u      /* no error */
#define W2P_STATUS_MESSAGE 1u /* refused, with a message (w2p_fail) */
#define W2P_STATUS_NO_ROOM 2u /* no room for the result (w2p_alloc, w2p_return) */

#define W2P_ALIGN 16u

#ifndef W2P_MESSAGE_MAX
#define W2P_MESSAGE_MAX 1024 /* longer w2p_fail messages are copied into the arena */
#endif

#ifndef W2P__HIDDEN
#define W2P__HIDDEN __attribute__((visibility("hidden")))
#endif

W2P__HIDDEN void *w2p_alloc(size_t size);
W2P__HIDDEN w2p_slice *w2p_return(const void *ptr, size_t len);
W2P__HIDDEN void *w2p_fail(const char *message);
W2P__HIDDEN void *w2p_fail_len(const char *message, size_t len);

/* The exports of the protocol, defined by the implementation. */
W2P_EXPORT(bump_alloc) void *bump_alloc(size_t size);
W2P_EXPORT(bump_reset) void bump_reset(void);
W2P_EXPORT(wasm2py_error) w2p_error *wasm2py_error(void);
W2P_EXPORT(wasm2py_arena_per_thread) void wasm2py_arena_per_thread(void);
W2P_EXPORT(wasm2py_arena) w2p_arena_record *wasm2py_arena(void);

#if W2P_FREESTANDING
/* No libc: clang may emit calls to these for loops and struct copies; the implementation
 * defines them (weak). */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *__restrict dst, const void *__restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
#endif

#ifdef __cplusplus
}
#endif

#endif /* WASM2PY_H */

/* ==== the implementation ============================================================= */

#if defined(WASM2PY_IMPLEMENTATION) && !defined(W2P__IMPLEMENTED)
#define W2P__IMPLEMENTED

#ifdef __cplusplus
#error "compile the file that defines WASM2PY_IMPLEMENTATION as C (C11 or later)"
#endif

/* The arena and the error record: one per thread natively, globals on wasm. */
#ifdef __wasm__
#define W2P__PER_THREAD static
#else
#define W2P__PER_THREAD static _Thread_local
#endif

W2P__PER_THREAD w2p_error w2p__error;
W2P__PER_THREAD char w2p__message[W2P_MESSAGE_MAX]; /* the last w2p_fail text, when short */
W2P__PER_THREAD size_t w2p__message_used;           /* bytes of it to wipe at bump_reset */

/* bump_reset wipes the last short message too: it was read before the reset. */
static void w2p__wipe_message(void)
{
    if (w2p__message_used > 0) {
        memset(w2p__message, 0, w2p__message_used);
        w2p__message_used = 0;
    }
}

/* size rounded up to W2P_ALIGN (at least W2P_ALIGN, so every block is distinct); 0 when
 * that overflows. */
static size_t w2p__block_size(size_t size)
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

#if W2P_FREESTANDING
/* ---- wasm32 without libc: the linear memory after __heap_base ------------------------ */

#define W2P__PAGE 65536u

#if defined(__has_warning)
#if __has_warning("-Wreserved-identifier")
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreserved-identifier"
#define W2P__POP_DIAGNOSTIC
#endif
#endif
extern unsigned char __heap_base; /* set by wasm-ld: after the data and the stack */
#ifdef W2P__POP_DIAGNOSTIC
#pragma clang diagnostic pop
#endif

static uintptr_t w2p__start; /* 0 until set up: __heap_base rounded up to W2P_ALIGN */
static uintptr_t w2p__high;  /* the end of the guest's blocks since the last bump_reset */

/* The arena record: [base, limit) is the memory from w2p__start to the end of the memory
 * (refreshed at every bump_alloc and bump_reset: the memory only grows), top the arena's
 * top, which the host moves too. busy: a message waits in w2p__message. Zeros until
 * wasm2py_arena, bump_alloc or bump_reset sets it up. */
static w2p_arena_record w2p__record;

/* The memory's current size in bytes (SIZE_MAX for a full 4 GiB wasm32 memory). */
static size_t w2p__memory_end(void)
{
    uint64_t bytes = (uint64_t)__builtin_wasm_memory_size(0) * W2P__PAGE;
    return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

static void w2p__setup(void)
{
    if (w2p__start == 0) {
        uintptr_t base = (uintptr_t)&__heap_base;
        w2p__start = (base + (W2P_ALIGN - 1)) & ~(uintptr_t)(W2P_ALIGN - 1);
        w2p__high = w2p__start;
        w2p__record.top = w2p__start;
        w2p__record.busy = w2p__message_used > 0;
    }
    size_t end = w2p__memory_end();
    w2p__record.base = w2p__start;
    w2p__record.limit = end > w2p__start ? end : w2p__start;
}

static void w2p__note_message(void)
{
    w2p__record.busy = 1;
}

w2p_arena_record *wasm2py_arena(void)
{
    w2p__setup(); /* so the host can write the first input itself */
    return &w2p__record;
}

/* Grows the memory so that [0, end) is inside it. */
static int w2p__reserve(uintptr_t end)
{
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * W2P__PAGE;
    if ((uint64_t)end <= have) {
        return 1;
    }
    uint64_t pages = ((uint64_t)end - have + W2P__PAGE - 1) / W2P__PAGE;
    return __builtin_wasm_memory_grow(0, (size_t)pages) != (size_t)-1;
}

void *bump_alloc(size_t size)
{
    w2p__setup();
    /* The top is the record's: the host may have moved it (not rounded). One below the
     * arena is not ours: carry on after the guest's own blocks. */
    uintptr_t top = w2p__record.top;
    if (top < w2p__start) {
        top = w2p__high;
    }
    size_t n = w2p__block_size(size);
    if (n == 0 || top > UINTPTR_MAX - (W2P_ALIGN - 1)) {
        return NULL;
    }
    uintptr_t at = (top + (W2P_ALIGN - 1)) & ~(uintptr_t)(W2P_ALIGN - 1);
    if (n > UINTPTR_MAX - at) {
        return NULL;
    }
    uintptr_t end = at + n;
    if (!w2p__reserve(end)) {
        return NULL;
    }
    w2p__record.top = end; /* memory starts zeroed, bump_reset zeroes what was used */
    if (end > w2p__high) {
        w2p__high = end;
    }
    w2p__setup(); /* the limit, after a memory.grow */
    return (void *)at;
}

void bump_reset(void)
{
    w2p__wipe_message();
    w2p__setup();
    /* Zero up to the guest's own blocks or the host's top, whichever is higher (a top past
     * the memory's end is not ours). */
    uintptr_t end = w2p__high;
    uintptr_t top = w2p__record.top;
    if (top > end && top <= w2p__memory_end()) {
        end = top;
    }
    if (end > w2p__start) {
        memset((void *)w2p__start, 0, end - w2p__start);
    }
    w2p__high = w2p__start;
    w2p__record.top = w2p__start;
    w2p__record.busy = 0;
}

/* With -mbulk-memory the builtins are memory.fill / memory.copy; without it, byte loops
 * (LLVM does not turn the loop of a function named memset/memcpy into a call to itself).
 * Weak: a library that brings its own wins. */
__attribute__((weak)) void *memset(void *dst, int c, size_t n)
{
#ifdef __wasm_bulk_memory__
    __builtin_memset(dst, c, n);
#else
    unsigned char *d = (unsigned char *)dst;
    while (n--) {
        *d++ = (unsigned char)c;
    }
#endif
    return dst;
}

__attribute__((weak)) void *memcpy(void *__restrict dst, const void *__restrict src, size_t n)
{
#ifdef __wasm_bulk_memory__
    __builtin_memcpy(dst, src, n);
#else
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    while (n--) {
        *d++ = *s++;
    }
#endif
    return dst;
}

__attribute__((weak)) void *memmove(void *dst, const void *src, size_t n)
{
#ifdef __wasm_bulk_memory__
    __builtin_memmove(dst, src, n); /* memory.copy allows overlap */
#else
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d < s) {
        while (n--) {
            *d++ = *s++;
        }
    } else if (d > s) {
        while (n--) {
            d[n] = s[n];
        }
    }
#endif
    return dst;
}

#else
/* ---- natively: one arena per thread, a list of malloc'd chunks, freed at thread exit.
 * ---- wasi-libc: the same chunks from libc's malloc (which owns the memory after
 *      __heap_base); one thread, so one arena and no exit hook. ------------------------ */

#include <stdlib.h>
#ifndef __wasm__
#include <pthread.h>
#endif

/* 1: the arena record mirrors the current chunk, and the host may allocate in it and reset
 * it (wasi-libc: one thread). 0: the native record, base = top = limit = 0 and busy
 * counting the threads whose arena holds anything. Private: tests define it to 1 natively
 * to run the wasm logic, on one thread. */
#ifndef W2P__RECORD_MIRRORS_CHUNK
#ifdef __wasm__
#define W2P__RECORD_MIRRORS_CHUNK 1
#else
#define W2P__RECORD_MIRRORS_CHUNK 0
#endif
#endif

#define W2P__CHUNK_MIN ((size_t)64 * 1024) /* first chunk of a thread */
#define W2P__CHUNK_KEEP ((size_t)1 << 20)  /* largest chunk kept across resets */

typedef struct w2p__chunk {
    struct w2p__chunk *prev; /* older chunks, in use until the next reset */
    unsigned char *data;     /* W2P_ALIGN-aligned, cap bytes */
    size_t cap;
    size_t used; /* bytes to wipe; the current chunk's top too, unless the record has it */
} w2p__chunk;

typedef struct {
    w2p__chunk *cur; /* newest (largest) chunk, or NULL */
    int registered;  /* freed at thread exit through w2p__exit_key */
    int counted;     /* native record: this thread is counted in its busy */
} w2p__arena;

W2P__PER_THREAD w2p__arena w2p__the_arena;

/* memset through a volatile pointer: not removed as a dead store before free(). */
static void *(*volatile w2p__wipe)(void *, int, size_t) = memset;

static void w2p__chunk_free(w2p__chunk *c)
{
    w2p__wipe(c->data, 0, c->used);
    free(c);
}

static void w2p__free_chain(w2p__chunk *c)
{
    while (c != NULL) {
        w2p__chunk *prev = c->prev;
        w2p__chunk_free(c);
        c = prev;
    }
}

#if W2P__RECORD_MIRRORS_CHUNK
/* The record of this (the only) thread: the current chunk [data, data + cap), its top, and
 * busy when bump_reset must do more than zero [base, top): free older chunks, free a chunk
 * too large to keep, or wipe a message. Zeros while there is no chunk. */
W2P__PER_THREAD w2p_arena_record w2p__record;

/* The current chunk's top, as an offset, from the record (the host moves it, unrounded).
 * A top outside the chunk is not ours: the chunk counts as full, so nothing is written
 * outside it and all of it is wiped. Raises c->used, the extent to wipe, to that top. */
static size_t w2p__cur_top(w2p__chunk *c)
{
    uintptr_t data = (uintptr_t)c->data;
    size_t top = w2p__record.top;
    size_t at = top < data || top - data > c->cap ? c->cap : top - data;
    if (at > c->used) {
        c->used = at;
    }
    return at;
}

/* Writes the record from the arena, with its top at offset `top` of the current chunk. */
static void w2p__publish(const w2p__arena *a, size_t top)
{
    const w2p__chunk *c = a->cur;
    if (c == NULL) {
        w2p__record.base = w2p__record.top = w2p__record.limit = 0;
        w2p__record.busy = w2p__message_used > 0;
        return;
    }
    uintptr_t data = (uintptr_t)c->data;
    w2p__record.base = data;
    w2p__record.top = data + top;
    w2p__record.limit = data + c->cap;
    w2p__record.busy = c->prev != NULL || c->cap > W2P__CHUNK_KEEP || w2p__message_used > 0;
}

static void w2p__note_message(void)
{
    w2p__record.busy = 1;
}
#else
/* One record for the library: base = top = limit = 0, busy the number of threads whose
 * arena or message buffer holds anything (atomic). A thread is counted from its first
 * allocation or message after a reset to its next reset, or its exit. */
static w2p_arena_record w2p__record;
#endif

#ifndef __wasm__
static pthread_key_t w2p__exit_key;
static pthread_once_t w2p__exit_once = PTHREAD_ONCE_INIT;
static int w2p__exit_key_ok;

static void w2p__uncount(w2p__arena *a);

/* Runs when a thread that used the arena exits (Python servers start many threads). */
static void w2p__on_thread_exit(void *p)
{
    w2p__arena *a = (w2p__arena *)p;
    w2p__free_chain(a->cur);
    a->cur = NULL;
    w2p__wipe_message();
    w2p__uncount(a);
    a->registered = 0;
}

static void w2p__make_exit_key(void)
{
    w2p__exit_key_ok = pthread_key_create(&w2p__exit_key, w2p__on_thread_exit) == 0;
}
#endif

/* Asks for w2p__on_thread_exit at this thread's exit (natively). */
static void w2p__register(w2p__arena *a)
{
#ifndef __wasm__
    if (!a->registered) {
        pthread_once(&w2p__exit_once, w2p__make_exit_key);
        a->registered = w2p__exit_key_ok && pthread_setspecific(w2p__exit_key, a) == 0;
    }
#else
    (void)a;
#endif
}

#if !W2P__RECORD_MIRRORS_CHUNK
static void w2p__count(w2p__arena *a)
{
    if (!a->counted) {
        w2p__register(a);
        a->counted = 1;
        __atomic_fetch_add(&w2p__record.busy, (size_t)1, __ATOMIC_SEQ_CST);
    }
}

static void w2p__note_message(void)
{
    w2p__count(&w2p__the_arena);
}
#endif

#ifndef __wasm__
static void w2p__uncount(w2p__arena *a)
{
#if W2P__RECORD_MIRRORS_CHUNK
    (void)a;
#else
    if (a->counted) {
        a->counted = 0;
        __atomic_fetch_sub(&w2p__record.busy, (size_t)1, __ATOMIC_SEQ_CST);
    }
#endif
}
#endif

static w2p__chunk *w2p__chunk_new(size_t cap)
{
    size_t head = sizeof(w2p__chunk) + (W2P_ALIGN - 1);
    if (cap > SIZE_MAX - head) {
        return NULL;
    }
    w2p__chunk *c = (w2p__chunk *)calloc(1, head + cap);
    if (c == NULL) {
        return NULL;
    }
    uintptr_t data = ((uintptr_t)(c + 1) + (W2P_ALIGN - 1)) & ~(uintptr_t)(W2P_ALIGN - 1);
    c->data = (unsigned char *)data;
    c->cap = cap;
    return c;
}

#if W2P__RECORD_MIRRORS_CHUNK
/* A first chunk, so that the host can write the next input itself (the record stays
 * empty, and the host calls bump_alloc, when there is no memory for it). */
static void w2p__first_chunk(w2p__arena *a)
{
    if (a->cur == NULL) {
        w2p__chunk *fresh = w2p__chunk_new(W2P__CHUNK_MIN);
        if (fresh != NULL) {
            w2p__register(a);
            a->cur = fresh;
        }
    }
}
#endif

w2p_arena_record *wasm2py_arena(void)
{
#if W2P__RECORD_MIRRORS_CHUNK
    w2p__arena *a = &w2p__the_arena;
    if (a->cur == NULL) {
        w2p__first_chunk(a);
        w2p__publish(a, 0);
    }
#endif
    return &w2p__record;
}

void *bump_alloc(size_t size)
{
    w2p__arena *a = &w2p__the_arena;
    size_t n = w2p__block_size(size);
    if (n == 0) {
        return NULL;
    }
    w2p__chunk *c = a->cur;
    size_t at = 0;
    if (c != NULL) {
#if W2P__RECORD_MIRRORS_CHUNK
        /* cur_top <= cap, and cap + W2P_ALIGN cannot overflow (w2p__chunk_new) */
        at = (w2p__cur_top(c) + (W2P_ALIGN - 1)) & ~(size_t)(W2P_ALIGN - 1);
#else
        at = c->used;
#endif
    }
    if (c == NULL || at > c->cap || c->cap - at < n) {
        size_t cap = W2P__CHUNK_MIN;
        if (c != NULL && c->cap <= SIZE_MAX / 2 && c->cap * 2 > cap) {
            cap = c->cap * 2;
        }
        if (cap < n) {
            cap = n;
        }
        w2p__chunk *fresh = w2p__chunk_new(cap);
        if (fresh == NULL) {
            return NULL;
        }
        w2p__register(a);
        fresh->prev = c; /* older chunks stay valid until the next reset */
        a->cur = c = fresh;
        at = 0;
    }
    void *p = c->data + at;
#if W2P__RECORD_MIRRORS_CHUNK
    if (at + n > c->used) {
        c->used = at + n;
    }
    w2p__publish(a, at + n);
#else
    c->used = at + n;
    w2p__count(a); /* before the data is handed out */
#endif
    return p;
}

void bump_reset(void)
{
    w2p__wipe_message();
    w2p__arena *a = &w2p__the_arena;
    w2p__chunk *c = a->cur;
    if (c != NULL) {
#if W2P__RECORD_MIRRORS_CHUNK
        (void)w2p__cur_top(c); /* the host's inputs are wiped too */
#endif
        w2p__free_chain(c->prev);
        c->prev = NULL;
        if (c->cap > W2P__CHUNK_KEEP) {
            w2p__chunk_free(c); /* do not keep a huge chunk per thread */
            a->cur = NULL;
        } else {
            memset(c->data, 0, c->used);
            c->used = 0;
        }
    }
#if W2P__RECORD_MIRRORS_CHUNK
    w2p__first_chunk(a); /* after a chunk too large to keep */
    w2p__publish(a, 0);
#else
    w2p__uncount(a); /* after everything is released */
#endif
}

#endif /* W2P_FREESTANDING */

/* ---- results and errors -------------------------------------------------------------- */

w2p_error *wasm2py_error(void)
{
    return &w2p__error;
}

static void *w2p__no_room(void)
{
    w2p__error.status = W2P_STATUS_NO_ROOM;
    w2p__error.ptr = NULL;
    w2p__error.len = 0;
    return NULL;
}

void *w2p_alloc(size_t size)
{
    void *p = bump_alloc(size);
    return p != NULL ? p : w2p__no_room();
}

w2p_slice *w2p_return(const void *ptr, size_t len)
{
    if (ptr == NULL) {
        return (w2p_slice *)w2p__no_room();
    }
    w2p_slice *s = (w2p_slice *)bump_alloc(sizeof *s);
    if (s == NULL) {
        return (w2p_slice *)w2p__no_room();
    }
    s->ptr = (void *)(uintptr_t)ptr;
    s->len = len;
    return s;
}

void *w2p_fail_len(const char *message, size_t len)
{
    if (message == NULL) {
        message = "";
        len = 0;
    }
    char *copy = len <= sizeof w2p__message ? w2p__message : (char *)bump_alloc(len);
    if (copy != NULL) {
        memmove(copy, message, len); /* message may be the previous one, in w2p__message */
        message = copy;
        if (copy == w2p__message && len > w2p__message_used) {
            w2p__message_used = len;
            w2p__note_message(); /* the record's busy: bump_reset must wipe it */
        }
    }
    w2p__error.status = W2P_STATUS_MESSAGE;
    w2p__error.ptr = message;
    w2p__error.len = len;
    return NULL;
}

void *w2p_fail(const char *message)
{
    size_t len = 0;
    if (message != NULL) {
        while (message[len] != '\0') {
            len++;
        }
    }
    return w2p_fail_len(message, len);
}

#endif /* WASM2PY_IMPLEMENTATION */
