/* quality.c: see quality.h. */
#include "quality.h"

#include <stdio.h>
#include <string.h>

static const char *const names[TW_Q_NBITS] = {"flat", "clipping", "non-finite",
                                              "mains unlocked", "noise high"};

void tw_quality_init(tw_quality *q)
{
    memset(q, 0, sizeof *q);
}

int tw_quality_update(tw_quality *q, unsigned seen, int64_t end, int64_t hold)
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
    q->flags = now;
    q->since = end;
    return 1;
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
