/* rec_outage.c: see rec_outage.h. */
#include "rec_outage.h"

#include <stdio.h>
#include <string.h>

void tw_rec_outage_reset(tw_rec_outage *o, int64_t at)
{
    o->active = 0;
    o->errors = 0;
    o->lost = 0;
    o->end = o->seg_first = at;
    o->retry_at = 0.0;
    o->error[0] = '\0';
}

/* The cause in an error message: after its last ':', without a
 * trailing " (...)" ("write PATH: File too large (7 s recorded)" ->
 * "File too large"). */
static int same_cause(const char *a, const char *b)
{
    const char *pa = strrchr(a, ':'), *pb = strrchr(b, ':');
    pa = pa ? pa + 1 : a;
    pb = pb ? pb + 1 : b;
    const char *ea = strstr(pa, " ("), *eb = strstr(pb, " (");
    size_t la = ea ? (size_t)(ea - pa) : strlen(pa), lb = eb ? (size_t)(eb - pb) : strlen(pb);
    return la == lb && memcmp(pa, pb, la) == 0;
}

tw_outage_news tw_rec_outage_failed(tw_rec_outage *o, const char *why, double now)
{
    tw_outage_news n;
    if (!o->active) {
        o->active = 1;
        o->errors++;
        n = TW_OUTAGE_BEGUN;
    } else {
        n = same_cause(why, o->error) ? TW_OUTAGE_SAME_CAUSE : TW_OUTAGE_NEW_CAUSE;
    }
    snprintf(o->error, sizeof o->error, "%s", why);
    o->retry_at = now + TW_REC_RETRY_S;
    return n;
}

void tw_rec_outage_opened(tw_rec_outage *o, int64_t first) { o->seg_first = first; }

void tw_rec_outage_kept_to(tw_rec_outage *o, int64_t end) { o->end = end; }

int64_t tw_rec_outage_resumed(tw_rec_outage *o)
{
    int64_t lost = o->seg_first - o->end;
    if (lost < 0)
        lost = 0;
    o->lost += lost;
    o->active = 0;
    o->error[0] = '\0';
    return lost;
}

void tw_rec_outage_finish(tw_rec_outage *o, int64_t stop)
{
    if (o->active && stop > o->end)
        o->lost += stop - o->end;
}

int tw_rec_outage_retry_due(const tw_rec_outage *o, double now) { return now >= o->retry_at; }

int64_t tw_rec_outage_lost_now(const tw_rec_outage *o, int writing, int64_t next)
{
    int64_t l = o->lost;
    if (o->active) {
        int64_t to = writing ? o->seg_first : next;
        if (to > o->end)
            l += to - o->end;
    }
    return l;
}
