/* test_ring.c: the single-producer / single-consumer block ring
 * (daemon/acquire/ring.h).
 *
 * What is asserted:
 *  - bad parameters of tw_ring_create give NULL (slots 0, 1, 65537;
 *    max_frames 0, 2^20 + 1; channels 0, 65); the extremes are accepted;
 *    a slot count that is not a power of two is rounded up (3 holds 4,
 *    tw_ring_get_slots says 4; 100 -> 128);
 *  - sequential use: every field of every block (first_frame, frames,
 *    flags, lost_before, adc_time, data), the clock stamps (between the
 *    clock readings around the write, MONOTONIC and REALTIME), fill, the
 *    counters, peek on an empty ring (NULL), release on an empty ring (a
 *    no-op);
 *  - wrap-around: thousands of blocks through 4 slots, with the reader
 *    one, two or three blocks behind;
 *  - a full ring drops and counts (blocks and frames, -1 returned), the
 *    next block that gets in carries the dropped frames in lost_before
 *    and the dropped blocks' flags, and first_frame stays the true index
 *    (it counts the dropped frames); `lost` (declared loss) advances the
 *    index and adds to lost_before the same way; frames > max_frames and
 *    frames == 0 behave as ring.c documents;
 *  - two threads, millions of frames (seeded, the seed is printed): a
 *    lossless phase (the producer waits while the ring is full) and a
 *    lossy one (it never waits, and declares random losses), every sample
 *    value and every index checked by the consumer, and the totals
 *    (frames seen + lost_before == frames produced, dropped counters ==
 *    what the producer saw dropped);
 *  - tw_ring_write makes no malloc/calloc/realloc/free call (interposed
 *    and counted as in test_dsp_detect.c; skipped under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ring.h"
#include "tw_test_util.h"

#include "tw_malloc_count.h" /* defines malloc & co. for this test */

/* The value of channel c of frame i in every test: an integer below 2^24,
 * so exact in float, different for neighbouring frames and channels. */
static float sample_value(int64_t i, unsigned c)
{
    return (float)(((uint64_t)i * 7u + c * 131u) & 0xffffffu);
}

static void fill_block(float *buf, int64_t first, unsigned frames, unsigned ch)
{
    for (unsigned f = 0; f < frames; f++)
        for (unsigned c = 0; c < ch; c++)
            buf[(size_t)f * ch + c] = sample_value(first + f, c);
}

/* First mismatch of b's data against sample_value, or -1. */
static long check_block_data(const tw_block *b, unsigned ch)
{
    for (unsigned f = 0; f < b->frames; f++)
        for (unsigned c = 0; c < ch; c++)
            if (b->data[(size_t)f * ch + c] != sample_value(b->first_frame + f, c))
                return (long)f * ch + c;
    return -1;
}

static int ts_le(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

static void test_bad_params(void **state)
{
    (void)state;
    assert_null(tw_ring_create(0, 16, 1));
    assert_null(tw_ring_create(1, 16, 1));
    assert_null(tw_ring_create(65537, 16, 1));
    assert_null(tw_ring_create(1u << 20, 16, 1));
    assert_null(tw_ring_create(8, 0, 1));
    assert_null(tw_ring_create(8, (1u << 20) + 1, 1));
    assert_null(tw_ring_create(8, 16, 0));
    assert_null(tw_ring_create(8, 16, 65));
    tw_ring *r = tw_ring_create(2, 1, 1);
    assert_non_null(r);
    assert_int_equal(tw_ring_get_slots(r), 2);
    tw_ring_destroy(r);
    r = tw_ring_create(65536, 1, 64);
    assert_non_null(r);
    assert_int_equal(tw_ring_get_slots(r), 65536);
    assert_int_equal(tw_ring_get_channels(r), 64);
    assert_int_equal(tw_ring_get_max_frames(r), 1);
    tw_ring_destroy(r);
    r = tw_ring_create(4, 1u << 20, 1);
    assert_non_null(r);
    assert_int_equal(tw_ring_get_max_frames(r), 1u << 20);
    tw_ring_destroy(r);
    tw_ring_destroy(NULL); /* allowed */

    /* 3 slots are rounded up to 4: four blocks fit, the fifth is dropped */
    r = tw_ring_create(3, 4, 1);
    assert_non_null(r);
    assert_int_equal(tw_ring_get_slots(r), 4);
    tw_ring_destroy(r);
    r = tw_ring_create(100, 4, 1);
    assert_non_null(r);
    assert_int_equal(tw_ring_get_slots(r), 128);
    tw_ring_destroy(r);
    r = tw_ring_create(3, 4, 1);
    assert_non_null(r);
    float x[4] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tw_ring_write(r, x, 4, 0, 0, 0.0), 0);
    assert_int_equal(tw_ring_get_fill(r), 4);
    assert_int_equal(tw_ring_write(r, x, 4, 0, 0, 0.0), -1);
    assert_int_equal(tw_ring_get_fill(r), 4);
    tw_ring_destroy(r);
}

