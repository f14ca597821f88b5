/* trains.c: see trains.h. */
#include "trains.h"

void tw_trains_init(tw_trains *t, double gap_s, double fs_hz)
{
    t->gap_samples = gap_s * fs_hz;
    t->last_offset = -1;
    t->train_id = -1;
    t->index = 0;
    t->first_p2p = 0.0;
}

tw_train_info tw_trains_add(tw_trains *t, const tw_event *e)
{
    if (t->last_offset < 0 ||
        (double)(e->onset_sample - t->last_offset) > t->gap_samples) {
        t->train_id++;
        t->index = 0;
        t->first_p2p = e->p2p_uv;
    } else {
        t->index++;
    }
    t->last_offset = e->offset_sample;
    tw_train_info r = {t->train_id, t->index,
                       t->first_p2p > 0 ? e->p2p_uv / t->first_p2p : 1.0};
    return r;
}
