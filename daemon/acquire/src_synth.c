/* src_synth.c: input.source = synth: the synthetic needle recording
 * (synth.h) as a live source, endless, paced at real time or as fast as
 * possible. Its rate and channels are input.rate and input.channels; its
 * other parameters the [synth] section. */
#include <stdio.h>
#include <stdlib.h>

#include "src_thread.h"
#include "synth.h"

typedef struct {
    tw_src_thread t; /* first */
    tw_synth *syn;
    float inv_fs;    /* 1 / full_scale_uv */
} src_synth;

static long fill(tw_src_thread *t, float *buf, unsigned frames)
{
    src_synth *s = (src_synth *)t;
    char why[128];
    if (tw_synth_render(s->syn, buf, frames, why, sizeof why) != 0) {
        snprintf(t->why, sizeof t->why, "synth: %s", why);
        return -1;
    }
    size_t n = (size_t)frames * (size_t)t->base.channels;
    for (size_t i = 0; i < n; i++) {
        float v = buf[i] * s->inv_fs; /* uV -> digital, clipped like an ADC */
        buf[i] = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
    }
    /* truth is not needed here: drain it so it does not pile up */
    tw_synth_truth tr[16];
    while (tw_synth_pop_truth(s->syn, tr, 16) == 16)
        ;
    return (long)frames;
}

static void destroy(tw_source *src)
{
    src_synth *s = (src_synth *)src;
    tw_src_thread_stop(src);
    tw_synth_destroy(s->syn);
    tw_src_thread_fini(&s->t);
    free(s);
}

static const struct tw_source_ops ops = {tw_src_thread_start, tw_src_thread_stop,
                                         tw_src_thread_state, destroy};

tw_source *tw_source_open_synth(const tw_config *c, char *err, size_t errlen)
{
    tw_synth_params p = c->synth;
    p.rate = c->rate;
    p.channels = c->channels;
    p.full_scale_uv = c->full_scale_uv;
    src_synth *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->syn = tw_synth_create(&p);
    if (!s->syn) {
        char why[256] = "";
        tw_synth_check(&p, why, sizeof why);
        snprintf(err, errlen, "synth: bad parameters: %s", why);
        free(s);
        return NULL;
    }
    s->inv_fs = (float)(1.0 / c->full_scale_uv);
    s->t.base.ops = &ops;
    s->t.base.rate = c->rate;
    s->t.base.channels = c->channels;
    s->t.base.frames_per_block = (unsigned)c->frames_per_buffer;
    snprintf(s->t.base.desc, sizeof s->t.base.desc,
             "synth (seed %llu), %d Hz, %d ch, %s pace",
             (unsigned long long)tw_synth_get_seed(s->syn), c->rate, c->channels,
             c->pace == TW_PACE_REALTIME ? "real-time" : "fast");
    if (tw_src_thread_init(&s->t, fill, c->pace == TW_PACE_REALTIME) != 0) {
        snprintf(err, errlen, "out of memory");
        destroy(&s->t.base);
        return NULL;
    }
    return &s->t.base;
}
