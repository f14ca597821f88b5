/* quality.h: the signal-quality state of a channel, as clinical EMG
 * machines show it: ok, or one or more of
 *   flat         >= 50 ms of identical samples (digital silence, an open
 *                or muted input, a stuck or saturated ADC: dsp/channel.h)
 *   clipping     samples at digital full scale
 *   non-finite   NaN or infinite samples (replaced by 0 before any filter)
 *   mains unlocked  filter.mains = auto and no line frequency found yet
 *   noise high   noise floor above quality.noise_max_uv
 *   signal low   noise floor (once known) below quality.noise_min_uv: no
 *                amplifier is that quiet, so the scale is wrong
 *                (input.full_scale_uv) or the input is not an amplifier
 * A condition seen in a block holds for TW_QUALITY_HOLD_S after it was
 * last seen, so that a burst of clipped samples is one stretch, not one
 * record per block.
 */
#ifndef TW_QUALITY_H
#define TW_QUALITY_H

#include <jansson.h>
#include <stdint.h>

#define TW_QUALITY_HOLD_S 1.0 /* a condition holds this long after, s */
#define TW_QUALITY_KEEP 64    /* bad stretches remembered per channel, for
                                 the events that end later (tw_quality_overlap) */

enum {
    TW_Q_FLAT = 1 << 0,
    TW_Q_CLIPPING = 1 << 1,
    TW_Q_NONFINITE = 1 << 2,
    TW_Q_MAINS = 1 << 3,
    TW_Q_NOISE = 1 << 4,
    TW_Q_LOW = 1 << 5,
    TW_Q_NBITS = 6,
};

/* A bad stretch: one state (the same conditions) from sample start to
 * stop (exclusive). */
typedef struct {
    int64_t start, stop;
    unsigned flags;
} tw_quality_stretch;

typedef struct {
    unsigned flags;           /* conditions in force */
    int64_t until[TW_Q_NBITS]; /* each holds until this sample */
    int64_t since;            /* sample where `flags` took its value */
    /* the latest bad stretches that ended, oldest first from index
     * past_n % TW_QUALITY_KEEP (past_n: how many ever ended) */
    tw_quality_stretch past[TW_QUALITY_KEEP];
    uint64_t past_n;
} tw_quality;

void tw_quality_init(tw_quality *q);

/* Conditions `seen` in the block of samples first .. end - 1 (hold in
 * samples). Returns 1 when the state changed: q->flags new, q->since the
 * block's first sample when a condition appeared (it was seen somewhere in
 * the block), else end (conditions whose hold ran out); the bad state
 * that ended is added to q->past. */
int tw_quality_update(tw_quality *q, unsigned seen, int64_t first, int64_t end, int64_t hold);

/* The conditions of every bad stretch (remembered, or in force now) that
 * overlaps samples first .. last (inclusive); 0: a clean stretch. */
unsigned tw_quality_overlap(const tw_quality *q, int64_t first, int64_t last);

/* ["ok"] or the names of the conditions in force (new reference). */
json_t *tw_quality_json(unsigned flags);

/* "ok" or the names joined by ", " into buf. */
const char *tw_quality_text(unsigned flags, char *buf, size_t len);

#endif