static void test_sequential(void **state)
{
    (void)state;
    enum { CH = 3, MAXF = 16 };
    tw_ring *r = tw_ring_create(8, MAXF, CH);
    assert_non_null(r);
    assert_int_equal(tw_ring_get_channels(r), CH);
    assert_int_equal(tw_ring_get_max_frames(r), MAXF);
    assert_null(tw_ring_peek(r));
    tw_ring_release(r); /* empty: no-op */
    assert_null(tw_ring_peek(r));
    assert_int_equal(tw_ring_get_fill(r), 0);

    static const unsigned sizes[] = {1, 16, 5, 16, 2, 7, 3};
    enum { NB = sizeof sizes / sizeof sizes[0] };
    float buf[MAXF * CH];
    struct timespec m0[NB], m1[NB], r0[NB], r1[NB];
    int64_t idx = 0;
    for (unsigned k = 0; k < NB; k++) {
        fill_block(buf, idx, sizes[k], CH);
        clock_gettime(CLOCK_MONOTONIC, &m0[k]);
        clock_gettime(CLOCK_REALTIME, &r0[k]);
        assert_int_equal(tw_ring_write(r, buf, sizes[k], 0, k == 2 ? TW_BLOCK_OVERFLOW : 0,
                                       100.0 + k), 0);
        clock_gettime(CLOCK_MONOTONIC, &m1[k]);
        clock_gettime(CLOCK_REALTIME, &r1[k]);
        memset(buf, 0, sizeof buf); /* the ring holds its own copy */
        idx += sizes[k];
        assert_int_equal(tw_ring_get_fill(r), k + 1);
    }
    assert_int_equal(tw_ring_get_written_frames(r), (uint64_t)idx);
    assert_int_equal(tw_ring_get_dropped_blocks(r), 0);
    assert_int_equal(tw_ring_get_dropped_frames(r), 0);

    int64_t expect = 0;
    for (unsigned k = 0; k < NB; k++) {
        const tw_block *b = tw_ring_peek(r);
        assert_non_null(b);
        assert_ptr_equal(tw_ring_peek(r), b); /* peek does not consume */
        assert_int_equal(b->first_frame, expect);
        assert_int_equal(b->frames, sizes[k]);
        assert_int_equal(b->flags, k == 2 ? TW_BLOCK_OVERFLOW : 0);
        assert_int_equal(b->lost_before, 0);
        assert_true(b->adc_time == 100.0 + k);
        assert_int_equal(check_block_data(b, CH), -1);
        assert_true(ts_le(&m0[k], &b->mono) && ts_le(&b->mono, &m1[k]));
        assert_true(ts_le(&r0[k], &b->real) && ts_le(&b->real, &r1[k]));
        expect += b->frames;
        tw_ring_release(r);
        assert_int_equal(tw_ring_get_fill(r), NB - k - 1);
    }
    assert_null(tw_ring_peek(r));
    tw_ring_release(r); /* empty again: no-op, the next write still works */
    fill_block(buf, expect, 4, CH);
    assert_int_equal(tw_ring_write(r, buf, 4, 0, 0, 0.0), 0);
    const tw_block *b = tw_ring_peek(r);
    assert_non_null(b);
    assert_int_equal(b->first_frame, expect);
    assert_int_equal(check_block_data(b, CH), -1);
    tw_ring_release(r);
    tw_ring_destroy(r);
}

