/* tw_malloc_count.h: the unit tests' one heap interposer: it counts the
 * heap calls of a stretch of code (to prove that an execute/write path
 * never allocates) and injects allocation failures (to prove that every
 * failure is handled and nothing leaks). Include it in exactly one file
 * of a test (it defines malloc & co., forwarding to glibc's __libc_*).
 * Sanitizers own malloc, so under ASan or TSan TT_ASAN is defined and
 * nothing is interposed: such tests must skip().
 *
 * Counting: set g_counting to 1 around the code, read g_allocs / g_frees.
 * Injection: set g_inject to 1; the g_fail_at-th call (from 0; g_calls
 * counts them) fails, and with g_fail_all every later one too; g_failed
 * counts the failures, g_live the blocks allocated and not yet freed
 * while injecting. */
#ifndef TW_MALLOC_COUNT_H
#define TW_MALLOC_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TT_ASAN 1
#endif
#endif

#ifndef TT_ASAN
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t sz);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

/* counting */
static volatile int g_counting __attribute__((unused));
static volatile unsigned long g_allocs __attribute__((unused)), g_frees __attribute__((unused));
/* injection */
static volatile int g_inject __attribute__((unused));        /* 1: count allocations, maybe fail */
static volatile int g_fail_all __attribute__((unused));      /* 0: fail only call g_fail_at; 1: from it on */
static volatile long g_fail_at __attribute__((unused)) = -1; /* index of the first call to fail, -1 none */
static volatile long g_calls __attribute__((unused)), g_failed __attribute__((unused)),
    g_live __attribute__((unused));

/* One allocation call: counted; 1 when it is to fail. */
static int tt_alloc_call(void)
{
    if (g_counting)
        g_allocs++;
    if (!g_inject)
        return 0;
    long k = g_calls++;
    int f = g_fail_at >= 0 && (g_fail_all ? k >= g_fail_at : k == g_fail_at);
    if (f)
        g_failed++;
    return f;
}

void *malloc(size_t n)
{
    if (tt_alloc_call())
        return NULL;
    void *p = __libc_malloc(n);
    if (p && g_inject)
        g_live++;
    return p;
}

void *calloc(size_t n, size_t sz)
{
    if (tt_alloc_call())
        return NULL;
    void *p = __libc_calloc(n, sz);
    if (p && g_inject)
        g_live++;
    return p;
}

void *realloc(void *p, size_t n)
{
    if (tt_alloc_call())
        return NULL;
    void *q = __libc_realloc(p, n);
    if (q && !p && g_inject)
        g_live++;
    return q;
}

void free(void *p)
{
    if (g_counting)
        g_frees++;
    if (p && g_inject)
        g_live--;
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (tt_alloc_call())
        return 12; /* ENOMEM */
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12;
    if (g_inject)
        g_live++;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (tt_alloc_call())
        return NULL;
    void *p = __libc_memalign(align, n);
    if (p && g_inject)
        g_live++;
    return p;
}
#endif

#endif
