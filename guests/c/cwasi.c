/*
 * cwasi: a C library built with wasi-libc, as a WASI reactor (clang --target=wasm32-wasi
 * -mexec-model=reactor), and natively (gcc -shared). It uses libc for real (malloc,
 * snprintf, strlen, printf) and has a constructor that fills a table its exports read:
 * on wasm the constructor runs in the reactor's _initialize, natively when the library is
 * loaded. If it did not run, initialized() is false and table_lookup() returns 0.
 * Exports, annotations (W2P_SIG, the module's "wasm2py" section) and the arena come from
 * the SDK header wasm2py.h; see build.sh for the builds.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WASM2PY_IMPLEMENTATION
#include "wasm2py.h"

W2P_SIG("# cwasi: C built with wasi-libc as a WASI reactor (and natively as libcwasi.so).");
W2P_SIG("# A constructor fills the table the exports read; it runs in _initialize on wasm");
W2P_SIG("# and when the library is loaded natively.");

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

W2P_SIG("/// Whether the library's constructor ran.");
W2P_SIG("initialized() -> bool");
W2P_EXPORT(initialized) bool initialized(void)
{
    return ready;
}

W2P_SIG("/// i * i + 1 for i < 256, read from the table the constructor filled; 0 for any other i.");
W2P_SIG("table_lookup(i: u32) -> u32");
W2P_EXPORT(table_lookup) uint32_t table_lookup(uint32_t i)
{
    return i < TABLE_SIZE ? table[i] : 0u;
}

W2P_SIG("/// n in decimal (snprintf).");
W2P_SIG("format_number(n: i64) -> str");
W2P_EXPORT(format_number) w2p_slice *format_number(int64_t n)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%" PRId64, n);
    if (len < 0 || (size_t)len >= sizeof buf) {
        return NULL;
    }
    char *out = w2p_alloc((size_t)len);
    if (out == NULL) {
        return NULL; /* "no room for the result" is recorded */
    }
    memcpy(out, buf, (size_t)len);
    return w2p_return(out, (size_t)len);
}

/* strlen of a NUL-terminated malloc'd copy of text: its length up to the first NUL byte.
 * UINT32_MAX when malloc fails. */
W2P_SIG("/// The length of text up to its first NUL byte (strlen of a malloc'd copy).");
W2P_SIG("str_length(text: str) -> u32");
W2P_EXPORT(str_length) uint32_t str_length(const uint8_t *text, size_t len)
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

W2P_SIG("/// The n-th Fibonacci number, by naive recursion (slow on purpose), modulo 2^64.");
W2P_SIG("fibonacci_c(n: u32) -> u64");
W2P_EXPORT(fibonacci_c) uint64_t fibonacci_c(uint32_t n)
{
    if (n <= 1) {
        return n;
    }
    return fibonacci_c(n - 1) + fibonacci_c(n - 2);
}

/* printf("said: %s\n") of text to stdout and "cwasi: said N bytes\n" to stderr, flushed
 * (stdout is fully buffered when it is not a terminal, as it is under wasm2py). */
W2P_SIG("/// Prints \"said: {text}\" to stdout and \"cwasi: said {len} bytes\" to stderr.");
W2P_SIG("say(text: str)");
W2P_EXPORT(say) void say(const uint8_t *text, size_t len)
{
    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    printf("said: %.*s\n", (int)len, (const char *)text);
    fflush(stdout);
    fprintf(stderr, "cwasi: said %zu bytes\n", len);
}