static void test_wraparound(void **state)
{
    (void)state;
    enum { CH = 2, MAXF = 8 };
    for (unsigned lag = 1; lag <= 3; lag++) {
        tw_ring *r = tw_ring_create(4, MAXF, CH);
        assert_non_null(r);
        float buf[MAXF * CH];
        int64_t widx = 0, ridx = 0;
        unsigned pending = 0;
        for (unsigned k = 0; k < 5000; k++) {
            unsigned n = 1 + (k * 5 + lag) % MAXF;
            fill_block(buf, widx, n, CH);
            assert_int_equal(tw_ring_write(r, buf, n, 0, 0, 0.0), 0);
            widx += n;
            pending++;
            while (pending >= lag) { /* the reader stays `lag - 1` behind */
                const tw_block *b = tw_ring_peek(r);
                assert_non_null(b);
                assert_int_equal(b->first_frame, ridx);
                assert_int_equal(b->lost_before, 0);
                assert_int_equal(check_block_data(b, CH), -1);
                ridx += b->frames;
                tw_ring_release(r);
                pending--;
                if (pending == 0)
                    break;
            }
            assert_int_equal(tw_ring_get_fill(r), pending);
        }
        assert_int_equal(tw_ring_get_dropped_blocks(r), 0);
        assert_int_equal(tw_ring_get_written_frames(r), (uint64_t)widx);
        tw_ring_destroy(r);
    }
}

