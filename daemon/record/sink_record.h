/* sink_record.h: the recording sink: input blocks to the recorder
 * (recorder.h), and annotations in the recording for events, gaps and
 * quality changes. In record.mode=session only the session's events are
 * annotated (the recording is the session's). Used in the DSP thread. */
#ifndef TW_SINK_RECORD_H
#define TW_SINK_RECORD_H

#include "config.h"
#include "recorder.h"
#include "sink.h"

typedef struct {
    tw_recorder *rec; /* not owned */
    tw_rec_mode mode; /* record.mode */
    double rate;      /* Hz */
} tw_sink_record;

/* The sink feeding r (filled in by the caller, lives as long). */
tw_sink tw_sink_record_sink(tw_sink_record *r);

#endif
