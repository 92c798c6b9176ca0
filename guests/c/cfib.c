/*
 * cfib: the seed article's C library (fibonacci_c, once loaded through ctypes from Django
 * and Flask) plus functions that pass bytes, str and lists through the wasm2py memory
 * protocol. The same source builds to wasm32 (no libc) and to a native shared library;
 * see build.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* The annotations, as a custom section named "wasm2py" in the .wasm, one line per
 * W2P_LINE (no quotes or backslashes inside). clang 14 does not turn a variable in section
 * ".custom_section.wasm2py" into a custom section (it becomes a data segment that wasm-ld
 * drops), so the section is written in assembly; the text has no trailing NUL. */
#ifdef __wasm__
#define W2P_LINE(text) ".ascii \"" text "\\n\"\n"
__asm__(".section .custom_section.wasm2py,\"\",@\n"
        W2P_LINE("# cfib: a C library built to wasm32 and to a native shared library")
        W2P_LINE("/// The n-th Fibonacci number, by naive recursion (slow on purpose).")
        W2P_LINE("fibonacci_c(n: u64) -> u64")
        W2P_LINE("/// The CRC-32 of data (IEEE 802.3, the same as zlib.crc32).")
        W2P_LINE("crc32(data: bytes) -> u32")
        W2P_LINE("/// text with every ASCII letter rotated by 13 places.")
        W2P_LINE("rot13(text: str) -> str")
        W2P_LINE("/// a XOR b, byte by byte; refuses inputs of different lengths.")
        W2P_LINE("xor_bytes(a: bytes, b: bytes) -> bytes")
        W2P_LINE("/// The sum of xs, wrapping around on overflow like an int32.")
        W2P_LINE("sum_i32(xs: list[i32]) -> i32")
        W2P_LINE("/// Whether n is even.")
        W2P_LINE("is_even(n: u64) -> bool")
        ".text\n");
#endif

W2P_EXPORT uint64_t fibonacci_c(uint64_t n)
{
    if (n <= 1) {
        return n;
    } else {
        return fibonacci_c(n - 1) + fibonacci_c(n - 2);
    }
}

/* CRC-32 with the reflected polynomial 0xEDB88320, four bits at a time. */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

W2P_EXPORT uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc32_nibble[crc & 15u];
        crc = (crc >> 4) ^ crc32_nibble[crc & 15u];
    }
    return ~crc;
}

/* Only ASCII letters change, so UTF-8 input stays valid UTF-8. */
W2P_EXPORT w2p_slice *rot13(const uint8_t *p, size_t n)
{
    w2p_slice *out = w2p_slice_new(n, n);
    if (out == NULL) {
        return NULL;
    }
    uint8_t *d = out->ptr;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 'a' && c <= 'z') {
            c = (uint8_t)('a' + (c - 'a' + 13) % 26);
        } else if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)('A' + (c - 'A' + 13) % 26);
        }
        d[i] = c;
    }
    return out;
}

W2P_EXPORT w2p_slice *xor_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn) {
        return NULL;
    }
    w2p_slice *out = w2p_slice_new(an, an);
    if (out == NULL) {
        return NULL;
    }
    uint8_t *d = out->ptr;
    for (size_t i = 0; i < an; i++) {
        d[i] = a[i] ^ b[i];
    }
    return out;
}

W2P_EXPORT int32_t sum_i32(const int32_t *xs, size_t n)
{
    uint32_t sum = 0; /* unsigned: wraps without undefined behaviour */
    for (size_t i = 0; i < n; i++) {
        sum += (uint32_t)xs[i];
    }
    return (int32_t)sum;
}

W2P_EXPORT bool is_even(uint64_t n)
{
    return (n & 1u) == 0;
}
