/* trains.c: see trains.h. */
#include "trains.h"

void tw_trains_init(tw_trains *t, double gap_s, double fs_hz)
{
    t->gap_samples = gap_s * fs_hz;
    t->last_offset = -1;
    t->train_id = -1;
    t->index = 0;
    t->first_p2p = 0.0;
    t->fs_hz = fs_hz;
    t->insertions = 0;
    t->ins_sample = -1;
    t->ins_pending = 0;
    t->train_insertion = -1;
}

void tw_trains_insertion(tw_trains *t, int64_t sample)
{
    t->insertions++;
    t->ins_sample = sample;
    t->ins_pending = 1;
}

tw_train_info tw_trains_add(tw_trains *t, const tw_event *e)
{
    int by_mark = t->ins_pending && e->onset_sample >= t->ins_sample;
    if (by_mark || t->last_offset < 0 ||
        (double)(e->onset_sample - t->last_offset) > t->gap_samples) {
        t->train_id++;
        t->index = 0;
        t->first_p2p = e->p2p_uv;
        t->train_insertion = by_mark ? t->insertions - 1 : -1;
        if (by_mark)
            t->ins_pending = 0;
    } else {
        t->index++;
    }
    t->last_offset = e->offset_sample;
    tw_train_info r = {t->train_id, t->index,
                       t->first_p2p > 0 ? e->p2p_uv / t->first_p2p : 1.0,
                       t->train_insertion, -1.0};
    if (r.insertion >= 0 && r.insertion == t->insertions - 1)
        r.insertion_latency_ms = (double)(e->onset_sample - t->ins_sample) * 1e3 / t->fs_hz;
    return r;
}
