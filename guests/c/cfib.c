/*
 * cfib: the seed article's C library (fibonacci_c, once loaded through ctypes from Django
 * and Flask) plus functions that pass bytes, str and lists through the wasm2py memory
 * protocol, written with the SDK header wasm2py.h (exports, annotations, arena). The same
 * source builds to wasm32 (no libc) and to a native shared library; see build.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WASM2PY_IMPLEMENTATION
#include "wasm2py.h"

/* Each W2P_SIG is one line of the module's "wasm2py" section (nothing natively). */
W2P_SIG("# cfib: a C library built to wasm32 and to a native shared library");

W2P_SIG("/// The n-th Fibonacci number, by naive recursion (slow on purpose).");
W2P_SIG("fibonacci_c(n: u64) -> u64");
W2P_EXPORT(fibonacci_c) uint64_t fibonacci_c(uint64_t n)
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

W2P_SIG("/// The CRC-32 of data (IEEE 802.3, the same as zlib.crc32).");
W2P_SIG("crc32(data: bytes) -> u32");
W2P_EXPORT(crc32) uint32_t crc32(const uint8_t *p, size_t n)
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
W2P_SIG("/// text with every ASCII letter rotated by 13 places.");
W2P_SIG("rot13(text: str) -> str");
W2P_EXPORT(rot13) w2p_slice *rot13(const uint8_t *p, size_t n)
{
    uint8_t *d = w2p_alloc(n);
    if (d == NULL) {
        return NULL; /* "no room for the result" is recorded */
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 'a' && c <= 'z') {
            c = (uint8_t)('a' + (c - 'a' + 13) % 26);
        } else if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)('A' + (c - 'A' + 13) % 26);
        }
        d[i] = c;
    }
    return w2p_return(d, n);
}

W2P_SIG("/// a XOR b, byte by byte; refuses inputs of different lengths.");
W2P_SIG("xor_bytes(a: bytes, b: bytes) -> bytes");
W2P_EXPORT(xor_bytes) w2p_slice *xor_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn) {
        return w2p_fail("a and b differ in length");
    }
    uint8_t *d = w2p_alloc(an);
    if (d == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < an; i++) {
        d[i] = a[i] ^ b[i];
    }
    return w2p_return(d, an);
}

W2P_SIG("/// The sum of xs, wrapping around on overflow like an int32.");
W2P_SIG("sum_i32(xs: list[i32]) -> i32");
W2P_EXPORT(sum_i32) int32_t sum_i32(const int32_t *xs, size_t n)
{
    uint32_t sum = 0; /* unsigned: wraps without undefined behaviour */
    for (size_t i = 0; i < n; i++) {
        sum += (uint32_t)xs[i];
    }
    return (int32_t)sum;
}

W2P_SIG("/// Whether n is even.");
W2P_SIG("is_even(n: u64) -> bool");
W2P_EXPORT(is_even) bool is_even(uint64_t n)
{
    return (n & 1u) == 0;
}
