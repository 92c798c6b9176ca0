/*
 * cwasi: a C library built with wasi-libc, as a WASI reactor (clang --target=wasm32-wasi
 * -mexec-model=reactor), and natively (gcc -shared). It uses libc for real (malloc,
 * snprintf, strlen, printf) and has a constructor that fills a table its exports read:
 * on wasm the constructor runs in the reactor's _initialize, natively when the library is
 * loaded. If it did not run, initialized() is false and table_lookup() returns 0.
 * The annotations are in the sidecar cwasi.wasm2py; see build.sh for the builds.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define TABLE_SIZE 256u

static uint32_t table[TABLE_SIZE]; /* table[i] = i * i + 1 once the constructor ran */
static bool ready;

__attribute__((constructor)) static void cwasi_init(void)
{
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        table[i] = i * i + 1u;
    }
    ready = true;
}

/* Whether the constructor ran. */
W2P_EXPORT bool initialized(void)
{
    return ready;
}

/* table[i] = i * i + 1 for i < 256 (filled by the constructor); 0 for any other i. */
W2P_EXPORT uint32_t table_lookup(uint32_t i)
{
    return i < TABLE_SIZE ? table[i] : 0u;
}

/* n in decimal, by snprintf. */
W2P_EXPORT w2p_slice *format_number(int64_t n)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%" PRId64, n);
    if (len < 0 || (size_t)len >= sizeof buf) {
        return NULL;
    }
    w2p_slice *out = w2p_slice_new((size_t)len, (size_t)len);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out->ptr, buf, (size_t)len);
    return out;
}

/* strlen of a NUL-terminated malloc'd copy of text: its length up to the first NUL byte.
 * UINT32_MAX when malloc fails. */
W2P_EXPORT uint32_t str_length(const uint8_t *text, size_t len)
{
    if (len == SIZE_MAX) {
        return UINT32_MAX;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return UINT32_MAX;
    }
    if (len > 0) {
        memcpy(copy, text, len);
    }
    copy[len] = '\0';
    size_t n = strlen(copy);
    free(copy);
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The article's Fibonacci, naive recursion (slow on purpose), modulo 2^64. */
W2P_EXPORT uint64_t fibonacci_c(uint32_t n)
{
    if (n <= 1) {
        return n;
    }
    return fibonacci_c(n - 1) + fibonacci_c(n - 2);
}

/* printf("said: %s\n") of text to stdout and "cwasi: said N bytes\n" to stderr, flushed
 * (stdout is fully buffered when it is not a terminal, as it is under wasm2py). */
W2P_EXPORT void say(const uint8_t *text, size_t len)
{
    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    printf("said: %.*s\n", (int)len, (const char *)text);
    fflush(stdout);
    fprintf(stderr, "cwasi: said %zu bytes\n", len);
}
