/*
 * c_sdk_user: a C guest written from SPEC.md ("Guest SDKs and guest errors") alone, with
 * nothing but the SDK header guests/c/wasm2py.h: no hand-written arena, no sidecar. The
 * annotations are W2P_SIG lines; refusals use w2p_fail.
 *
 * The same file is built three ways by tests/python/test_spec_cheader.py:
 *   clang --target=wasm32 -nostdlib -Wl,--no-entry            (no libc)
 *   clang --target=wasm32-wasi -mexec-model=reactor           (wasi-libc)
 *   gcc -shared -fPIC -pthread                                (native)
 */
#define WASM2PY_IMPLEMENTATION
#include "wasm2py.h"

W2P_SIG("# c_sdk_user: written with wasm2py.h only");

/* ---- scalars ------------------------------------------------------------------------- */

W2P_SIG("/// The greatest common divisor of a and b (0 when both are 0).");
W2P_SIG("gcd(a: u32, b: u32) -> u32");
W2P_EXPORT(gcd) uint32_t gcd(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

W2P_SIG("/// The number of bits set in x.");
W2P_SIG("popcount(x: u64) -> u8");
W2P_EXPORT(popcount) uint8_t popcount(uint64_t x)
{
    uint8_t n = 0;
    while (x != 0) {
        x &= x - 1;
        n++;
    }
    return n;
}

W2P_SIG("/// x / 2 when x is even; refuses an odd x.");
W2P_SIG("half(x: i64) -> i64 raises");
W2P_EXPORT(half) int64_t half(int64_t x)
{
    if (x % 2 != 0) {
        w2p_fail("an odd number has no half \xE2\x80\x94 try an even one");
        return 0;
    }
    return x / 2;
}

W2P_SIG("/// Nothing when flag is true; refuses false.");
W2P_SIG("require(flag: bool) raises");
W2P_EXPORT(require) void require(bool flag)
{
    if (!flag) {
        w2p_fail("the flag must be set");
    }
}

/* ---- lists --------------------------------------------------------------------------- */

W2P_SIG("/// The mean of xs; 0.0 for no values.");
W2P_SIG("mean(xs: list[f64]) -> f64");
W2P_EXPORT(mean) double mean(const double *xs, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += xs[i];
    }
    return n == 0 ? 0.0 : sum / (double)n;
}

W2P_SIG("/// Every x times k, as 64-bit integers (no overflow).");
W2P_SIG("scale(xs: list[i32], k: i32) -> list[i64]");
W2P_EXPORT(scale) w2p_slice *scale(const int32_t *xs, size_t n, int32_t k)
{
    if (n > SIZE_MAX / sizeof(int64_t)) {
        return NULL;
    }
    int64_t *out = w2p_alloc(n * sizeof(int64_t));
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (int64_t)xs[i] * k;
    }
    return w2p_return(out, n); /* a list's length counts elements */
}

/* ---- bytes and str ------------------------------------------------------------------- */

W2P_SIG("/// data, back to front.");
W2P_SIG("reverse(data: bytes) -> bytes");
W2P_EXPORT(reverse) w2p_slice *reverse(const uint8_t *data, size_t len)
{
    uint8_t *out = w2p_alloc(len);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = data[len - 1 - i];
    }
    return w2p_return(out, len);
}

static const char hello[] = "Hello, ";

W2P_SIG("/// Returns \"Hello, {name}!\" \\ greets \"anyone\" \xC3\xA0 la C.");
W2P_SIG("greet(name: str) -> str");
W2P_EXPORT(greet) w2p_slice *greet(const char *name, size_t len)
{
    size_t head = sizeof hello - 1;
    if (len > SIZE_MAX - head - 1) {
        return NULL;
    }
    char *out = w2p_alloc(head + len + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, hello, head);
    memcpy(out + head, name, len);
    out[head + len] = '!';
    return w2p_return(out, head + len + 1);
}

W2P_SIG("/// A constant string kept in static memory.");
W2P_SIG("motto() -> str");
W2P_EXPORT(motto) w2p_slice *motto(void)
{
    static const char text[] = "static data is a fine result";
    return w2p_return(text, sizeof text - 1);
}

W2P_SIG("/// data repeated `times` times; MemoryError when that does not fit.");
W2P_SIG("repeat(data: bytes, times: u32) -> bytes");
W2P_EXPORT(repeat) w2p_slice *repeat(const uint8_t *data, size_t len, uint32_t times)
{
    uint64_t total = (uint64_t)len * times;
    /* more than the address space: w2p_alloc(SIZE_MAX) fails with "no room" */
    uint8_t *out = w2p_alloc(total > SIZE_MAX ? SIZE_MAX : (size_t)total);
    if (out == NULL) {
        return NULL;
    }
    for (uint32_t t = 0; len > 0 && t < times; t++) {
        memcpy(out + (size_t)t * len, data, len);
    }
    return w2p_return(out, (size_t)total);
}

/* Appends the decimal digits of v to buf at *at (buf has room). */
static void put_u64(char *buf, size_t *at, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) {
        buf[(*at)++] = digits[--n];
    }
}

W2P_SIG("/// The decimal number in text, 0 to 65535.");
W2P_SIG("parse_u16(text: str) -> u16 raises");
W2P_EXPORT(parse_u16) uint16_t parse_u16(const char *text, size_t len)
{
    if (len == 0) {
        w2p_fail("empty text");
        return 0;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') {
            /* a message built on the stack: w2p_fail_len copies it into the arena */
            char message[64] = "not a digit at index ";
            size_t at = sizeof "not a digit at index " - 1;
            put_u64(message, &at, i);
            w2p_fail_len(message, at);
            return 0;
        }
        value = value * 10 + (uint64_t)(text[i] - '0');
        if (value > 65535) {
            w2p_fail("out of range (more than 65535)");
            return 0;
        }
    }
    return (uint16_t)value;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

W2P_SIG("/// The bytes written in hex in text (two digits a byte).");
W2P_SIG("hex_decode(text: str) -> bytes raises");
W2P_EXPORT(hex_decode) w2p_slice *hex_decode(const char *text, size_t len)
{
    if (len % 2 != 0) {
        return w2p_fail("odd number of hex digits");
    }
    uint8_t *out = w2p_alloc(len / 2);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) {
            return w2p_fail("not a hex digit");
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return w2p_return(out, len / 2);
}

W2P_SIG("/// Always refuses, with text as the message.");
W2P_SIG("fail_with(text: str) raises");
W2P_EXPORT(fail_with) void fail_with(const char *text, size_t len)
{
    w2p_fail_len(text, len);
}
