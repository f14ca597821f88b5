/* mon_out.c: see mon_out.h. */
#include "mon_out.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "spsc.h"

#define TW_MON_MARKS 256 /* latency marks waiting, at most (one per push) */

typedef struct {
    uint64_t pos;        /* stream position of the push's first sample */
    double t_in;         /* its input's hand-over time, CLOCK_MONOTONIC s */
} mark;

struct tw_mon_out {
    tw_spsc *ring;       /* float samples */
    tw_spsc *marks;      /* mark */
    uint64_t wpos;       /* producer: samples written so far */
    uint64_t rpos;       /* consumer: samples read so far */
    atomic_size_t target, limit;
    atomic_int playing;
    _Atomic uint64_t underruns, overruns, dropped, played;
    /* latency, in microseconds */
    _Atomic uint64_t lat_n, lat_sum_us, lat_max_us, lat_last_us;
};

tw_mon_out *tw_mon_out_create(size_t capacity, size_t target, size_t limit)
{
    if (capacity < 2 || target > limit || limit > capacity)
        return NULL;
    tw_mon_out *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->ring = tw_spsc_create(capacity, sizeof(float));
    o->marks = tw_spsc_create(TW_MON_MARKS, sizeof(mark));
    if (!o->ring || !o->marks) {
        tw_mon_out_destroy(o);
        return NULL;
    }
    atomic_init(&o->target, target);
    atomic_init(&o->limit, limit);
    atomic_init(&o->playing, 0);
    return o;
}

void tw_mon_out_destroy(tw_mon_out *o)
{
    if (!o)
        return;
    tw_spsc_destroy(o->ring);
    tw_spsc_destroy(o->marks);
    free(o);
}

void tw_mon_out_reset(tw_mon_out *o)
{
    size_t n;
    while ((n = tw_spsc_read(o->ring, NULL, 4096)) > 0)
        o->rpos += n;
    while (tw_spsc_read(o->marks, NULL, 1) > 0)
        ;
    atomic_store(&o->playing, 0);
}

void tw_mon_out_set_target(tw_mon_out *o, size_t target, size_t limit)
{
    size_t cap = tw_spsc_capacity(o->ring);
    if (limit > cap)
        limit = cap;
    if (target > limit)
        target = limit;
    atomic_store(&o->target, target);
    atomic_store(&o->limit, limit);
}

size_t tw_mon_out_get_target(const tw_mon_out *o)
{
    return atomic_load(&((tw_mon_out *)o)->target);
}

size_t tw_mon_out_push(tw_mon_out *o, const float *y, size_t n, double t_in)
{
    size_t keep = n;
    if (keep > 0) {
        mark m = {o->wpos, t_in};
        if (tw_spsc_capacity(o->marks) > tw_spsc_fill(o->marks)) /* else not measured */
            tw_spsc_write(o->marks, &m, 1);
        keep = tw_spsc_write(o->ring, y, n); /* what the ring holds at most */
        o->wpos += keep;
    }
    if (keep < n) {
        atomic_fetch_add(&o->overruns, 1);
        atomic_fetch_add(&o->dropped, n - keep);
    }
    return keep;
}

/* The marks of samples taken up to rpos: one measurement each (none
 * when `skipped`: those samples were dropped, not played). */
static void measure(tw_mon_out *o, double now, int skipped)
{
    const mark *m;
    while ((m = tw_spsc_peek(o->marks)) != NULL && m->pos < o->rpos) {
        if (!skipped) {
            double ms = (now - m->t_in) * 1e3;
            uint64_t us = ms > 0 ? (uint64_t)llround(ms * 1e3) : 0;
            atomic_fetch_add(&o->lat_n, 1);
            atomic_fetch_add(&o->lat_sum_us, us);
            atomic_store(&o->lat_last_us, us);
            uint64_t mx = atomic_load(&o->lat_max_us);
            while (us > mx && !atomic_compare_exchange_weak(&o->lat_max_us, &mx, us))
                ;
        }
        tw_spsc_read(o->marks, NULL, 1);
    }
}

void tw_mon_out_pull(tw_mon_out *o, float *out, size_t frames, unsigned channels, double now)
{
    size_t fill = tw_spsc_fill(o->ring);
    int playing = atomic_load_explicit(&o->playing, memory_order_relaxed);
    if (!playing && fill >= atomic_load(&o->target) && fill > 0)
        playing = 1;
    size_t got = 0, limit = atomic_load(&o->limit);
    if (playing && fill > limit) {
        /* too far behind (a device that stalled, then caught up; clocks
         * that drift faster than the trim follows): the oldest go, down
         * to the target */
        size_t drop = tw_spsc_read(o->ring, NULL, fill - atomic_load(&o->target));
        o->rpos += drop;
        measure(o, now, 1);
        atomic_fetch_add(&o->overruns, 1);
        atomic_fetch_add(&o->dropped, drop);
    }
    if (playing) {
        /* mono in place at the front of out, then spread over the channels */
        got = tw_spsc_read(o->ring, out, frames);
        o->rpos += got;
        if (got < frames) {
            atomic_fetch_add(&o->underruns, 1);
            playing = 0;
        }
        atomic_fetch_add(&o->played, got);
        measure(o, now, 0);
    }
    atomic_store_explicit(&o->playing, playing, memory_order_relaxed);
    if (channels > 1)
        for (size_t i = frames; i-- > 0;) {
            float v = i < got ? out[i] : 0.0f;
            for (unsigned c = 0; c < channels; c++)
                out[i * channels + c] = v;
        }
    else
        for (size_t i = got; i < frames; i++)
            out[i] = 0.0f;
}

void tw_mon_out_stats_get(tw_mon_out *o, tw_mon_out_stats *s, int reset)
{
    memset(s, 0, sizeof *s);
    s->underruns = atomic_load(&o->underruns);
    s->overruns = atomic_load(&o->overruns);
    s->dropped = atomic_load(&o->dropped);
    s->played = atomic_load(&o->played);
    s->fill = tw_spsc_fill(o->ring);
    s->playing = atomic_load(&o->playing);
    uint64_t n = reset ? atomic_exchange(&o->lat_n, 0) : atomic_load(&o->lat_n);
    uint64_t sum = reset ? atomic_exchange(&o->lat_sum_us, 0) : atomic_load(&o->lat_sum_us);
    uint64_t mx = reset ? atomic_exchange(&o->lat_max_us, 0) : atomic_load(&o->lat_max_us);
    s->lat_n = n;
    s->lat_mean_ms = n ? (double)sum / (double)n * 1e-3 : 0.0;
    s->lat_max_ms = (double)mx * 1e-3;
    s->lat_last_ms = (double)atomic_load(&o->lat_last_us) * 1e-3;
}

size_t tw_mon_out_get_fill(const tw_mon_out *o) { return tw_spsc_fill(o->ring); }
int tw_mon_out_is_playing(const tw_mon_out *o) { return atomic_load(&((tw_mon_out *)o)->playing); }
