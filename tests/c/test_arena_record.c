/*
 * The arena record of guests/c/wasm2py.h (arena protocol version 2,
 * docs/guest-protocol.md), natively. Built and run by tests/python/test_c_arena_record.py
 * (which adds ASan, UBSan and ThreadSanitizer), two ways:
 *
 *   cc -std=c11 -pthread -I guests/c tests/c/test_arena_record.c
 *       the native record: busy counts the threads whose arena or message buffer holds
 *       anything, across threads, resets and thread exits;
 *   cc -std=c11 -pthread -I guests/c -DW2P__RECORD_MIRRORS_CHUNK=1 \
 *       tests/c/test_arena_record.c
 *       the record of the wasi-libc build (it mirrors the current chunk), on one thread,
 *       with this program playing the host: allocating inputs at an unaligned top,
 *       resetting by itself, and writing hostile values (best run under ASan, which then
 *       sees any write outside the chunks).
 *
 * Exit status 0 and "ok" on success; every failed check is printed.
 */
#define _POSIX_C_SOURCE 200809L
#define WASM2PY_IMPLEMENTATION
#include "wasm2py.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

#if !W2P__RECORD_MIRRORS_CHUNK
/* ---- the native record: busy counts threads ------------------------------------------ */

#define THREADS 8

static size_t busy(void)
{
    return __atomic_load_n(&wasm2py_arena()->busy, __ATOMIC_SEQ_CST);
}

static pthread_barrier_t gate; /* the workers have done their part */
static pthread_barrier_t go;   /* the main thread has looked: carry on */

/* index % 4: 0 allocates, 1 stores a message, 2 both, 3 allocates and resets (uncounted).
 * Then it waits; the first half reset before exiting, the others exit as they are. */
static void *worker(void *arg)
{
    size_t index = (size_t)(uintptr_t)arg;
    CHECK(wasm2py_arena() != NULL);
    if (index % 4 != 1) {
        CHECK(bump_alloc(100) != NULL);
    }
    if (index % 4 == 1 || index % 4 == 2) {
        w2p_fail("a message held by this thread");
    }
    if (index % 4 == 3) {
        bump_reset();
    }
    pthread_barrier_wait(&gate);
    pthread_barrier_wait(&go);
    if (index < THREADS / 2) {
        bump_reset();
    }
    pthread_barrier_wait(&gate);
    pthread_barrier_wait(&go);
    return NULL;
}

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        switch ((seed >> 16) % 5) {
        case 0:
            CHECK(bump_alloc((seed >> 8) % 5000) != NULL);
            break;
        case 1:
            w2p_fail("x");
            break;
        case 2:
            CHECK(w2p_return("abc", 3) != NULL);
            break;
        default:
            bump_reset();
            CHECK(busy() <= THREADS);
        }
    }
    if (seed % 2) {
        bump_reset(); /* else it exits counted, maybe */
    }
    return NULL;
}