static void test_full_ring_drops(void **state)
{
    (void)state;
    enum { CH = 2, MAXF = 10 };
    tw_ring *r = tw_ring_create(4, MAXF, CH);
    assert_non_null(r);
    float buf[(MAXF + 1) * CH];
    int64_t idx = 0;
    for (int k = 0; k < 4; k++) { /* fill it: 4 x 10 frames */
        fill_block(buf, idx, 10, CH);
        assert_int_equal(tw_ring_write(r, buf, 10, 0, 0, 0.0), 0);
        idx += 10;
    }
    /* full: two blocks dropped (7 + 3 frames), the second with a flag */
    fill_block(buf, idx, 7, CH);
    assert_int_equal(tw_ring_write(r, buf, 7, 0, 0, 0.0), -1);
    idx += 7;
    fill_block(buf, idx, 3, CH);
    assert_int_equal(tw_ring_write(r, buf, 3, 0, TW_BLOCK_OVERFLOW, 0.0), -1);
    idx += 3;
    assert_int_equal(tw_ring_get_dropped_blocks(r), 2);
    assert_int_equal(tw_ring_get_dropped_frames(r), 10);
    assert_int_equal(tw_ring_get_written_frames(r), 40);
    assert_int_equal(tw_ring_get_fill(r), 4);
    /* the blocks already in are intact */
    for (int k = 0; k < 4; k++) {
        const tw_block *b = tw_ring_peek(r);
        assert_non_null(b);
        assert_int_equal(b->first_frame, 10 * k);
        assert_int_equal(b->lost_before, 0);
        assert_int_equal(check_block_data(b, CH), -1);
        tw_ring_release(r);
    }
    /* the next block: index 50, 10 frames lost before it, the flag kept */
    fill_block(buf, idx, 5, CH);
    assert_int_equal(tw_ring_write(r, buf, 5, 0, TW_BLOCK_RESTART, 0.0), 0);
    idx += 5;
    const tw_block *b = tw_ring_peek(r);
    assert_non_null(b);
    assert_int_equal(b->first_frame, 50);
    assert_int_equal(b->lost_before, 10);
    assert_int_equal(b->flags, TW_BLOCK_OVERFLOW | TW_BLOCK_RESTART);
    assert_int_equal(check_block_data(b, CH), -1);
    tw_ring_release(r);
    /* the loss is reported once */
    fill_block(buf, idx, 5, CH);
    assert_int_equal(tw_ring_write(r, buf, 5, 0, 0, 0.0), 0);
    idx += 5;
    b = tw_ring_peek(r);
    assert_int_equal(b->first_frame, 55);
    assert_int_equal(b->lost_before, 0);
    assert_int_equal(b->flags, 0);
    tw_ring_release(r);

    /* declared loss: 100 frames before this block */
    idx += 100;
    fill_block(buf, idx, 2, CH);
    assert_int_equal(tw_ring_write(r, buf, 2, 100, TW_BLOCK_OVERFLOW, 0.0), 0);
    b = tw_ring_peek(r);
    assert_int_equal(b->first_frame, 160);
    assert_int_equal(b->lost_before, 100);
    assert_int_equal(b->flags, TW_BLOCK_OVERFLOW);
    assert_int_equal(check_block_data(b, CH), -1);
    tw_ring_release(r);
    idx += 2;
    /* declared loss with no frames (no block), a negative loss (ignored),
     * then a block too large for a slot (dropped and counted) */
    assert_int_equal(tw_ring_write(r, buf, 0, 8, TW_BLOCK_OVERFLOW, 0.0), 0);
    assert_null(tw_ring_peek(r));
    idx += 8;
    fill_block(buf, idx, MAXF + 1, CH);
    assert_int_equal(tw_ring_write(r, buf, MAXF + 1, -5, 0, 0.0), -1);
    idx += MAXF + 1;
    assert_int_equal(tw_ring_get_dropped_blocks(r), 3);
    assert_int_equal(tw_ring_get_dropped_frames(r), 10 + MAXF + 1);
    fill_block(buf, idx, 1, CH);
    assert_int_equal(tw_ring_write(r, buf, 1, 0, 0, 0.0), 0);
    b = tw_ring_peek(r);
    assert_int_equal(b->first_frame, idx);
    assert_int_equal(b->first_frame, 162 + 8 + MAXF + 1);
    assert_int_equal(b->lost_before, 8 + MAXF + 1);
    assert_int_equal(b->flags, TW_BLOCK_OVERFLOW);
    assert_int_equal(check_block_data(b, CH), -1);
    tw_ring_release(r);
    assert_int_equal(tw_ring_get_written_frames(r), 40 + 5 + 5 + 2 + 1);
    tw_ring_destroy(r);
}

/* ---- two threads ---- */

enum { ST_CH = 2, ST_MAXF = 300, ST_SLOTS = 8 };

typedef struct {
    tw_ring *r;
    uint64_t seed;
    int64_t frames_lossless, frames_lossy;
    /* producer's tally */
    int64_t produced;        /* index after the last frame */
    int64_t dropped_frames, dropped_blocks, declared_lost;
    int last_write_rc;       /* of the final block: must be 0 */
    atomic_int done;
    /* consumer's tally */
    int64_t seen_frames, seen_lost, seen_blocks, bad_index, bad_value;
    int64_t first_bad_at;
} stress_t;

