/* tw_malloc_count.h: count the heap calls of a stretch of code, to prove
 * that an execute/write path never allocates. Include it in exactly one
 * test file (it defines malloc & co., forwarding to glibc's __libc_*).
 * Sanitizers own malloc, so under ASan or TSan TT_ASAN is defined and
 * nothing is interposed: such tests must skip(). Set g_counting to 1
 * around the code, read g_allocs / g_frees. */
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

static volatile int g_counting;
static volatile unsigned long g_allocs, g_frees;

void *malloc(size_t n)
{
    if (g_counting)
        g_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t sz)
{
    if (g_counting)
        g_allocs++;
    return __libc_calloc(n, sz);
}

void *realloc(void *p, size_t n)
{
    if (g_counting)
        g_allocs++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (g_counting)
        g_frees++;
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (g_counting)
        g_allocs++;
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (g_counting)
        g_allocs++;
    return __libc_memalign(align, n);
}
#endif

#endif