static void test_native(void)
{
    w2p_arena_record *r = wasm2py_arena();
    CHECK(r == wasm2py_arena());
    CHECK(r->base == 0 && r->top == 0 && r->limit == 0);
    CHECK(busy() == 0);

    /* one thread: counted once from its first allocation to its reset */
    bump_reset();
    CHECK(busy() == 0);
    void *p = bump_alloc(10);
    CHECK(p != NULL && busy() == 1);
    CHECK(bump_alloc(100000) != NULL && busy() == 1); /* a second chunk */
    bump_reset();
    CHECK(busy() == 0);
    bump_reset();
    CHECK(busy() == 0);

    /* a message alone counts it (bump_reset wipes it), an empty one does not */
    w2p_fail_len("", 0);
    CHECK(busy() == 0);
    w2p_fail("boom");
    CHECK(busy() == 1);
    const char *kept = wasm2py_error()->ptr;
    w2p_fail("boom again"); /* a scalar function failing twice without a reset */
    CHECK(busy() == 1);
    bump_reset();
    CHECK(busy() == 0 && all_zero(kept, 10));
    wasm2py_error()->status = 0;

    /* a long message goes to the arena: counted too */
    static char long_message[3000];
    memset(long_message, 'm', sizeof long_message - 1);
    w2p_fail(long_message);
    CHECK(busy() == 1);
    bump_reset();
    CHECK(busy() == 0);
    wasm2py_error()->status = 0;

    /* failures of the arena count nothing (no room: nothing held) */
    CHECK(bump_alloc(SIZE_MAX) == NULL);
    CHECK(bump_alloc(SIZE_MAX / 2) == NULL);
    CHECK(busy() == 0);
    wasm2py_error()->status = 0;

    /* several threads: each counted once; a reset or an exit uncounts it */
    pthread_t threads[THREADS];
    pthread_barrier_init(&gate, NULL, THREADS + 1);
    pthread_barrier_init(&go, NULL, THREADS + 1);
    for (size_t i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    }
    pthread_barrier_wait(&gate);
    size_t held = 0;
    for (size_t i = 0; i < THREADS; i++) {
        held += i % 4 != 3;
    }
    CHECK(busy() == held); /* 6 of 8 */
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&gate);
    size_t still = 0;
    for (size_t i = 0; i < THREADS; i++) {
        still += i % 4 != 3 && i >= THREADS / 2;
    }
    CHECK(busy() == still); /* 3: the second half, but for the one that reset */
    CHECK(bump_alloc(1) != NULL);
    CHECK(busy() == still + 1);
    pthread_barrier_wait(&go);
    for (size_t i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    CHECK(busy() == 1); /* the exits uncounted the rest; the main thread is counted */
    bump_reset();
    CHECK(busy() == 0);
    pthread_barrier_destroy(&gate);
    pthread_barrier_destroy(&go);

    /* many threads at once, allocating, failing and resetting at random, then exiting */
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < THREADS; i++) {
            void *seed = (void *)(uintptr_t)(i * 7919 + (size_t)round);
            CHECK(pthread_create(&threads[i], NULL, churn, seed) == 0);
        }
        for (size_t i = 0; i < THREADS; i++) {
            pthread_join(threads[i], NULL);
        }
        CHECK(busy() == 0);
    }
    CHECK(r->base == 0 && r->top == 0 && r->limit == 0);
}

#else
/* ---- the record that mirrors the chunk (wasi-libc), this program playing the host --- */

#define ALIGN16(x) (((x) + 15) & ~(size_t)15)

/* The host's allocation of an input of n bytes: its address, or 0 when it must call
 * bump_alloc (docs/guest-protocol.md). */
static size_t host_alloc(const void *data, size_t n)
{
    w2p_arena_record *r = wasm2py_arena();
    size_t p = ALIGN16(r->top);
    if (r->top > SIZE_MAX - 15 || r->base > p || p > r->limit || n > r->limit - p) {
        return 0;
    }
    memcpy((void *)p, data, n);
    r->top = p + n;
    return p;
}

/* The host's reset: 1 when it did it alone, 0 when it called bump_reset. */
static int host_reset(void)
{
    w2p_arena_record *r = wasm2py_arena();
    if (r->busy == 0 && r->base <= r->top) {
        memset((void *)r->base, 0, r->top - r->base);
        r->top = r->base;
        return 1;
    }
    bump_reset();
    return 0;
}

/* The record is the current chunk's: [base, limit) with top inside it. */
static int record_sane(void)
{
    w2p_arena_record *r = wasm2py_arena();
    return r->base != 0 && r->base % 16 == 0 && r->base <= r->top && r->top <= r->limit;
}

static int inside(const void *p, size_t n)
{
    w2p_arena_record *r = wasm2py_arena();
    return (size_t)p >= r->base && (size_t)p + n <= r->top;
}