static void *producer(void *arg)
{
    stress_t *s = arg;
    tt_rng rng;
    tt_rng_seed(&rng, s->seed);
    float *buf = tt_xmalloc(sizeof(float) * ST_MAXF * ST_CH);
    int64_t idx = 0;
    for (int phase = 0; phase < 2; phase++) {
        int64_t end = idx + (phase == 0 ? s->frames_lossless : s->frames_lossy);
        while (idx < end) {
            unsigned n = 1 + (unsigned)tt_index(&rng, ST_MAXF);
            int64_t lost = 0;
            if (phase == 0) {
                while (tw_ring_get_fill(s->r) == ST_SLOTS) /* wait for room */
                    sched_yield();
            } else if (tt_index(&rng, 16) == 0) {
                lost = 1 + (int64_t)tt_index(&rng, 50);
            }
            idx += lost;
            s->declared_lost += lost;
            fill_block(buf, idx, n, ST_CH);
            if (tw_ring_write(s->r, buf, n, lost, 0, (double)idx) != 0) {
                s->dropped_frames += n;
                s->dropped_blocks++;
            }
            idx += n;
        }
    }
    /* one last block that surely gets in, so no loss is left unreported */
    while (tw_ring_get_fill(s->r) == ST_SLOTS)
        sched_yield();
    fill_block(buf, idx, 1, ST_CH);
    s->last_write_rc = tw_ring_write(s->r, buf, 1, 0, 0, (double)idx);
    idx += 1;
    s->produced = idx;
    free(buf);
    atomic_store_explicit(&s->done, 1, memory_order_release);
    return NULL;
}

