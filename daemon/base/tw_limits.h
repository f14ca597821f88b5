/* tw_limits.h: the limits every part of the daemon shares, defined once.
 * The configuration's key table, the sources, the wire, sessions and
 * recordings all take them from here. */
#ifndef TW_LIMITS_H
#define TW_LIMITS_H

#define TW_MAX_CHANNELS 8    /* input channels, at most (channels) */
#define TW_MIN_RATE 250      /* input sample rate, at least (Hz) */
#define TW_MAX_RATE 192000   /* input sample rate, at most (Hz) */

_Static_assert(TW_MAX_CHANNELS >= 1 && TW_MAX_CHANNELS <= 64,
               "channel masks and per-channel arrays assume 1..64 channels");

#endif
