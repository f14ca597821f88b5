/* session_span.c: see session_span.h. */
#include "session_span.h"

#include <math.h>

double tw_session_span_hold_s(const tw_config *c)
{
    const tw_epndet_params *e = &c->det.epn;
    const tw_ltrdet_params *l = &c->det.ltr;
    double epn_ms = e->release_ms + e->win_bins * e->bin_ms;
    double ltr_ms = l->max_ms + l->hang_ms + l->post_ms + l->env_ms;
    return ((epn_ms > ltr_ms ? epn_ms : ltr_ms) + TW_STOP_MARGIN_MS) * 1e-3;
}

void tw_session_span_open(tw_session_span *s, int64_t start)
{
    s->start = start;
    s->closing = 0;
    s->stop = s->at = INT64_MAX;
    s->wall = 0.0;
}

void tw_session_span_stop(tw_session_span *s, int64_t next, double rate, double hold_s,
                          double now)
{
    s->closing = 1;
    s->stop = next;
    s->at = next + (int64_t)ceil(hold_s * rate);
    s->wall = now + 1.5 * hold_s;
}

int tw_session_span_due(const tw_session_span *s, int64_t next, double now)
{
    return s->closing && (next >= s->at || now >= s->wall);
}

int64_t tw_session_span_end(const tw_session_span *s, int64_t next)
{
    return s->closing ? s->stop : next;
}

int tw_session_span_includes(const tw_session_span *s, int64_t sample)
{
    return !s->closing || sample < s->stop;
}

int tw_session_span_owns(const tw_session_span *s, const tw_event *e)
{
    if (!tw_session_span_includes(s, e->onset_sample))
        return 0;
    /* session.h: an LTR from its onset, an EPN episode reaching into it */
    return e->type == TW_EVT_LTR ? e->onset_sample >= s->start : e->offset_sample >= s->start;
}
