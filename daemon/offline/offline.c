/* offline.c: see offline.h. */
#include "offline.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "src_edf.h"

void tw_offline_init(tw_offline *o, tw_pipeline *pl, const tw_config *cfg, const tw_sndsrc *src,
                     tw_offline_annot_fn on_annot, tw_offline_quality_fn on_quality, void *user)
{
    memset(o, 0, sizeof *o);
    o->pl = pl;
    o->cfg = cfg;
    o->nch = src->info.channels;
    o->fs = src->info.samplerate;
    o->clip_uv = src->edf ? INFINITY : (float)(TW_OFFLINE_CLIP * src->scale);
    for (int ch = 0; ch < o->nch; ch++)
        tw_quality_watch_init(&o->w[ch]);
    o->on_annot = on_annot;
    o->on_quality = on_quality;
    o->user = user;
}

/* Samples of v[0 .. n) with |v| >= clip and finite (an infinity is
 * non-finite, not clipped: engine.c; NaN fails both). Four at a time
 * where the compiler has vector extensions (a plain loop of this is not
 * vectorised at -O2, and was 6 % of a replay). */
static uint64_t count_clipped(const float *v, size_t n, float clip)
{
    uint64_t c = 0;
    size_t i = 0;
#if defined(__GNUC__)
    typedef float v4f __attribute__((vector_size(16)));
    typedef int32_t v4i __attribute__((vector_size(16)));
    const v4f lo = {clip, clip, clip, clip}, hi = {FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX};
    const v4i absmask = {INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX};
    while (i + 4 <= n) {
        v4i acc = {0, 0, 0, 0}; /* lanes count down: a true compare is -1 */
        size_t end = n - i > (1u << 20) ? i + (1u << 20) : n; /* no lane overflows */
        for (; i + 4 <= end; i += 4) {
            v4f x;
            memcpy(&x, v + i, sizeof x);
            v4f a = (v4f)((v4i)x & absmask);
            acc += (a >= lo) & (a <= hi);
        }
        c += (uint64_t)(-(int64_t)acc[0] - acc[1] - acc[2] - acc[3]);
    }
#endif
    for (; i < n; i++) {
        float a = fabsf(v[i]);
        c += (uint64_t)((a >= clip) & (a <= FLT_MAX));
    }
    return c;
}

/* x[ch][0..n): to the pipeline in TW_OFFLINE_STEP steps, quality after each. */
static void feed(tw_offline *o, float *const *x, size_t n)
{
    for (size_t done = 0; done < n;) {
        size_t m = n - done < TW_OFFLINE_STEP ? n - done : TW_OFFLINE_STEP;
        float *piece[TW_MAX_CHANNELS];
        for (int ch = 0; ch < o->nch; ch++) {
            piece[ch] = x[ch] + done;
            o->clipped[ch] += count_clipped(piece[ch], m, o->clip_uv);
        }
        tw_pipeline_process(o->pl, piece, m);
        int64_t end = o->next + (int64_t)m;
        for (int ch = 0; ch < o->nch; ch++)
            if (tw_quality_watch_block(&o->w[ch], o->pl, ch, o->cfg, o->fs, o->clipped[ch],
                                       o->next, end) && o->on_quality)
                o->on_quality(o->user, ch, o->w[ch].q.since, o->w[ch].q.flags);
        o->next = end;
        done += m;
    }
}

void tw_offline_feed(tw_offline *o, const tw_sndsrc *src, float *const *buf, size_t n)
{
    int64_t base = o->next;
    size_t done = 0;
    const tw_edfsrc *e = src->edf;
    while (e && o->annot < e->n_annots) {
        const tw_edf_annot *a = &e->annots[o->annot];
        int64_t s = tw_edfsrc_sample(e, a->onset_s);
        if (s >= base + (int64_t)n)
            break;
        o->annot++;
        int ins = !strcmp(a->text, "insertion") || !strncmp(a->text, "insertion: ", 11);
        if (!ins && strncmp(a->text, "mark: ", 6))
            continue;
        if (s < 0)
            s = 0;
        if (s > base + (int64_t)done) {
            float *piece[TW_MAX_CHANNELS];
            for (int ch = 0; ch < o->nch; ch++)
                piece[ch] = buf[ch] + done;
            feed(o, piece, (size_t)(s - base) - done);
            done = (size_t)(s - base);
        }
        if (ins)
            tw_pipeline_insertion(o->pl, s);
        if (o->on_annot)
            o->on_annot(o->user, s, ins, ins ? (a->text[9] ? a->text + 11 : NULL) : a->text + 6);
    }
    if (done < n) {
        float *piece[TW_MAX_CHANNELS];
        for (int ch = 0; ch < o->nch; ch++)
            piece[ch] = buf[ch] + done;
        feed(o, piece, n - done);
    }
}

unsigned tw_offline_quality(const tw_offline *o, int ch, int64_t first, int64_t last)
{
    return tw_quality_overlap(&o->w[ch].q, first, last);
}
