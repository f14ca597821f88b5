/* ring.c: see ring.h. A classic single-producer / single-consumer ring
 * (Lamport, with C11 acquire/release): the producer owns `head`, the
 * consumer owns `tail`, both are free-running 64-bit counters (slot =
 * counter & mask), so full is head - tail == slots and empty is
 * head == tail; no slot is wasted.
 *
 * What the caller may rely on beyond ring.h:
 *  - slots that are not a power of two are rounded up to the next one
 *    (e.g. 100 -> 128; 65536 is the largest accepted request);
 *  - all memory (block headers and sample data) is allocated and touched
 *    in tw_ring_create, so tw_ring_write causes no page faults on first
 *    use either;
 *  - tw_ring_write makes no call but memcpy, clock_gettime (vDSO) and
 *    sem_post (async-signal-safe; it enters the kernel only to wake a
 *    consumer sleeping in tw_ring_wait, and never blocks);
 *  - a dropped block's flags are not lost: they are OR-ed into the next
 *    block that gets in (an overflow reported in a dropped block is still
 *    seen), together with its frames in lost_before;
 *  - frames == 0 writes no block: `lost` and `flags` are carried to the
 *    next block and 0 is returned (a source that knows frames were lost
 *    but has nothing to deliver);
 *  - frames > max_frames (or a NULL sample pointer with frames > 0)
 *    cannot be stored: the block is dropped and counted like a ring-full
 *    drop (its frames still advance the index) and -1 is returned;
 *  - lost < 0 is taken as 0.
 * The counters are 64-bit atomics: lock-free on every 64-bit target and on
 * 32-bit ARM / x86 (cmpxchg8b / ldrexd).
 */
#define _GNU_SOURCE /* sem_clockwait */
#include "ring.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TW_RING_MIN_SLOTS 2u
#define TW_RING_MAX_SLOTS 65536u
#define TW_RING_MAX_FRAMES (1u << 20)
#define TW_RING_MAX_CHANNELS 64u
#define TW_CACHE_LINE 64 /* bytes: keeps head and tail on separate lines */

struct tw_ring {
    /* read-only after create */
    unsigned slots, mask, max_frames, channels;
    tw_block *blk;
    float *data;

    /* producer side */
    _Alignas(TW_CACHE_LINE) atomic_uint_least64_t head; /* blocks written */
    int64_t next_frame;    /* index of the next frame to arrive */
    int64_t pending_lost;  /* frames lost since the last block that got in */
    uint32_t pending_flags;
    atomic_uint_least64_t written_frames, dropped_blocks, dropped_frames;

    /* consumer side */
    _Alignas(TW_CACHE_LINE) atomic_uint_least64_t tail; /* blocks released */

    /* posted once per block written: the consumer's wake-up (tw_ring_wait).
     * Its count may run ahead of the blocks waiting (the consumer takes
     * blocks without waiting while there are some): a stale count only
     * makes one tw_ring_wait return early. */
    sem_t avail;
};

