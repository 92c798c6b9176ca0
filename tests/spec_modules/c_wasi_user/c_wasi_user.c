/*
 * c_wasi_user: a WASI guest in C written from SPEC.md alone ("Memory protocol", "WASI
 * modules"), with wasi-libc: malloc, snprintf, strlen, stdio, exit, abort, and a
 * constructor whose work every export depends on. Annotations: c_wasi_user.wasm2py.
 *
 * Built as a wasi-libc reactor (clang --target=wasm32-wasi -mexec-model=reactor: the
 * constructor runs from _initialize) and natively with gcc -shared -fPIC (the constructor
 * runs when the library is loaded): see ../build.sh.
 *
 * The arena is a plain global buffer, as the article's readers write it: one per module,
 * not one per thread (the SPEC has the native backend serialise calls that use it).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name) __attribute__((visibility("default")))
#endif

/* ---- the memory protocol: one global arena ------------------------------------------ */

#define ARENA_SIZE ((size_t)1 << 20)
#define ARENA_ALIGN 16

static _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];
static size_t arena_top;

EXPORT(bump_alloc) void *bump_alloc(size_t size)
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

EXPORT(bump_reset) void bump_reset(void)
{
    memset(arena, 0, arena_top);
    arena_top = 0;
}

/* A bytes/str result: {data pointer, length}, both in the arena. */
typedef struct {
    void *ptr;
    size_t len;
} slice;

static slice *give(const void *data, size_t len)
{
    slice *s = bump_alloc(sizeof *s);
    void *copy = bump_alloc(len);
    if (s == NULL || copy == NULL) {
        return NULL;
    }
    memcpy(copy, data, len);
    s->ptr = copy;
    s->len = len;
    return s;
}

/* ---- set up by the constructor ------------------------------------------------------ */

static uint32_t crc_table[256]; /* zero until the constructor has run */
static char *banner;            /* malloc'd by the constructor; NULL before */
static uint32_t init_count;     /* how often the constructor ran in this instance */

__attribute__((constructor)) static void setup(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[i] = c;
    }
    char text[64];
    int n = snprintf(text, sizeof text, "c_wasi_user ready (crc[255]=%08x)", (unsigned)crc_table[255]);
    if (n > 0) {
        banner = malloc(strlen(text) + 1);
        if (banner != NULL) {
            memcpy(banner, text, strlen(text) + 1);
        }
    }
    init_count++;
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- scalar functions (safe from any thread natively: no arena) --------------------- */

EXPORT(init_runs) uint32_t init_runs(void)
{
    return init_count;
}

EXPORT(crc_entry) uint32_t crc_entry(uint8_t i)
{
    return crc_table[i];
}

/* The CRC-32 of x's four bytes, little-endian (zlib.crc32(x.to_bytes(4, "little"))). */
EXPORT(crc32_u32) uint32_t crc32_u32(uint32_t x)
{
    uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};
    return crc_update(0, b, sizeof b);
}

EXPORT(banner_length) uint32_t banner_length(void)
{
    return banner == NULL ? 0 : (uint32_t)strlen(banner);
}

static uint32_t calls;

EXPORT(counter_next) uint32_t counter_next(void)
{
    return ++calls;
}

/* x itself when positive; abort() (a trap on wasm) otherwise. */
EXPORT(must_be_positive) int32_t must_be_positive(int32_t x)
{
    if (x <= 0) {
        fprintf(stderr, "must_be_positive: %d is not positive\n", x);
        abort();
    }
    return x;
}

/* ---- functions that use the arena --------------------------------------------------- */

EXPORT(crc32) uint32_t crc32(const uint8_t *p, size_t n)
{
    return crc_update(0, p, n);
}

EXPORT(get_banner) slice *get_banner(void)
{
    if (banner == NULL) {
        return NULL;
    }
    return give(banner, strlen(banner));
}

/* "<banner> greets <name>", built in a malloc'd buffer with snprintf. */
EXPORT(greet) slice *greet(const char *name, size_t len)
{
    if (banner == NULL || len > 1 << 20) {
        return NULL;
    }
    size_t size = strlen(banner) + sizeof " greets " + len;
    char *text = malloc(size);
    if (text == NULL) {
        return NULL;
    }
    snprintf(text, size, "%s greets %.*s", banner, (int)len, name);
    slice *out = give(text, strlen(text));
    free(text);
    return out;
}

/* Writes text and a newline to stdout, flushed. */
EXPORT(print_line) void print_line(const char *text, size_t len)
{
    printf("%.*s\n", (int)len, text);
    fflush(stdout);
}

/* Writes text and a newline to stderr (unbuffered). */
EXPORT(print_error) void print_error(const char *text, size_t len)
{
    fprintf(stderr, "%.*s\n", (int)len, text);
}

/* Writes text to stdout without flushing, then exit(code): exit flushes it. */
EXPORT(print_then_exit) void print_then_exit(const char *text, size_t len, int32_t code)
{
    printf("%.*s", (int)len, text);
    exit(code);
}
