/* spsc.h: a lock-free single-producer / single-consumer ring of
 * fixed-size elements (C11 atomics), preallocated: the audio monitor's
 * way between the DSP thread, its own thread and the PortAudio output
 * callback (monitor.h).
 *
 * Contract: one thread writes (tw_spsc_write), one thread reads
 * (tw_spsc_read, tw_spsc_peek, tw_spsc_drop); any thread may ask the
 * fill. Neither side ever blocks, allocates, locks or makes a system
 * call: a write takes what fits and says how much (the caller counts the
 * rest as dropped), a read takes what there is. */
#ifndef TW_SPSC_H
#define TW_SPSC_H

#include <stddef.h>

typedef struct tw_spsc tw_spsc;

/* At least min_elems elements (rounded up to a power of two, 2 ..
 * 1 << 24) of elem_size bytes (1 .. 4096). NULL on bad sizes or out of
 * memory. */
tw_spsc *tw_spsc_create(size_t min_elems, size_t elem_size);
void tw_spsc_destroy(tw_spsc *r);

/* Producer: copy up to n elements in; returns how many went in. */
size_t tw_spsc_write(tw_spsc *r, const void *src, size_t n);

/* Consumer: copy up to n elements out (dst may be NULL: they are
 * dropped); returns how many. */
size_t tw_spsc_read(tw_spsc *r, void *dst, size_t n);

/* Consumer: the oldest element (not taken), or NULL when empty. */
const void *tw_spsc_peek(tw_spsc *r);

size_t tw_spsc_fill(const tw_spsc *r);     /* elements waiting (any thread) */
size_t tw_spsc_capacity(const tw_spsc *r); /* elements it holds at most */

#endif
