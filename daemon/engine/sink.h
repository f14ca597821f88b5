/* sink.h: a consumer of what the DSP engine produces. The engine
 * (engine.c) keeps a table of sinks and calls each one's callbacks,
 * in table order, in the DSP thread, as the data path produces:
 *
 *   on_samples  each input block, in uV (raw: scaled, not conditioned),
 *               before the engine moves past it
 *   on_conditioned  the same block as the detectors saw it (DC removed,
 *               band-passed, mains cancelled), per channel, at the
 *               detector rate; also for the samples a short gap was
 *               filled with. Only when a sink has this callback does the
 *               pipeline keep it (tw_pipeline_set_tap)
 *   on_display  a batch of display values (the sample of largest |x| per
 *               bin) of one channel
 *   on_event    an onset notice (e->is_start) or a final event, each with
 *               its candidate id (e->id)
 *   on_cancel   a notice resolved without a final event: turned down by
 *               the detectors, or dropped by a restart (pipeline.h)
 *   on_gap      samples lost (each gap; and the record standing for
 *               ring-full gaps merged under overload)
 *   on_quality  a channel's signal quality changed
 *   on_session  a session started or stopped (its journaled record)
 *   on_mark     a mark, an insertion, a setting changed, a recalibration
 *   on_status   the heartbeat's status body (borrowed)
 *   on_tick     after each block, and at least every 50 ms between blocks
 *   add_status  the status body being built (heartbeats and the `status`
 *               request): the sink adds its own fields
 *   on_command  a control request the engine does not know (control.c
 *               checked its keys): the sink's reply, or NULL when the
 *               command is not the sink's; the first sink to answer wins
 *
 * Built in: the wire sink (out.h: journal, then publisher) and the
 * recording sink (sink_record.c). A new consumer (an audio monitor, a
 * file of events) is one more tw_sink handed to tw_engine_start.
 *
 * Contract: callbacks run in the DSP thread and must not block (hand work
 * to a queue or a thread of the sink's own, as the journal and the
 * recorder do); they must not call back into the engine. Pointers are
 * valid for the call only. A NULL callback is not called. */
#ifndef TW_SINK_H
#define TW_SINK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pipeline.h"
#include "trains.h"
#include "tw_dsp.h"
#include "wire.h"

#define TW_MAX_SINKS 8 /* sinks an engine feeds, at most */

typedef struct {
    const tw_event *e;          /* the detector's event */
    int ch;                     /* its channel */
    const tw_train_info *train; /* its insertion train (LTR), or NULL */
    unsigned quality;           /* final events: TW_Q_* of the bad stretches it overlaps */
    int in_session;             /* 1: it belongs to the open session */
} tw_sink_event;

typedef struct {
    int64_t first;        /* first sample lost */
    int64_t count;        /* samples lost; -1: unknown (an input overflow) */
    tw_gap_cause why;
    long merged;          /* 0: one gap; N > 0: the record of N ring-full gaps merged
                             (each was passed before, with record 0) */
    int record;           /* 1: this gap gets a record of its own (journal) */
    const char *cause;    /* the record's "cause" text */
} tw_sink_gap;

typedef struct {
    int ch;
    int64_t at;              /* where the new state begins */
    unsigned flags;          /* TW_Q_* */
    uint64_t nonfinite;      /* the guard's count of non-finite samples */
    uint64_t flat_stretches; /* flat stretches so far */
} tw_sink_quality;

typedef struct {
    const float *const *x;      /* x[ch][0 .. n), uV */
    int nch;
    int64_t first;              /* the sample index of x[.][0] */
    size_t n;
    const struct timespec *t;   /* CLOCK_REALTIME of sample first */
} tw_sink_block;

typedef struct {
    const float *const *y;      /* y[ch][0 .. n[ch]): conditioned samples, uV */
    const size_t *n;            /* per channel (equal but after a flat stretch) */
    int nch;
    double rate;                /* the detector rate, Hz (`set` may change it) */
    int64_t first;              /* input sample index of the block's first sample */
    size_t frames;              /* input samples of the block */
    double mono;                /* CLOCK_MONOTONIC s at which the source handed the
                                   block over (ring.h `mono`: its last sample had
                                   arrived); for a gap's filling, the next block's */
} tw_sink_conditioned;

typedef struct {
    const char *id;        /* the session id */
    int64_t sample;        /* start: its first sample; stop: the stop sample (exclusive) */
    int started;           /* 1: started, 0: stopped */
    const json_t *record;  /* the fields of its evt.session record (session-summary.md) */
} tw_sink_session;

typedef struct {
    int topic;             /* TW_T_EVT_MARK or TW_T_EVT_INSERTION (wire.h) */
    const char *kind;      /* "mark", "insertion", "set", "recalibrate" */
    const char *label;     /* or NULL */
    int64_t sample;        /* where it lands: the sample processed next */
    int in_session;        /* 1: it belongs to the open session */
    const json_t *record;  /* the fields of its journaled record */
} tw_sink_mark;

typedef struct tw_sink {
    const char *name;
    void *ctx;
    void (*on_samples)(void *ctx, const tw_sink_block *b);
    void (*on_conditioned)(void *ctx, const tw_sink_conditioned *c);
    void (*on_display)(void *ctx, int ch, int64_t first, double rate, const float *v, size_t n);
    void (*on_event)(void *ctx, const tw_sink_event *ev);
    void (*on_cancel)(void *ctx, const tw_cancel *c);
    void (*on_gap)(void *ctx, const tw_sink_gap *g);
    void (*on_quality)(void *ctx, const tw_sink_quality *q);
    void (*on_session)(void *ctx, const tw_sink_session *s);
    void (*on_mark)(void *ctx, const tw_sink_mark *m);
    void (*on_status)(void *ctx, int64_t sample, const json_t *body);
    /* next: the sample processed next, t_next its CLOCK_REALTIME, now
     * CLOCK_MONOTONIC s */
    void (*on_tick)(void *ctx, int64_t next, const struct timespec *t_next, double now);
    void (*add_status)(void *ctx, json_t *body);
    /* req: the whole request (borrowed); reply: a new reference */
    json_t *(*on_command)(void *ctx, const char *cmd, const json_t *req);
} tw_sink;

#endif
