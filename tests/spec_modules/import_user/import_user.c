/*
 * import_user: a wasm2py guest in C with host imports, written from SPEC.md alone ("Memory
 * protocol", "Host imports"): the functions it imports from "env" are written in Python
 * and bound with ImportUser(imports={"env.name": fn, ...}). Annotations of both the
 * exports and the imports: import_user.wasm2py (env.tick is deliberately left
 * unannotated: it gets its core type).
 *
 * Built for wasm32 only, without libc (clang --target=wasm32 -nostdlib): see ../build.sh.
 * Host imports are a wasm-backend feature, so there is no native build.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* ---- what the host provides ---------------------------------------------------------- */

IMPORT(log) void host_log(const char *msg, size_t len);
IMPORT(add) uint32_t host_add(uint32_t a, uint32_t b);
IMPORT(transform) double host_transform(double x);
IMPORT(allowed) bool host_allowed(int32_t id);
IMPORT(digest) uint64_t host_digest(const uint8_t *data, size_t len);
IMPORT(tick) int32_t host_tick(int32_t x);

/* ---- the memory protocol: one global arena (a wasm instance runs one call at a time) -- */

#define ARENA_SIZE ((size_t)1 << 16)
#define ARENA_ALIGN 16

static _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];
static size_t arena_top;

/* No libc: clang emits calls to memset/memcpy for loops and copies. */
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

/* How much of the arena is in use: 0 between calls when every call resets it. */
EXPORT uint32_t arena_used(void)
{
    return (uint32_t)arena_top;
}

/* ---- the functions ------------------------------------------------------------------- */

static uint32_t calls;

/* 1, 2, 3, ...: counts the calls to this function on this instance. */
EXPORT uint32_t counter_next(void)
{
    return ++calls;
}

EXPORT uint32_t add_via_host(uint32_t a, uint32_t b)
{
    return host_add(a, b);
}

/* Sends "hello, <name>" (built in the arena) to env.log; returns its length. */
EXPORT uint32_t log_greeting(const char *name, size_t len)
{
    static const char prefix[] = "hello, ";
    size_t n = sizeof prefix - 1 + len;
    char *msg = bump_alloc(n);
    if (msg == NULL) {
        return 0;
    }
    memcpy(msg, prefix, sizeof prefix - 1);
    memcpy(msg + sizeof prefix - 1, name, len);
    host_log(msg, n);
    return (uint32_t)n;
}

/* transform(x) + 1. */
EXPORT double apply(double x)
{
    return host_transform(x) + 1.0;
}

/* How many of 0 .. n-1 env.allowed accepts. */
EXPORT int32_t count_allowed(int32_t n)
{
    int32_t count = 0;
    for (int32_t i = 0; i < n; i++) {
        if (host_allowed(i)) {
            count++;
        }
    }
    return count;
}

/* env.digest of data reversed (so the host sees a copy made in the arena). */
EXPORT uint64_t digest_reversed(const uint8_t *data, size_t len)
{
    uint8_t *copy = bump_alloc(len);
    if (copy == NULL) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        copy[i] = data[len - 1 - i];
    }
    return host_digest(copy, len);
}

EXPORT int32_t tick(int32_t x)
{
    return host_tick(x);
}
