/* quality_watch.c: see quality_watch.h. */
#include "quality_watch.h"

#include <string.h>

void tw_quality_watch_init(tw_quality_watch *w)
{
    memset(w, 0, sizeof *w);
    tw_quality_init(&w->q);
    w->mains_search = 0; /* searching from the first sample */
}

int tw_quality_watch_block(tw_quality_watch *w, const tw_pipeline *pl, int ch,
                           const tw_config *cfg, double rate, uint64_t clipped,
                           int64_t first, int64_t end)
{
    unsigned seen = 0;
    uint64_t nf = tw_pipeline_get_nonfinite(pl, ch);
    if (tw_pipeline_is_flat(pl, ch))
        seen |= TW_Q_FLAT;
    if (clipped != w->clipped_seen)
        seen |= TW_Q_CLIPPING;
    if (nf > w->nonfinite_seen) /* (a pipeline restart clears the count) */
        seen |= TW_Q_NONFINITE;
    /* auto mode: no line frequency found for TW_QUALITY_MAINS_S (from the
     * start or a restart: finding it takes 0.5 s) */
    if (cfg->mains == TW_CFG_MAINS_AUTO && tw_pipeline_get_mains_hz(pl, ch) <= 0.0) {
        if (w->mains_search < 0)
            w->mains_search = end;
        if (end - w->mains_search > (int64_t)(TW_QUALITY_MAINS_S * rate))
            seen |= TW_Q_MAINS;
    } else {
        w->mains_search = -1;
    }
    float floor_uv = tw_pipeline_get_noise_uv(pl, ch);
    if (floor_uv > cfg->quality_noise_max_uv)
        seen |= TW_Q_NOISE;
    /* (0: no floor yet, after the start, a restart or a flat stretch) */
    if (floor_uv > 0.0f && floor_uv < cfg->quality_noise_min_uv)
        seen |= TW_Q_LOW;
    w->clipped_seen = clipped;
    w->nonfinite_seen = nf;
    return tw_quality_update(&w->q, seen, first, end, (int64_t)(TW_QUALITY_HOLD_S * rate));
}
