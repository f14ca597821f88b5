/* out.c: see out.h. */
#include "out.h"

#include <stdlib.h>
#include <string.h>

#include "quality.h"

void tw_out_init(tw_out *o, tw_wire *wire, tw_mq *jq, tw_mq *pq)
{
    memset(o, 0, sizeof *o);
    o->wire = wire;
    o->jq = jq;
    o->pq = pq;
}

void tw_out_fini(tw_out *o)
{
    for (unsigned i = 0; i < TW_RECENT_MAX; i++) {
        free(o->recent[i]);
        o->recent[i] = NULL;
    }
}

/* Publish m; journal (then publish) m, keeping its header. NULL m (an
 * allocation failed): nothing. */
static void publish(tw_out *o, tw_msg *m)
{
    if (m)
        tw_mq_push(o->pq, m); /* a full queue drops and counts: never blocks */
}

static void journal(tw_out *o, tw_msg *m)
{
    if (!m)
        return;
    unsigned i = o->recent_n++ % TW_RECENT_MAX;
    free(o->recent[i]);
    o->recent[i] = strdup(m->header);
    tw_mq_push(o->jq, m);
}

static void on_event(void *ctx, const tw_sink_event *ev)
{
    tw_out *o = ctx;
    if (ev->e->is_start) /* onset notices go straight out */
        publish(o, tw_wire_event(o->wire, ev->e, ev->ch, ev->train, 0, 1));
    else /* full events are journaled first */
        journal(o, tw_wire_event(o->wire, ev->e, ev->ch, ev->train, ev->quality,
                                        ev->in_session));
}

static void on_cancel(void *ctx, const tw_cancel *c)
{
    tw_out *o = ctx;
    tw_msg *m = tw_wire_cancel(o->wire, c, 1, o->journal_rejected);
    if (o->journal_rejected)
        journal(o, m);
    else /* like the notice it resolves */
        publish(o, m);
}

/* The display stream: each channel's batch is queued quietly and the
 * publisher woken once for all of them, between blocks (on_tick): one
 * wake-up per batch instead of one per channel. */
static void on_display(void *ctx, int ch, int64_t first, double rate, const float *v, size_t n)
{
    tw_out *o = ctx;
    tw_msg *m = tw_wire_sig(o->wire, ch, first, rate, v, n);
    if (m && tw_mq_push_quiet(o->pq, m) == 0)
        o->quiet = 1;
}

static void on_tick(void *ctx, int64_t next, const struct timespec *t_next, double now)
{
    tw_out *o = ctx;
    (void)next;
    (void)t_next;
    (void)now;
    if (o->quiet) {
        o->quiet = 0;
        tw_mq_wake(o->pq);
    }
}

static void on_gap(void *ctx, const tw_sink_gap *g)
{
    tw_out *o = ctx;
    if (g->record)
        journal(o, tw_wire_gap(o->wire, g->first, g->count, g->cause));
}

static void on_quality(void *ctx, const tw_sink_quality *q)
{
    tw_out *o = ctx;
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string("quality"));
    json_object_set_new(body, "channel", json_integer(q->ch));
    json_object_set_new(body, "sample", json_integer(q->at));
    json_object_set_new(body, "onset_s", json_real((double)q->at / o->wire->rate));
    json_object_set_new(body, "quality", tw_quality_json(q->flags));
    json_object_set_new(body, "nonfinite", json_integer((json_int_t)q->nonfinite));
    json_object_set_new(body, "flat_stretches", json_integer((json_int_t)q->flat_stretches));
    journal(o, tw_wire_record(o->wire, TW_T_EVT_QUALITY, q->at, body, 1));
}

static void on_session(void *ctx, const tw_sink_session *s)
{
    tw_out *o = ctx;
    journal(o, tw_wire_record(o->wire, TW_T_EVT_SESSION, s->sample,
                                     json_incref((json_t *)s->record), 1));
}

static void on_mark(void *ctx, const tw_sink_mark *m)
{
    tw_out *o = ctx;
    journal(o, tw_wire_record(o->wire, m->topic, m->sample, json_incref((json_t *)m->record),
                                     m->in_session));
}

static void on_status(void *ctx, int64_t sample, const json_t *body)
{
    tw_out *o = ctx;
    publish(o, tw_wire_sts(o->wire, sample, json_incref((json_t *)body)));
}

tw_sink tw_out_sink(tw_out *o)
{
    tw_sink s = {
        .name = "wire",
        .ctx = o,
        .on_display = on_display,
        .on_event = on_event,
        .on_cancel = on_cancel,
        .on_gap = on_gap,
        .on_quality = on_quality,
        .on_session = on_session,
        .on_mark = on_mark,
        .on_status = on_status,
        .on_tick = on_tick,
    };
    return s;
}
