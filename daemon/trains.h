/* trains.h: insertion trains. LTRs of one channel whose onsets are closer
 * than gap_s to the previous LTR's offset form a train; each LTR gets the
 * train's number, its position in it and its amplitude (peak-to-peak)
 * relative to the train's first LTR (signals.md: successive LTRs shrink
 * over the first three, then plateau). */
#ifndef TW_TRAINS_H
#define TW_TRAINS_H

#include <stdint.h>

#include "tw_dsp.h"

typedef struct {
    int train_id;     /* 0-based per channel */
    int train_index;  /* 0 = first LTR of the train */
    double rel_amp;   /* p2p / p2p of the train's first LTR */
} tw_train_info;

typedef struct {
    double gap_samples;
    int64_t last_offset; /* -1: none yet */
    int train_id, index;
    double first_p2p;
} tw_trains;

void tw_trains_init(tw_trains *t, double gap_s, double fs_hz);
/* Assign the LTR e to a train. */
tw_train_info tw_trains_add(tw_trains *t, const tw_event *e);

#endif
