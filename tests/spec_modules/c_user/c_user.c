/*
 * c_user: a wasm2py guest in C written from SPEC.md and docs/guest-protocol.md alone,
 * with its own arena (nothing shared with guests/c). Annotations: c_user.wasm2py.
 *
 * Built without libc for wasm32 and as a native shared library: see ../build.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- the arena: a 1 MiB buffer, one per thread on the native build ------------------ */

#define ARENA_SIZE ((size_t)1 << 20)
#define ARENA_ALIGN 16

#ifdef __wasm__
#define ARENA_STORAGE static
/* No libc on wasm32: clang emits calls to memset/memcpy for loops and copies. (LLVM does
 * not turn the loop of a function named memset/memcpy back into a call to itself.) */
void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}
#else
#include <string.h>
#define ARENA_STORAGE static _Thread_local
#endif

ARENA_STORAGE _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];
ARENA_STORAGE size_t arena_top;

EXPORT void *bump_alloc(size_t size)
{
    size_t n = size == 0 ? 1 : size;
    if (n > ARENA_SIZE) {
        return NULL;
    }
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n > ARENA_SIZE - arena_top) {
        return NULL;
    }
    void *p = arena + arena_top;
    arena_top += n;
    return p;
}

EXPORT void bump_reset(void)
{
    memset(arena, 0, arena_top);
    arena_top = 0;
}

/* A bytes/str/list result: {data pointer, length}, both in the arena. */
typedef struct {
    void *ptr;
    size_t len;
} w2p_slice;

static w2p_slice *new_slice(size_t nbytes, size_t len)
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

/* ---- the functions ----------------------------------------------------------------- */

EXPORT uint32_t adler32(const uint8_t *p, size_t n)
{
    const uint32_t mod = 65521u;
    uint32_t a = 1, b = 0;
    while (n > 0) {
        size_t block = n < 5552 ? n : 5552; /* no overflow of b before the modulo */
        n -= block;
        while (block--) {
            a += *p++;
            b += a;
        }
        a %= mod;
        b %= mod;
    }
    return (b << 16) | a;
}

/* The words of text (split on single spaces) in reverse order, joined by single spaces:
 * " ".join(reversed(text.split(" "))) in Python. */
EXPORT w2p_slice *reverse_words(const uint8_t *p, size_t n)
{
    w2p_slice *out = new_slice(n, n);
    if (out == NULL) {
        return NULL;
    }
    uint8_t *d = out->ptr;
    size_t end = n; /* the word being copied is p[start, end) */
    size_t w = 0;
    for (size_t i = n; ; i--) {
        if (i == 0 || p[i - 1] == ' ') {
            if (end > i) {
                memcpy(d + w, p + i, end - i);
                w += end - i;
            }
            if (i == 0) {
                break;
            }
            d[w++] = ' ';
            end = i - 1;
        }
    }
    return out;
}

EXPORT w2p_slice *squares(const int64_t *xs, size_t n)
{
    if (n > SIZE_MAX / sizeof(int64_t)) {
        return NULL;
    }
    w2p_slice *out = new_slice(n * sizeof(int64_t), n);
    if (out == NULL) {
        return NULL;
    }
    int64_t *d = out->ptr;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)xs[i]; /* unsigned: wraps without undefined behaviour */
        d[i] = (int64_t)(x * x);
    }
    return out;
}

EXPORT bool has_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0) {
            return true;
        }
    }
    return false;
}

EXPORT uint64_t mul_u64(uint64_t a, uint64_t b)
{
    return a * b;
}
