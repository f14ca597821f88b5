/* ring.h: the single-producer / single-consumer ring of sample blocks
 * between a source (the PortAudio callback, or a file/synth thread) and
 * the DSP thread.
 *
 * Lock-free (C11 atomics), preallocated: tw_ring_write never allocates,
 * locks, blocks or logs, so it may run in an audio callback; it posts a
 * semaphore, which wakes a consumer waiting in tw_ring_wait at once
 * (one wake-up per block, instead of polling). When the
 * ring is full the block is dropped and counted; the next block written
 * carries the number of frames lost before it (lost_before), so that the
 * consumer can publish a gap and sample indices stay true.
 *
 * Samples are interleaved float in digital full-scale units (+-1.0).
 * One thread writes, one thread reads; any thread may read the counters.
 */
#ifndef TW_RING_H
#define TW_RING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    int64_t first_frame;    /* stream index of the block's first frame */
    uint32_t frames;        /* frames in the block */
    uint32_t flags;         /* TW_BLOCK_* */
    int64_t lost_before;    /* frames lost right before this block */
    double adc_time;        /* PortAudio inputBufferAdcTime (s), 0 if none */
    struct timespec mono;   /* CLOCK_MONOTONIC when the block was written */
    struct timespec real;   /* CLOCK_REALTIME when the block was written */
    float *data;            /* frames x channels, interleaved */
} tw_block;

enum {
    TW_BLOCK_OVERFLOW = 1u << 0, /* the device reported an input overflow */
    TW_BLOCK_RESTART = 1u << 1,  /* first block after a device restart */
};

typedef struct tw_ring tw_ring;

/* slots: blocks held (power of two, 2 .. 65536); max_frames: largest
 * block (1 .. 1<<20); channels: 1 .. 64. NULL on bad parameters. */
tw_ring *tw_ring_create(unsigned slots, unsigned max_frames, unsigned channels);
void tw_ring_destroy(tw_ring *r);

/* Producer: copy frames (<= max_frames) into the next slot, stamping the
 * clocks. Frames are numbered on from the previous write: frames dropped
 * (ring full) or declared lost (lost > 0, e.g. a device overflow of
 * known size) advance the index and are reported as lost_before of the
 * next block that gets in. Returns 0, or -1 when the block was dropped. */
int tw_ring_write(tw_ring *r, const float *interleaved, unsigned frames,
                  int64_t lost, uint32_t flags, double adc_time);

/* Consumer: the oldest unread block, or NULL when empty. Valid until
 * tw_ring_release. */
const tw_block *tw_ring_peek(tw_ring *r);
void tw_ring_release(tw_ring *r);
/* Consumer: sleep until a block is waiting or CLOCK_MONOTONIC reaches
 * *until. Returns 1 when a block is waiting, 0 on time-out. */
int tw_ring_wait(tw_ring *r, const struct timespec *until);

/* Counters (any thread). */
uint64_t tw_ring_get_dropped_blocks(const tw_ring *r);
uint64_t tw_ring_get_dropped_frames(const tw_ring *r);
uint64_t tw_ring_get_written_frames(const tw_ring *r);
unsigned tw_ring_get_fill(const tw_ring *r); /* blocks waiting */
unsigned tw_ring_get_slots(const tw_ring *r); /* capacity in blocks */
unsigned tw_ring_get_channels(const tw_ring *r);
unsigned tw_ring_get_max_frames(const tw_ring *r);

#endif
