/* spsc.c: see spsc.h. Indices run freely (size_t wraps) and are masked;
 * the producer publishes its index with release order after copying, the
 * consumer its own after copying out, each reading the other's with
 * acquire order. */
#include "spsc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TW_SPSC_MAX_ELEMS ((size_t)1 << 24)
#define TW_SPSC_MAX_ELEM_BYTES 4096

struct tw_spsc {
    _Alignas(64) atomic_size_t head; /* next element written (producer) */
    _Alignas(64) atomic_size_t tail; /* next element read (consumer) */
    size_t mask, size;
    unsigned char *buf;
};

tw_spsc *tw_spsc_create(size_t min_elems, size_t elem_size)
{
    if (min_elems < 1 || min_elems > TW_SPSC_MAX_ELEMS || elem_size < 1 ||
        elem_size > TW_SPSC_MAX_ELEM_BYTES)
        return NULL;
    size_t cap = 2;
    while (cap < min_elems)
        cap <<= 1;
    tw_spsc *r = aligned_alloc(64, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->buf = calloc(cap, elem_size);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->mask = cap - 1;
    r->size = elem_size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return r;
}

void tw_spsc_destroy(tw_spsc *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

/* Copy n elements between the ring at index i and flat memory. */
static void copy(tw_spsc *r, size_t i, void *flat, size_t n, int to_ring)
{
    size_t at = i & r->mask, first = r->mask + 1 - at;
    if (first > n)
        first = n;
    unsigned char *f = flat, *ring = r->buf + at * r->size;
    if (to_ring) {
        memcpy(ring, f, first * r->size);
        memcpy(r->buf, f + first * r->size, (n - first) * r->size);
    } else if (f) {
        memcpy(f, ring, first * r->size);
        memcpy(f + first * r->size, r->buf, (n - first) * r->size);
    }
}

size_t tw_spsc_write(tw_spsc *r, const void *src, size_t n)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->mask + 1 - (head - tail);
    if (n > space)
        n = space;
    if (n == 0)
        return 0;
    copy(r, head, (void *)(uintptr_t)src, n, 1);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

size_t tw_spsc_read(tw_spsc *r, void *dst, size_t n)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (n > head - tail)
        n = head - tail;
    if (n == 0)
        return 0;
    copy(r, tail, dst, n, 0);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

const void *tw_spsc_peek(tw_spsc *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    return head == tail ? NULL : r->buf + (tail & r->mask) * r->size;
}

size_t tw_spsc_fill(const tw_spsc *r)
{
    tw_spsc *w = (tw_spsc *)r;
    size_t tail = atomic_load_explicit(&w->tail, memory_order_acquire);
    size_t head = atomic_load_explicit(&w->head, memory_order_acquire);
    return head - tail;
}

size_t tw_spsc_capacity(const tw_spsc *r) { return r->mask + 1; }