static void test_mirror(void)
{
    w2p_arena_record *r = wasm2py_arena();
    CHECK(r == wasm2py_arena());
    /* ready from the start: a first chunk */
    CHECK(record_sane());
    CHECK(r->top == r->base && r->limit - r->base == W2P__CHUNK_MIN && r->busy == 0);
    size_t base = r->base;

    /* the host's input at an unaligned top, then the guest's blocks after it */
    size_t a = host_alloc("hello", 5);
    CHECK(a == base && r->top == base + 5);
    unsigned char *g = (unsigned char *)bump_alloc(3);
    CHECK((size_t)g == base + 16 && r->top == base + 32 && all_zero(g, 16));
    memset(g, 0xee, 3);
    size_t b = host_alloc("1234567", 7);
    CHECK(b == base + 32 && r->top == base + 39);
    unsigned char *h = (unsigned char *)w2p_alloc(1);
    CHECK((size_t)h == base + 48 && r->top == base + 64 && all_zero(h, 16));
    CHECK(memcmp((void *)a, "hello", 5) == 0 && memcmp((void *)b, "1234567", 7) == 0);
    w2p_slice *s = w2p_return(h, 1);
    CHECK(inside(s, sizeof *s) && r->busy == 0);

    /* the host resets alone; the guest then allocates from base, zeroed */
    CHECK(host_reset() == 1);
    CHECK(r->top == base && all_zero((void *)base, 96));
    g = (unsigned char *)bump_alloc(20);
    CHECK((size_t)g == base && r->top == base + 32);
    CHECK(host_reset() == 1);

    /* a host input that fills the chunk exactly; the guest's next block starts a second
     * chunk: busy until bump_reset, which keeps the newer one */
    static unsigned char big[W2P__CHUNK_MIN];
    memset(big, 0x5a, sizeof big);
    CHECK(host_alloc(big, r->limit - r->base - 1) == base);
    CHECK(host_alloc("x", 2) == 0); /* no room: it would call bump_alloc */
    void *q = bump_alloc(2);
    CHECK(q != NULL && record_sane() && r->base != base && r->busy != 0);
    CHECK(inside(q, 2) && r->limit - r->base == 2 * W2P__CHUNK_MIN);
    memcpy(q, "x", 2);
    size_t second = r->base;
    CHECK(host_alloc("more", 4) == second + 16);
    CHECK(host_reset() == 0);
    CHECK(record_sane() && r->base == second && r->top == second && r->busy == 0);
    CHECK(all_zero((void *)second, 2 * W2P__CHUNK_MIN));
    base = second;

    /* a stored message: busy until bump_reset, which wipes it */
    w2p_fail("boom");
    CHECK(r->busy != 0);
    const char *kept = wasm2py_error()->ptr;
    CHECK(host_reset() == 0);
    CHECK(r->busy == 0 && all_zero(kept, 4));
    w2p_fail_len("", 0);
    CHECK(r->busy == 0);
    wasm2py_error()->status = 0;

    /* a long message goes to the arena, inside [base, top): the host's reset wipes it */
    static char long_message[3000];
    memset(long_message, 'm', sizeof long_message - 1);
    w2p_fail(long_message);
    kept = wasm2py_error()->ptr;
    CHECK(inside(kept, sizeof long_message - 1) && r->busy == 0);
    CHECK(host_reset() == 1 && all_zero(kept, sizeof long_message - 1));
    wasm2py_error()->status = 0;

    /* a chunk too large to keep: busy, and bump_reset replaces it with a small one */
    q = bump_alloc(3u << 20);
    CHECK(q != NULL && r->busy != 0 && record_sane());
    CHECK(host_reset() == 0);
    CHECK(record_sane() && r->busy == 0 && r->limit - r->base == W2P__CHUNK_MIN);
    base = r->base;

    /* hostile tops: below the chunk, past it, at its very end, the largest size_t. The
     * guest's blocks stay inside a chunk (ASan sees any write outside), and bump_reset
     * wipes the whole chunk it could not trust */
    size_t hostile[] = {base - 16, base - 1, 0, r->limit + 1, r->limit + 4096, r->limit - 3,
                        r->limit, SIZE_MAX, SIZE_MAX - 7};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        size_t before_base = r->base, before_limit = r->limit;
        unsigned char *mine = (unsigned char *)bump_alloc(40);
        CHECK(mine != NULL);
        memset(mine, 0xab, 40);
        r->top = hostile[i];
        unsigned char *p = (unsigned char *)bump_alloc(64);
        CHECK(p != NULL && record_sane() && inside(p, 64));
        CHECK((size_t)p < before_base || (size_t)p >= before_limit); /* a new chunk */
        CHECK(r->busy != 0);
        memset(p, 0xcd, 64);
        r->top = hostile[i];
        CHECK(host_reset() == 0 || r->top == r->base);
        bump_reset();
        CHECK(record_sane() && r->top == r->base && r->busy == 0);
        CHECK(all_zero((void *)r->base, r->limit - r->base));
    }
    /* hostile base and limit are ignored: the guest writes the record afresh */
    base = r->base;
    size_t limit = r->limit;
    r->base = 16;
    r->limit = SIZE_MAX;
    unsigned char *p = (unsigned char *)bump_alloc(8);
    CHECK((size_t)p == base && r->base == base && r->limit == limit);
    r->base = limit;
    r->top = limit - 1;
    bump_reset();
    CHECK(r->base == base && r->top == base && r->limit == limit);
    CHECK(all_zero((void *)base, limit - base));
}
#endif

int main(void)
{
#if W2P__RECORD_MIRRORS_CHUNK
    test_mirror();
#else
    test_native();
#endif
    if (failures != 0) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    puts("ok");
    return 0;
}
