/* engine_priv.h: the DSP engine's state, shared by its three files, whose
 * calls go one way:
 *   engine.c  the data path: ring -> pipeline -> sinks (sink.h);
 *                 the loop, the call mailbox; calls the two below
 *   engine_cmds.c    control requests and sessions; calls engine_status.c,
 *                 the wire sink (out.h) and the recorder (recorder.h)
 *   engine_status.c  the status body
 * Only the DSP thread touches it, except the fields marked atomic and the
 * mailbox (mailbox.h). */
#ifndef TW_ENGINE_PRIV_H
#define TW_ENGINE_PRIV_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "mailbox.h"
#include "mq.h"
#include "pipeline.h"
#include "out.h"
#include "recorder.h"
#include "sink.h"
#include "sink_record.h"
#include "ring.h"
#include "quality.h"
#include "quality_watch.h"
#include "session.h"
#include "session_span.h"
#include "wire.h"

typedef struct {
    double sum2;      /* sum of squares this heartbeat, uV^2 */
    long n;
    float peak;       /* largest |x| this heartbeat, uV */
    uint64_t clipped; /* samples at full scale, since start */
    /* display stream: the sample of largest |x| per bin (spikes stay visible) */
    float bin_best;
    long bin_n;
    float *sig;       /* pending display values */
    size_t sig_n;
    int64_t sig_first;
    tw_quality_watch qw; /* its signal quality (qw.q: the state, its stretches) */
} chan_stats;

struct tw_engine {
    tw_config cfg;         /* own copy: `set` changes it */
    tw_ring *ring;
    tw_status_fn status;
    void *status_user;
    tw_pipeline *pl;
    tw_wire wire;
    double rate;
    int nch;
    double scale;          /* uV per digital unit */
    float *x[TW_MAX_CHANNELS];
    size_t xcap;
    chan_stats cs[TW_MAX_CHANNELS];
    long sig_bin;          /* input samples per display value */
    size_t sig_batch;      /* display values per sig message */

    int64_t next;          /* next expected stream sample */
    int64_t offset;        /* added to ring frame indices (restarts) */
    int have_block;
    struct timespec last_mono;
    uint32_t last_frames;

    uint64_t overflows, gaps, gap_samples;
    long beat_gaps;        /* gap records sent this heartbeat */
    long merged_n;         /* ring-full gaps merged, not yet sent */
    int64_t merged_first, merged_samples;
    struct timespec t0, next_beat;
    double beat_s;

    pthread_t th;
    atomic_int stop;
    atomic_int restart;
    atomic_int done;       /* input.duration_s reached */
    int64_t limit;         /* samples to process, 0: no limit */
    _Atomic uint64_t events;
    _Atomic int64_t samples;
    _Atomic double last_block;

    tw_mailbox mbox;       /* control requests (tw_engine_call), run between blocks */

    tw_session *session;   /* the open session, or NULL */
    char last_id_base[TW_SESSION_ID_MAX]; /* the latest session id of this run, without */
    int last_id_k;                        /* its ".K" suffix, and K (1: none) */
    tw_session_span span;  /* its samples; a pending stop (session_span.h) */
    uint64_t close_call;   /* the ticket of the stop's request (mailbox.h) */
    tw_recorder *recorder; /* the recording (recorder.h) */
    /* the consumers (sink.h): the wire sink (journal, publisher), the
     * recording sink, then those the owner added */
    tw_out out;
    tw_sink_record rec_sink;
    tw_sink sinks[TW_MAX_SINKS];
    int nsinks;
    int want_cond;         /* a sink has on_conditioned: the pipeline keeps its tap */
};

/* Each sink's callback NAME, if it has one, with ARGS after its ctx. */
#define TW_EACH_SINK(d, name, ...)                                        \
    do {                                                               \
        for (int k_ = 0; k_ < (d)->nsinks; k_++)                       \
            if ((d)->sinks[k_].name)                                   \
                (d)->sinks[k_].name((d)->sinks[k_].ctx, __VA_ARGS__);  \
    } while (0)

/* engine_cmds.c: a control request, in the DSP thread (reply: new ref). */
json_t *tw_dsp_cmd(tw_engine *d, const json_t *req);
/* engine_status.c: the status body of heartbeats and of `status` (new ref). */
json_t *tw_engine_status(tw_engine *d);
void tw_dsp_close_all(tw_engine *d); /* end of run: stop session and recording */
/* engine_cmds.c: a pending session.stop is due: its reply (new ref). */
json_t *tw_dsp_finish_stop(tw_engine *d);
/* engine_cmds.c: 1 when the final event e belongs to the open session. */
int tw_dsp_in_session(const tw_engine *d, const tw_event *e);
void tw_dsp_rec_apply_mode(tw_engine *d); /* start/stop per record.mode */


#endif
