/* engine_status.c: the status body of the heartbeats and of the `status`
 * request (engine_priv.h): levels since the last heartbeat, counters, the
 * session, the recording, and what the owner adds. In the DSP thread. */
#include "engine_priv.h"

#include <math.h>
#include <time.h>

#include "event_json.h"
#include "tw_clock.h"

/* The status body (levels since the last heartbeat). */
json_t *tw_engine_status(tw_engine *d)
{
    json_t *o = json_object();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    json_object_set_new(o, "uptime_s", json_real(tw_ts_s(&now) - tw_ts_s(&d->t0)));
    json_object_set_new(o, "rate", json_real(d->rate));
    json_object_set_new(o, "samples", json_integer(d->next));
    json_object_set_new(o, "events", json_integer((json_int_t)atomic_load(&d->events)));
    json_t *chs = json_array();
    for (int ch = 0; ch < d->nch; ch++) {
        chan_stats *c = &d->cs[ch];
        json_t *j = json_object();
        json_object_set_new(j, "channel", json_integer(ch));
        json_object_set_new(j, "noise_uv", json_real(tw_event_round(tw_pipeline_get_noise_uv(d->pl, ch))));
        double mains = tw_pipeline_get_mains_hz(d->pl, ch);
        json_object_set_new(j, "mains_hz", mains > 0 ? json_real(round(mains * 100) / 100) : json_null());
        json_object_set_new(j, "quality", tw_quality_json(c->qw.q.flags));
        json_object_set_new(j, "nonfinite", json_integer((json_int_t)tw_pipeline_get_nonfinite(d->pl, ch)));
        json_object_set_new(j, "flat_stretches",
                            json_integer((json_int_t)tw_pipeline_get_flat_stretches(d->pl, ch)));
        json_object_set_new(j, "level_uv", json_real(c->n ? tw_event_round(sqrt(c->sum2 / c->n)) : 0.0));
        json_object_set_new(j, "peak_uv", json_real(tw_event_round(c->peak)));
        json_object_set_new(j, "clipped", json_integer((json_int_t)c->clipped));
        json_array_append_new(chs, j);
    }
    json_object_set_new(o, "channels", chs);
    json_t *cnt = json_object();
    json_object_set_new(cnt, "overflows", json_integer((json_int_t)d->overflows));
    json_object_set_new(cnt, "ring_dropped_blocks", json_integer((json_int_t)tw_ring_get_dropped_blocks(d->ring)));
    json_object_set_new(cnt, "ring_dropped_frames", json_integer((json_int_t)tw_ring_get_dropped_frames(d->ring)));
    json_object_set_new(cnt, "ring_fill", json_integer(tw_ring_get_fill(d->ring)));
    json_object_set_new(cnt, "gaps", json_integer((json_int_t)d->gaps));
    json_object_set_new(cnt, "gap_samples", json_integer((json_int_t)d->gap_samples));
    json_object_set_new(cnt, "journal_queue_dropped", json_integer((json_int_t)tw_mq_get_dropped(d->out.jq)));
    json_object_set_new(cnt, "publish_queue_dropped", json_integer((json_int_t)tw_mq_get_dropped(d->out.pq)));
    json_object_set_new(o, "counters", cnt);
    if (d->session) {
        json_t *ss = json_object();
        json_object_set_new(ss, "id", json_string(tw_session_get_id(d->session)));
        json_object_set_new(ss, "ltrs", json_integer(tw_session_get_ltr_count(d->session)));
        json_object_set_new(o, "session", ss);
    } else {
        json_object_set_new(o, "session", json_null());
    }
    json_t *rec = tw_recorder_status(d->recorder, d->next, tw_ts_s(&now));
    json_object_set_new(o, "record", rec);
    TW_EACH_SINK(d, add_status, o);
    if (d->status)
        d->status(d->status_user, o);
    return o;
}
