/* quality.c: see quality.h. */
#include "quality.h"

#include <stdio.h>
#include <string.h>

static const char *const names[TW_Q_NBITS] = {"flat", "clipping", "non-finite",
                                              "mains unlocked", "noise high", "signal low"};

void tw_quality_init(tw_quality *q)
{
    memset(q, 0, sizeof *q);
}

int tw_quality_update(tw_quality *q, unsigned seen, int64_t first, int64_t end, int64_t hold)
{
    unsigned now = 0;
    for (int b = 0; b < TW_Q_NBITS; b++) {
        if (seen & (1u << b))
            q->until[b] = end + hold;
        if ((seen & (1u << b)) || (q->flags & (1u << b) && end < q->until[b]))
            now |= 1u << b;
    }
    if (now == q->flags)
        return 0;
    int64_t at = (now & ~q->flags) ? first : end;
    if (at < q->since)
        at = q->since; /* (a block never starts before the state it follows) */
    if (q->flags) {
        tw_quality_stretch *p = &q->past[q->past_n++ % TW_QUALITY_KEEP];
        p->start = q->since;
        p->stop = at;
        p->flags = q->flags;
    }
    q->flags = now;
    q->since = at;
    return 1;
}

unsigned tw_quality_overlap(const tw_quality *q, int64_t first, int64_t last)
{
    unsigned f = 0;
    if (q->flags && last >= q->since)
        f |= q->flags;
    uint64_t n = q->past_n < TW_QUALITY_KEEP ? q->past_n : TW_QUALITY_KEEP;
    for (uint64_t k = 0; k < n; k++) {
        const tw_quality_stretch *p = &q->past[k];
        if (first < p->stop && last >= p->start)
            f |= p->flags;
    }
    return f;
}

json_t *tw_quality_json(unsigned flags)
{
    json_t *a = json_array();
    for (int b = 0; b < TW_Q_NBITS; b++)
        if (flags & (1u << b))
            json_array_append_new(a, json_string(names[b]));
    if (!flags)
        json_array_append_new(a, json_string("ok"));
    return a;
}

const char *tw_quality_text(unsigned flags, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int b = 0; b < TW_Q_NBITS; b++)
        if (flags & (1u << b)) {
            int k = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[b]);
            if (k < 0 || (size_t)k >= len - o)
                break;
            o += (size_t)k;
        }
    if (!flags)
        snprintf(buf, len, "ok");
    return buf;
}