static unsigned round_pow2(unsigned v)
{
    unsigned p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

tw_ring *tw_ring_create(unsigned slots, unsigned max_frames, unsigned channels)
{
    if (slots < TW_RING_MIN_SLOTS || slots > TW_RING_MAX_SLOTS || max_frames < 1 ||
        max_frames > TW_RING_MAX_FRAMES || channels < 1 || channels > TW_RING_MAX_CHANNELS)
        return NULL;
    slots = round_pow2(slots);
    size_t per = (size_t)max_frames * channels; /* floats per slot */
    if (per > SIZE_MAX / sizeof(float) / slots)
        return NULL;
    /* sizeof *r is a multiple of its alignment (TW_CACHE_LINE), as
     * aligned_alloc wants */
    tw_ring *r = aligned_alloc(TW_CACHE_LINE, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->slots = slots;
    r->mask = slots - 1;
    r->max_frames = max_frames;
    r->channels = channels;
    r->blk = calloc(slots, sizeof *r->blk);
    r->data = malloc(per * slots * sizeof(float));
    if (!r->blk || !r->data || sem_init(&r->avail, 0, 0) != 0) {
        free(r->blk);
        free(r->data);
        free(r);
        return NULL;
    }
    memset(r->data, 0, per * slots * sizeof(float)); /* touch every page now */
    for (unsigned i = 0; i < slots; i++)
        r->blk[i].data = r->data + per * i;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->written_frames, 0);
    atomic_init(&r->dropped_blocks, 0);
    atomic_init(&r->dropped_frames, 0);
    return r;
}

void tw_ring_destroy(tw_ring *r)
{
    if (!r)
        return;
    sem_destroy(&r->avail);
    free(r->data);
    free(r->blk);
    free(r);
}

int tw_ring_write(tw_ring *r, const float *interleaved, unsigned frames,
                  int64_t lost, uint32_t flags, double adc_time)
{
    if (lost > 0) {
        r->next_frame += lost;
        r->pending_lost += lost;
    }
    if (frames == 0) {
        r->pending_flags |= flags;
        return 0;
    }
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h - t >= r->slots || frames > r->max_frames || !interleaved) {
        r->next_frame += frames;
        r->pending_lost += frames;
        r->pending_flags |= flags;
        atomic_fetch_add_explicit(&r->dropped_blocks, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->dropped_frames, frames, memory_order_relaxed);
        return -1;
    }
    tw_block *b = &r->blk[h & r->mask];
    clock_gettime(CLOCK_MONOTONIC, &b->mono);
    clock_gettime(CLOCK_REALTIME, &b->real);
    memcpy(b->data, interleaved, (size_t)frames * r->channels * sizeof(float));
    b->first_frame = r->next_frame;
    b->frames = frames;
    b->flags = flags | r->pending_flags;
    b->lost_before = r->pending_lost;
    b->adc_time = adc_time;
    r->next_frame += frames;
    r->pending_lost = 0;
    r->pending_flags = 0;
    atomic_fetch_add_explicit(&r->written_frames, frames, memory_order_relaxed);
    atomic_store_explicit(&r->head, h + 1, memory_order_release); /* publish */
    sem_post(&r->avail); /* EOVERFLOW (2^31 blocks never waited for) is harmless */
    return 0;
}

int tw_ring_wait(tw_ring *r, const struct timespec *until)
{
    for (;;) {
        if (tw_ring_peek(r))
            return 1;
        if (sem_clockwait(&r->avail, CLOCK_MONOTONIC, until) == 0)
            continue; /* a block, or a stale count: look again */
        if (errno == EINTR)
            continue;
        return tw_ring_peek(r) != NULL; /* ETIMEDOUT */
    }
}

const tw_block *tw_ring_peek(tw_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    return h == t ? NULL : &r->blk[t & r->mask];
}

void tw_ring_release(tw_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (h == t)
        return; /* nothing to release: a no-op, not a corruption */
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}

uint64_t tw_ring_get_dropped_blocks(const tw_ring *r)
{
    return atomic_load_explicit(&r->dropped_blocks, memory_order_relaxed);
}

uint64_t tw_ring_get_dropped_frames(const tw_ring *r)
{
    return atomic_load_explicit(&r->dropped_frames, memory_order_relaxed);
}

uint64_t tw_ring_get_written_frames(const tw_ring *r)
{
    return atomic_load_explicit(&r->written_frames, memory_order_relaxed);
}

unsigned tw_ring_get_fill(const tw_ring *r)
{
    /* tail first: head only grows, so head >= the tail read before it */
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t n = h - t;
    return n > r->slots ? r->slots : (unsigned)n;
}

unsigned tw_ring_get_slots(const tw_ring *r) { return r->slots; }

unsigned tw_ring_get_channels(const tw_ring *r) { return r->channels; }

unsigned tw_ring_get_max_frames(const tw_ring *r) { return r->max_frames; }
