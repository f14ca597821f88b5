/* sink_record.c: see sink_record.h. */
#include "sink_record.h"

#include <stdio.h>

#include "quality.h"

static void on_samples(void *ctx, const tw_sink_block *b)
{
    tw_sink_record *r = ctx;
    tw_recorder_block(r->rec, b->x, b->first, b->n, b->first, b->t);
}

static void on_event(void *ctx, const tw_sink_event *ev)
{
    tw_sink_record *r = ctx;
    const tw_event *e = ev->e;
    if (!tw_event_is_final(e))
        return;
    if (!ev->in_session && r->mode != TW_REC_ALWAYS)
        return; /* the recording is the session's */
    double dur = (double)(e->offset_sample - e->onset_sample + 1) / r->rate;
    char text[TW_EDF_TEXT_MAX * 2];
    if (e->type == TW_EVT_LTR)
        snprintf(text, sizeof text, "LTR ch%d %.0fuVpp", ev->ch, e->p2p_uv);
    else
        snprintf(text, sizeof text, "EPN ch%d", ev->ch);
    tw_recorder_annotate(r->rec, e->onset_sample, dur, text);
}

static void on_gap(void *ctx, const tw_sink_gap *g)
{
    tw_sink_record *r = ctx;
    if (g->merged || g->count < 0)
        return; /* each gap was annotated when it happened; an overflow loses nothing here */
    char text[TW_EDF_TEXT_MAX * 2];
    snprintf(text, sizeof text, "gap %lld samples", (long long)g->count);
    tw_recorder_annotate(r->rec, g->first, (double)g->count / r->rate, text);
}

static void on_quality(void *ctx, const tw_sink_quality *q)
{
    tw_sink_record *r = ctx;
    char flags[96], text[TW_EDF_TEXT_MAX * 2];
    tw_quality_text(q->flags, flags, sizeof flags);
    snprintf(text, sizeof text, "quality ch%d: %.60s", q->ch, flags); /* (kept: 40 bytes) */
    tw_recorder_annotate(r->rec, q->at, -1, text);
}

static void on_session(void *ctx, const tw_sink_session *s)
{
    tw_sink_record *r = ctx;
    if (s->started)
        tw_recorder_annotate(r->rec, s->sample, -1, "session start");
}

static void on_mark(void *ctx, const tw_sink_mark *m)
{
    tw_sink_record *r = ctx;
    char text[TW_EDF_TEXT_MAX * 2];
    snprintf(text, sizeof text, "%s%s%.60s", m->kind, m->label ? ": " : "",
             m->label ? m->label : ""); /* (kept: 40 bytes) */
    tw_recorder_annotate(r->rec, m->sample, -1, text);
}

static void on_tick(void *ctx, int64_t next, const struct timespec *t_next, double now)
{
    tw_sink_record *r = ctx;
    tw_recorder_tick(r->rec, next, t_next, now);
}

tw_sink tw_sink_record_sink(tw_sink_record *r)
{
    tw_sink s = {
        .name = "record",
        .ctx = r,
        .on_samples = on_samples,
        .on_event = on_event,
        .on_gap = on_gap,
        .on_quality = on_quality,
        .on_session = on_session,
        .on_mark = on_mark,
        .on_tick = on_tick,
    };
    return s;
}
