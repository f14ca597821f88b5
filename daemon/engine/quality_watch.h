/* quality_watch.h: judges one channel's signal quality block by block
 * (quality.h's states) from what the pipeline's input guard, noise floor
 * and mains canceller report and the block's samples at full scale. The
 * live engine and replay both judge with it, so they name the same
 * stretches, and events over a bad stretch carry the same "quality".
 */
#ifndef TW_QUALITY_WATCH_H
#define TW_QUALITY_WATCH_H

#include <stdint.h>

#include "config.h"
#include "pipeline.h"
#include "quality.h"

#define TW_QUALITY_MAINS_S 2.0 /* auto mains: unlocked after this long unfound, s */

typedef struct {
    tw_quality q;            /* the state and the stretches it remembers */
    uint64_t clipped_seen;   /* samples at full scale at the last block */
    uint64_t nonfinite_seen; /* the guard's count then */
    int64_t mains_search;    /* sample from which no line frequency was found, -1: found */
} tw_quality_watch;

void tw_quality_watch_init(tw_quality_watch *w);

/* After the block of samples first .. end - 1 of channel ch (rate in Hz),
 * `clipped` the channel's samples at full scale so far. Returns 1 when the
 * state changed (w->q.flags new, w->q.since where it begins). */
int tw_quality_watch_block(tw_quality_watch *w, const tw_pipeline *pl, int ch,
                           const tw_config *cfg, double rate, uint64_t clipped,
                           int64_t first, int64_t end);

#endif
