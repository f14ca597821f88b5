/* mon_out.h: the audio monitor's output side: the ring between the
 * monitor's thread (the producer: samples ready for the device) and the
 * PortAudio output callback (the consumer), with its counters and the
 * latency measurement. No PortAudio here: the callback calls
 * tw_mon_out_pull, and so do the unit tests.
 *
 * Playing starts once target samples wait (priming: silence until then,
 * not an underrun). A pull that finds fewer samples than it needs while
 * playing is an underrun: it plays what there is, then silence, counts
 * one underrun and primes again. A pull that finds more than limit
 * samples waiting drops the oldest down to the target and counts an
 * overrun: the latency stays bounded whatever the two devices' clocks
 * do. (A push into a full ring drops its rest: an overrun too.)
 *
 * Latency: each push carries the CLOCK_MONOTONIC time at which its input
 * was handed over by the source (t_in); when the callback takes that
 * push's first sample into the output buffer at `now`, now - t_in is one
 * measurement (input block handed over -> output buffer: the DSP thread,
 * this monitor's thread and both rings; not the output device's own
 * buffer).
 *
 * Contract: one producer thread, one consumer (the callback: nothing
 * blocks, allocates or locks there); stats and targets from any thread. */
#ifndef TW_MON_OUT_H
#define TW_MON_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct tw_mon_out tw_mon_out;

typedef struct {
    uint64_t underruns;   /* pulls that ran short while playing */
    uint64_t overruns;    /* pulls that dropped the oldest (over limit), pushes
                             into a full ring */
    uint64_t dropped;     /* samples they dropped */
    uint64_t played;      /* samples handed to the device */
    size_t fill;          /* samples waiting now */
    int playing;          /* 0: priming (silence) */
    /* latency measurements (ms) since the last tw_mon_out_stats with
     * reset = 1: count, mean, largest; the last one ever */
    uint64_t lat_n;
    double lat_mean_ms, lat_max_ms, lat_last_ms;
} tw_mon_out_stats;

/* capacity: samples the ring holds at most (rounded up to a power of
 * two); target <= limit <= capacity. NULL on bad sizes or out of memory. */
tw_mon_out *tw_mon_out_create(size_t capacity, size_t target, size_t limit);
void tw_mon_out_destroy(tw_mon_out *o);

/* Only while no consumer runs (no stream): empty the ring, priming
 * again; the counters stay. */
void tw_mon_out_reset(tw_mon_out *o);

/* Any thread: new priming target and fill limit (clamped to the
 * capacity; limit at least target). */
void tw_mon_out_set_target(tw_mon_out *o, size_t target, size_t limit);
size_t tw_mon_out_get_target(const tw_mon_out *o);

/* Producer: y[0 .. n) (mono), input handed over at t_in (CLOCK_MONOTONIC
 * s). Returns the samples kept. */
size_t tw_mon_out_push(tw_mon_out *o, const float *y, size_t n, double t_in);

/* Consumer: frames x channels interleaved into out (the mono signal on
 * every channel); now: CLOCK_MONOTONIC s. */
void tw_mon_out_pull(tw_mon_out *o, float *out, size_t frames, unsigned channels, double now);

/* Any thread: samples waiting; 1 while playing (0: priming). */
size_t tw_mon_out_get_fill(const tw_mon_out *o);
int tw_mon_out_is_playing(const tw_mon_out *o);

/* Any thread. reset: start a new latency window. */
void tw_mon_out_stats_get(tw_mon_out *o, tw_mon_out_stats *s, int reset);

#endif
