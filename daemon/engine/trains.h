/* trains.h: insertion trains. LTRs of one channel whose onsets are closer
 * than gap_s to the previous LTR's offset form a train; each LTR gets the
 * train's number, its position in it and its amplitude (peak-to-peak)
 * relative to the train's first LTR (docs/signals.md: successive LTRs shrink
 * over the first three, then plateau).
 *
 * An insertion mark (the clinician's key or a foot switch, through the
 * control socket) starts a new train at the next LTR after it, whatever
 * the gap; the LTRs of that train carry the insertion's number and their
 * latency from it. The gap rule still splits trains between marks. */
#ifndef TW_TRAINS_H
#define TW_TRAINS_H

#include <stdint.h>

#include "tw_dsp.h"

typedef struct {
    int train_id;     /* 0-based per channel */
    int train_index;  /* 0 = first LTR of the train */
    double rel_amp;   /* p2p / p2p of the train's first LTR */
    int insertion;    /* insertion mark the train follows (0-based), -1: none */
    double insertion_latency_ms; /* onset - that mark, ms; -1: none */
} tw_train_info;

typedef struct {
    double gap_samples;
    int64_t last_offset; /* -1: none yet */
    int train_id, index;
    double first_p2p;
    double fs_hz;
    int insertions;        /* marks seen */
    int64_t ins_sample;    /* the latest mark, -1: none */
    int ins_pending;       /* it has not started a train yet */
    int train_insertion;   /* mark of the current train, -1: none */
} tw_trains;

void tw_trains_init(tw_trains *t, double gap_s, double fs_hz);
/* Assign the LTR e to a train. */
tw_train_info tw_trains_add(tw_trains *t, const tw_event *e);
/* An insertion mark at sample (input-rate index). */
void tw_trains_insertion(tw_trains *t, int64_t sample);

#endif