static void *consumer(void *arg)
{
    stress_t *s = arg;
    int64_t expect = 0;
    for (;;) {
        const tw_block *b = tw_ring_peek(s->r);
        if (!b) {
            if (atomic_load_explicit(&s->done, memory_order_acquire) && !tw_ring_peek(s->r))
                break;
            sched_yield();
            continue;
        }
        if (b->lost_before < 0 || b->first_frame != expect + b->lost_before ||
            b->frames < 1 || b->frames > ST_MAXF || b->adc_time != (double)b->first_frame) {
            if (s->bad_index++ == 0)
                s->first_bad_at = expect;
        }
        long bad = check_block_data(b, ST_CH);
        if (bad >= 0 && s->bad_value++ == 0)
            s->first_bad_at = b->first_frame + bad / ST_CH;
        s->seen_lost += b->lost_before;
        s->seen_frames += b->frames;
        s->seen_blocks++;
        expect = b->first_frame + b->frames;
        tw_ring_release(s->r);
        if (expect > s->frames_lossless && s->seen_blocks % 64 == 0) {
            /* lossy phase: fall behind now and then, so the ring fills */
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("ring stress", 20240611);
    stress_t s;
    memset(&s, 0, sizeof s);
    s.r = tw_ring_create(ST_SLOTS, ST_MAXF, ST_CH);
    assert_non_null(s.r);
    s.seed = seed;
    s.frames_lossless = 3000000;
    s.frames_lossy = 3000000;
    atomic_init(&s.done, 0);
    pthread_t tp, tc;
    assert_int_equal(pthread_create(&tc, NULL, consumer, &s), 0);
    assert_int_equal(pthread_create(&tp, NULL, producer, &s), 0);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    printf("[ INFO     ] %lld frames produced, %lld seen in %lld blocks, %lld dropped in %lld "
           "blocks, %lld declared lost\n",
           (long long)s.produced, (long long)s.seen_frames, (long long)s.seen_blocks,
           (long long)s.dropped_frames, (long long)s.dropped_blocks, (long long)s.declared_lost);
    if (s.bad_index || s.bad_value)
        fail_msg("%lld bad indices, %lld bad values, first near frame %lld (seed %llu)",
                 (long long)s.bad_index, (long long)s.bad_value, (long long)s.first_bad_at,
                 (unsigned long long)seed);
    assert_int_equal(s.last_write_rc, 0);
    assert_true(s.dropped_blocks > 0); /* the lossy phase did lose blocks */
    assert_true(s.produced >= s.frames_lossless + s.frames_lossy);
    assert_int_equal(s.seen_frames + s.seen_lost, s.produced);
    assert_int_equal(s.seen_lost, s.dropped_frames + s.declared_lost);
    assert_int_equal(tw_ring_get_dropped_frames(s.r), (uint64_t)s.dropped_frames);
    assert_int_equal(tw_ring_get_dropped_blocks(s.r), (uint64_t)s.dropped_blocks);
    assert_int_equal(tw_ring_get_written_frames(s.r), (uint64_t)s.seen_frames);
    assert_int_equal(tw_ring_get_fill(s.r), 0);
    tw_ring_destroy(s.r);
}

static void test_no_alloc_in_write(void **state)
{
    (void)state;
#ifdef TT_ASAN
    skip(); /* ASan owns malloc: the interposition is not possible there */
#else
    enum { CH = 4, MAXF = 64 };
    g_allocs = g_frees = 0;
    g_counting = 1;
    tw_ring *r = tw_ring_create(8, MAXF, CH);
    g_counting = 0;
    assert_non_null(r);
    if (g_allocs == 0)
        fail_msg("malloc interposition is not effective (create counted 0 calls)");
    float buf[MAXF * CH];
    fill_block(buf, 0, MAXF, CH);
    g_allocs = g_frees = 0;
    g_counting = 1;
    for (int k = 0; k < 1000; k++) { /* successful writes, drops, declared loss */
        tw_ring_write(r, buf, 1 + (unsigned)k % MAXF, k % 7 == 0 ? 3 : 0,
                      k % 5 == 0 ? TW_BLOCK_OVERFLOW : 0, 0.0);
        if (k % 3 == 0 && tw_ring_peek(r))
            tw_ring_release(r);
    }
    g_counting = 0;
    assert_true(tw_ring_get_dropped_blocks(r) > 0);
    assert_int_equal(g_allocs, 0);
    assert_int_equal(g_frees, 0);
    tw_ring_destroy(r);
#endif
}

/* tw_ring_wait: times out on an empty ring (stale semaphore counts left
 * by blocks taken without waiting do not count as a block), and wakes as
 * soon as a block is written by another thread. */
static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static struct timespec mono_at(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    return t;
}

typedef struct {
    tw_ring *r;
    double delay_s;
} late_writer_t;

static void *late_writer(void *arg)
{
    late_writer_t *w = arg;
    struct timespec d = mono_at(w->delay_s);
    nanosleep(&d, NULL);
    float buf[4 * 2] = {0};
    tw_ring_write(w->r, buf, 4, 0, 0, 0.0);
    return NULL;
}

static void test_wait(void **state)
{
    (void)state;
    tw_ring *r = tw_ring_create(4, 4, 2);
    assert_non_null(r);
    /* empty: the time-out, and not before it */
    double t0 = mono_now();
    struct timespec until = mono_at(t0 + 0.05);
    assert_int_equal(tw_ring_wait(r, &until), 0);
    assert_true(mono_now() >= t0 + 0.05);
    /* three blocks taken without waiting leave three stale counts */
    float buf[4 * 2] = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(tw_ring_write(r, buf, 4, 0, 0, 0.0), 0);
    until = mono_at(mono_now() + 0.05);
    assert_int_equal(tw_ring_wait(r, &until), 1); /* waiting already */
    while (tw_ring_peek(r))
        tw_ring_release(r);
    until = mono_at(mono_now() + 0.05);
    assert_int_equal(tw_ring_wait(r, &until), 0);
    assert_null(tw_ring_peek(r));
    /* a block written 20 ms from now wakes a wait of up to 10 s */
    late_writer_t w = {r, 0.02};
    pthread_t th;
    t0 = mono_now();
    assert_int_equal(pthread_create(&th, NULL, late_writer, &w), 0);
    until = mono_at(t0 + 10.0);
    assert_int_equal(tw_ring_wait(r, &until), 1);
    double waited = mono_now() - t0;
    pthread_join(th, NULL);
    assert_non_null(tw_ring_peek(r));
    if (waited >= 5.0)
        fail_msg("woke after %.3f s: the write did not wake the wait", waited);
    tw_ring_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_full_ring_drops),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_no_alloc_in_write),
        cmocka_unit_test(test_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
